"""engine/nn/checkpoint.py: snapshot files on disk, read back with torch.load(weights_only=True)."""

from __future__ import annotations

import dataclasses
import os
import pickle

import pytest
import torch

import games
from engine.nn import checkpoint
from engine.nn.checkpoint import CheckpointError
from engine.config import NetworkConfig
from engine.nn.networks import build

NET = NetworkConfig(channels=8, blocks=1, hidden=16)


def models_for(name: str, count: int = 1, seed: int = 0):
    spec = games.load(name)
    torch.manual_seed(seed)
    return spec, [build(NET, spec.encoder.shape, spec.num_actions) for _ in range(count)]


def save(path, name: str = "tic_tac_toe", count: int = 1, step: int = 7, seed: int = 0):
    spec, models = models_for(name, count, seed)
    checkpoint.save_snapshot(path, spec.game_string, NET, tuple(spec.encoder.shape), spec.num_actions, step, models)
    return spec, models


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg, f"not one line: {msg!r}"
    return msg


@pytest.mark.parametrize("count", [1, 2])
def test_snapshot_round_trip(tmp_path, count):
    path = tmp_path / "snapshots" / "step-0000007.pt"
    spec, models = save(path, count=count)
    snap = checkpoint.load_snapshot(path, spec.game_string)
    assert snap.game == "tic_tac_toe" and snap.step == 7 and snap.path == path
    assert snap.network == dataclasses.replace(NET, aux_heads=False)  # recorded as built: no Go board, no heads
    assert snap.obs_shape == tuple(spec.encoder.shape) and snap.num_actions == spec.num_actions
    assert len(snap.weights) == count
    for model, weights in zip(models, snap.weights):
        state = model.state_dict()
        assert state.keys() == weights.keys()
        for k in state:
            assert torch.equal(state[k], weights[k]), k
    # Rebuilt networks compute exactly what the saved ones did.
    x = torch.from_numpy(spec.encoder.encode(spec.game.new_initial_state())[None].astype("float32"))
    for model, rebuilt in zip(models, snap.build_models()):
        model.eval()
        assert not rebuilt.training
        with torch.no_grad():
            (p1, v1), (p2, v2) = model(x), rebuilt(x)
        assert torch.equal(p1, p2) and torch.equal(v1, v2)
    if count == 2:  # per-seat networks stay distinct
        assert any(not torch.equal(snap.weights[0][k], snap.weights[1][k]) for k in snap.weights[0])


def test_snapshot_loads_with_weights_only(tmp_path):
    path = tmp_path / "s.pt"
    spec, _ = save(path)
    data = torch.load(path, map_location="cpu", weights_only=True)
    assert data["format"] == checkpoint.FORMAT and data["version"] == checkpoint.VERSION
    assert data["game"] == spec.game_string and data["step"] == 7
    assert data["network"]["channels"] == 8
    assert isinstance(data["weights"], list) and all(isinstance(v, torch.Tensor) for v in data["weights"][0].values())


def test_snapshot_of_another_game_is_refused(tmp_path):
    path = tmp_path / "s.pt"
    save(path, "connect_four")
    with pytest.raises(CheckpointError) as e:
        checkpoint.load_snapshot(path, games.load("tic_tac_toe").game_string)
    msg = one_line(e)
    assert "connect_four" in msg and "tic_tac_toe" in msg
    assert checkpoint.load_snapshot(path).game == "connect_four"  # no game given: any game loads


def test_missing_snapshot(tmp_path):
    with pytest.raises(CheckpointError) as e:
        checkpoint.load_snapshot(tmp_path / "nope.pt")
    assert "not found" in one_line(e)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


@pytest.mark.parametrize("kind", ["random", "empty", "text", "truncated", "pickle", "tensor", "dict", "version"])
def test_garbage_files_are_refused(tmp_path, kind):
    path = tmp_path / "bad.pt"
    if kind == "random":
        path.write_bytes(os.urandom(4096))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello, I am not a snapshot\n")
    elif kind == "truncated":
        save(tmp_path / "good.pt")
        data = (tmp_path / "good.pt").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "pickle":  # arbitrary code in a pickle: weights_only refuses to run it
        with open(path, "wb") as f:
            pickle.dump(Evil(), f, protocol=2)
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "dict":
        torch.save({"weights": [], "step": 1}, path)
    else:
        save(path)
        data = torch.load(path, weights_only=True)
        data["version"] = checkpoint.VERSION + 1
        torch.save(data, path)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load_snapshot(path)
    msg = one_line(e)
    assert str(path) in msg
    if kind == "version":
        assert "format" in msg


def test_unreadable_snapshots_and_learner_state_fall_back(tmp_path, capfd):
    ttt = games.load("tic_tac_toe").game_string
    folder = tmp_path / "snapshots"
    for step in (10, 20, 30):
        save(checkpoint.snapshot_path(tmp_path, step), step=step, seed=step)
    checkpoint.snapshot_path(tmp_path, 30).write_bytes(b"\0" * 100)  # overwritten
    data = checkpoint.snapshot_path(tmp_path, 20).read_bytes()
    checkpoint.snapshot_path(tmp_path, 20).write_bytes(data[: len(data) // 2])  # truncated
    assert checkpoint.latest_readable(tmp_path, ttt, above=20) is None  # 30 is damaged, 20 is not above
    assert checkpoint.latest_readable(tmp_path, ttt).step == 10
    assert sorted(p.name for p in (folder / "quarantine").iterdir()) == ["step-0000020.pt", "step-0000030.pt"]
    assert capfd.readouterr().err.count("warning: ") == 2
    with pytest.raises(CheckpointError, match="connect_four"):  # a whole snapshot of another game still refuses
        checkpoint.latest_readable(tmp_path, games.load("connect_four").game_string)

    state = tmp_path / "learner.pt"
    state.write_bytes(b"garbage")
    snap = checkpoint.load_learner_state(state, ttt)
    assert isinstance(snap, checkpoint.Snapshot) and snap.step == 10
    assert (tmp_path / "quarantine" / "learner.pt").exists() and not state.exists()
    err = capfd.readouterr().err.strip()
    assert "\n" not in err and "resumes from snapshot step-10" in err
    assert checkpoint.load_learner_state(state, ttt).step == 10  # missing beside snapshots: the same
    assert "no learner state" in capfd.readouterr().err
    assert checkpoint.load_learner_state(tmp_path / "fresh" / "learner.pt", ttt) is None


def test_atomic_save_leaves_no_temp_files(tmp_path):
    path = tmp_path / "deep" / "dir" / "x.pt"
    checkpoint.atomic_save({"a": torch.ones(2)}, path)
    checkpoint.atomic_save({"a": torch.zeros(2)}, path)  # replaces
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.pt"]
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.zeros(2))


def test_atomic_save_that_fails_keeps_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "x.pt"
    checkpoint.atomic_save({"a": torch.ones(2)}, path)
    with pytest.raises(Exception):
        checkpoint.atomic_save({"a": lambda: 0}, path)  # lambdas do not pickle
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pt"]
    assert torch.equal(torch.load(path, weights_only=True)["a"], torch.ones(2))


class _Interrupting:
    """Pickles as an empty OrderedDict (which weights_only loads), raising SIGINT on the way: Ctrl-C (or the SIGTERM `arena league run` turns into
    one) in the middle of torch.save."""

    def __reduce__(self):
        import signal
        from collections import OrderedDict
        signal.raise_signal(signal.SIGINT)
        return OrderedDict, ()


def test_an_interrupt_during_a_save_lands_after_it_with_the_file_whole(tmp_path):
    """Raised inside torch.save, a KeyboardInterrupt broke its zip writer, and the run ended on that
    RuntimeError's traceback; held until the file is whole, it is the interrupt the command handles."""
    path = tmp_path / "x.pt"
    with pytest.raises(KeyboardInterrupt):
        checkpoint.atomic_save({"a": torch.ones(3), "b": _Interrupting(), "c": torch.zeros(3)}, path)
    saved = torch.load(path, weights_only=True)
    assert saved["b"] == {} and torch.equal(saved["a"], torch.ones(3)) and torch.equal(saved["c"], torch.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.pt"]


def test_list_and_latest_snapshots(tmp_path):
    assert checkpoint.list_snapshots(tmp_path) == []
    assert checkpoint.latest_snapshot(tmp_path) is None
    steps = [200, 5, 0, 1_000, 12_345_678, 40]  # the last is wider than the 7-digit padding
    for step in steps:
        checkpoint.atomic_save({"step": step}, checkpoint.snapshot_path(tmp_path, step))
    folder = tmp_path / "snapshots"
    (folder / "step-0009999.pt.abc123.tmp").write_bytes(b"torn")  # a write in progress
    (folder / "notes.txt").write_text("x")
    (folder / "step-x.pt").write_text("x")
    found = checkpoint.list_snapshots(tmp_path)
    assert [s for s, _ in found] == sorted(steps)
    assert all(p == checkpoint.snapshot_path(tmp_path, s) for s, p in found)
    assert checkpoint.latest_snapshot(tmp_path) == (12_345_678, checkpoint.snapshot_path(tmp_path, 12_345_678))
    assert checkpoint.snapshot_path(tmp_path, 40).name == "step-0000040.pt"
