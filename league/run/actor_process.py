"""An agent's actor and the process that runs it: plays with the agent's newest snapshot against
the opponents matchmaking picks, and records the finished games in the store and the ledger.

`actor_main` is an actor process's entry point; inline runs (league/run/session.py) hold the same
AgentActor in the learner's process.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import config as cfg, rundir
from engine.data import SegmentWriter
from engine.errors import DiskFullError, exit_disk_full
from engine.nn import Evaluator, Snapshot, default_device, latest_readable, latest_snapshot
from engine.rundir import MAIN
from engine.train import Actor, LearnerKind, learner_kind, store_meta
from league import pfsp
from league.ledger import Ledger
from league.pool import spec as snapshot_spec
from league.run.progress import COUNTERS
from league.run.recorder import TrainingRecorder

STATS_SECONDS = 1.0  # how often an actor process reports its throughput


def load_latest(home: Path, spec, evaluator: Evaluator, current: int) -> int:
    """Load the newest snapshot in `home` into `evaluator` unless it is step `current`; the step it plays."""
    snap = latest_readable(home, spec.game_string, above=current)  # a damaged one goes to quarantine
    if snap is None:
        return current
    evaluator.load(snap.weights)
    return snap.step


def open_recorder(home: Path, name: str, spec, config: cfg.RunConfig, kind: LearnerKind, ledger: Ledger,
                  agent: str, flush_seconds: float) -> TrainingRecorder:
    """A recorder for the games of `agent`'s actor `name` (a file name prefix in its trajectories/)."""
    writer = SegmentWriter(home / "trajectories", name, store_meta(spec), config.selfplay.flush_games, flush_seconds)
    return TrainingRecorder(writer, ledger, spec.game_string, self_play=kind.self_play, agent=agent)


@dataclass
class AgentActor:
    """An agent's actor and what it plays with: its network, its matchmaking, the snapshot step."""
    run_dir: Path
    agent: str
    evaluator: Evaluator
    opponents: pfsp.PoolOpponents
    actor: Actor
    step: int

    @classmethod
    def open(cls, run_dir: Path, spec, config: cfg.RunConfig, kind: LearnerKind, agent: str,
             snap: Snapshot, rng: np.random.Generator, device, onnxruntime: bool = False) -> AgentActor:
        """`onnxruntime`: the agent's network in onnxruntime (engine.nn.Evaluator), for actor processes."""
        evaluator = Evaluator(snap.build_models(device), device, onnxruntime=onnxruntime,
                              int8=onnxruntime and config.selfplay.int8)
        opponents = pfsp.PoolOpponents(run_dir, spec.game_string, config.league, rng, device, agent)
        opponents.refresh()
        actor = kind.actor(spec, evaluator, config, rng, participant=snapshot_spec(run_dir, snap.step, agent),
                           opponents=opponents)
        actor.learner_step = snap.step  # on-policy learners train only on games of the current weights
        return cls(run_dir, agent, evaluator, opponents, actor, snap.step)

    def play(self, step: int) -> None:
        """Record the games from now on as played by the snapshot of `step` (its weights loaded)."""
        self.step = step
        self.actor.learner_step = step
        self.actor.participant = snapshot_spec(self.run_dir, step, self.agent)

    def stats(self, seconds: float) -> dict:
        """The running totals Progress sums over actors (progress.COUNTERS), and the seconds they took."""
        totals = {**dataclasses.asdict(self.actor.stats), "simulations": self.actor.simulations}
        return {**{k: totals[k] for k in COUNTERS}, "seconds": seconds}


def actor_main(run_dir: str, index: int, seed: int, stop, stats_queue, agent: str = MAIN) -> None:
    """Entry point of an actor process: plays `agent`'s games until `stop` is set or the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and sets `stop`
    rundir.name_process(f"arena-actor-{index}")
    try:
        _play(Path(run_dir), index, seed, stop, stats_queue, agent)
    except DiskFullError as exc:
        exit_disk_full(stats_queue, index, exc)


def _play(run_dir: Path, index: int, seed: int, stop, stats_queue, agent: str) -> None:
    home = rundir.agent_dir(run_dir, agent)
    config = rundir.load_config(run_dir)
    torch.set_num_threads(config.threads)
    parent = rundir.spawner_pid()  # the session, even one that died while this process was importing
    spec = cfg.game_spec(config)
    kind = learner_kind(spec.learner)
    device = default_device()
    while latest_snapshot(home) is None and not stop.is_set() and os.getppid() == parent:
        time.sleep(0.2)
    snap = latest_readable(home, spec.game_string) if os.getppid() == parent else None
    if snap is None:
        return
    rng = np.random.default_rng([seed, index, snap.step])
    player = AgentActor.open(run_dir, spec, config, kind, agent, snap, rng, device, onnxruntime=True)
    recorder = open_recorder(home, f"actor-{index}", spec, config, kind, Ledger.of_run(run_dir), agent,
                             config.selfplay.flush_seconds)
    start = last_poll = last_stats = time.monotonic()
    disk_full = False
    try:
        while not stop.is_set() and os.getppid() == parent:
            player.actor.step(recorder.add)
            recorder.flush_if_due()
            now = time.monotonic()
            if now - last_poll > kind.poll_seconds:
                last_poll = now
                step = load_latest(home, spec, player.evaluator, player.step)
                # An exploiter's opponents move without it (main's latest snapshot, new members).
                if step != player.step or agent != MAIN:
                    player.opponents.refresh()
                player.play(step)
            if now - last_stats > STATS_SECONDS:
                last_stats = now
                stats_queue.put((index, {**player.stats(now - start), "flushed": recorder.games_written}))
    except DiskFullError:
        disk_full = True  # the games still pending have no room either: no last flush
        raise
    finally:
        if not disk_full:
            recorder.close()
