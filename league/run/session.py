"""The league runner behind `arena league run`: one session of a run, with its actors, learners and
evaluator, resumable after any kill.

Actors (separate processes, league/run/actor_process.py) play with the latest published snapshot,
against itself or against pool members drawn by PFSP, and append finished games to the run's HDF5
store and the match ledger; the learner (this process) trains from the store, publishes snapshots
that the actors pick up, adds snapshots to the pool on its cadence and refreshes the matchmaking
weights; the evaluator process plays rating games. Store, snapshot files, pool, matchmaking file
and ledger are the only channels between them, so any of them can die and restart. `actors = 0`
runs everything in this one process, alternating, which makes a run repeatable from its seed.

With exploiters (league/roles.py) the league has several learning agents: each has its own
directory (`agents/<name>/`: snapshots, learner state, trajectories, matchmaking), its own actor
process, and its share of this process's training (every agent up to its own reuse cap, so compute
follows data); inline runs take the agents in turn. An exploiter's snapshot joins the pool when
league/roles.py says so, and may then restart from fresh weights. What the league books of each
agent (joins, the step it last joined at) is kept in its learner's `extra_state`.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import config as cfg
from engine import rundir
from engine.errors import DISK_FULL_EXIT, DiskFullError
from engine.nn import default_device, latest_readable, load_snapshot, snapshot_path
from engine.players import agent_of
from engine.rundir import MAIN
from engine.train import RestartableLearner, learner_kind
from league import pfsp, roles
from league import rater as rating
from league.ladder import ledger_ratings
from league.ledger import Ledger
from league.pool import Pool
from league.ratings import RatingConfig
from league.run.actor_process import AgentActor, actor_main, load_latest, open_recorder
from league.run.curves import Curves
from league.run.progress import Progress
from league.run.recorder import TrainingRecorder, reconcile

STATUS_SECONDS = 2.0
MATCHMAKING_SECONDS = 5.0
EVALUATOR = rating.EVALUATOR_KEY  # the evaluator's key among the child processes


@dataclass
class Trainee:
    """One learning agent of this session: its role, its learner, where it lives. Main's learner
    is any LearnerProtocol; with exploiters every agent's is a RestartableLearner."""
    agent: roles.Agent
    learner: RestartableLearner
    home: Path
    published: int = -1  # the step of its newest snapshot this session

    @property
    def since(self) -> int:
        """Its games from this step on tell its win rates (a fresh start forgets the old weights')."""
        return self.learner.since

    @property
    def joins(self) -> dict[str, int]:
        """The league's bookkeeping of an exploiter: "joins", "last_join", "since" (the first step
        after its last join: its join rule counts games and steps from here)."""
        return self.learner.extra_state

    @property
    def joined_since(self) -> int:
        return self.joins.get("since", 0) if self.agent.exploiter else 0


@dataclass
class InlineSlot:
    """An agent's actor in a single-process run, and the store segments its learner has seen."""
    trainee: Trainee
    player: AgentActor
    recorder: TrainingRecorder
    segments: int = 0


class LeagueRun:
    """One session of a run: resumes every agent's learner, runs actors, trains until the budget is spent."""

    def __init__(self, config: cfg.RunConfig, run_dir: Path, ray: str | None = None) -> None:
        self.config = config
        self.run_dir = run_dir
        self.ray = ray  # a Ray cluster's address (`auto`, `local`, host:port) for the actors, or None
        self.spec = cfg.game_spec(config)
        self.kind = learner_kind(self.spec.learner)
        torch.set_num_threads(config.threads)
        device = default_device()
        self.agents = [Trainee(roles.MAIN_AGENT, self.kind.learner(self.spec, config, run_dir, device), run_dir)]
        for agent in roles.agents(config.league)[1:]:  # exploiters: engine.config allows them for such kinds only
            home = rundir.agent_dir(run_dir, agent.name)
            learner = self.kind.learner(self.spec, config, home, device, seed=roles.seed_of(config.seed, agent.index))
            self.agents.append(Trainee(agent, learner, home))
        self.main = self.agents[0]
        self.learner = self.main.learner
        self.ledger = Ledger.of_run(run_dir)
        self.pool = Pool(run_dir, config.league.pool_size)
        self.progress = Progress(resigning=config.selfplay.resign_threshold > -1.0)
        self.curves = Curves(run_dir, config.tensorboard)
        self._status_written = 0.0
        self._matchmaking_written = 0.0
        self._ladder_games = 0
        self._last_refresh = 0.0

    def _publish(self, t: Trainee) -> None:
        path = t.learner.publish()
        t.published = t.learner.step
        rundir.append_jsonl(t.home / "metrics.jsonl", {"time": time.time(), "step": t.learner.step,
                                                       **t.learner.last_losses, **self.progress.rates(),
                                                       "stored_positions": t.learner.window.positions_loaded,
                                                       "games": t.learner.window.games_seen})
        self.curves.nash_conv(t.agent.name, getattr(t.learner, "latest_nash_conv", {}))
        lc = self.config.league
        self.pool.load()
        if t.agent.exploiter:
            self._maybe_join(t)  # a fresh start publishes again, from here
        else:
            self.progress.snapshot = path.name
            if not lc.gate and (self.pool.newest is None or t.learner.step - self.pool.newest >= lc.pool_every):
                self.pool.add(t.learner.step)
                self._matchmaking()
        # With a gate the candidate is always newer than the pool's newest member: keep those files.
        self.pool.prune_files(keep_newer=lc.gate and not t.agent.exploiter, agent=t.agent.name)

    # ---- exploiters (league/roles.py) ------------------------------------------------------------

    def _maybe_join(self, t: Trainee) -> None:
        """Add the exploiter's snapshot just published to the pool when its role's rule says so."""
        lc = self.config.league
        rate = pfsp.overall(pfsp.recent(self.ledger), t.agent.name, lc.win_rate_decay, t.joined_since)
        if roles.ready_to_join(rate["x"], rate["games"], t.learner.step - t.joined_since, lc):
            self.pool.add(t.learner.step, t.agent.name)
            self._joined(t, t.learner.step)

    def _joined(self, t: Trainee, step: int) -> None:
        """Book a join at `step` and restart fresh if the role says so (the fresh weights are published
        at once, so the actor plays them). Also finishes a join a kill interrupted (see `run`)."""
        joins = t.joins
        joins["joins"] = joins.get("joins", 0) + 1
        joins["last_join"], joins["since"] = step, step + 1
        if roles.resets_after_join(t.agent, joins["joins"], self.config.seed, self.config.league):
            t.learner.reset()
            self._publish(t)
        self._matchmaking()

    def _agent_rows(self, games: list) -> list[dict]:
        """Each agent for the dashboard: role, step, its recent win rate against its target, joins, resets."""
        lc = self.config.league
        rows = []
        for t in self.agents:
            only = (lambda p: agent_of(p) == MAIN) if t.agent.role == roles.MAIN_EXPLOITER else None
            rate = pfsp.overall(games, t.agent.name, lc.win_rate_decay, t.joined_since, only)
            target = "main" if t.agent.role == roles.MAIN_EXPLOITER else "pool"
            rows.append({"agent": t.agent.name, "role": t.agent.role, "step": t.learner.step, "target": target,
                         "win_rate": rate["x"], "games": rate["games"], "joined": t.joins.get("joins", 0),
                         "resets": t.learner.resets, "members": len(self.pool.steps_of(t.agent.name))})
        return rows

    # ---- shared state ----------------------------------------------------------------------------

    def _matchmaking(self) -> None:
        seats = self.spec.num_players if self.config.networks == "per_player" else 0
        games = pfsp.recent(self.ledger)
        for t in self.agents:
            table = pfsp.publish(self.run_dir, self.config.league, self.ledger, seats, t.agent, t.since, games)
            self.curves.matchmaking(t.agent.name, t.learner.step, table)
            if t is self.main:
                self.progress.matchmaking = table
        self.progress.pool = self.pool.load().specs()
        if len(self.agents) > 1:
            self.progress.agents = self._agent_rows(games)

    def _reconcile(self) -> None:
        for t in self.agents:
            reconcile(t.home, self.ledger, self.spec.game_string, self.kind.self_play, t.agent.name)

    def _sync_progress(self) -> None:
        p, lr = self.progress, self.learner
        p.step, p.losses = lr.step, lr.last_losses
        p.stored_positions, p.stored_games = lr.window.positions_loaded, lr.window.games_seen
        p.nash_conv = getattr(lr, "latest_nash_conv", {})
        for row, t in zip(p.agents, self.agents):
            row["step"] = t.learner.step

    def _fit_ladder(self) -> None:
        """Refit the ladder when rating games arrived (points and bootstrap bars: a few ms here)."""
        rated = self.progress.ledger.get("rating", 0)
        if rated == self._ladder_games:
            return
        self._ladder_games = rated
        fit = ledger_ratings(self.ledger, RatingConfig(anchor="random", resamples=50))
        if fit is not None:
            keys = ("rank", "player", "elo", "error", "lower", "upper", "games", "score")
            self.progress.ladder = [{k: getattr(r, k) for k in keys} for r in fit.table()]
            self.progress.ladder_note = fit.summary()

    def _write_status(self, running: bool) -> None:
        self._sync_progress()
        self.progress.ledger = self.ledger.counts()
        self._fit_ladder()
        self.progress.disk_bytes = sum(f.stat().st_size for f in self.run_dir.rglob("*") if f.is_file())
        rundir.write_json(self.run_dir / "status.json", {**self.progress.as_dict(), "running": running})
        # The curves go on at each new step, the ladder's too between refits (a step function).
        self.curves.selfplay(self.learner.step, {**self.progress.rates(), **self.progress.resignation()})
        self.curves.ladder(self.learner.step, self.progress.ladder)
        for t in self.agents:
            self.curves.replay(t.agent.name, t.learner.step, t.learner.window.positions, t.learner.window.capacity)
        self.curves.flush()

    def _tick(self, view) -> None:
        """Refresh the live view, and every few seconds the status file `arena league status` reads."""
        self._sync_progress()
        if view:
            view(self.progress)
        now = time.monotonic()
        # Inline runs refresh matchmaking at fixed points instead (repeatability).
        if self.config.actors and now - self._matchmaking_written > MATCHMAKING_SECONDS:
            self._matchmaking_written = now
            self._matchmaking()
        if now - self._status_written > STATUS_SECONDS:
            self._status_written = now
            self._write_status(True)

    def _resume(self, t: Trainee) -> None:
        """Continue an agent where its last session stopped (or publish its step-0 weights)."""
        resumed = t.learner.resume()
        self.curves.open(t.agent.name, t.learner.step, resumed)
        if not resumed:
            self._publish(t)  # step 0: the actors' first weights
        elif latest_readable(t.home, self.spec.game_string, above=t.learner.step - 1) is None:
            # Killed between saving the learner state and its snapshot, or the snapshot is damaged
            # (moved to quarantine): the learner state writes it again, nothing is lost.
            self._publish(t)
        elif t is self.main:
            self.progress.snapshot = snapshot_path(t.home, t.learner.step).name
        joined = self.pool.load().newest_of(t.agent.name)
        if t.agent.exploiter and joined is not None and joined > t.joins.get("last_join", -1):
            self._joined(t, joined)  # killed between a join and its bookkeeping (or fresh start)
        t.published = t.learner.step
        t.learner.refresh()

    def run(self, steps: int | None = None, minutes: float | None = None, view=None) -> Progress:
        for t in self.agents:
            for stale in [*t.home.glob("*.tmp"), *t.home.glob("snapshots/*.tmp")]:
                stale.unlink(missing_ok=True)  # left by a kill mid-write; the learner is their only writer
        self._reconcile()
        for t in self.agents:
            self._resume(t)
        if gone := self.pool.load().drop_missing():  # their snapshots went to quarantine (or were deleted)
            print(f"warning: pool members without a snapshot file dropped: {', '.join(gone)}", file=sys.stderr)
        self.session_seed = self._session_seed()
        target = self.learner.step + steps if steps is not None else None
        deadline = time.monotonic() + 60 * minutes if minutes is not None else None

        def done() -> bool:
            return ((target is not None and self.learner.step >= target)
                    or (deadline is not None and time.monotonic() >= deadline))
        try:
            if self.config.actors == 0:
                self._run_inline(done, view)
            elif self.ray is not None:
                from league.run.ray_backend import (
                    run_on_ray,  # Ray is an optional extra
                )
                run_on_ray(self, done, view)
            else:
                self._run_processes(done, view)
        finally:
            stopping = sys.exc_info()[1]
            try:
                self._wrap_up()
            except DiskFullError:
                if not isinstance(stopping, DiskFullError):
                    raise  # else the first full write's line stands; these had no room either
        return self.progress

    def _wrap_up(self) -> None:
        """The session's last snapshot, pool member, matchmaking and status."""
        try:
            for t in self.agents:
                if t.learner.step > 0 and not snapshot_path(t.home, t.learner.step).exists():
                    self._publish(t)
            if not self.config.league.gate and self.pool.load().newest != self.learner.step:
                self.pool.add(self.learner.step)  # the session's last word gets rated (`arena ladder --play`)
            self._matchmaking()
            for t in self.agents:  # the games the actors flushed as they stopped count as stored
                t.learner.refresh()
            self._write_status(False)
        finally:
            self.curves.close()

    def _session_seed(self) -> int:
        """The seed of this session's actors: a session resumed at the step an earlier one started
        from (killed before its next snapshot) must not replay the games, game ids included, that the
        earlier one stored. Repeatable: a fresh run's first session depends on config.seed alone."""
        played = self.ledger.total(kinds=("training",))
        return int(np.random.SeedSequence([self.config.seed, self.learner.step, played]).generate_state(1)[0] >> 1)

    def actor_owners(self) -> list[str]:
        """The agent each actor plays for: main's actors 0 .. actors-1, then each exploiter's one actor."""
        return [MAIN] * self.config.actors + [t.agent.name for t in self.agents[1:]]

    def learn(self, done) -> None:
        """Between actors' reports: read new games (at least once a second, and as often as the actors
        poll for snapshots), then train every agent with data up to its reuse cap (compute follows data)."""
        now = time.monotonic()
        if now - self._last_refresh > min(self.kind.poll_seconds, 1.0):
            self._last_refresh = now
            for t in self.agents:
                t.learner.refresh()
        ready = [t for t in self.agents if t.learner.ready()]
        for t in ready:
            self._train_some(t, done, 0.5 / len(ready))
        if not ready:
            time.sleep(0.05)

    def _train_some(self, t: Trainee, done, budget_seconds: float) -> None:
        end = time.monotonic() + budget_seconds
        while t.learner.ready() and not done() and time.monotonic() < end:
            stats = t.learner.train_step()
            self.curves.train_step(t.agent.name, t.learner.step, stats)
            if t.learner.step % self.config.train.snapshot_every == 0:
                self._publish(t)

    # ---- one process: actors and learners alternate ----------------------------------------------

    def _inline_slot(self, t: Trainee, device) -> InlineSlot:
        spec, config = self.spec, self.config
        snap = load_snapshot(snapshot_path(t.home, t.learner.step), spec.game_string)
        rng = np.random.default_rng([self.session_seed, t.agent.index, t.learner.step])
        player = AgentActor.open(self.run_dir, spec, config, self.kind, t.agent.name, snap, rng, device)
        recorder = open_recorder(t.home, "inline", spec, config, self.kind, self.ledger, t.agent.name, float("inf"))
        return InlineSlot(t, player, recorder, recorder.segments_written)

    def _run_inline(self, done, view) -> None:
        """Actors and learners alternate in this process, agent after agent: repeatable for a given
        seed (with --steps)."""
        device = default_device()
        self._matchmaking()
        slots = [self._inline_slot(t, device) for t in self.agents]
        rater = rating.Rater(self.run_dir, self.config, self.config.seed) if self.config.league.evaluator else None
        start = time.monotonic()
        try:
            while not done():
                for index, slot in enumerate(slots):
                    if done():
                        break
                    if self._inline_turn(slot, done):  # a new snapshot, perhaps a new pool member to rate
                        while rater and not done() and (job := rater.next_job(fill=False)):
                            rater.run_job(job)
                    self.progress.update_actor(index, slot.player.stats(time.monotonic() - start))
                    if any(s.player.step != s.trainee.published for s in slots):  # someone published
                        self._matchmaking()
                        for s in slots:
                            self._inline_pick_up(s)
                self._tick(view)
        finally:
            for slot in slots:
                slot.recorder.close()

    def _inline_turn(self, slot: InlineSlot, done) -> bool:
        """One move of the agent's games; when a segment was written, train the agent up to its
        reuse cap (no wall-clock budget here, so runs repeat exactly). True when it published."""
        t = slot.trainee
        slot.player.actor.step(slot.recorder.add)
        if slot.recorder.segments_written == slot.segments:
            return False
        slot.segments = slot.recorder.segments_written
        t.learner.refresh()
        self._train_some(t, done, float("inf"))
        return t.published != slot.player.step

    def _inline_pick_up(self, slot: InlineSlot) -> None:
        """The agent's newest weights, and fresh opponents (theirs may have moved too)."""
        t = slot.trainee
        if t.published != slot.player.step:
            load_latest(t.home, self.spec, slot.player.evaluator, -1)
            slot.player.play(t.published)
        slot.player.opponents.refresh()

    # ---- actor processes ---------------------------------------------------------------------------

    def _read_stats(self, stats) -> None:
        """The actors' reports; a child's full disk (engine.errors.exit_disk_full) stops the run."""
        while True:
            try:
                index, report = stats.get_nowait()
            except queue.Empty:
                return
            if "disk_full" in report:
                raise DiskFullError(report["disk_full"])
            self.progress.update_actor(index, report)

    def _run_processes(self, done, view) -> None:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        stats = ctx.Queue()
        seed = self.session_seed
        procs: dict[int, mp.Process] = {}
        owners = self.actor_owners()

        def start(i: int) -> None:
            run_seed = seed + 1000 * self.progress.restarts
            if i == EVALUATOR:
                procs[i] = ctx.Process(target=rating.evaluator_main, args=(str(self.run_dir), run_seed, stop, stats),
                                       daemon=True)
            else:
                procs[i] = ctx.Process(target=actor_main, args=(str(self.run_dir), i, run_seed, stop, stats, owners[i]),
                                       daemon=True)
            procs[i].start()

        for i in range(len(owners)):
            start(i)
        if self.config.league.evaluator:
            start(EVALUATOR)
        try:
            while not done():
                self.learn(done)
                self._read_stats(stats)
                for i, proc in list(procs.items()):
                    if not proc.is_alive() and not stop.is_set():
                        if proc.exitcode == DISK_FULL_EXIT:  # its line is on the queue; a restart would fail too
                            self._read_stats(stats)
                            raise DiskFullError.of(self.run_dir)
                        self.progress.restarts += 1  # an actor died (killed, OOM): replace it
                        self._reconcile()  # its last segment
                        start(i)
                self.progress.actors_alive = sum(p.is_alive() for i, p in procs.items() if i != EVALUATOR)
                self._tick(view)
        finally:
            stop.set()
            for proc in procs.values():
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.terminate()
            for t in self.agents:
                t.learner.refresh()
