"""Actors on a real local Ray cluster (league/run/ray_backend.py): a head and one worker node of one
CPU each (ray.cluster_utils.Cluster), the run directory on the head; tic_tac_toe with a tiny network.

Games played on either node reach the head's store and ledger one to one; an actor killed with
SIGKILL is replaced and no flushed game is lost; a worker node that leaves lets the run finish on
the head; a stopped run resumes.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import ray

from engine.config import ConfigError
from engine.data import list_segments, read_segment
from league.run import LeagueRun, prepare_run

# One worker runs every test that starts Ray (`make test` runs pytest-xdist with --dist loadgroup):
# two clusters on one machine would share its CPUs, and `ray stop --force` ends every cluster here.
pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture
def league(tmp_path, monkeypatch, run_cli):
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    config_file = run_cli.write_config(tmp_path)

    def make(address: str, name: str = "r", evaluator: bool = False) -> LeagueRun:
        config, run_dir, _ = prepare_run("tic_tac_toe", str(config_file), name, {"actors": 2})
        config.league.evaluator = evaluator  # rating games would take the head's one CPU from its actor
        config.cluster.play_seconds = 0.5
        return LeagueRun(config, run_dir, ray=address)
    return make


def stored_ids(run_dir) -> list[str]:
    ids = []
    for path in list_segments(run_dir / "trajectories"):
        ids += [str(g) for g in read_segment(path, slice(0, 0)).games["game_id"]]
    return ids


def ledger_ids(run_dir) -> list[str]:
    with sqlite3.connect(run_dir / "league.sqlite") as db:
        return [row[0] for row in db.execute("SELECT uid FROM games WHERE kind = 'training'")]


def assert_store_matches_ledger(run_dir) -> int:
    stored, recorded = stored_ids(run_dir), ledger_ids(run_dir)
    assert len(stored) == len(set(stored)) and len(recorded) == len(set(recorded))  # nothing twice
    assert set(stored) == set(recorded)
    return len(stored)


class Background(threading.Thread):
    """A session run in a thread (made there: its SQLite connection belongs to the thread that opened it)."""

    def __init__(self, make, **budget) -> None:
        super().__init__(daemon=True)
        self.make, self.budget, self.ready = make, budget, threading.Event()

    def run(self) -> None:
        self.league = self.make()
        self.ready.set()
        self.league.run(**self.budget)


def in_background(make, **budget) -> Background:
    thread = Background(make, **budget)
    thread.start()
    assert thread.ready.wait(60)
    return thread


def wait_for(condition, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


def test_games_from_both_nodes_reach_the_heads_store_and_ledger_one_to_one(cluster, league):
    c, _ = cluster
    playing: set[str] = set()  # nodes whose actor finished games
    # Time, not steps: each actor must finish games, however fast the learner; rounds grow because
    # on a slow, busy host an actor's start-up alone (Ray worker, torch, numba) can fill 0.4 min.
    for minutes in (0.4, 0.8, 1.2, 1.6):
        run = league(c.address, evaluator=True)
        progress = run.run(minutes=minutes)
        nodes = progress.cluster["nodes"]
        assert len(nodes) == 2 and all(row["actors"] == 1 for row in nodes.values()), nodes  # one CPU a node
        playing |= {s["node"] for s in progress.per_actor.values() if s["games"] > 0}
        if playing == set(nodes):
            break
    assert playing == set(nodes), progress.per_actor
    writers = {p.name.rsplit("-", 1)[0] for p in list_segments(run.run_dir / "trajectories")}
    assert writers == {"traj-ray-0", "traj-ray-1"}
    games = assert_store_matches_ledger(run.run_dir)
    assert games == progress.stored_games > 0
    assert progress.restarts == 0


def test_an_actor_killed_mid_run_is_replaced_and_no_flushed_game_is_lost(cluster, league):
    c, _ = cluster
    thread = in_background(lambda: league(c.address), minutes=0.6)
    run = thread.league
    wait_for(lambda: len(run.progress.per_actor) == 2)
    victim = run.remote_actors.slots[0].handle
    os.kill(int(ray.get(victim.where.remote())["pid"]), signal.SIGKILL)
    wait_for(lambda: run.progress.restarts >= 1)
    games_at_restart = run.progress.games
    wait_for(lambda: run.progress.games > games_at_restart + 10)  # the replacement plays on
    thread.join(timeout=150)
    assert not thread.is_alive()
    assert run.progress.cluster["restarts"] >= 1
    assert assert_store_matches_ledger(run.run_dir) == run.progress.stored_games


def test_a_worker_node_that_leaves_costs_at_most_its_games_in_flight(cluster, league):
    c, worker = cluster
    # A minute: on a slow host both actors' start-up and the lost node's detection need most of it.
    thread = in_background(lambda: league(c.address), minutes=1.0)
    run = thread.league
    wait_for(lambda: len({s["node"] for s in run.progress.per_actor.values()}) == 2)
    c.remove_node(worker)
    wait_for(lambda: run.progress.restarts >= 1)
    stored_then = run.progress.stored_games
    thread.join(timeout=150)
    assert not thread.is_alive()
    assert run.progress.stored_games > stored_then  # the head's actor went on
    assert assert_store_matches_ledger(run.run_dir) == run.progress.stored_games


def test_a_stopped_run_resumes(cluster, league):
    c, _ = cluster
    first = league(c.address).run(steps=10)
    before = stored_ids(league(c.address).run_dir)
    second_run = league(c.address)
    second = second_run.run(steps=10)
    assert first.step == 10 and second.step == 20
    after = stored_ids(second_run.run_dir)
    assert set(before) <= set(after)  # nothing stored before is lost or rewritten
    assert assert_store_matches_ledger(second_run.run_dir) == len(after)


def test_more_actors_than_the_cluster_has_cpus_is_one_line(cluster, league):
    c, _ = cluster
    run = league(c.address)
    run.config.actors = 3
    with pytest.raises(ConfigError, match=r"the Ray cluster has 2 CPUs and 3 actors want 3 .*--actors") as e:
        run.run(steps=1)
    assert "\n" not in str(e.value)
    assert run.learner.step == 0 and not list_segments(run.run_dir / "trajectories")


def test_bad_cluster_input_is_one_line_before_anything_is_written(tmp_path, run_cli):
    config = run_cli.write_config(tmp_path)
    for address, words in (("127.0.0.1:9", "cannot reach a Ray cluster at '127.0.0.1:9'"),
                           ("nowhere", "give a cluster's host:port")):
        result = run_cli.arena(tmp_path, "league", "run", "tic_tac_toe", "--config", str(config), "--run", "x",
                               "--ray", address)
        assert result.returncode == 2 and words in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert not (tmp_path / "x").exists()
    # Without Ray installed (hidden from the import system here): the extra's install command.
    hidden = subprocess.run([sys.executable, "-c", "import sys; sys.modules['ray'] = None\n"
                             "from league.cluster import import_ray\nimport_ray()"],
                            capture_output=True, text=True)
    assert "ConfigError: --ray needs Ray, an optional extra: pip install -e '.[ray]'" in hidden.stderr


def test_the_command_over_loopback_with_ray_start(tmp_path, run_cli):
    """`ray start --head` and a second `ray start --address` (two nodes on this machine), then
    `arena league run --ray HOST:PORT`; kill -9 of the command takes its actors with it; rerunning resumes."""
    ray_cli = str(Path(sys.executable).parent / "ray")
    env = {**run_cli.arena_env(tmp_path), "RAY_AUTH_MODE": "disabled"}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    start = [ray_cli, "start", "--num-cpus=1", "--disable-usage-stats"]
    subprocess.run([*start, "--head", f"--port={port}", "--include-dashboard=false"], env=env, check=True,
                   capture_output=True, timeout=120)
    try:
        subprocess.run([*start, f"--address={address}"], env=env, check=True, capture_output=True, timeout=120)
        config = run_cli.write_config(tmp_path)
        command = ["league", "run", "tic_tac_toe", "--config", str(config), "--run", "lb", "--actors", "2",
                   "--ray", address, "--no-live"]
        proc = subprocess.Popen(run_cli.arena_cmd(*command, "--minutes", "5"), cwd=tmp_path, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        status = tmp_path / "lb" / "status.json"
        wait_for(lambda: status.is_file() and json.loads(status.read_text())["games"] > 20)
        assert _remote_actor_processes()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        wait_for(lambda: not _remote_actor_processes(), seconds=60)  # Ray ends the actors of a dead driver
        kept = len(stored_ids(tmp_path / "lb"))

        rerun = run_cli.ok(subprocess.run(run_cli.arena_cmd(*command, "--steps", "5"), cwd=tmp_path, env=env,
                                          capture_output=True, text=True, timeout=300))
        again = run_cli.final_json(rerun)
        assert "resuming run 'lb'" in rerun.stderr and again["step"] >= 5 and again["stored_games"] >= kept > 0
        assert len(again["cluster"]["nodes"]) == 2
        assert assert_store_matches_ledger(tmp_path / "lb") == again["stored_games"] == again["ledger"]["training"]
        shown = run_cli.ok(subprocess.run(run_cli.arena_cmd("league", "status", "lb"), cwd=tmp_path, env=env,
                                          capture_output=True, text=True, timeout=120)).stdout
        assert f"Ray cluster ({address})" in shown
    finally:
        subprocess.run([ray_cli, "stop", "--force"], env=env, capture_output=True, timeout=120)


def _remote_actor_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-f", "ray::RemoteActor"], capture_output=True, text=True)
    return found.stdout.split()
