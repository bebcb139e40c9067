"""`arena bench` paths run end to end and report consistent figures (speed itself is not asserted)."""
from __future__ import annotations

from engine import bench


def test_bench_mcts_reports_a_consistent_ratio():
    r = bench.bench_mcts("tic_tac_toe", seconds=0.5, trees=8)
    assert r["simulations_per_second"] > 0 and r["raw_forward_positions_per_second"] > 0
    ratio = r["simulations_per_second"] / r["raw_forward_positions_per_second"]
    assert abs(r["ratio_to_raw"] - ratio) < 2e-3
    assert r["openspiel_mcts_simulations_per_second"] > 0
    # The ceiling is the best setup measured, so never below the one-call figure.
    assert r["raw_forward_positions_per_second"] >= r["raw_one_call_positions_per_second"] > 0
    assert r["ratio_to_one_call"] >= r["ratio_to_raw"]
    assert r["precision"] in ("float32", "bfloat16")  # what the batched calls ran in


def test_bench_mcts_of_a_pipelined_search_measures_its_group_batch(monkeypatch):
    """A pipelined search's calls carry one group of trees; the ceiling covers that batch size."""
    from engine import mcts
    monkeypatch.setattr(mcts, "PIPELINE_MIN_FLOPS", 0)
    r = bench.bench_mcts("tic_tac_toe", seconds=0.5, trees=24)
    assert r["network_streams"] >= 1 and r["simulations_per_second"] > 0
    assert r["raw_batch"] in {24, 12, 24 // (r["network_streams"] + 1)}


def test_bench_selfplay_finishes_games():
    r = bench.bench_selfplay("tic_tac_toe", simulations=4, seconds=0.5, concurrent_games=8)
    assert r["games"] > 0 and 5 <= r["mean_game_length"] <= 9  # tic_tac_toe lasts 5 to 9 moves
