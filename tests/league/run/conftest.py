"""Shared helpers of the league-run tests, as the `run_cli` fixture: `arena` in a subprocess under a
run home (ARENA_HOME), a tiny tic_tac_toe config (TINY), snapshot weights, TensorBoard curves, and
kill -9 at a moment."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from engine.nn import checkpoint

TINY = """\
[network]
channels = 16
blocks = 1

[search]
simulations = 8

[selfplay]
concurrent_games = 16
flush_games = 8

[train]
min_positions = 64
batch_size = 32
snapshot_every = 10

[league]
pool_every = 20
eval_games = 4
"""


def arena_env(home: Path) -> dict[str, str]:
    return {**os.environ, "ARENA_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def arena_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "arena_cli", *args]


def arena(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(arena_cmd(*args), cwd=home, env=arena_env(home), capture_output=True, text=True,
                          timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def final_json(result: subprocess.CompletedProcess) -> dict:
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_config(home: Path, extra: str = "", name: str = "tiny.toml") -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / name
    path.write_text(extra + TINY)
    return path


def league_run(home: Path, run: str, *more: str, config: Path | None = None, timeout: float = 120):
    config = config or write_config(home)
    return arena(home, "league", "run", "tic_tac_toe", "--config", str(config), "--run", run, "--no-live", *more,
                 timeout=timeout)


def snapshot_weights(run_dir: Path, step: int) -> list[dict[str, torch.Tensor]]:
    return checkpoint.load_snapshot(checkpoint.snapshot_path(run_dir, step)).weights


def same_weights(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
                                    for x, y in zip(a, b))


def read_curves(folder: Path, purge: bool = True) -> dict[str, list]:
    """The scalar curves of one TensorBoard folder, read by TensorBoard's own loader: {tag: [ScalarEvent]}.
    `purge=False`: every event on disk, also those a resumed writer's purge_step drops."""
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}, purge_orphaned_data=purge)
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


def snapshot_steps(run_dir: Path) -> list[int]:
    return [s for s, _ in checkpoint.list_snapshots(run_dir)]


def session_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pgid: int, seconds: float = 20) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not session_alive(pgid):
            return True
        time.sleep(0.2)
    return False


def kill_9_when(home: Path, game: str, config: Path, run: str, ready) -> int:
    """Start `arena league run` with one actor, wait for `ready(run_dir)`, then SIGKILL the whole
    session (main process and actor, mid-whatever). Returns the last snapshot step seen alive."""
    run_dir = home / run
    log_path = home / "first.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(arena_cmd("league", "run", game, "--config", str(config), "--run", run,
                                          "--actors", "1", "--minutes", "5", "--no-live"),
                                cwd=home, env=arena_env(home), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 150
            while not ready(run_dir):
                assert proc.poll() is None, log_path.read_text()
                if time.monotonic() > deadline:
                    pytest.fail("the run did not get far enough within 150 s:\n" + log_path.read_text())
                time.sleep(0.2)
            seen_step = checkpoint.latest_snapshot(run_dir)[0]
            assert session_alive(proc.pid)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert wait_gone(proc.pid)
    return seen_step


@pytest.fixture
def run_cli() -> SimpleNamespace:
    return SimpleNamespace(TINY=TINY, **{f.__name__: f for f in (arena_env, arena_cmd, arena, ok, final_json, write_config, league_run, read_curves, snapshot_weights, same_weights, snapshot_steps, session_alive, wait_gone, kill_9_when)})
