"""`arena bench` paths run end to end and report consistent figures (speed itself is not asserted)."""
from __future__ import annotations

from engine import bench


def test_bench_mcts_reports_a_consistent_ratio():
    r = bench.bench_mcts("tic_tac_toe", seconds=0.5, trees=8)
    assert r["simulations_per_second"] > 0 and r["raw_forward_positions_per_second"] > 0
    ratio = r["simulations_per_second"] / r["raw_forward_positions_per_second"]
    assert abs(r["ratio_to_raw"] - ratio) < 2e-3
    assert r["openspiel_mcts_simulations_per_second"] > 0


def test_bench_selfplay_finishes_games():
    r = bench.bench_selfplay("tic_tac_toe", simulations=4, seconds=0.5, concurrent_games=8)
    assert r["games"] > 0 and 5 <= r["mean_game_length"] <= 9  # tic_tac_toe lasts 5 to 9 moves
