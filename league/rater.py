"""The evaluator: rating games that keep a run's ladder connected, and the SPRT gate of the pool.

Each pool member (main's snapshots and exploiters', league/roles.py) plays, `league.eval_games`
games a pairing with seats alternating, the member that joined before it, the run's anchors
(`random`, `mcts:N`, any player spec) and one older member; when that is done it adds games where
the ladder is thinnest (the newest member against its least-played opponent), so error bars keep
shrinking while the run lasts. Rating games go to the ledger as kind "rating" and are the only
games ratings are fitted from: the matchmaker never steered them.

With `league.gate = true` the evaluator also decides pool entry: the newest snapshot plays the newest
member in rounds of games until an SPRT accepts (it joins the pool) or rejects it (the next snapshot
gets its turn). Gating games are kind "gating", kept out of the ratings.

Games of more than two players (3-player poker) are played at tables (`league.match.play_table`):
each pairing above becomes a table of the member, that opponent and the players it has met least
(other wanted opponents, anchors and members; fixed fillers such as `call`, `raise` and
`random@seed=1` only while the pool is too small to fill the seats), seats rotating, `eval_games` rounded
up to a multiple of the seats. Each game goes to the ledger with all its players and returns, so the
ladder rates them by Plackett–Luce; pairings are counted per pair of players who shared a table.
The gate scores the candidate's return against the newest member's at such a table.

Runs as its own low-priority process next to actors and learner (`evaluator_main`), which starts
rating once the learner has published its first trained snapshot, or one job at a time inside the
single-process run (`Rater.run_job`).
"""
from __future__ import annotations

import dataclasses
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.nn import checkpoint
from engine import files, rundir
from engine.errors import DiskFullError, exit_disk_full
from engine.players import BotError, load_bot, step_of
from engine.config import RunConfig, game_spec
from league import pool as pool_mod
from league.ledger import GameResult, Ledger
from league.match import MatchResult, Seated, TableResult, play_match, play_table
from league.sprt import SPRT

FILL_LIMIT = 8  # fill games stop once every pairing of the newest member has this many eval rounds
GATE_ROUND = 10  # gating games per round between SPRT decisions
# Fixed players that fill the seats of an n-player table while the pool and anchors are too few
# (those that load for the game: call/raise are poker's); `random@seed=k` plays like `random`.
FILLERS = ("random", "call", "raise", "random@seed=1", "random@seed=2", "random@seed=3")

EVALUATOR_KEY = -1  # the evaluator process's key on the runner's queue (actors: 0, 1, ...)


@dataclass
class Job:
    kind: str  # "rating" or "gating"
    a: str  # player names as the ledger records them
    b: str
    games: int
    round: int  # rounds of this pairing already played: makes game uids unique and repeatable
    others: tuple[str, ...] = ()  # the rest of the table in games of more than two players

    @property
    def table(self) -> tuple[str, ...]:
        return (self.a, self.b, *self.others)


class Rater:
    """The league's rater: plays rating games among pool members and anchors, into the ledger.

    (Network inference is `engine.nn.Evaluator`; this one judges players, not positions.)
    """

    def __init__(self, run_dir: Path, config: RunConfig, seed: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.lc = config.league
        self.spec = game_spec(config)
        self.ledger = Ledger.of_run(self.run_dir)
        self.pool = pool_mod.Pool(self.run_dir, self.lc.pool_size)
        self.rng = np.random.default_rng([seed, 7])
        self.seed = seed
        self.gate: SPRT | None = None
        self.gate_candidate: int | None = None
        self.rejected: set[int] = set()
        self.broken: set[str] = set()  # anchors that failed to load, members whose file is gone: left out
        self.fill_all = False  # past the newest member's fill: keep thickening every pairing
        self.seats = self.spec.num_players
        self._fillers: list[str] | None = None  # FILLERS that load for this game, found once
        self._trained = False  # see trained()

    def trained(self) -> bool:
        """Whether main's learner has published a snapshot past its untrained one. The evaluator
        process waits for it: until then it could only rate the initial network, and on a slow host
        its share of the CPU (a sixth, at nice 5) delays the games the learner is waiting for."""
        if not self._trained:
            latest = checkpoint.latest_snapshot(self.run_dir)
            self._trained = latest is not None and latest[0] > 0
        return self._trained

    # ---- what to play next ----------------------------------------------------------------------

    def _played(self) -> dict[frozenset, int]:
        counts: dict[frozenset, int] = {}
        for (x, y), rec in self.ledger.pair_results(kinds=("rating",)).items():
            if x < y:
                counts[frozenset((x, y))] = rec.games
        return counts

    def next_job(self, fill: bool = True) -> Job | None:
        """The next match to play; `fill`: when every required pairing is done, thicken the ladder."""
        self.pool.load()
        if self.lc.gate:
            job = self._gate_job()
            if job:
                return job
        members = [m for m in self.pool.specs() if m not in self.broken]
        if not members:
            return None
        played = self._played()
        anchors = [a for a in self.lc.anchors if a not in self.broken]
        n = self.lc.eval_games
        for i in range(len(members) - 1, -1, -1):  # newest first: it is the one the ladder lacks
            m = members[i]
            wanted = anchors + members[max(0, i - 1):i]
            if i >= 2:
                wanted.append(members[int(np.random.default_rng([self.seed, i]).integers(0, i - 1))])
            for other in wanted:
                if played.get(frozenset((m, other)), 0) < n:
                    job = self._job("rating", m, other, played, wanted + anchors + members)
                    if job:
                        return job
        if not fill:
            return None
        # Fill: the newest member against whichever opponent it has met least, up to FILL_LIMIT
        # rounds each; then the least-played pairing of the whole ladder.
        newest = members[-1]
        options = [(newest, o) for o in anchors + members[:-1]]
        if options:
            a, b = min(options, key=lambda p: played.get(frozenset(p), 0))
            done = played.get(frozenset((a, b)), 0)
            if done < FILL_LIMIT * n:
                return self._job("rating", a, b, played, anchors + members)
        if not self.fill_all:
            return None
        everyone = members + anchors
        pairs = [(x, y) for i, x in enumerate(everyone) for y in everyone[i + 1:]
                 if not (x in anchors and y in anchors)]  # anchors are the fixed points, not the subject
        if not pairs:
            return None
        a, b = min(pairs, key=lambda p: played.get(frozenset(p), 0))
        return self._job("rating", a, b, played, everyone)

    def _job(self, kind: str, a: str, b: str, played: dict[frozenset, int], candidates: list[str]) -> Job | None:
        """a against b; at an n-player table with the n - 2 candidates a has met least (then fillers).
        None when the seats cannot be filled with distinct players."""
        n = self.lc.eval_games
        rounds = played.get(frozenset((a, b)), 0) // n
        if self.seats == 2:
            return Job(kind, a, b, n, rounds)
        pool = sorted(dict.fromkeys(c for c in candidates if c not in (a, b)),
                      key=lambda c: played.get(frozenset((a, c)), 0))  # stable: candidates' order breaks ties
        pool += [f for f in self._filler_specs() if f not in pool and f not in (a, b)]  # only when short
        others = tuple(pool[:self.seats - 2])
        if len(others) < self.seats - 2:
            return None
        return Job(kind, a, b, -(-n // self.seats) * self.seats, rounds, others)

    def _filler_specs(self) -> list[str]:
        if self._fillers is None:
            self._fillers = []
            for spec in FILLERS:
                try:
                    load_bot(spec, self.spec)
                    self._fillers.append(spec)
                except BotError:
                    pass  # not a player of this game (call/raise outside poker)
        return [f for f in self._fillers if f not in self.broken]

    def _gate_job(self) -> Job | None:
        latest = checkpoint.latest_snapshot(self.run_dir)
        if latest is None:
            return None
        step = latest[0]
        if self.pool.newest is None:
            self.pool.add(step)  # the first snapshot founds the pool
            return None
        if step <= self.pool.newest or step in self.rejected:
            return None
        if self.gate_candidate != step:  # a newer snapshot replaces an undecided candidate
            self.gate_candidate = step
            self.gate = SPRT(self.lc.gate_elo0, self.lc.gate_elo1)
        candidate, newest = pool_mod.spec(self.run_dir, step), pool_mod.spec(self.run_dir, self.pool.newest)
        if self.seats == 2:
            return Job("gating", candidate, newest, GATE_ROUND, self.gate.games // GATE_ROUND)
        # The rest of the table: fixed players only, so that every round of the SPRT is alike.
        others = tuple([a for a in self.lc.anchors if a not in self.broken and a not in (candidate, newest)]
                       + [f for f in self._filler_specs() if f not in self.lc.anchors])[:self.seats - 2]
        if len(others) < self.seats - 2:
            return None
        return Job("gating", candidate, newest, -(-GATE_ROUND // self.seats) * self.seats,
                   self.gate.games // GATE_ROUND, others)

    # ---- playing ----------------------------------------------------------------------------------

    def _bot_spec(self, name: str) -> str:
        """Our snapshots (main's and exploiters') by path (the run may not live under ARENA_HOME) at
        evaluation simulations."""
        path = pool_mod.snapshot_file(self.run_dir, name)
        if path is None:
            return name
        if not self.spec.perfect_information:  # policy snapshots: no search to set
            return str(path)
        sims = self.lc.eval_simulations or self.config.search.simulations
        return f"{path}@sims={sims}"

    def run_job(self, job: Job) -> MatchResult | TableResult | None:
        seed = self.seed + 1000 * job.round + 17
        try:
            if self.seats == 2:
                result = play_match(self.spec, self._bot_spec(job.a), self._bot_spec(job.b), job.games,
                                    seed=seed, opening_plies=self.lc.eval_opening_plies)
            else:
                result = play_table(self.spec, [self._bot_spec(p) for p in job.table], job.games,
                                    seed=seed, opening_plies=self.lc.eval_opening_plies)
        except (BotError, checkpoint.CheckpointError) as exc:
            if isinstance(exc, checkpoint.SnapshotDamaged) and exc.path is not None:  # set aside, as pfsp does
                files.quarantine(exc.path, exc.problem, "its rating games are skipped (`arena league repair RUN` "
                                 "drops it from the pool)")
            # Skip from now on the members whose file is gone, or else the anchors (a bad spec)
            files_of = {name: pool_mod.snapshot_file(self.run_dir, name) for name in job.table}
            gone = {name for name, path in files_of.items() if path is not None and not path.exists()}
            self.broken |= gone or {name for name, path in files_of.items() if path is None}
            rundir.append_jsonl(self.run_dir / "evaluator.log", {"time": time.time(), "error": str(exc)})
            return None
        names = dict(zip((self._bot_spec(p) for p in job.table), job.table))  # ledger names, not paths
        games = [(tuple(names.get(p, p) for p in seats), returns, length)
                 for seats, returns, length in result.seated()]
        uid = f"{job.kind}:{'|'.join(job.table)}|{job.round}"
        self.ledger.record_many(
            GameResult(players=players, returns=returns, length=length, kind=job.kind, game=self.spec.game_string,
                       time=time.time(), uid=f"{uid}|{i}") for i, (players, returns, length) in enumerate(games))
        if job.kind == "gating":
            self._gate_update(job, games)
        if isinstance(result, TableResult):  # by ledger name for whoever reads it (progress lines)
            result = dataclasses.replace(result, players=job.table, seatings=[seats for seats, _, _ in games])
        return result

    def _gate_update(self, job: Job, games: list[Seated]) -> None:
        for players, returns, _ in games:  # the candidate's return against the newest member's
            by_player = dict(zip(players, returns))
            self.gate.add(0.5 + 0.5 * float(np.sign(by_player[job.a] - by_player[job.b])))
        decision = self.gate.decision()
        if decision is None and self.gate.games >= self.lc.gate_max_games:
            decision = "reject"
        step = step_of(job.a)
        if decision == "accept":
            self.pool.add(step)
            self.pool.prune_files()
        if decision:
            rundir.append_jsonl(self.run_dir / "evaluator.log", {
                "time": time.time(), "gate": decision, "candidate": job.a, "games": self.gate.games,
                "wins": self.gate.wins, "draws": self.gate.draws, "losses": self.gate.losses})
            if decision == "reject":
                self.rejected.add(step)
            self.gate, self.gate_candidate = None, None


def play_more(run_dir: Path, games: int, seed: int = 0, progress=None) -> int:
    """Play about `games` more rating games for a run (stopped or running): every pool member's
    required pairings first, then where the ladder is thinnest. Returns the games played.
    `progress(players, result)` sees each match or table as it ends."""
    config = rundir.load_config(Path(run_dir))
    evaluator = Rater(Path(run_dir), config, seed)
    evaluator.fill_all = True
    played = 0
    while played < games and (job := evaluator.next_job()) is not None:
        result = evaluator.run_job(job)
        played += job.games
        if progress and result is not None:
            progress(job.table, result)
    return played


def evaluator_main(run_dir: str, seed: int, stop, report=None) -> None:
    """Entry point of the evaluator process: rate until `stop` is set or the parent dies. A full disk
    ends it with its line on `report` (engine.errors.exit_disk_full)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rundir.name_process("arena-evaluator")
    os.nice(5)  # rating waits; self-play and training go first
    import torch

    config = rundir.load_config(Path(run_dir))
    torch.set_num_threads(config.threads)
    parent = rundir.spawner_pid()  # the session, even one that died while this process was importing
    try:
        evaluator = Rater(Path(run_dir), config, seed)
        while not stop.is_set() and os.getppid() == parent:
            job = evaluator.next_job() if evaluator.trained() else None
            if job is None:
                stop.wait(2.0)
                continue
            evaluator.run_job(job)
    except DiskFullError as exc:
        exit_disk_full(report, EVALUATOR_KEY, exc)
