"""Actors on a Ray cluster: `arena league run GAME --ray auto|local|ADDRESS`.

The run directory stays on the head, with the driver (this process): learner, snapshots, store,
ledger, rater. Actors are Ray actors on any node, `cluster.actor_cpus` (and `actor_gpus`) each.
They get everything through Ray's object store, never through files: the newest snapshot of their
agent (put once a step, so each node fetches it once), the agent's matchmaking table, and the pool
members' snapshots the table names (fetched by an actor only when it draws them). Each actor has
one `play` call in flight at a time and answers it with the games it finished in
`cluster.play_seconds` (returned by value), so a slow head never fills memory and a dead actor
costs at most those games. The driver writes them as store segments, then ledger rows, through one
TrainingRecorder per actor: segments stay one-writer files and ledger uids make rows idempotent.

An actor that dies (killed, or its node left the cluster) is replaced at once with the newest
snapshot, on whatever node has room, and counted in the status's restarts. Ray is imported through
league.cluster, only when the session runs on one, so without `--ray` nothing needs it.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from engine import config as cfg, files, rundir
from engine.config import ConfigError
from engine.errors import DISK_FULL_EXIT, DiskFullError
from engine.nn import Evaluator, Snapshot, default_device, load_snapshot, snapshot_path
from engine.nn.checkpoint import SnapshotDamaged
from engine.players import snapshot_spec
from engine.train import learner_kind
from league import rater as rating
from league.cluster import check_versions, connect, import_ray, versions
from league.pfsp import MATCHMAKING_FILE, Opponents, entries
from league.pool import snapshot_file
from league.run.actor_process import AgentActor, open_recorder
from league.run.progress import COUNTERS
from league.run.recorder import TrainingRecorder

class SharedOpponents(Opponents):
    """Opponents a cluster's driver sends: its matchmaking table, and refs to the members' snapshots."""

    def __init__(self, game_string: str, config: cfg.LeagueConfig, rng: np.random.Generator, device=None) -> None:
        super().__init__(game_string, config, rng, device)
        self.table: dict = {}
        self.members: dict = {}  # name -> ObjectRef of its Snapshot

    def read_table(self) -> dict:
        return self.table

    def load_member(self, name: str) -> Snapshot | None:
        import ray
        ref = self.members.get(name)
        return None if ref is None else ray.get(ref[0])


class RemoteActor:
    """One actor on a node: an agent's actor with its network, playing until asked for its games."""

    def __init__(self, config: dict, run: str, agent: str, index: int, seed: int, snapshot: Snapshot) -> None:
        self.config = cfg.from_dict(config)
        torch.set_num_threads(self.config.threads)
        self.spec = cfg.game_spec(self.config)
        kind = learner_kind(self.spec.learner)
        device = default_device()
        rng = np.random.default_rng([seed, index, snapshot.step])
        self.opponents = SharedOpponents(self.spec.game_string, self.config.league, rng, device)
        evaluator = Evaluator(snapshot.build_models(device), device, onnxruntime=True,
                              int8=self.config.selfplay.int8)
        actor = kind.actor(self.spec, evaluator, self.config, rng, participant=snapshot_spec(run, snapshot.step, agent),
                           opponents=self.opponents)
        actor.learner_step = snapshot.step
        self.player = AgentActor(Path(run), agent, evaluator, self.opponents, actor, snapshot.step)
        self.started = time.monotonic()

    def where(self) -> dict[str, str]:
        return {"node": _node(), "pid": str(os.getpid()), **versions()}

    def update(self, snapshot: Snapshot | None, table: dict, members: dict) -> None:
        """New weights (when `snapshot` is not None) and the matchmaking of now."""
        if snapshot is not None and snapshot.step != self.player.step:
            self.player.evaluator.load(snapshot.weights)
            self.player.play(snapshot.step)
        self.opponents.table, self.opponents.members = table, members
        self.opponents.refresh()

    def play(self, seconds: float) -> tuple[list, dict]:
        """The games finished within `seconds` of play, and this actor's running totals."""
        finished: list = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.player.actor.step(finished.append)
        return finished, {**self.player.stats(time.monotonic() - self.started), "node": _node()}


def _node() -> str:
    """The node an actor runs on: its address and the start of Ray's node id (a machine may hold several)."""
    import ray
    return f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:6]}"


@dataclass
class _Slot:
    """The driver's side of one actor: its handle, what it has been sent, what it has written."""
    index: int
    agent: str
    recorder: TrainingRecorder
    handle: object = None
    node: str = "?"
    call: object = None  # the ObjectRef of its `play` in flight
    sent_step: int = -1
    sent_table: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)  # stats of its earlier incarnations, summed
    last: dict = field(default_factory=dict)  # the current incarnation's running totals
    born: float = 0.0  # when its first incarnation started (rates span all of them)


class RayActors:
    """The driver's actors on a cluster: started, fed, drained, replaced when they die."""

    def __init__(self, ray, session, seed: int) -> None:
        self.ray = ray
        self.session = session
        self.run_dir: Path = session.run_dir
        self.config = session.config
        self.seed = seed
        self.remote = ray.remote(RemoteActor)
        self.snapshots: dict[str, tuple[int, object]] = {}  # agent -> (step, ref of its newest Snapshot)
        self.members: dict[str, object] = {}  # pool member spec -> ref of its Snapshot
        self.restarts = 0
        homes = {t.agent.name: t.home for t in session.agents}
        self.slots = [_Slot(i, agent, open_recorder(homes[agent], f"ray-{i}", session.spec, self.config,
                                                     session.kind, session.ledger, agent,
                                                     self.config.selfplay.flush_seconds))
                      for i, agent in enumerate(session.actor_owners())]
        self.homes = homes

    def check_resources(self) -> None:
        cc = self.config.cluster
        have = self.ray.cluster_resources()
        for what, each in (("CPU", cc.actor_cpus), ("GPU", cc.actor_gpus)):
            need = each * len(self.slots)
            if need > have.get(what, 0.0) + 1e-9:
                raise ConfigError(f"the Ray cluster has {have.get(what, 0.0):g} {what}s and {len(self.slots)} actors "
                                  f"want {need:g} (cluster.actor_{what.lower()}s = {each:g} each): add nodes, or "
                                  "ask for fewer with --actors")

    def _snapshot(self, agent: str) -> tuple[int, object]:
        """The ref of the agent's newest published snapshot, put once a step."""
        step = next(t.published for t in self.session.agents if t.agent.name == agent)
        if self.snapshots.get(agent, (None,))[0] != step:
            snap = load_snapshot(snapshot_path(self.homes[agent], step), self.session.spec.game_string)
            self.snapshots[agent] = (step, self.ray.put(snap))
        return self.snapshots[agent]

    def _matchmaking(self, agent: str) -> tuple[dict, dict]:
        """The agent's table and refs to the snapshots of the members it names (each put once)."""
        table = rundir.read_json(rundir.agent_dir(self.run_dir, agent) / MATCHMAKING_FILE) or {}
        refs = {}
        for name in {e["player"] for e in entries(table)}:
            if name not in self.members:
                path = snapshot_file(self.run_dir, name)
                try:
                    snap = load_snapshot(path, self.session.spec.game_string)
                except SnapshotDamaged as exc:  # set aside, as pfsp does for local actors
                    files.quarantine(path, exc.problem, f"{name} sits out (`arena league repair RUN` drops it "
                                     "from the pool)")
                    continue
                except Exception:  # thinned out of the pool meanwhile: not offered
                    continue
                self.members[name] = self.ray.put(snap)
            refs[name] = [self.members[name]]  # in a list: the actor fetches it only when drawn
        return table, refs

    def forget_old_members(self) -> None:
        named = {e["player"] for s in self.slots for e in entries(s.sent_table)}
        for name in [n for n in self.members if n not in named]:
            del self.members[name]

    def start(self, slot: _Slot) -> None:
        cc = self.config.cluster
        step, ref = self._snapshot(slot.agent)
        slot.handle = self.remote.options(num_cpus=cc.actor_cpus, num_gpus=cc.actor_gpus, max_restarts=0).remote(
            cfg.to_dict(self.config), self.run_dir.name, slot.agent, slot.index, self.seed + 1000 * self.restarts, ref)
        slot.sent_step, slot.sent_table = step, {}
        slot.born = slot.born or time.monotonic()
        slot.totals = {k: slot.totals.get(k, 0) + slot.last.get(k, 0) for k in COUNTERS}
        slot.last, slot.node = {}, "?"  # placed by Ray, told by its first games
        slot.call = None

    def check_versions(self) -> None:
        for slot in self.slots:
            found = self.ray.get(slot.handle.where.remote())
            slot.node = found.pop("node")
            found.pop("pid")
            check_versions(found, slot.node)

    def feed(self, slot: _Slot) -> None:
        """Send new weights or matchmaking if any, then ask for the next games."""
        step, ref = self._snapshot(slot.agent)
        table, members = self._matchmaking(slot.agent)
        if step != slot.sent_step or table != slot.sent_table:
            slot.handle.update.remote(ref if step != slot.sent_step else None, table, members)
            slot.sent_step, slot.sent_table = step, table
        slot.call = slot.handle.play.remote(self.config.cluster.play_seconds)

    def collect(self, timeout: float) -> None:
        """Write the games of every finished `play` call; replace actors that died."""
        calls = {s.call: s for s in self.slots if s.call is not None}
        if not calls:
            return
        done, _ = self.ray.wait(list(calls), num_returns=len(calls), timeout=timeout)
        for ref in done:
            slot = calls[ref]
            if self._write(slot, ref):
                self.feed(slot)
            else:  # it died (killed, or its node left): a new one on whatever node has room
                self.restarts += 1
                self.session.progress.restarts += 1
                self.start(slot)
                self.feed(slot)
        for slot in self.slots:
            slot.recorder.flush_if_due()

    def _write(self, slot: _Slot, ref) -> bool:
        """Store the games of a finished call; False when its actor died instead."""
        slot.call = None
        try:
            finished, stats = self.ray.get(ref)
        except self.ray.exceptions.RayActorError:
            return False
        for game in finished:
            slot.recorder.add(game)
        slot.last, slot.node = stats, stats["node"]
        self.session.progress.update_actor(slot.index, {
            **{k: slot.totals.get(k, 0) + stats[k] for k in COUNTERS},
            "seconds": time.monotonic() - slot.born, "flushed": slot.recorder.games_written, "node": slot.node})
        return True

    def cluster_view(self) -> dict:
        """Nodes, actors per node, games a minute per node, restarts: for status and the live view."""
        nodes: dict[str, dict] = {}
        per_actor = self.session.progress.per_actor
        for slot in self.slots:
            row = nodes.setdefault(slot.node, {"actors": 0, "games_per_minute": 0.0})
            row["actors"] += 1
            s = per_actor.get(slot.index)
            if s:
                row["games_per_minute"] += 60 * s["games"] / max(s["seconds"], 1e-9)
        return {"backend": "ray", "address": self.session.ray, "nodes": nodes, "restarts": self.restarts}

    def close(self) -> None:
        """Write the games of the calls in flight (they end within play_seconds), then stop the actors."""
        calls = {s.call: s for s in self.slots if s.call is not None}
        if calls:
            done, _ = self.ray.wait(list(calls), num_returns=len(calls), timeout=self.config.cluster.play_seconds + 10)
            for ref in done:
                self._write(calls[ref], ref)
        for slot in self.slots:
            slot.recorder.close()
            if slot.handle is not None:
                try:
                    self.ray.kill(slot.handle)
                except Exception:
                    pass


def run_on_ray(session, done, view) -> None:
    """The session's loop with its actors on a Ray cluster (the learner and rater stay here)."""
    ray = import_ray()
    started = connect(ray, session.ray)
    actors = None
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    reports = ctx.Queue()  # the evaluator's line on a full disk
    rater = None
    try:
        actors = RayActors(ray, session, session.session_seed)
        session.remote_actors = actors  # for tests and tools that look at the actors of a live session
        actors.check_resources()
        for slot in actors.slots:
            actors.start(slot)
        actors.check_versions()
        for slot in actors.slots:
            actors.feed(slot)
        while not done():
            if session.config.league.evaluator and (rater is None or not rater.is_alive()):
                if rater is not None and rater.exitcode == DISK_FULL_EXIT:  # its line is on the queue
                    session._read_stats(reports)
                    raise DiskFullError.of(session.run_dir)
                rater = ctx.Process(target=rating.evaluator_main,
                                    args=(str(session.run_dir), session.config.seed + actors.restarts, stop, reports),
                                    daemon=True)
                rater.start()
            session.learn(done)
            actors.collect(timeout=0.0)
            session.progress.actors_alive = sum(s.call is not None for s in actors.slots)
            session.progress.cluster = actors.cluster_view()
            actors.forget_old_members()
            session._tick(view)
    finally:
        stop.set()
        if actors is not None:
            actors.close()
        if rater is not None:
            rater.join(timeout=30)
            if rater.is_alive():
                rater.terminate()
        for t in session.agents:
            t.learner.refresh()
        if started:
            ray.shutdown()
