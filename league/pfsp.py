"""Prioritized fictitious self-play (AlphaStar): who the main agent plays, from the match ledger.

The main agent plays itself a `league.self_play` fraction of its games; the rest go to pool members
drawn with PFSP weights over x, main's decayed win rate against each member:
    hard: f(x) = (1 - x)^p   (the opponents it still loses to),
    var:  f(x) = x (1 - x)   (the opponents at its level),
    even: f(x) = 1.
Win rates come from the ledger's training games; in those the main agent is always the newer of the
two snapshots, so a game between `run:step-J` and `run:step-K` (J < K) is main's game against J.

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


def win_rates(ledger: Ledger, members: list[str], decay: float, prior_games: float = 1.0) -> dict[str, dict]:
    """Main's decayed score against each member: {spec: {"x": rate, "games": n}}.

    Each opponent's results are weighted decay^age (age 0 = its newest game); a prior of
    `prior_games` draws keeps unplayed members at 0.5.
    """
    wanted = {m: step_of(m) for m in members}
    sums = {m: [0.0, 0.0, 0] for m in members}  # weighted score, weight, games
    after = max(0, ledger.last_id() - RECENT_GAMES)
    for _, game in reversed(ledger.games(kinds=("training",), after_id=after)):
        if len(game.players) != 2 or game.players[0] == game.players[1]:
            continue
        steps = [step_of(p) for p in game.players]
        if None in steps:
            continue
        seat = 0 if steps[0] < steps[1] else 1  # the opponent is the older snapshot
        opponent = game.players[seat]
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


def matchmaking(run_dir: Path, config: LeagueConfig, ledger: Ledger) -> dict:
    """The current opponent distribution of the main agent, as written to matchmaking.json."""
    members = Pool(run_dir, config.pool_size).specs()
    rates = win_rates(ledger, members, config.win_rate_decay)
    w = weights(np.array([rates[m]["x"] for m in members]), config.pfsp, config.pfsp_p) if members else []
    return {"self_play": config.self_play if members else 1.0,
            "opponents": {m: {"weight": float(wi), **rates[m]} for m, wi in zip(members, w)}}


def publish(run_dir: Path, config: LeagueConfig, ledger: Ledger) -> dict:
    table = matchmaking(run_dir, config, ledger)
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
        self.active: dict[str, float] = {}
        self.networks: dict[str, Evaluator] = {}

    def refresh(self) -> None:
        table = rundir.read_json(self.run_dir / MATCHMAKING_FILE) or {}
        opponents = table.get("opponents", {})
        self.self_play = float(table.get("self_play", 1.0))
        names = list(opponents)
        if not names:
            self.active = {}
            return
        w = np.array([opponents[n]["weight"] for n in names], np.float64)
        k = min(self.config.opponents_per_actor, int((w > 0).sum()))
        chosen = self.rng.choice(len(names), size=k, replace=False, p=w / w.sum()) if k else []
        active = {}
        for i in chosen:
            name = names[i]
            if name not in self.networks:
                try:
                    snap = checkpoint.load_snapshot(checkpoint.snapshot_path(self.run_dir, step_of(name)),
                                                    self.game_string)
                except checkpoint.CheckpointError:
                    continue  # thinned out of the pool meanwhile
                self.networks[name] = Evaluator(snap.build_models(self.device), self.device)
            active[name] = float(w[i])
        self.active = active
        for name in [n for n in self.networks if n not in active]:
            del self.networks[name]

    def pick(self, rng: np.random.Generator) -> str | None:
        if not self.active or rng.random() < self.self_play:
            return None
        names = list(self.active)
        w = np.array([self.active[n] for n in names])
        return names[int(rng.choice(len(names), p=w / w.sum()))]

    def evaluator(self, name: str) -> Evaluator:
        return self.networks[name]
