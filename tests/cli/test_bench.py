"""`arena bench` paths run end to end and report consistent figures (speed itself is not asserted)."""
from __future__ import annotations

import pytest

from arena_cli import bench


def test_bench_mcts_reports_a_consistent_ratio():
    r = bench.bench_mcts("tic_tac_toe", seconds=0.5, trees=8, processes=2)
    one, actors = r["one_process"], r["actors"]
    assert actors["processes"] == 2 and actors["simulations_per_second"] > 0
    # The machine's figures are the better of the two setups, against the best ceiling of either.
    assert r["simulations_per_second"] == max(one["simulations_per_second"], actors["simulations_per_second"])
    assert r["raw_forward_positions_per_second"] == max(one["raw_forward_positions_per_second"],
                                                        actors["raw_forward_positions_per_second"]) > 0
    ratio = r["simulations_per_second"] / r["raw_forward_positions_per_second"]
    assert abs(r["ratio_to_raw"] - ratio) < 2e-3
    # Terminal leaves cost no network call: evaluations never exceed simulations (tic_tac_toe's
    # searches reach many), and the evaluations' ratio is to the same ceiling.
    assert 0 < r["evaluations_per_second"] < r["simulations_per_second"]
    assert r["evaluation_ratio_to_raw"] == pytest.approx(
        r["evaluations_per_second"] / r["raw_forward_positions_per_second"], abs=2e-3)
    assert r["openspiel_mcts_simulations_per_second"] > 0
    # Both rates are rounded to 0.1: relative slack where OpenSpiel's is small (a busy host).
    speedup = one["simulations_per_second"] / r["openspiel_mcts_simulations_per_second"]
    assert r["speedup_vs_openspiel"] == pytest.approx(speedup, rel=0.02, abs=0.1)
    # The ceiling is the best setup measured, so never below the one-call figure.
    assert one["raw_forward_positions_per_second"] >= one["raw_one_call_positions_per_second"] > 0
    assert one["ratio_to_one_call"] >= one["ratio_to_raw"]
    assert r["precision"] in ("float32", "bfloat16")  # what the batched calls ran in
    assert r["search"] == "BatchedMCTS"  # Go's would be GoSearch


def test_bench_mcts_of_a_pipelined_search_measures_its_group_batch(monkeypatch):
    """A pipelined search's calls carry one group of trees; the ceiling covers that batch size."""
    from engine.search import pipeline
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_FLOPS", 0)
    r = bench.bench_mcts("tic_tac_toe", seconds=0.5, trees=24, processes=1)
    one = r["one_process"]
    assert r["actors"] is None and one["network_streams"] >= 1 and one["simulations_per_second"] > 0
    assert one["raw_batch"] in {24, 12, 24 // (one["network_streams"] + 1)}


def test_bench_mcts_measures_the_network_and_search_of_a_config_file(tmp_path):
    """--config: the network a run's TOML asks for (Go with liberty inputs here), in one process and
    in the actor processes alike, where the preset would measure its own."""
    config = tmp_path / "lib.toml"
    config.write_text("[network]\nliberties = true\nchannels = 8\nblocks = 1\n[search]\nsimulations = 8\n")
    r = bench.bench_mcts("go(board_size=5,komi=0.5)", seconds=0.5, trees=4, processes=2, config_file=str(config))
    assert r["network"]["liberties"] and r["network"]["channels"] == 8 and r["simulations_per_move"] == 8
    assert r["search"] == "GoSearch" and r["actors"]["simulations_per_second"] > 0
    assert r["one_process"]["simulations_per_second"] > 0


def test_bench_selfplay_finishes_games():
    r = bench.bench_selfplay("tic_tac_toe", simulations=4, seconds=0.5, concurrent_games=8)
    assert r["games"] > 0 and 5 <= r["mean_game_length"] <= 9  # tic_tac_toe lasts 5 to 9 moves


def test_bench_text_output_names_nested_figures(capsys):
    """Without --json, nested sections print one dotted name a line (one_process.ratio_to_raw)."""
    import arena_cli
    assert arena_cli.main(["bench", "mcts", "--game", "tic_tac_toe", "--seconds", "0.5"]) == 0
    lines = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert float(lines["one_process.ratio_to_raw"]) > 0 and lines["network.kind"] == "resnet"
    assert int(lines.get("actors.processes", 0)) >= 2 or lines["actors"] == "None"  # one actor: no such setup


def test_a_dead_bench_actor_is_an_error_not_a_hang():
    import pytest
    with pytest.raises(RuntimeError, match="bench actor process died"):
        bench.machine_search_rate("no_such_game", processes=2, seconds=0.5)


@pytest.mark.xdist_group("ray")  # with the other tests that start Ray: see tests/league/run/test_ray.py
def test_bench_selfplay_on_ray_measures_both_backends_side_by_side():
    r = bench.bench_selfplay_ray("tic_tac_toe", "local", actors=1, seconds=2.0, simulations=4)
    assert r["processes_games_per_minute"] > 0 and r["ray_games_per_minute"] > 0
    assert r["ratio"] == round(r["ray_games_per_minute"] / r["processes_games_per_minute"], 3)
    assert r["bytes_per_game"] > 100 and r["bytes_per_snapshot"] > r["bytes_per_game"]


def test_bench_onnx_times_each_runner_at_one_position_and_a_batch():
    import pytest
    pytest.importorskip("onnxruntime")
    r = bench.bench_onnx("tic_tac_toe", seconds=0.05, repeats=3, warmup=0.05)
    assert r["bench"] == "onnx" and r["threads"] >= 1 and r["cpu"]
    for batch in (1, 64):
        figures = r[f"batch_{batch}"]
        for runner in ("torch", "onnxruntime", "arena_evaluator", "onnxruntime_int8"):
            runs = figures["runs"][runner]
            assert len(runs) == 3 and figures[f"{runner}_positions_per_second"] == sorted(runs)[1] > 0  # the median
        ratio = figures["onnxruntime_positions_per_second"] / figures["torch_positions_per_second"]
        assert abs(figures["onnxruntime_vs_torch"] - ratio) < 2e-3 * ratio + 1e-3
        ratio = figures["onnxruntime_int8_positions_per_second"] / figures["onnxruntime_positions_per_second"]
        assert abs(figures["int8_vs_onnxruntime"] - ratio) < 2e-3 * ratio + 1e-3
    error = r["int8_error"]
    assert error["positions"] == 256 and 0 <= error["top_move_agreement"] <= 1
    assert 0 < error["value_max_abs"] < 0.2 and 0 < error["policy_max_abs"] < 0.2


def test_int8_quantization_is_measured_against_float32_on_other_positions():
    pytest.importorskip("onnxruntime")
    import numpy as np
    import torch

    import games
    from arena_cli.bench.onnx_runtime import int8_error
    from engine.config import default_config
    from engine.nn import build, onnx_bytes, onnx_session
    from engine.nn.ort import quantize_int8
    spec = games.load("connect_four")
    torch.manual_seed(0)
    model = build(default_config(spec.name).network, spec.encoder.shape, spec.num_actions).eval()
    exported = onnx_bytes(model, spec.encoder.shape)
    x, legal = games.random_positions(spec, 128, seed=3, max_plies=20)
    x = x.astype(np.float32)
    quantized = quantize_int8(exported, [{"observation": x[:64]}])
    f32, int8 = onnx_session(exported, 1), onnx_session(quantized, 1)
    same = int8_error(f32, f32, x[64:], legal[64:])
    assert same["policy_max_abs"] == same["value_max_abs"] == 0 and same["top_move_agreement"] == 1
    error = int8_error(f32, int8, x[64:], legal[64:])
    assert 0 < error["value_mean_abs"] <= error["value_max_abs"] < 0.2 and 0 < error["policy_max_abs"] < 0.2
    # an int8 graph, not the float32 one under another name
    import onnx
    ops = {n.op_type for n in onnx.load_from_string(quantized).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops


def test_bench_ladder_times_the_whole_command_and_checks_its_intervals(tmp_path):
    r = bench.bench_ladder(players=10, games=400, repeats=1, out=str(tmp_path / "r.csv"))
    assert r["format"] == "csv" and r["games"] == 400 and (tmp_path / "r.csv").stat().st_size == r["file_bytes"]
    assert len(r["seconds_all"]) == 1 and r["seconds_median"] > 0 and r["command"].startswith("arena ladder --results")
    assert set(r["phases_seconds"]) == {"read", "names_to_indices", "point_fit", "fit_with_intervals", "table_json"}
    assert r["coverage"] >= 0.7 and r["mean_error_bar_elo"] > 0  # 95% intervals of 10 players


def test_benches_of_the_alphazero_search_refuse_other_games_in_one_line(capsys):
    """Poker, phantom games and 3-player games have no search to measure: one line, no traceback."""
    from arena_cli.cli import main

    for what in ("mcts", "selfplay"):
        for game in ("kuhn_poker", "phantom_ttt", "phantom_go5", "leduc_poker3"):
            assert main(["bench", what, "--game", game, "--seconds", "0.1"]) == 2, (what, game)
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and "2-player perfect-information games only" in err, err
    # Matrix games: no learner at all (the league's Ray actors serve MMD games), refused before Ray starts.
    assert main(["bench", "selfplay", "--ray", "local", "--game", "matrix_rps"]) == 2
    assert "simultaneous" in capsys.readouterr().err
