"""A run's damaged files (issue 21): a truncated segment or snapshot is moved to quarantine and the run
goes on, a damaged ledger stops the run and the ladder with one line naming `arena league repair`,
which rebuilds it from the store. One tiny tic_tac_toe run, damaged again and again; the commands
run in this process (`arena_cli.main`) to keep the test short: the same code as the subprocess."""
from __future__ import annotations

import gc
import json
import signal

import pytest
import torch

from arena_cli import cli
from engine.data import list_segments, read_segment
from engine.nn import checkpoint
from league.ledger import Ledger


@pytest.fixture
def arena(tmp_path, monkeypatch, capfd):
    """`arena ARGS...` in this process under a run home; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    term, threads = signal.getsignal(signal.SIGTERM), torch.get_num_threads()

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        code = cli.main(list(args))
        gc.collect()  # the session's ledger connection closes, as at a process's exit (WAL checkpointed)
        out, err = capfd.readouterr()
        return code, out, err
    yield run
    signal.signal(signal.SIGTERM, term)  # `arena league run` installs its own
    torch.set_num_threads(threads)


def truncate(path, size: int | None = None) -> None:
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2 if size is None else size)


def stored_uids(run_dir) -> list[str]:
    return [u for p in list_segments(run_dir / "trajectories") for u in read_segment(p, slice(0, 0)).games["game_id"]]


def training_uids(run_dir) -> set[str]:
    with Ledger.of_run(run_dir, create=False) as ledger:
        return {g.uid for _, g in ledger.games(kinds=("training",))}


def test_damaged_files_are_quarantined_and_a_damaged_ledger_is_rebuilt(tmp_path, arena, run_cli):
    config = str(run_cli.write_config(tmp_path))
    run_dir = tmp_path / "r"
    league_run = ("league", "run", "tic_tac_toe", "--config", config, "--run", "r", "--no-live", "--actors", "0")
    code, _, err = arena(*league_run, "--steps", "20")
    assert code == 0, err
    segments = list_segments(run_dir / "trajectories")
    assert len(segments) >= 2
    lost = len(read_segment(segments[0], slice(0, 0)).games["game_id"])
    weights_20 = checkpoint.load_snapshot(checkpoint.snapshot_path(run_dir, 20)).weights

    # A truncated segment and a truncated newest snapshot: the run resumes, each file in quarantine
    # with one warning; the snapshot is written again from the learner state (nothing lost there).
    truncate(segments[0])
    truncate(checkpoint.snapshot_path(run_dir, 20))
    code, out, err = arena(*league_run, "--steps", "2")
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["step"] == 22
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, err
    assert segments[0].name in warnings[0] and "trajectories/quarantine/" in warnings[0]
    assert "step-0000020.pt" in warnings[1] and "snapshots/quarantine/" in warnings[1]
    assert (run_dir / "trajectories" / "quarantine" / segments[0].name).exists()
    assert (run_dir / "snapshots" / "quarantine" / "step-0000020.pt").exists()
    assert run_cli.same_weights(checkpoint.load_snapshot(checkpoint.snapshot_path(run_dir, 20)).weights, weights_20)
    uids = stored_uids(run_dir)
    assert set(uids) <= training_uids(run_dir) and len(training_uids(run_dir)) == len(uids) + lost

    # A ledger overwritten with garbage (and, while at it, learner state and newest snapshot
    # damaged): the run and the ladder stop with one line naming repair, before touching anything.
    (run_dir / "league.sqlite").write_bytes(b"not a ledger at all " * 500)
    (run_dir / "learner.pt").write_bytes(b"\0" * 64)
    truncate(checkpoint.snapshot_path(run_dir, 22), 100)
    for command in (league_run + ("--steps", "1"), ("ladder", "r")):
        code, _, err = arena(*command)
        assert code == 2
        last = err.strip().splitlines()[-1]
        assert last.startswith("arena: error: ") and "damaged" in last and "`arena league repair r`" in last, err
        assert "warning" not in err
    assert checkpoint.snapshot_path(run_dir, 22).exists()

    code, out, err = arena("league", "repair", "r", "--json")
    assert code == 0, err
    report = json.loads(out)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["usable"] and report["changed"]
    assert [c["status"] for c in report["checks"]] == ["ok", "ok", "fixed", "fixed", "fixed"]
    assert len(checks["snapshots"]["fixed"]) == 2  # step-22 and learner.pt, in quarantine
    assert "rebuilt from the store" in checks["ledger"]["fixed"][-1]
    assert "rating" in checks["ledger"]["lost"][0]
    assert checks["pool"]["fixed"] == ["dropped 1 members whose snapshot file is gone: r:step-22"]
    assert list(run_dir.glob("league.sqlite.damaged-*"))
    uids = stored_uids(run_dir)
    assert training_uids(run_dir) == set(uids)  # every stored game a ledger row again, no other

    # The run resumes from the newest readable snapshot, and a second repair finds nothing to do.
    code, out, err = arena(*league_run, "--steps", "1")
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["step"] == 21
    assert "resumes from snapshot step-20" in err
    code, out, err = arena("league", "repair", "r")
    assert code == 0, err
    assert "nothing to do" in out and "fixed" not in out
