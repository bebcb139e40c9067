"""Ladders: rating tables from a run's ledger, from round robins among any players, from files.

- `ledger_ratings`: the Bradley–Terry fit (Plackett–Luce when the ledger holds games of more than two
  players) over a run's rating games: the evaluator's games, never the matchmaker's.
- `round_robin`: every pair of the given players (or one player against all others: a gauntlet)
  plays `games` games, seats alternating, recorded in a ledger, then rated the same way. In games of
  n > 2 players every n of them share a table (a gauntlet: its player with every n - 1 others), seats
  rotating, each game one record of all n: Plackett–Luce rates the finishing orders.
- `file_ratings`: the Bradley–Terry fit of a CSV or PGN results file, read column by column (200,000
  games among 1,000 players in a couple of seconds, intervals included).
- `elo_chart`: the terminal chart of a run's snapshots' Elo against their training step;
  `nash_conv_chart`: the run's NashConv against time, for games small enough to measure it.

Matches and snapshot names (engine.players, hence torch) are imported where games are played or
steps read, so that rating a file loads neither.
"""
from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import games as catalogue  # as catalogue: `games` counts games here
from league.ledger import GameResult, Ledger
from league.ratings import RatingConfig, Ratings, fit_bradley_terry, fit_plackett_luce, results_from_names
from league.results_file import read_result_columns

if TYPE_CHECKING:
    from league.match import Fixture


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


def file_ratings(path: str | Path, config: RatingConfig | None = None, game: str | None = None,
                 players: Sequence[str] | None = None, columns: Mapping[str, str] | None = None) -> Ratings:
    """The Bradley–Terry fit of a results file's games (see league.results_file: ResultsFileError on a
    bad line; with `game` or `players` given, each game must agree; `columns` names a CSV's columns),
    players in order of appearance."""
    results = read_result_columns(path, game, players, columns)
    a, b, score, names = results_from_names(results.player0, results.player1, results.scores())
    return fit_bradley_terry(a, b, score, names, config)


def tables(players: Sequence[str], seats: int, gauntlet: str | None = None) -> list[tuple[str, ...]]:
    """Who plays whom: every `seats` of `players`, or `gauntlet` with every `seats` - 1 of the others."""
    if gauntlet is not None:
        return [(gauntlet, *rest) for rest in itertools.combinations([p for p in players if p != gauntlet], seats - 1)]
    return list(itertools.combinations(players, seats))


def fixtures(spec, players: Sequence[str], games: int, gauntlet: str | None = None, seed: int = 0,
             opening_plies: int = 0) -> list[Fixture]:
    """The round robin's tables (see `tables`), each seeded on its own so any node can play it."""
    from league.match import Fixture  # matches load torch: rating a results file needs none

    return [Fixture(k, table, games, seed + 7919 * k, opening_plies)
            for k, table in enumerate(tables(players, spec.num_players, gauntlet))]


def round_robin(spec: catalogue.GameLike, players: Sequence[str], games: int, ledger: Ledger,
                gauntlet: str | None = None, seed: int = 0,
                progress: Callable[[tuple[str, ...], object], None] | None = None, opening_plies: int = 0,
                ray: str | None = None) -> int:
    """Play every table (see `tables`; a pairing in 2-player games), `games` games each, into `ledger`;
    `spec` is the game in any form (a name, a pyspiel.Game, a GameSpec).

    `progress(players, result)` sees each match (MatchResult) or table (TableResult) as it ends. With
    `ray` (an address, `auto` or `local`) the tables are Ray tasks across a cluster, recorded here as
    they finish; each table plays the same games as it would here.
    """
    from league.match import play_fixture

    spec = catalogue.load(spec)
    batch = uuid.uuid4().hex[:8]
    todo = fixtures(spec, players, games, gauntlet, seed, opening_plies)
    if ray is None:
        played = ((f, play_fixture(spec, f)) for f in todo)
    else:
        from league.ladder_ray import play_on_ray  # Ray is an optional extra
        played = play_on_ray(spec, todo, ray)
    total, ready, recorded = 0, {}, 0
    for fixture, result in played:
        if progress:
            progress(fixture.players, result)
        ready[fixture.index] = result
        # Recorded in table order, whatever order a cluster finishes them in: the same ledger, so the
        # same bootstrap intervals, as a round robin played here.
        while recorded in ready:
            total += ledger.record_many(
                GameResult(players=seats, returns=returns, length=length, kind="rating", game=spec.game_string,
                           time=time.time(), uid=f"ladder:{batch}:{recorded}:{i}", match_id=f"ladder:{batch}")
                for i, (seats, returns, length) in enumerate(ready.pop(recorded).seated()))
            recorded += 1
    return total


def elo_chart(ratings: Ratings, run: str, width: int = 64, height: int = 12) -> list[str]:
    """A text chart of the run's snapshots' Elo (y) against training step (x), with anchors marked."""
    from engine.players import step_of

    points = sorted((step_of(n), e) for n, e in zip(ratings.names, ratings.elo.tolist())
                    if n.startswith(run + ":") and step_of(n) is not None)
    if len(points) < 2:
        return []
    # Exploiter snapshots (run/main-exploiter-0:step-K) count their own steps: table only, not chart.
    others = [(n, e) for n, e in zip(ratings.names, ratings.elo.tolist()) if not n.startswith((run + ":", run + "/"))]
    lines = _plot([p[0] for p in points], [p[1] for p in points], others, width, height, "{:>7.0f}")
    lines.append(f"{'':>8}step {points[0][0]}{'':>{max(width - 20, 1)}}step {points[-1][0]}")
    return lines


def nash_conv_chart(run_dir: Path, width: int = 64, height: int = 10) -> list[str]:
    """NashConv of the run's output policy (y) against wall-clock minutes (x), from exploitability.jsonl
    (written by the mmd learner for games small enough to measure)."""
    log = Path(run_dir) / "exploitability.jsonl"
    if not log.exists():
        return []
    points = [json.loads(line) for line in log.read_text().splitlines() if line.strip().endswith("}")]
    if len(points) < 2:
        return []
    t0 = points[0]["time"]
    minutes = [(p["time"] - t0) / 60 for p in points]
    lines = _plot(minutes, [p["nash_conv"] for p in points], [], width, height, "{:>7.3f}")
    last = points[-1]
    lines.append(f"{'':>8}0 min{'':>{max(width - 18, 1)}}{minutes[-1]:.1f} min")
    iterate = f"; current weights {last['iterate_nash_conv']:.4f}" if "iterate_nash_conv" in last else ""
    lines.append(f"latest NashConv {last['nash_conv']:.4f} at step {last['step']} "
                 f"(lowest {min(p['nash_conv'] for p in points):.4f}{iterate})")
    return lines


def _plot(xs, ys, hlines: list[tuple[str, float]], width: int, height: int, fmt: str) -> list[str]:
    """Points as ● on a width x height grid, named horizontal lines (anchors) dotted."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    lo = min(ys.min(), *(e for _, e in hlines)) if hlines else ys.min()
    hi = max(ys.max(), *(e for _, e in hlines)) if hlines else ys.max()
    span = max(hi - lo, 1e-9)
    grid = [[" "] * width for _ in range(height)]

    def row(e: float) -> int:
        return height - 1 - int(round((e - lo) / span * (height - 1)))

    for _, e in hlines:
        for x in range(0, width, 2):
            grid[row(e)][x] = "·"
    cols = np.round((xs - xs.min()) / max(xs.max() - xs.min(), 1e-9) * (width - 1)).astype(int)
    for x, e in zip(cols, ys):
        grid[row(e)][x] = "●"
    labels = {row(e): name for name, e in hlines}
    lines = [f"{fmt.format(hi - r * span / (height - 1))} │{''.join(grid[r])}│ {labels.get(r, '')}"
             for r in range(height)]
    lines.append(f"{'':>7} └{'─' * width}┘")
    return lines
