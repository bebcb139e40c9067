"""TensorBoard curves of league runs (league/run/curves.py), read back with TensorBoard's own loader:
every expected tag, steps that go on across kill -9 and resume without duplicates or rewinds, and
writes that fail without stopping anything. The MMD run's curves are checked in test_league_run's
kill test, the exploiters' in test_roles' inline run."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest
import torch

from engine import config as cfg
from league.run import Curves, tensorboard_dir

AZ_TAGS = {"main/loss/policy", "main/loss/value", "main/policy/entropy", "main/learning_rate", "main/replay/fill",
           "main/pfsp/win_rate/step-0", "selfplay/games_per_minute", "selfplay/positions_per_second",
           "selfplay/simulations_per_second", "elo/step-0", "elo/step-0/lower", "elo/step-0/upper", "elo/random"}


def steps(events) -> list[int]:
    return [e.step for e in events]


def test_alphazero_curves_go_on_across_kill_9_and_resume(tmp_path, run_cli):
    """Kill -9 while the event files run ahead of the learner state (losses past learner.pt's step),
    resume: the killed session's steps past the resumed state are dropped, the new session's follow."""
    config = run_cli.write_config(tmp_path)
    run_dir = tmp_path / "r"
    folder = tensorboard_dir(run_dir) / "main"
    log_path = tmp_path / "first.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(run_cli.arena_cmd("league", "run", "tic_tac_toe", "--config", str(config), "--run", "r",
                                                  "--actors", "0", "--minutes", "5", "--no-live"),
                                cwd=tmp_path, env=run_cli.arena_env(tmp_path), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 150
            while True:
                assert proc.poll() is None, log_path.read_text()
                if time.monotonic() > deadline:
                    pytest.fail("no rated snapshot and losses past the learner state within 150 s:\n"
                                + log_path.read_text())
                os.killpg(proc.pid, signal.SIGSTOP)  # look at a still picture, then kill it as seen
                state = run_dir / "learner.pt"
                if state.exists() and folder.is_dir():
                    resumes_at = torch.load(state, weights_only=True)["step"]
                    seen = run_cli.read_curves(folder)
                    written = max(steps(seen.get("main/loss/policy", [])), default=0)
                    if written > resumes_at and {"elo/step-0", "main/pfsp/win_rate/step-0"} <= seen.keys():
                        break
                os.killpg(proc.pid, signal.SIGCONT)
                time.sleep(0.3)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert "training curves: tensorboard --logdir " + str(tensorboard_dir(run_dir)) in log_path.read_text()

    killed = time.time()
    result = run_cli.ok(run_cli.league_run(tmp_path, "r", "--actors", "0", "--steps", "5", config=config))
    final = run_cli.final_json(result)["step"]
    assert final == resumes_at + 5
    curves = run_cli.read_curves(folder)
    assert AZ_TAGS <= curves.keys(), AZ_TAGS - curves.keys()
    assert all(tag.startswith(("main/", "selfplay/", "elo/")) for tag in curves)
    # Every learner step once, in order; past the resumed step, only the new session's values.
    for tag in ("main/loss/policy", "main/loss/value", "main/policy/entropy", "main/learning_rate"):
        assert steps(curves[tag]) == list(range(1, final + 1)), tag
        assert all(e.wall_time > killed for e in curves[tag] if e.step > resumes_at), tag
    for tag, events in curves.items():  # the other curves: steps strictly increasing too
        assert all(a < b for a, b in zip(steps(events), steps(events)[1:])), (tag, steps(events))
    assert max(steps(curves["elo/step-0"])) > resumes_at  # the resumed session wrote the ladder on
    # The killed session's steps past the state are still on disk: the purge dropped them.
    raw = steps(run_cli.read_curves(folder, purge=False)["main/loss/policy"])
    assert len(raw) > len(set(raw)) and written in raw
    assert 0.0 < curves["main/replay/fill"][-1].value <= 1.0
    assert curves["main/learning_rate"][-1].value == pytest.approx(2e-3)


def test_a_failed_write_is_said_once_and_the_curves_stop(tmp_path, capfd, monkeypatch):
    # Python's own hook, which prints a thread's error as a traceback (pytest's would keep it quiet).
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    curves = Curves(tmp_path / "r")
    curves.open("main", 0, resumed=False)
    curves.train_step("main", 1, {"policy": 1.0, "entropy": 0.5})
    curves.flush()  # nothing left in the writer thread's queue
    [event_file] = (tensorboard_dir(tmp_path / "r") / "main").iterdir()
    event_file.unlink()
    event_file.mkdir()  # the next append fails (IsADirectoryError), in the writer's thread
    step, deadline = 2, time.monotonic() + 10
    while not curves.failed and time.monotonic() < deadline:
        curves.train_step("main", step, {"policy": 1.0})
        step += 1
        time.sleep(0.01)
    assert curves.failed
    curves.train_step("main", step, {"policy": 1.0})
    curves.close()
    err = capfd.readouterr().err
    assert err.count("warning: TensorBoard curves stopped") == 1 and len(err.splitlines()) == 1, err
    assert "Traceback" not in err

    # A folder that cannot be made (a file in its place): one line again, nothing raised.
    (tmp_path / "s").mkdir()
    tensorboard_dir(tmp_path / "s").write_text("in the way")
    curves = Curves(tmp_path / "s")
    curves.open("main", 0, resumed=False)
    curves.selfplay(1, {"games_per_minute": 1.0})
    curves.close()
    err = capfd.readouterr().err
    assert curves.failed and len(err.splitlines()) == 1 and "warning: TensorBoard curves stopped" in err, err


def test_curves_can_be_turned_off(tmp_path):
    config = cfg.resolve("tic_tac_toe", {"tensorboard": False})
    curves = Curves(tmp_path / "r", config.tensorboard)
    curves.open("main", 0, resumed=False)
    curves.train_step("main", 1, {"policy": 1.0})
    curves.close()
    assert not tensorboard_dir(tmp_path / "r").exists()
