"""The league runner behind `arena league run`: actors, learner, evaluator, resumption.

Actors (separate processes) play with the latest published snapshot, against itself or against pool
members drawn by PFSP, and append finished games to the run's HDF5 store and the match ledger; the
learner (this process) trains from the store, publishes snapshots that the actors pick up, adds
snapshots to the pool on its cadence and refreshes the matchmaking weights; the evaluator process
plays rating games. Store, snapshot files, pool, matchmaking file and ledger are the only channels
between them, so any of them can die and restart. `actors = 0` runs everything in this one process,
alternating, which makes a run repeatable from its seed.

With exploiters (league/roles.py) the league has several learning agents: each has its own
directory (`agents/<name>/`: snapshots, learner state, trajectories, matchmaking), its own actor
process, and its share of this process's training (every agent up to its own reuse cap, so compute
follows data); inline runs take the agents in turn. An exploiter's snapshot joins the pool when
league/roles.py says so, and may then restart from fresh weights.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import games
from engine.nn import checkpoint
from engine import config as cfg, rundir
from engine.rundir import MAIN
from engine.nn import Evaluator
from engine.train import Learner
from engine.train import MMDLearner
from engine.train import PolicyActor
from engine.nn import default_device
from engine.train import SelfPlayActor, store_meta
from engine.data import Trajectory, SegmentWriter, list_segments, read_segment
from league import pfsp, roles
from league import rater as rating
from league.ladder import ledger_ratings
from league.ledger import GameResult, Ledger
from league.ratings import RatingConfig
from engine.players import agent_of
from league.pool import Pool, spec as snapshot_spec

SNAPSHOT_POLL_SECONDS = 3.0
ON_POLICY_POLL_SECONDS = 0.25  # mmd waits for games of each new snapshot: pick it up at once
STATS_SECONDS = 1.0
STATUS_SECONDS = 2.0
MATCHMAKING_SECONDS = 5.0
EVALUATOR = -1  # the evaluator's key among the child processes


def prepare_run(game: str | None, config_file: str | None, run: str | None,
                flags: dict | None = None) -> tuple[cfg.RunConfig, Path, bool]:
    """Resolve the config and run directory; returns (config, run_dir, resumed).

    A new run writes its resolved config, command-line `flags` (seed, actors) included; an
    existing one resumes with the config it was started with (only `actors` may change per
    session), and refuses a different game or seed.
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    overrides = {**(cfg.read_toml(config_file) if config_file else {}), **flags}
    if not isinstance(overrides.get("game", ""), str):
        raise cfg.ConfigError(f"config 'game' must be str, got {overrides['game']!r}")
    name = run or (overrides.get("game") or game or "").split("(")[0] or None
    if name is None:
        raise cfg.ConfigError("no game given: `arena league run GAME` (see `arena games`)")
    run_dir = rundir.run_path(name)
    if (run_dir / "config.toml").exists():
        config = rundir.load_config(run_dir)
        asked = overrides.get("game") or game
        if asked and asked != config.game:
            raise rundir.RunError(f"run '{name}' plays {config.game}, not {asked}: pick another --run name")
        if "seed" in flags and flags["seed"] != config.seed:
            raise rundir.RunError(f"run '{name}' was started with seed {config.seed}: resume without --seed, "
                                  "or use a new --run name")
        if "actors" in flags:
            config.actors = flags["actors"]
        if config_file:
            fresh = cfg.resolve(config.game, {"seed": config.seed, **overrides, "actors": config.actors})
            if cfg.to_dict(fresh) != cfg.to_dict(config):
                raise rundir.RunError(f"run '{name}' was started with another config ({run_dir / 'config.toml'}): "
                                      "resume without --config, or use a new --run name")
        games.require_learner(games.load(config.game))
        return config, run_dir, True
    config = cfg.resolve(game, overrides)
    spec = games.load(config.game)
    games.require_learner(spec)
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(config))
    return config, run_dir, False


# ---- training games: HDF5 store and ledger ------------------------------------------------------

class TrainingRecorder:
    """Hands finished games to the store's writer and, once their segment is on disk, to the ledger.

    The ledger entry follows the HDF5 write, so a kill in between leaves games the ledger lacks but
    never ledger entries without data; `reconcile` adds those on the next start (uids make it
    idempotent). With `self_play=False` games of the policy against itself stay in the store only:
    poker self-play runs to millions of hands a run, which say nothing about who beats whom.
    An exploiter's games carry its name as match_id: the players alone do not tell main's game
    against an exploiter's pool snapshot from the exploiter's game against main (league/pfsp.py).
    """

    def __init__(self, writer: SegmentWriter, ledger: Ledger, game_string: str, self_play: bool = True,
                 agent: str = MAIN) -> None:
        self.writer = writer
        self.ledger = ledger
        self.game_string = game_string
        self.self_play = self_play
        self.match_id = None if agent == MAIN else agent
        self.pending: list[GameResult] = []

    def add(self, record: Trajectory) -> None:
        if self.self_play or len(set(record.participants)) > 1:
            self.pending.append(_ledger_record(record.participants, record.returns, record.plies or len(record),
                                               record.game_id, time.time(), self.game_string, self.match_id))
        self._after(self.writer.add(record))

    def flush_if_due(self) -> None:
        self._after(self.writer.flush_if_due())

    def _after(self, written) -> None:
        if written is not None and self.writer.pending_games == 0:
            self.ledger.record_many(self.pending)
            self.pending = []

    @property
    def games_written(self) -> int:
        return self.writer.games_written

    def close(self) -> None:
        self.writer.close()
        self._after(True)


def _ledger_record(players, returns, length: int, uid: str, finished: float, game_string: str,
                   match_id: str | None) -> GameResult:
    return GameResult(players=tuple(players), returns=tuple(map(float, returns)), length=int(length),
                      kind="training", game=game_string, uid=uid, time=float(finished), match_id=match_id)


def reconcile(home: Path, ledger: Ledger, game_string: str, self_play: bool = True, agent: str = MAIN) -> int:
    """Record in the ledger the stored games a kill kept from it (the newest segment of each writer
    in an agent's `home`); `self_play` and `agent` as in TrainingRecorder."""
    newest: dict[str, Path] = {}
    for path in list_segments(home / "trajectories"):
        newest[path.name.rsplit("-", 1)[0]] = path
    added = 0
    match_id = None if agent == MAIN else agent
    for path in newest.values():
        try:
            g = read_segment(path, slice(0, 0)).games
        except Exception:  # a damaged segment: the store's own recovery deals with it
            continue
        added += ledger.record_many(
            _ledger_record(p, r, n, uid, t, game_string, match_id)
            for uid, p, r, n, t in zip(g["game_id"], g["participants"], g["returns"], g["length"], g["finished_at"])
            if self_play or len(set(p)) > 1)
    return added


def components(spec) -> tuple[type, type]:
    """(learner class, actor class) of the learner that serves the game."""
    if spec.learner == "mmd":
        return MMDLearner, PolicyActor
    return Learner, SelfPlayActor


def _actor_class(spec, agent: str) -> type:
    """Exploiters exist for AlphaZero games only (engine.config refuses them for mmd)."""
    return components(spec)[1] if agent == MAIN else SelfPlayActor


# ---- actor process ------------------------------------------------------------------------------

def _load_latest(run_dir: Path, spec, evaluator: Evaluator, current: int) -> int:
    found = checkpoint.latest_snapshot(run_dir)
    if found is None or found[0] == current:
        return current
    try:
        snap = checkpoint.load_snapshot(found[1], spec.game_string)
    except checkpoint.CheckpointError:
        return current  # a file being replaced; the next poll gets it
    evaluator.load(snap.weights)
    return snap.step


def actor_main(run_dir: str, index: int, seed: int, stop, stats_queue, agent: str = MAIN) -> None:
    """Entry point of an actor process: plays `agent`'s games until `stop` is set or the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and sets `stop`
    run_dir = Path(run_dir)
    home = rundir.agent_dir(run_dir, agent)
    config = rundir.load_config(run_dir)
    torch.set_num_threads(config.threads)
    parent = os.getppid()
    spec = games.load(config.game)
    device = default_device()
    while checkpoint.latest_snapshot(home) is None and not stop.is_set():
        time.sleep(0.2)
    found = checkpoint.latest_snapshot(home)
    if found is None:
        return
    snap = checkpoint.load_snapshot(found[1], spec.game_string)
    evaluator = Evaluator(snap.build_models(device), device)
    step = snap.step
    rng = np.random.default_rng([seed, index, step])
    opponents = pfsp.PoolOpponents(run_dir, spec.game_string, config.league, rng, device, agent)
    opponents.refresh()
    actor = _actor_class(spec, agent)(spec, evaluator, config, rng, participant=snapshot_spec(run_dir, step, agent),
                                      opponents=opponents)
    poll = ON_POLICY_POLL_SECONDS if spec.learner == "mmd" else SNAPSHOT_POLL_SECONDS
    actor.learner_step = step
    sp = config.selfplay
    writer = TrainingRecorder(SegmentWriter(home / "trajectories", f"actor-{index}", store_meta(spec),
                                            sp.flush_games, sp.flush_seconds), Ledger.of_run(run_dir), spec.game_string,
                              self_play=spec.learner != "mmd", agent=agent)
    start = last_poll = last_stats = time.monotonic()
    try:
        while not stop.is_set() and os.getppid() == parent:
            actor.step(writer.add)
            writer.flush_if_due()
            now = time.monotonic()
            if now - last_poll > poll:
                last_poll = now
                new_step = _load_latest(home, spec, evaluator, step)
                # An exploiter's opponents move without it (main's latest snapshot, new members).
                if new_step != step or agent != MAIN:
                    step = new_step
                    opponents.refresh()
                actor.learner_step = step
                actor.participant = snapshot_spec(run_dir, step, agent)
            if now - last_stats > STATS_SECONDS:
                last_stats = now
                stats_queue.put((index, {"games": actor.stats.games, "positions": actor.stats.positions,
                                         "simulations": actor.simulations,
                                         "seconds": now - start, "flushed": writer.games_written}))
    finally:
        writer.close()


# ---- learner side -------------------------------------------------------------------------------

@dataclass
class Progress:
    """What the live view shows; summed over actors."""
    started: float = field(default_factory=time.monotonic)
    games: int = 0
    positions: int = 0
    simulations: int = 0
    actor_seconds: dict[int, float] = field(default_factory=dict)
    per_actor: dict[int, dict] = field(default_factory=dict)
    stored_positions: int = 0
    stored_games: int = 0
    step: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    snapshot: str = "-"
    actors_alive: int = 0
    restarts: int = 0
    pool: list[str] = field(default_factory=list)
    matchmaking: dict = field(default_factory=dict)
    ledger: dict[str, int] = field(default_factory=dict)  # games per kind
    disk_bytes: int = 0
    ladder: list[dict] = field(default_factory=list)
    ladder_note: str = ""
    nash_conv: dict = field(default_factory=dict)  # the latest measurement (mmd, small games)
    agents: list[dict] = field(default_factory=list)  # one row per learning agent (see LeagueRun._agent_rows)

    def update_actor(self, index: int, stats: dict) -> None:
        self.per_actor[index] = stats
        self.games = sum(s["games"] for s in self.per_actor.values())
        self.positions = sum(s["positions"] for s in self.per_actor.values())
        self.simulations = sum(s["simulations"] for s in self.per_actor.values())

    def rates(self) -> dict[str, float]:
        games_per_min = sum(60 * s["games"] / max(s["seconds"], 1e-9) for s in self.per_actor.values())
        sims_per_s = sum(s["simulations"] / max(s["seconds"], 1e-9) for s in self.per_actor.values())
        return {"games_per_minute": games_per_min, "simulations_per_second": sims_per_s}

    def as_dict(self) -> dict:
        return {"updated": time.time(), "elapsed": time.monotonic() - self.started, "games": self.games, "positions": self.positions,
                "stored_games": self.stored_games, "stored_positions": self.stored_positions, "step": self.step,
                "losses": self.losses, "snapshot": self.snapshot, "actors_alive": self.actors_alive,
                "restarts": self.restarts, "pool": self.pool, "matchmaking": self.matchmaking,
                "ledger": self.ledger, "disk_bytes": self.disk_bytes,
                "ladder": self.ladder, "ladder_note": self.ladder_note, "nash_conv": self.nash_conv,
                "agents": self.agents, **self.rates()}


@dataclass
class Trainee:
    """One learning agent of this session: its role, its learner, where it lives."""
    agent: roles.Agent
    learner: Learner | MMDLearner
    home: Path
    published: int = -1  # the step of its newest snapshot this session

    @property
    def since(self) -> int:
        """Its games from this step on tell its win rates (a fresh start forgets the old weights')."""
        return getattr(self.learner, "since", 0)

    @property
    def joined_since(self) -> int:
        """The first step after its last join: its join rule counts games and steps from here."""
        return getattr(self.learner, "role", {}).get("since", 0)


@dataclass
class InlineSlot:
    """An agent's actor in a single-process run: its network, matchmaking and store writer."""
    trainee: Trainee
    evaluator: Evaluator
    actor: object
    opponents: pfsp.PoolOpponents
    writer: TrainingRecorder
    current: int  # the snapshot step the actor plays
    segments: int = 0


class LeagueRun:
    """One session of a run: resumes every agent's learner, runs actors, trains until the budget is spent."""

    def __init__(self, config: cfg.RunConfig, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir
        self.spec = games.load(config.game)
        torch.set_num_threads(config.threads)
        device = default_device()
        self.agents = [Trainee(roles.MAIN_AGENT, components(self.spec)[0](self.spec, config, run_dir, device), run_dir)]
        for agent in roles.agents(config.league)[1:]:
            home = rundir.agent_dir(run_dir, agent.name)
            learner = Learner(self.spec, config, home, device, seed=roles.seed_of(config.seed, agent.index))
            self.agents.append(Trainee(agent, learner, home))
        self.main = self.agents[0]
        self.learner = self.main.learner
        self.ledger = Ledger.of_run(run_dir)
        self.pool = Pool(run_dir, config.league.pool_size)
        self.progress = Progress()
        self._status_written = 0.0
        self._matchmaking_written = 0.0
        self._ladder_games = 0

    def _publish(self, t: Trainee) -> None:
        path = t.learner.publish()
        t.published = t.learner.step
        rundir.append_jsonl(t.home / "metrics.jsonl", {"time": time.time(), "step": t.learner.step,
                                                       **t.learner.last_losses, **self.progress.rates(),
                                                       "stored_positions": t.learner.window.positions_loaded,
                                                       "games": t.learner.window.games_seen})
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
        role = t.learner.role
        role["joins"] = role.get("joins", 0) + 1
        role["last_join"], role["since"] = step, step + 1
        if roles.resets_after_join(t.agent, role["joins"], self.config.seed, self.config.league):
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
                         "win_rate": rate["x"], "games": rate["games"],
                         "joined": getattr(t.learner, "role", {}).get("joins", 0),
                         "resets": getattr(t.learner, "resets", 0),
                         "members": len(self.pool.steps_of(t.agent.name))})
        return rows

    # ---- shared state ----------------------------------------------------------------------------

    def _matchmaking(self) -> None:
        seats = self.spec.num_players if self.config.networks == "per_player" else 0
        games = pfsp.recent(self.ledger)
        for t in self.agents:
            table = pfsp.publish(self.run_dir, self.config.league, self.ledger, seats, t.agent, t.since, games)
            if t is self.main:
                self.progress.matchmaking = table
        self.progress.pool = self.pool.load().specs()
        if len(self.agents) > 1:
            self.progress.agents = self._agent_rows(games)

    def _reconcile(self) -> None:
        for t in self.agents:
            reconcile(t.home, self.ledger, self.spec.game_string, self.spec.learner != "mmd", t.agent.name)

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
            self.progress.ladder = [{k: getattr(r, k) for k in ("rank", "player", "elo", "error", "games", "score")}
                                    for r in fit.table()]
            self.progress.ladder_note = fit.summary()

    def _write_status(self, running: bool) -> None:
        self._sync_progress()
        self.progress.ledger = self.ledger.counts()
        self._fit_ladder()
        self.progress.disk_bytes = sum(f.stat().st_size for f in self.run_dir.rglob("*") if f.is_file())
        rundir.write_json(self.run_dir / "status.json", {**self.progress.as_dict(), "running": running})

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
        if not t.learner.resume():
            self._publish(t)  # step 0: the actors' first weights
        elif not checkpoint.snapshot_path(t.home, t.learner.step).exists():
            self._publish(t)  # killed between saving the learner state and its snapshot
        elif t is self.main:
            self.progress.snapshot = checkpoint.snapshot_path(t.home, t.learner.step).name
        joined = self.pool.load().newest_of(t.agent.name)
        if t.agent.exploiter and joined is not None and joined > t.learner.role.get("last_join", -1):
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
        target = self.learner.step + steps if steps is not None else None
        deadline = time.monotonic() + 60 * minutes if minutes is not None else None

        def done() -> bool:
            return ((target is not None and self.learner.step >= target)
                    or (deadline is not None and time.monotonic() >= deadline))
        try:
            if self.config.actors == 0:
                self._run_inline(done, view)
            else:
                self._run_processes(done, view)
        finally:
            for t in self.agents:
                if t.learner.step > 0 and not checkpoint.snapshot_path(t.home, t.learner.step).exists():
                    self._publish(t)
            if not self.config.league.gate and self.pool.load().newest != self.learner.step:
                self.pool.add(self.learner.step)  # the session's last word gets rated (`arena ladder --play`)
            self._matchmaking()
            self._write_status(False)
        return self.progress

    def _train_some(self, t: Trainee, done, budget_seconds: float) -> None:
        end = time.monotonic() + budget_seconds
        while t.learner.ready() and not done() and time.monotonic() < end:
            t.learner.train_step()
            if t.learner.step % self.config.train.snapshot_every == 0:
                self._publish(t)

    def _inline_slot(self, t: Trainee, device) -> InlineSlot:
        spec, config = self.spec, self.config
        snap = checkpoint.load_snapshot(checkpoint.snapshot_path(t.home, t.learner.step), spec.game_string)
        evaluator = Evaluator(snap.build_models(device), device)
        rng = np.random.default_rng([config.seed, t.agent.index, t.learner.step])
        opponents = pfsp.PoolOpponents(self.run_dir, spec.game_string, config.league, rng, device, t.agent.name)
        opponents.refresh()
        actor = _actor_class(spec, t.agent.name)(spec, evaluator, config, rng, opponents=opponents,
                                                 participant=snapshot_spec(self.run_dir, snap.step, t.agent.name))
        actor.learner_step = snap.step  # on-policy learners train only on games of the current weights
        writer = TrainingRecorder(SegmentWriter(t.home / "trajectories", "inline", store_meta(spec),
                                                config.selfplay.flush_games, float("inf")),
                                  self.ledger, spec.game_string, self_play=spec.learner != "mmd", agent=t.agent.name)
        return InlineSlot(t, evaluator, actor, opponents, writer, snap.step, writer.writer.segments_written)

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
                    actor = slot.actor
                    self.progress.update_actor(index, {"games": actor.stats.games, "positions": actor.stats.positions,
                                                       "simulations": actor.simulations,
                                                       "seconds": time.monotonic() - start})
                    if any(s.current != s.trainee.published for s in slots):  # someone published
                        self._matchmaking()
                        for s in slots:
                            self._inline_pick_up(s)
                self._tick(view)
        finally:
            for slot in slots:
                slot.writer.close()

    def _inline_turn(self, slot: InlineSlot, done) -> bool:
        """One move of the agent's games; when a segment was written, train the agent up to its
        reuse cap (no wall-clock budget here, so runs repeat exactly). True when it published."""
        t = slot.trainee
        slot.actor.step(slot.writer.add)
        if slot.writer.writer.segments_written == slot.segments:
            return False
        slot.segments = slot.writer.writer.segments_written
        t.learner.refresh()
        self._train_some(t, done, float("inf"))
        return t.published != slot.current

    def _inline_pick_up(self, slot: InlineSlot) -> None:
        """The agent's newest weights, and fresh opponents (theirs may have moved too)."""
        t = slot.trainee
        if t.published != slot.current:
            slot.current = t.published
            _load_latest(t.home, self.spec, slot.evaluator, -1)
            slot.actor.learner_step = slot.current
            slot.actor.participant = snapshot_spec(self.run_dir, slot.current, t.agent.name)
        slot.opponents.refresh()

    def _run_processes(self, done, view) -> None:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        stats = ctx.Queue()
        seed = self.config.seed + self.learner.step
        procs: dict[int, mp.Process] = {}
        # Main's actors are 0 .. actors-1; each exploiter's one actor follows.
        owners = [MAIN] * self.config.actors + [t.agent.name for t in self.agents[1:]]

        def start(i: int) -> None:
            run_seed = seed + 1000 * self.progress.restarts
            if i == EVALUATOR:
                procs[i] = ctx.Process(target=rating.evaluator_main, args=(str(self.run_dir), run_seed, stop), daemon=True)
            else:
                procs[i] = ctx.Process(target=actor_main, args=(str(self.run_dir), i, run_seed, stop, stats, owners[i]),
                                       daemon=True)
            procs[i].start()

        for i in range(len(owners)):
            start(i)
        if self.config.league.evaluator:
            start(EVALUATOR)
        last_refresh = 0.0
        try:
            while not done():
                now = time.monotonic()
                if now - last_refresh > (ON_POLICY_POLL_SECONDS if self.spec.learner == "mmd" else 1.0):
                    last_refresh = now
                    for t in self.agents:
                        t.learner.refresh()
                ready = [t for t in self.agents if t.learner.ready()]
                for t in ready:  # each up to its own reuse cap: compute follows data
                    self._train_some(t, done, 0.5 / len(ready))
                if not ready:
                    time.sleep(0.05)
                while True:
                    try:
                        index, s = stats.get_nowait()
                    except queue.Empty:
                        break
                    self.progress.update_actor(index, s)
                for i, proc in list(procs.items()):
                    if not proc.is_alive() and not stop.is_set():
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
