"""Ladders: rating tables from a run's ledger, from round robins among any players, from files.

- `run_ratings`: the Bradley–Terry fit (Plackett–Luce when the ledger holds games of more than two
  players) over a run's rating games: the evaluator's games, never the matchmaker's.
- `round_robin`: every pair of the given players (or one player against all others: a gauntlet)
  plays `games` games, seats alternating, recorded in a ledger, then rated the same way.
- `elo_chart`: the terminal chart of a run's snapshots' Elo against their training step.
"""
from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Sequence

import numpy as np

from league.ledger import GameRecord, Ledger
from league.match import play_match
from league.pool import step_of
from league.ratings import RatingConfig, Ratings, fit_bradley_terry, fit_plackett_luce


def ledger_ratings(ledger: Ledger, config: RatingConfig | None = None, kinds: Sequence[str] = ("rating",)
                   ) -> Ratings | None:
    """Fit the ledger's games of `kinds`; None when there are none."""
    data = ledger.rating_input(kinds=kinds)
    keep = data.a != data.b  # games against oneself carry no rating information
    if not keep.any() and not data.orders:
        return None
    if not data.orders:
        return fit_bradley_terry(data.a[keep], data.b[keep], data.score[keep], data.players, config)
    # Games of more than two players: everything through Plackett–Luce, two-player games as orders.
    orders = [[[a], [b]] if s == 1 else [[b], [a]] if s == 0 else [[a, b]]
              for a, b, s in zip(data.a[keep].tolist(), data.b[keep].tolist(), data.score[keep].tolist())]
    orders += data.orders
    width = max(sum(len(place) for place in order) for order in orders)
    players = np.full((len(orders), width), -1, np.int64)
    ranks = np.zeros((len(orders), width))
    for g, order in enumerate(orders):
        seat = 0
        for place, group in enumerate(order):
            for p in group:
                players[g, seat], ranks[g, seat] = p, place
                seat += 1
    return fit_plackett_luce(players, ranks, data.players, config)


def round_robin(spec, players: Sequence[str], games: int, ledger: Ledger, gauntlet: str | None = None,
                seed: int = 0, progress: Callable[[str, str, object], None] | None = None,
                opening_plies: int = 0) -> int:
    """Play every pairing (or `gauntlet` against each player), `games` games each, into `ledger`."""
    if gauntlet is not None:
        pairs = [(gauntlet, p) for p in players if p != gauntlet]
    else:
        pairs = list(itertools.combinations(players, 2))
    batch = uuid.uuid4().hex[:8]
    total = 0
    for k, (a, b) in enumerate(pairs):
        result = play_match(spec, a, b, games, seed + 7919 * k, opening_plies=opening_plies)
        records = []
        for i, (r, length) in enumerate(zip(result.returns, result.lengths)):
            seats, returns = ((a, b), (r, -r)) if i % 2 == 0 else ((b, a), (-r, r))
            records.append(GameRecord(players=seats, returns=returns, length=length, kind="rating",
                                      game=spec.game_string, time=time.time(), uid=f"ladder:{batch}:{k}:{i}",
                                      match_id=f"ladder:{batch}"))
        total += ledger.record_many(records)
        if progress:
            progress(a, b, result)
    return total


def elo_chart(ratings: Ratings, run: str, width: int = 64, height: int = 12) -> list[str]:
    """A text chart of the run's snapshots' Elo (y) against training step (x), with anchors marked."""
    points = sorted((step_of(n), e) for n, e in zip(ratings.names, ratings.elo.tolist())
                    if n.startswith(run + ":") and step_of(n) is not None)
    if len(points) < 2:
        return []
    steps = np.array([p[0] for p in points], float)
    elos = np.array([p[1] for p in points])
    others = [(n, e) for n, e in zip(ratings.names, ratings.elo.tolist()) if not n.startswith(run + ":")]
    lo = min(elos.min(), *(e for _, e in others)) if others else elos.min()
    hi = max(elos.max(), *(e for _, e in others)) if others else elos.max()
    span = max(hi - lo, 1.0)
    grid = [[" "] * width for _ in range(height)]

    def row(e: float) -> int:
        return height - 1 - int(round((e - lo) / span * (height - 1)))

    for name, e in others:  # anchors as horizontal dotted lines
        for x in range(0, width, 2):
            grid[row(e)][x] = "·"
    xs = np.round((steps - steps.min()) / max(steps.max() - steps.min(), 1) * (width - 1)).astype(int)
    for x, e in zip(xs, elos):
        grid[row(e)][x] = "●"
    labels = {row(e): name for name, e in others}
    lines = []
    for r in range(height):
        elo_at = hi - r * span / (height - 1)
        lines.append(f"{elo_at:>7.0f} │{''.join(grid[r])}│ {labels.get(r, '')}")
    lines.append(f"{'':>7} └{'─' * width}┘")
    lines.append(f"{'':>8}step {int(steps.min())}{'':>{max(width - 20, 1)}}step {int(steps.max())}")
    return lines
