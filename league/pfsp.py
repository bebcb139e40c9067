"""Prioritized fictitious self-play (AlphaStar): who each learning agent plays, from the match ledger.

The main agent plays itself a `league.self_play` fraction of its games; the rest go to pool members
drawn with PFSP weights over x, main's decayed win rate against each member:
    hard: f(x) = (1 - x)^p   (the opponents it still loses to),
    var:  f(x) = x (1 - x)   (the opponents at its level),
    even: f(x) = 1.
Exploiters (league/roles.py) choose among their own candidates the same way, over their own rates.
Win rates come from the ledger's training games of the agent: an exploiter's carry its name as
match_id (main's none), and the agent's side is its own snapshot; in main's games against its own
past the agent is the newer of the two, so `run:step-J` against `run:step-K` (J < K) is main's game
against J. With per-player networks each seat has its own pool: the opponents are (member, seat)
pairs, the member's network for that seat, each with its own win rate and weight.

The league runner writes each agent's weights to `matchmaking.json` in the agent's directory every
few seconds; each actor reads them into a `PoolOpponents`, the actor's `OpponentSource`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from engine.nn import Evaluator, Snapshot, checkpoint
from engine import files, rundir
from engine.config import LeagueConfig
from engine.players import agent_of, step_of
from engine.rundir import MAIN
from league import roles
from league.ledger import GameResult, Ledger
from league.pool import Pool, snapshot_file, spec

MATCHMAKING_FILE = "matchmaking.json"
RECENT_GAMES = 20_000  # training games read back for win rates; older ones weigh nothing anyway


def weights(x: np.ndarray, kind: str, p: float = 2.0) -> np.ndarray:
    """PFSP weights (normalised) for main's win rates x against each opponent."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    if kind == "hard":
        f = (1.0 - x) ** p
    elif kind == "var":
        f = x * (1.0 - x)
    else:
        f = np.ones_like(x)
    if f.sum() <= 0:  # main beats everyone outright: spread games evenly
        f = np.ones_like(x)
    return f / f.sum()


Opponent = tuple[str, "int | None"]  # (pool member, the seat it takes; None: either seat)


def recent(ledger: Ledger) -> list[GameResult]:
    """The newest RECENT_GAMES training games, oldest first: read once, shared by every agent's rates."""
    after = max(0, ledger.last_id() - RECENT_GAMES)
    return [game for _, game in ledger.games(kinds=("training",), after_id=after)]


def agent_games(games: Sequence[GameResult], agent: str = MAIN, since: int = 0) -> Iterator[tuple[str, int, float]]:
    """(opponent spec, its seat, the agent's score) of the agent's 2-player training games against
    snapshots, newest first, only those its weights of step `since` or later played."""
    for game in reversed(games):
        if len(game.players) != 2 or game.players[0] == game.players[1] or (game.match_id or MAIN) != agent:
            continue
        steps = [step_of(p) for p in game.players]
        if None in steps:
            continue
        mine = [agent_of(p) == agent for p in game.players]
        if mine[0] == mine[1]:  # both the agent's: the opponent is the older snapshot
            seat = 0 if steps[0] < steps[1] else 1
        else:
            seat = 1 if mine[0] else 0
        if steps[1 - seat] < since:
            continue
        r_opp, r_own = game.returns[seat], game.returns[1 - seat]
        yield game.players[seat], seat, 1.0 if r_own > r_opp else 0.5 if r_own == r_opp else 0.0


def win_rates(ledger: Ledger | Sequence[GameResult], opponents: list[Opponent], decay: float,
              prior_games: float = 1.0, agent: str = MAIN, since: int = 0) -> dict[Opponent, dict]:
    """An agent's (main's by default) decayed score against each opponent: {(spec, seat): {"x": rate,
    "games": n}}, from the ledger's recent games or the given ones (`recent`); `since` as in `agent_games`.

    Each opponent's results are weighted decay^age (age 0 = its newest game); a prior of
    `prior_games` draws keeps unplayed opponents at 0.5.
    """
    games = recent(ledger) if isinstance(ledger, Ledger) else ledger
    wanted = set(opponents)
    sums = {o: [0.0, 0.0, 0] for o in opponents}  # weighted score, weight, games
    for player, seat, score in agent_games(games, agent, since):
        opponent = (player, seat) if (player, seat) in wanted else (player, None)
        if opponent in wanted:
            _add(sums[opponent], score, decay)
    return {m: _rate(s, w, n, prior_games) for m, (s, w, n) in sums.items()}


def overall(games: Sequence[GameResult], agent: str, decay: float, since: int = 0,
            only: Callable[[str], bool] | None = None, prior_games: float = 1.0) -> dict:
    """The agent's decayed score over all its recent games (against players `only` accepts):
    {"x": rate, "games": n}. An exploiter's join rule and the dashboard read it."""
    sums = [0.0, 0.0, 0]
    for player, _, score in agent_games(games, agent, since):
        if only is None or only(player):
            _add(sums, score, decay)
    return _rate(*sums, prior_games)


def _add(entry: list, score: float, decay: float) -> None:
    w = decay ** entry[2]  # games arrive newest first
    entry[0] += w * score
    entry[1] += w
    entry[2] += 1


def _rate(score: float, weight: float, games: int, prior_games: float) -> dict:
    return {"x": (score + 0.5 * prior_games) / (weight + prior_games), "games": games}


def matchmaking(run_dir: Path, config: LeagueConfig, ledger: Ledger, seats: int = 0,
                agent: roles.Agent = roles.MAIN_AGENT, since: int = 0,
                games: Sequence[GameResult] | None = None) -> dict:
    """The current opponent distribution of an agent (main by default), as written to its
    matchmaking.json; `since`: its rates count only games of its weights from that step on (an
    exploiter's fresh start), `games`: the recent training games if already read.

    `seats` > 0 (per-player networks): one pool per seat, opponents are (member, seat) pairs.
    """
    games = recent(ledger) if games is None else games
    pool = Pool(run_dir, config.pool_size)
    latest = checkpoint.latest_snapshot(Path(run_dir))
    vs_main = overall(games, agent.name, config.win_rate_decay, since, lambda p: agent_of(p) == MAIN)["x"]
    plan = roles.matchup(agent, config, pool.specs(), pool.specs(MAIN),
                         spec(run_dir, latest[0]) if latest else None, vs_main)
    members = plan.candidates
    opponents = [(m, s) for m in members for s in range(seats)] if seats else [(m, None) for m in members]
    rates = win_rates(games, opponents, config.win_rate_decay, agent=agent.name, since=since)
    w = weights(np.array([rates[o]["x"] for o in opponents]), plan.weighting, config.pfsp_p) if opponents else []
    return {"self_play": plan.self_play,
            "opponents": [{"player": m, "seat": s, "weight": float(wi), **rates[(m, s)]}
                          for (m, s), wi in zip(opponents, w)]}


def entries(table: dict) -> list[dict]:
    """The opponents of a matchmaking table; tables written before seats existed map spec -> entry."""
    opponents = table.get("opponents") or []
    if isinstance(opponents, dict):
        return [{"player": name, "seat": None, **entry} for name, entry in opponents.items()]
    return opponents


def publish(run_dir: Path, config: LeagueConfig, ledger: Ledger, seats: int = 0,
            agent: roles.Agent = roles.MAIN_AGENT, since: int = 0, games: Sequence[GameResult] | None = None) -> dict:
    """Compute an agent's matchmaking table and write it where its actors read it."""
    table = matchmaking(run_dir, config, ledger, seats, agent, since, games)
    rundir.write_json(rundir.agent_dir(run_dir, agent.name) / MATCHMAKING_FILE, table)
    return table


class Opponents:
    """An actor's view of matchmaking: picks opponents, holds their networks.

    At each refresh it draws up to `opponents_per_actor` distinct members by PFSP weight (so each
    network call still carries many positions) and new games draw among those. Where the table and
    the members' snapshots come from is the subclass's: files of the run (PoolOpponents), or what a
    cluster's driver sends (league/run/ray_backend.py).
    """

    def __init__(self, game_string: str, config: LeagueConfig, rng: np.random.Generator, device=None) -> None:
        self.game_string = game_string
        self.config = config
        self.rng = rng
        self.device = device
        self.self_play = 1.0
        self.active: dict[Opponent, float] = {}
        self.networks: dict[str, Evaluator] = {}

    def read_table(self) -> dict:
        raise NotImplementedError

    def load_member(self, name: str) -> Snapshot | None:
        """A pool member's snapshot; None when it left the pool meanwhile."""
        raise NotImplementedError

    def refresh(self) -> None:
        table = self.read_table()
        options = entries(table)
        self.self_play = float(table.get("self_play", 1.0))
        if not options:
            self.active = {}
            return
        w = np.array([e["weight"] for e in options], np.float64)
        k = min(self.config.opponents_per_actor, int((w > 0).sum()))
        chosen = self.rng.choice(len(options), size=k, replace=False, p=w / w.sum()) if k else []
        active = {}
        for i in chosen:
            name = options[i]["player"]
            if name not in self.networks:
                snap = self.load_member(name)
                if snap is None:
                    continue
                # a member plays as it is rated: its output policy where its learner keeps one
                self.networks[name] = Evaluator(snap.build_models(self.device, output=True), self.device)
            active[(name, options[i]["seat"])] = float(w[i])
        self.active = active
        for name in [n for n in self.networks if n not in {o[0] for o in active}]:
            del self.networks[name]

    def pick(self, rng: np.random.Generator) -> Opponent | None:
        if not self.active or rng.random() < self.self_play:
            return None
        options = list(self.active)
        w = np.array([self.active[o] for o in options])
        return options[int(rng.choice(len(options), p=w / w.sum()))]

    def evaluator(self, name: str) -> Evaluator:
        return self.networks[name]


class PoolOpponents(Opponents):
    """Opponents from the run directory: the agent's matchmaking file and the pool's snapshot files."""

    def __init__(self, run_dir: Path, game_string: str, config: LeagueConfig, rng: np.random.Generator,
                 device=None, agent: str = MAIN) -> None:
        super().__init__(game_string, config, rng, device)
        self.run_dir = Path(run_dir)
        self.table = rundir.agent_dir(self.run_dir, agent) / MATCHMAKING_FILE

    def read_table(self) -> dict:
        return rundir.read_json(self.table) or {}

    def load_member(self, name: str) -> Snapshot | None:
        path = snapshot_file(self.run_dir, name)
        try:
            return checkpoint.load_snapshot(path, self.game_string)
        except checkpoint.SnapshotDamaged as exc:
            files.quarantine(path, exc.problem, f"{name} sits out (`arena league repair RUN` drops it from the pool)")
        except checkpoint.CheckpointError:
            pass
        return None
