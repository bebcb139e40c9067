"""The result of a rating fit: :class:`Ratings` on the Elo scale, anchored, with intervals, and its
ranked table.

Scale. Elo is logistic with scale 400/ln 10: a player rated d above another expects the score
1 / (1 + 10^(-d/400)). The fits work in natural log-strengths, Elo = 400/ln 10 · θ.

Anchor: ratings are shifted so the ``anchor`` player (default ``random``) is 0, with zero width;
every other interval then holds the anchor's uncertainty too. Without that player the mean rating is
set to 0 and :attr:`Ratings.note` says so.

Intervals: Elo ± z·sd (z = 1.96 at 95%), sd from the anchored covariance of the ratings: Bradley–
Terry's sandwich estimate (the default, ``intervals="sandwich"``), or that of the bootstrap
resamples (``intervals="bootstrap"``, and Plackett–Luce), whose 2.5% and 97.5% percentiles would
each rest on two or three of 100 resamples. LOS(i over j) is Φ((Elo_i − Elo_j) / sd), sd that of
the difference, so it allows for their correlation. ``resamples=0``: zero-width intervals and no LOS.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist

import numpy as np

from engine.errors import ArenaError

ELO_PER_NAT = 400.0 / math.log(10.0)
INTERVALS = ("sandwich", "bootstrap")


class RatingError(ArenaError):
    """Results that cannot be rated; the message is one line naming the fix."""


@dataclass(frozen=True)
class RatingConfig:
    anchor: str | None = "random"  # this player is 0; None, or absent from the results: mean is 0
    advantage: bool = True  # fit a first-move advantage for seat 0 (Bradley–Terry only)
    # "sandwich": Bradley–Terry's covariance from the fit's curvature and the games' spread, one matrix
    # inverse however many games; "bootstrap": refits of resampled games (Plackett–Luce always)
    intervals: str = "sandwich"
    resamples: int = 100  # bootstrap resamples of the games; 0: point estimates only, whichever method
    confidence: float = 0.95
    prior_games: float = 1.0  # virtual draws per player, spread over the opponents it met
    seed: int = 0  # of the bootstrap

    def __post_init__(self) -> None:
        if self.resamples < 0:
            raise RatingError(f"resamples must be >= 0, not {self.resamples}")
        if self.intervals not in INTERVALS:
            raise RatingError(f"intervals must be {' or '.join(map(repr, INTERVALS))}, not {self.intervals!r}")
        if not 0.0 < self.confidence < 1.0:
            raise RatingError(f"confidence must lie strictly between 0 and 1, not {self.confidence}")
        if not (self.prior_games >= 0.0 and math.isfinite(self.prior_games)):
            raise RatingError(f"prior_games must be a finite number >= 0, not {self.prior_games}")


@dataclass(frozen=True)
class Row:
    """One line of the ranked table. ``los``: likelihood of superiority over the next row."""

    rank: int
    player: str
    elo: float
    error: float  # half-width of the interval
    lower: float
    upper: float
    games: int
    wins: int
    draws: int
    losses: int
    score: float  # percent
    los: float | None


@dataclass
class Ratings:
    """A fit: anchored ratings in Elo, by player index, with their intervals and records."""

    model: str  # "bradley-terry" or "plackett-luce"
    names: list[str]
    elo: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    games: np.ndarray
    wins: np.ndarray  # for Plackett–Luce: opponents beaten, tied with, lost to, game by game
    draws: np.ndarray
    losses: np.ndarray
    anchor: str | None  # the player at 0, or None: the mean is 0
    note: str
    iterations: int
    groups: int = 1  # of players linked by games
    advantage: float | None = None  # first-move advantage in Elo, when fitted
    advantage_lower: float | None = None
    advantage_upper: float | None = None
    confidence: float = 0.95
    samples: np.ndarray | None = field(default=None, repr=False)  # [resamples, players], anchored (bootstrap)
    covariance: np.ndarray | None = field(default=None, repr=False)  # [players, players], anchored, Elo²
    intervals: str = ""  # where the intervals come from, for the summary

    def rating(self, name: str) -> float:
        if name not in self.names:
            raise RatingError(f"no player {name!r} among the rated players")
        return float(self.elo[self.names.index(name)])

    def los(self, i: int, j: int) -> float | None:
        """Likelihood that player i is stronger than player j, or None without intervals."""
        if self.covariance is None:
            return None
        c = self.covariance
        sd = math.sqrt(max(c[i, i] + c[j, j] - 2.0 * c[i, j], 0.0))
        d = float(self.elo[i] - self.elo[j])
        if sd <= 0.0:
            return 1.0 if d > 0 else (0.0 if d < 0 else 0.5)
        return 0.5 * (1.0 + math.erf(d / (sd * math.sqrt(2.0))))

    def table(self) -> list[Row]:
        order = np.argsort(-self.elo, kind="stable")
        rows = []
        for rank, i in enumerate(order, 1):
            i = int(i)
            played = int(self.wins[i] + self.draws[i] + self.losses[i])
            score = 100.0 * (self.wins[i] + 0.5 * self.draws[i]) / played if played else 0.0
            below = int(order[rank]) if rank < len(order) else None
            rows.append(Row(
                rank=rank, player=self.names[i], elo=float(self.elo[i]),
                error=float(self.upper[i] - self.lower[i]) / 2, lower=float(self.lower[i]),
                upper=float(self.upper[i]), games=int(self.games[i]), wins=int(self.wins[i]),
                draws=int(self.draws[i]), losses=int(self.losses[i]), score=float(score),
                los=None if below is None else self.los(i, below)))
        return rows

    def summary(self) -> str:
        """One line: model, games, anchor, advantage, intervals."""
        parts = [f"{self.model}: {len(self.names)} players", self.note]
        if self.advantage is not None:
            adv = f"first-move advantage {self.advantage:+.1f} Elo"
            if self.covariance is not None:
                adv += f" [{self.advantage_lower:+.1f}, {self.advantage_upper:+.1f}]"
            parts.append(adv)
        if self.covariance is not None:
            parts.append(f"{self.confidence:.0%} intervals from {self.intervals}")
        return " · ".join(parts)


def render_table(rows: Sequence[Row]) -> list[str]:
    """Plain-text lines in the style of Ordo and cutechess: a header, then one line per player."""
    width = max([6] + [len(r.player) for r in rows])
    lines = [f"{'rank':>4}  {'player':<{width}}  {'elo':>7}  {'±':>5}  {'games':>6}  {'w':>6}  "
             f"{'d':>6}  {'l':>6}  {'score%':>6}  {'los%':>5}"]
    for r in rows:
        los = f"{100 * r.los:>5.1f}" if r.los is not None else f"{'':>5}"
        lines.append(f"{r.rank:>4}  {r.player:<{width}}  {r.elo:>7.1f}  {r.error:>5.1f}  "
                     f"{r.games:>6}  {r.wins:>6}  {r.draws:>6}  {r.losses:>6}  {r.score:>6.1f}  {los}")
    return lines


def table_dicts(rows: Sequence[Row]) -> list[dict]:
    """The rows as plain dicts, ready for JSON or ``csv.DictWriter``."""
    return [asdict(r) for r in rows]


def deviation(samples: np.ndarray) -> np.ndarray:
    """Standard deviation over the resamples (axis 0); zero for fewer than two."""
    return samples.std(axis=0, ddof=1) if len(samples) > 1 else np.zeros(samples.shape[1:])


def _anchor(names: list[str], anchor: str | None) -> tuple[int | None, str]:
    if anchor is not None and anchor in names:
        return names.index(anchor), f"anchor {anchor} = 0"
    if anchor is None:
        return None, "mean rating = 0"
    return None, f"anchor {anchor!r} not among the players: mean rating = 0"


def _shifted(covariance: np.ndarray, k: int | None) -> np.ndarray:
    """The covariance of x − x_k (anchored on k), or of x − mean(x) when k is None."""
    if k is not None:
        row = covariance[k]
        return covariance - row[:, None] - row[None, :] + row[k]
    means = covariance.mean(axis=0)
    return covariance - means[:, None] - means[None, :] + means.mean()


def anchored_ratings(model: str, names: list[str], theta: np.ndarray, counts: tuple[np.ndarray, ...],
                     config: RatingConfig, iterations: int, groups: int, *, samples: np.ndarray | None = None,
                     covariance: np.ndarray | None = None,
                     advantage: tuple[float, float | None] | None = None) -> Ratings:
    """A fit's log-strengths ``theta`` and records as anchored Elo with intervals in a
    :class:`Ratings`; the intervals from bootstrap ``samples`` [resamples, players] or a
    ``covariance`` [players, players] of theta (natural units; neither: none). ``advantage`` is the
    fitted first-move advantage and its standard deviation, when there is one."""
    k, note = _anchor(names, config.anchor)
    if groups > 1:
        note += f"; {groups} groups never linked by games, each centred on its own: compare within a group only"
    shift = (lambda x: x - x[..., k:k + 1]) if k is not None else (lambda x: x - x.mean(-1, keepdims=True))
    elo = shift(theta * ELO_PER_NAT)
    z = NormalDist().inv_cdf(0.5 + config.confidence / 2)
    intervals = ""
    if samples is not None:
        samples = shift(samples * ELO_PER_NAT)
        covariance = np.cov(samples, rowvar=False).reshape(len(names), len(names)) if len(samples) > 1             else np.zeros((len(names), len(names)))
        intervals = f"{len(samples)} resamples"
    elif covariance is not None:
        covariance = _shifted(covariance * ELO_PER_NAT ** 2, k)
        intervals = "the sandwich estimate (HC3)"
    spread = np.zeros_like(elo) if covariance is None else z * np.sqrt(np.maximum(np.diag(covariance), 0.0))
    games, wins, draws, losses = counts
    ratings = Ratings(model=model, names=names, elo=elo, lower=elo - spread, upper=elo + spread, games=games,
                      wins=wins, draws=draws, losses=losses, anchor=names[k] if k is not None else None,
                      note=note, iterations=iterations, groups=groups, confidence=config.confidence,
                      samples=samples, covariance=covariance, intervals=intervals)
    if advantage is not None:
        adv, sd = advantage
        ratings.advantage = ratings.advantage_lower = ratings.advantage_upper = adv * ELO_PER_NAT
        if sd is not None:
            half = z * sd * ELO_PER_NAT
            ratings.advantage_lower, ratings.advantage_upper = ratings.advantage - half, ratings.advantage + half
    return ratings
