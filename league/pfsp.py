"""Prioritized fictitious self-play (AlphaStar): who the main agent plays, from the match ledger.

The main agent plays itself a `league.self_play` fraction of its games; the rest go to pool members
drawn with PFSP weights over x, main's decayed win rate against each member:
    hard: f(x) = (1 - x)^p   (the opponents it still loses to),
    var:  f(x) = x (1 - x)   (the opponents at its level),
    even: f(x) = 1.
Win rates come from the ledger's training games; in those the main agent is always the newer of the
two snapshots, so a game between `run:step-J` and `run:step-K` (J < K) is main's game against J.
With per-player networks each seat has its own pool: the opponents are (member, seat) pairs, the
member's network for that seat, each with its own win rate and weight.

The league runner writes the weights to `<run>/matchmaking.json` every few seconds; each actor reads
them into a `PoolOpponents`, the actor's `OpponentSource`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine import checkpoint, rundir
from engine.config import LeagueConfig
from engine.inference import Evaluator
from league.ledger import Ledger
from league.pool import Pool, step_of

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


def win_rates(ledger: Ledger, opponents: list[Opponent], decay: float, prior_games: float = 1.0
              ) -> dict[Opponent, dict]:
    """Main's decayed score against each opponent: {(spec, seat): {"x": rate, "games": n}}.

    Each opponent's results are weighted decay^age (age 0 = its newest game); a prior of
    `prior_games` draws keeps unplayed opponents at 0.5.
    """
    wanted = set(opponents)
    sums = {o: [0.0, 0.0, 0] for o in opponents}  # weighted score, weight, games
    after = max(0, ledger.last_id() - RECENT_GAMES)
    for _, game in reversed(ledger.games(kinds=("training",), after_id=after)):
        if len(game.players) != 2 or game.players[0] == game.players[1]:
            continue
        steps = [step_of(p) for p in game.players]
        if None in steps:
            continue
        seat = 0 if steps[0] < steps[1] else 1  # the opponent is the older snapshot
        opponent = (game.players[seat], seat) if (game.players[seat], seat) in wanted else (game.players[seat], None)
        if opponent not in wanted:
            continue
        r_opp, r_main = game.returns[seat], game.returns[1 - seat]
        score = 1.0 if r_main > r_opp else 0.5 if r_main == r_opp else 0.0
        entry = sums[opponent]
        w = decay ** entry[2]
        entry[0] += w * score
        entry[1] += w
        entry[2] += 1
    return {m: {"x": (s + 0.5 * prior_games) / (w + prior_games), "games": n} for m, (s, w, n) in sums.items()}


def matchmaking(run_dir: Path, config: LeagueConfig, ledger: Ledger, seats: int = 0) -> dict:
    """The current opponent distribution of the main agent, as written to matchmaking.json.

    `seats` > 0 (per-player networks): one pool per seat, opponents are (member, seat) pairs.
    """
    members = Pool(run_dir, config.pool_size).specs()
    opponents = [(m, s) for m in members for s in range(seats)] if seats else [(m, None) for m in members]
    rates = win_rates(ledger, opponents, config.win_rate_decay)
    w = weights(np.array([rates[o]["x"] for o in opponents]), config.pfsp, config.pfsp_p) if opponents else []
    return {"self_play": config.self_play if members else 1.0,
            "opponents": [{"player": m, "seat": s, "weight": float(wi), **rates[(m, s)]}
                          for (m, s), wi in zip(opponents, w)]}


def entries(table: dict) -> list[dict]:
    """The opponents of a matchmaking table; tables written before seats existed map spec -> entry."""
    opponents = table.get("opponents") or []
    if isinstance(opponents, dict):
        return [{"player": name, "seat": None, **entry} for name, entry in opponents.items()]
    return opponents


def publish(run_dir: Path, config: LeagueConfig, ledger: Ledger, seats: int = 0) -> dict:
    table = matchmaking(run_dir, config, ledger, seats)
    rundir.write_json(Path(run_dir) / MATCHMAKING_FILE, table)
    return table


class PoolOpponents:
    """An actor's view of matchmaking: picks opponents, holds their networks.

    At each refresh it draws up to `opponents_per_actor` distinct members by PFSP weight (so each
    network call still carries many positions) and new games draw among those.
    """

    def __init__(self, run_dir: Path, game_string: str, config: LeagueConfig, rng: np.random.Generator,
                 device=None) -> None:
        self.run_dir = Path(run_dir)
        self.game_string = game_string
        self.config = config
        self.rng = rng
        self.device = device
        self.self_play = 1.0
        self.active: dict[Opponent, float] = {}
        self.networks: dict[str, Evaluator] = {}

    def refresh(self) -> None:
        table = rundir.read_json(self.run_dir / MATCHMAKING_FILE) or {}
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
                try:
                    snap = checkpoint.load_snapshot(checkpoint.snapshot_path(self.run_dir, step_of(name)),
                                                    self.game_string)
                except checkpoint.CheckpointError:
                    continue  # thinned out of the pool meanwhile
                self.networks[name] = Evaluator(snap.build_models(self.device), self.device)
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
