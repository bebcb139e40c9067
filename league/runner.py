"""The league runner behind `arena league run`: actors, learner, evaluator, resumption.

Actors (separate processes) play with the latest published snapshot, against itself or against pool
members drawn by PFSP, and append finished games to the run's HDF5 store and the match ledger; the
learner (this process) trains from the store, publishes snapshots that the actors pick up, adds
snapshots to the pool on its cadence and refreshes the matchmaking weights; the evaluator process
plays rating games. Store, snapshot files, pool, matchmaking file and ledger are the only channels
between them, so any of them can die and restart. `actors = 0` runs everything in this one process,
alternating, which makes a run repeatable from its seed.
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
from engine import checkpoint, config as cfg, rundir
from engine.inference import Evaluator
from engine.learner import Learner
from engine.mmd import MMDLearner
from engine.policy_actor import PolicyActor
from engine.networks import default_device
from engine.selfplay import SelfPlayActor, store_meta
from engine.store import GameRecord as Trajectory, SegmentWriter, list_segments, read_segment
from league import pfsp
from league import evaluator as rating
from league.ladder import ledger_ratings
from league.ledger import GameRecord, Ledger
from league.ratings import RatingConfig
from league.pool import Pool

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
    """

    def __init__(self, writer: SegmentWriter, ledger: Ledger, game_string: str, self_play: bool = True) -> None:
        self.writer = writer
        self.ledger = ledger
        self.game_string = game_string
        self.self_play = self_play
        self.pending: list[GameRecord] = []

    def add(self, record: Trajectory) -> None:
        if self.self_play or len(set(record.participants)) > 1:
            self.pending.append(GameRecord(
                players=tuple(record.participants), returns=tuple(map(float, record.returns)),
                length=record.plies or len(record), kind="training", game=self.game_string,
                uid=record.game_id, time=time.time()))
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


def reconcile(run_dir: Path, ledger: Ledger, game_string: str, self_play: bool = True) -> int:
    """Record in the ledger the stored games a kill kept from it (the newest segment of each writer);
    `self_play` as in TrainingRecorder."""
    newest: dict[str, Path] = {}
    for path in list_segments(run_dir / "trajectories"):
        newest[path.name.rsplit("-", 1)[0]] = path
    added = 0
    for path in newest.values():
        try:
            g = read_segment(path, slice(0, 0)).games
        except Exception:  # a damaged segment: the store's own recovery deals with it
            continue
        added += ledger.record_many(
            GameRecord(players=tuple(p), returns=tuple(map(float, r)), length=int(n), kind="training",
                       game=game_string, uid=uid, time=float(t))
            for uid, p, r, n, t in zip(g["game_id"], g["participants"], g["returns"], g["length"], g["finished_at"])
            if self_play or len(set(p)) > 1)
    return added


def components(spec) -> tuple[type, type]:
    """(learner class, actor class) of the learner that serves the game."""
    if spec.learner == "mmd":
        return MMDLearner, PolicyActor
    return Learner, SelfPlayActor


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


def actor_main(run_dir: str, index: int, seed: int, stop, stats_queue) -> None:
    """Entry point of an actor process: self-play until `stop` is set or the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and sets `stop`
    run_dir = Path(run_dir)
    config = rundir.load_config(run_dir)
    torch.set_num_threads(config.threads)
    parent = os.getppid()
    spec = games.load(config.game)
    device = default_device()
    while checkpoint.latest_snapshot(run_dir) is None and not stop.is_set():
        time.sleep(0.2)
    found = checkpoint.latest_snapshot(run_dir)
    if found is None:
        return
    snap = checkpoint.load_snapshot(found[1], spec.game_string)
    evaluator = Evaluator(snap.build_models(device), device)
    step = snap.step
    rng = np.random.default_rng([seed, index, step])
    opponents = pfsp.PoolOpponents(run_dir, spec.game_string, config.league, rng, device)
    opponents.refresh()
    actor = components(spec)[1](spec, evaluator, config, rng, participant=f"{run_dir.name}:step-{step}",
                                 opponents=opponents)
    poll = ON_POLICY_POLL_SECONDS if spec.learner == "mmd" else SNAPSHOT_POLL_SECONDS
    actor.learner_step = step
    sp = config.selfplay
    writer = TrainingRecorder(SegmentWriter(run_dir / "trajectories", f"actor-{index}", store_meta(spec),
                                            sp.flush_games, sp.flush_seconds), Ledger.of_run(run_dir), spec.game_string,
                              self_play=spec.learner != "mmd")
    start = last_poll = last_stats = time.monotonic()
    try:
        while not stop.is_set() and os.getppid() == parent:
            actor.step(writer.add)
            writer.flush_if_due()
            now = time.monotonic()
            if now - last_poll > poll:
                last_poll = now
                new_step = _load_latest(run_dir, spec, evaluator, step)
                if new_step != step:
                    step = new_step
                    opponents.refresh()
                actor.learner_step = step
                actor.participant = f"{run_dir.name}:step-{step}"
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
                **self.rates()}


class LeagueRun:
    """One session of a run: resumes the learner, runs actors, trains until the budget is spent."""

    def __init__(self, config: cfg.RunConfig, run_dir: Path) -> None:
        self.config = config
        self.run_dir = run_dir
        self.spec = games.load(config.game)
        torch.set_num_threads(config.threads)
        self.learner = components(self.spec)[0](self.spec, config, run_dir, default_device())
        self.ledger = Ledger.of_run(run_dir)
        self.pool = Pool(run_dir, config.league.pool_size)
        self.progress = Progress()
        self.metrics = run_dir / "metrics.jsonl"
        self.published_step = -1
        self._status_written = 0.0
        self._matchmaking_written = 0.0
        self._ladder_games = 0

    def _publish(self) -> None:
        path = self.learner.publish()
        self.published_step = self.learner.step
        self.progress.snapshot = path.name
        lc = self.config.league
        self.pool.load()
        if not lc.gate and (self.pool.newest is None or self.learner.step - self.pool.newest >= lc.pool_every):
            self.pool.add(self.learner.step)
            self._matchmaking()
        # With a gate the candidate is always newer than the pool's newest member: keep those files.
        self.pool.prune_files(keep_newer=lc.gate)
        rundir.append_jsonl(self.metrics, {"time": time.time(), "step": self.learner.step,
                                           **self.learner.last_losses, **self.progress.rates(),
                                           "stored_positions": self.learner.window.positions_loaded,
                                           "games": self.learner.window.games_seen})

    def _matchmaking(self) -> None:
        seats = self.spec.num_players if self.config.networks == "per_player" else 0
        self.progress.matchmaking = pfsp.publish(self.run_dir, self.config.league, self.ledger, seats)
        self.progress.pool = self.pool.load().specs()

    def _sync_progress(self) -> None:
        p, lr = self.progress, self.learner
        p.step, p.losses = lr.step, lr.last_losses
        p.stored_positions, p.stored_games = lr.window.positions_loaded, lr.window.games_seen
        p.nash_conv = getattr(lr, "latest_nash_conv", {})

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

    def run(self, steps: int | None = None, minutes: float | None = None, view=None) -> Progress:
        for stale in [*self.run_dir.glob("*.tmp"), *self.run_dir.glob("snapshots/*.tmp")]:
            stale.unlink(missing_ok=True)  # left by a kill mid-write; the learner is their only writer
        reconcile(self.run_dir, self.ledger, self.spec.game_string, self.spec.learner != "mmd")
        if not self.learner.resume():
            self._publish()  # step 0: the actors' first weights
        elif not checkpoint.snapshot_path(self.run_dir, self.learner.step).exists():
            self._publish()  # killed between saving the learner state and its snapshot
        else:
            self.progress.snapshot = checkpoint.snapshot_path(self.run_dir, self.learner.step).name
        self.learner.refresh()
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
            if self.learner.step > 0 and not checkpoint.snapshot_path(self.run_dir, self.learner.step).exists():
                self._publish()
            if not self.config.league.gate and self.pool.load().newest != self.learner.step:
                self.pool.add(self.learner.step)  # the session's last word gets rated (`arena ladder --play`)
            self._write_status(False)
        return self.progress

    def _train_some(self, done, budget_seconds: float) -> None:
        end = time.monotonic() + budget_seconds
        while self.learner.ready() and not done() and time.monotonic() < end:
            self.learner.train_step()
            if self.learner.step % self.config.train.snapshot_every == 0:
                self._publish()

    def _run_inline(self, done, view) -> None:
        """Actor and learner alternate in this process: repeatable for a given seed (with --steps)."""
        spec, config = self.spec, self.config
        device = default_device()
        snap = checkpoint.load_snapshot(checkpoint.snapshot_path(self.run_dir, self.learner.step), spec.game_string)
        evaluator = Evaluator(snap.build_models(device), device)
        rng = np.random.default_rng([config.seed, 0, self.learner.step])
        self._matchmaking()
        opponents = pfsp.PoolOpponents(self.run_dir, spec.game_string, config.league, rng, device)
        opponents.refresh()
        actor = components(spec)[1](spec, evaluator, config, rng,
                                    participant=f"{self.run_dir.name}:step-{snap.step}", opponents=opponents)
        actor.learner_step = snap.step  # on-policy learners train only on games of the current weights
        writer = TrainingRecorder(SegmentWriter(self.run_dir / "trajectories", "inline", store_meta(spec),
                                                config.selfplay.flush_games, float("inf")),
                                  self.ledger, spec.game_string, self_play=spec.learner != "mmd")
        rater = rating.Evaluator(self.run_dir, config, config.seed) if config.league.evaluator else None
        current = snap.step
        segments = writer.writer.segments_written
        start = time.monotonic()
        try:
            while not done():
                actor.step(writer.add)
                if writer.writer.segments_written != segments:
                    segments = writer.writer.segments_written
                    self.learner.refresh()
                    # Train up to the reuse cap; no wall-clock budget here, so runs repeat exactly.
                    self._train_some(done, float("inf"))
                    if self.published_step > current:
                        current = self.published_step
                        _load_latest(self.run_dir, spec, evaluator, -1)
                        actor.learner_step = current
                        actor.participant = f"{self.run_dir.name}:step-{current}"
                        while rater and not done() and (job := rater.next_job(fill=False)):
                            rater.run_job(job)
                        self._matchmaking()
                        opponents.refresh()
                self.progress.update_actor(0, {"games": actor.stats.games, "positions": actor.stats.positions,
                                               "simulations": actor.simulations,
                                               "seconds": time.monotonic() - start})
                self._tick(view)
        finally:
            writer.close()

    def _run_processes(self, done, view) -> None:
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        stats = ctx.Queue()
        seed = self.config.seed + self.learner.step
        procs: dict[int, mp.Process] = {}

        def start(i: int) -> None:
            run_seed = seed + 1000 * self.progress.restarts
            if i == EVALUATOR:
                procs[i] = ctx.Process(target=rating.evaluator_main, args=(str(self.run_dir), run_seed, stop), daemon=True)
            else:
                procs[i] = ctx.Process(target=actor_main, args=(str(self.run_dir), i, run_seed, stop, stats), daemon=True)
            procs[i].start()

        for i in range(self.config.actors):
            start(i)
        if self.config.league.evaluator:
            start(EVALUATOR)
        last_refresh = 0.0
        try:
            while not done():
                now = time.monotonic()
                if now - last_refresh > (ON_POLICY_POLL_SECONDS if self.spec.learner == "mmd" else 1.0):
                    last_refresh = now
                    self.learner.refresh()
                if self.learner.ready():
                    self._train_some(done, 0.5)
                else:
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
                        reconcile(self.run_dir, self.ledger, self.spec.game_string,  # its last segment
                                  self.spec.learner != "mmd")
                        start(i)
                self.progress.actors_alive = sum(p.is_alive() for i, p in procs.items() if i != EVALUATOR)
                self._tick(view)
        finally:
            stop.set()
            for proc in procs.values():
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.terminate()
            self.learner.refresh()
