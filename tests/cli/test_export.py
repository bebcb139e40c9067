"""`arena export SPEC --onnx FILE`: snapshots published by the real learners, exported through the
command, run in onnxruntime on real encoded positions and checked against torch; the JSON sidecar;
one-line errors."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

import arena_cli
import games
from engine.nn import load_snapshot
from engine.players import snapshot_file
from engine.train import learner_kind
from league.run import prepare_run

ort = pytest.importorskip("onnxruntime")

TINY = {"network": {"channels": 8, "blocks": 1, "hidden": 16, "layers": 2}}
# run name -> (game, config overrides, seat to export): one run per network family
RUNS = {
    "g9": ("go9", TINY, None),  # conv tower, Go encoder
    "g9pool": ("go9", {"network": {**TINY["network"], "blocks": 3, "global_pool": True}}, None),  # KataGo's pooling
    "kuhn": ("kuhn_poker", TINY, None),  # MMD's MLP policy net, with its output policy apart
    "ttt": ("tic_tac_toe", {"networks": "per_player", "network": {"kind": "mlp", "hidden": 16, "layers": 2}}, 1),
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """$ARENA_HOME with one run per family, each with a snapshot at step 3 published by its learner."""
    root = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARENA_HOME", str(root))
        for run, (game, overrides, _) in RUNS.items():
            config, run_dir, _ = prepare_run(game, None, run, {"actors": 0, **overrides})
            spec = games.load(game)
            learner = learner_kind(spec.learner).learner(spec, config, run_dir)
            learner.step = 3
            if hasattr(learner, "magnets"):  # MMD: move the output policy away from the current weights
                with torch.no_grad():
                    learner.magnets[0].policy_head.bias.add_(1.0)
            learner.publish()
        yield root


def export(home, tmp_path, *args: str) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARENA_HOME", str(home))
        return arena_cli.main(["export", *args])


@pytest.mark.parametrize("run", list(RUNS))
def test_onnxruntime_matches_torch_on_real_positions(home, tmp_path, run, monkeypatch):
    game, _, seat = RUNS[run]
    path = tmp_path / "out" / f"{run}.onnx"
    # each form of snapshot spec once: the run, a step of it, a file
    spec_text = {"g9": "g9", "g9pool": "g9pool", "ttt": "ttt:step-3", "kuhn": str(home / "kuhn" / "snapshots" / "step-0000003.pt")}[run]
    assert export(home, tmp_path, spec_text, "--onnx", str(path),
                  *(["--seat", str(seat)] if seat is not None else [])) == 0
    monkeypatch.setenv("ARENA_HOME", str(home))
    snap = load_snapshot(snapshot_file(f"{run}:step-3"))
    model = snap.build_models(output=True)[seat or 0]  # what bots play
    spec = games.load(game)
    x = games.random_positions(spec, 24, seed=5, max_plies=10)[0].astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["observation"]
    assert [o.name for o in session.get_outputs()] == ["policy_logits", "value"]
    with torch.inference_mode():
        want_p, want_v = (t.numpy() for t in model(torch.from_numpy(x)))
    for rows in (slice(0, 1), slice(None)):  # the batch axis is dynamic: one position and many
        got_p, got_v = session.run(None, {"observation": x[rows]})
        assert got_p.shape == want_p[rows].shape and got_v.shape == want_v[rows].shape
        np.testing.assert_allclose(got_p, want_p[rows], rtol=0, atol=1e-4)
        np.testing.assert_allclose(got_v, want_v[rows], rtol=0, atol=1e-4)
    if snap.output:  # the file holds the output policy, not the current weights
        with torch.inference_mode():
            current = snap.build_models()[0](torch.from_numpy(x))[0].numpy()
        assert np.abs(current - want_p).max() > 0.5

    info = json.loads(path.with_suffix(".json").read_text())
    assert info["game"] == spec.game_string and info["encoder"] == spec.encoder.name and info["step"] == 3
    assert info["inputs"]["observation"]["shape"] == ["batch", *spec.encoder.shape]
    assert info["outputs"]["policy_logits"]["shape"] == ["batch", spec.num_actions] == ["batch", info["num_actions"]]
    assert "-inf" in info["outputs"]["policy_logits"]["meaning"] and info["onnx"] == path.name
    assert info["learner"] == spec.learner and info["seat"] == seat and info["arena_version"]
    assert info["weights"] == ("output" if snap.output else "current")
    assert info["networks"] == ("shared" if seat is None else "per_player")
    assert ("untrained" in info["outputs"]["value"]["meaning"]) == (spec.learner == "mmd")
    assert max(info["check"]["max_abs_difference"].values()) <= 1e-4


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("arena: error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize("args, expected", [
    (["random", "--onnx", "{tmp}/r.onnx"], "not a snapshot"),
    (["mcts:100", "--onnx", "{tmp}/r.onnx"], "not a snapshot"),
    (["nosuchrun", "--onnx", "{tmp}/r.onnx"], "no run named 'nosuchrun'"),
    (["ttt", "--onnx", "{tmp}/r.onnx"], "one network per seat"),
    (["ttt", "--seat", "2", "--onnx", "{tmp}/r.onnx"], "out of range"),
    (["g9", "--seat", "0", "--onnx", "{tmp}/r.onnx"], "one shared network"),
    (["g9", "--onnx", "{tmp}/a-file/r.onnx"], "cannot write"),  # its folder is a file
    (["g9", "--onnx", "{tmp}"], "cannot write"),  # a directory
    (["g9", "--onnx", "{tmp}/r.json"], "sidecar"),
])
def test_bad_input_is_one_line(home, tmp_path, capsys, args, expected):
    (tmp_path / "a-file").write_text("")
    assert export(home, tmp_path, *(a.format(tmp=tmp_path) for a in args)) == 2
    assert expected in one_line_error(capsys)
    assert not list(tmp_path.rglob("*.onnx")) and not list(tmp_path.rglob("*.tmp"))


def test_missing_onnx_names_the_install(home, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    assert export(home, tmp_path, "g9", "--onnx", str(tmp_path / "g9.onnx")) == 2
    err = one_line_error(capsys)
    assert "onnxruntime" in err and "pip install -e '.[onnx]'" in err
    assert not (tmp_path / "g9.onnx").exists()


def test_bench_onnx_measures_a_snapshots_network_with_run(home, capsys, monkeypatch):
    """`arena bench onnx --run SPEC`: the snapshot's trained network (its game and size), not the preset's."""
    import json
    monkeypatch.setenv("ARENA_HOME", str(home))
    assert arena_cli.main(["bench", "onnx", "--run", "g9pool:step-3", "--seconds", "0.02", "--json"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "board_size=9" in r["game"] and r["network"]["channels"] == 8 and r["network"]["global_pool"] is True
    assert r["snapshot"].endswith("step-0000003.pt") and r["batch_64"]["onnxruntime_int8_positions_per_second"] > 0


def test_int8_league_without_onnxruntime_names_the_install(home, tmp_path, capsys, monkeypatch):
    """selfplay.int8 runs the actors' network in onnxruntime: without it, a new run is refused in one
    line naming the install, before anything is written."""
    from engine import rundir
    monkeypatch.setenv("ARENA_HOME", str(home))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import now raises ImportError
    config = tmp_path / "i8.toml"
    config.write_text("[selfplay]\nint8 = true\n")
    assert arena_cli.main(["league", "run", "tic_tac_toe", "--config", str(config), "--run", "i8", "--steps", "1",
                           "--actors", "0", "--no-live"]) == 2
    err = one_line_error(capsys)
    assert "selfplay.int8" in err and "pip install -e '.[onnx]'" in err
    assert not (rundir.run_path("i8") / "config.toml").exists()
