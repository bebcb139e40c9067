"""Ratings: Elo from match results, with error bars.

* :func:`fit_bradley_terry` rates two-player games: a batch Bradley–Terry fit with draws, a fitted
  first-move advantage, bootstrap intervals and the likelihood of superiority (LOS) between
  neighbours of the ranked table.
* :func:`fit_plackett_luce` rates games of more than two players from their finishing order
  (Plackett–Luce), into the same :class:`Ratings`.
* :class:`OnlineElo` is a plain K-factor Elo for a live view; the batch fit is the one of record.

Scale. Elo is logistic with scale 400/ln 10: a player rated d above another expects the score
1 / (1 + 10^(-d/400)). Internally ratings are natural log-strengths, Elo = 400/ln 10 · θ.

Draws: a draw is half a win and half a loss. A game scores s ∈ {1, ½, 0} for its seat-0 player and
the fit maximises Σ s·log p + (1 − s)·log(1 − p), p = σ(θ_a − θ_b + adv). This is the model of
OpenSpiel's ``pyspiel.elo`` (and of Ordo): the expected score is exactly the Elo curve whatever the
draw rate, so a 100-point gap means the same in a drawish game as in a decisive one, and with the
advantage off our point estimates equal ``pyspiel.elo``'s (the tests check within 1 Elo). Draw-rate
models (Davidson; Rao–Kupper as in BayesElo) stretch the scale with the draw rate instead. The
objective is a quasi-likelihood (a draw varies less than a coin flip), so the intervals come from
the bootstrap, which sees the real spread of the scores, not from its Hessian.

First-move advantage: the seat-0 player plays with +adv Elo; adv is fitted with the ratings
(``RatingConfig.advantage=False`` fixes it at 0). Plackett–Luce has no seat term.

Prior: every player gets ``prior_games`` (default 1) virtual draws, spread over its real games, so
over the opponents it met in proportion to the games against each (a game's share is the mean of
its two players'); they sit in the same seats as the game beside them. They keep players with all
wins or all losses finite (10 wins out of 10 against one opponent: +529, not +inf) and cost
about one game's worth of shrinkage per player, towards its own opponents: a ladder of 300
snapshots 30 Elo apart is not squeezed towards a centre, as one virtual opponent for everybody
would squeeze it, and the first-move advantage moves by about players/games of itself.
``prior_games=0`` is the plain maximum likelihood, which does not exist for such data: ratings
then stay finite (a 1e-6 ridge on the log-strengths) but huge.
Players never linked by games (directly or through others) form separate groups, each centred on
its own mean before anchoring; :attr:`Ratings.note` says so, as such ratings do not compare.

Anchor: ratings are shifted so the ``anchor`` player (default ``random``) is 0, with zero width;
every other interval then holds the anchor's uncertainty too. Without that player the mean rating is
set to 0 and :attr:`Ratings.note` says so.

Intervals: the games are resampled with replacement ``resamples`` times and refitted, warm-started
from the point estimate, a batch of resamples at once (see :func:`_bootstrap`). The interval is
Elo ± z·sd, sd the standard deviation of the anchored resampled ratings (z = 1.96 at 95%): at 100
resamples that covers the truth as advertised (94.6% of 50 true ratings, mean over 20 synthetic
leagues of 20,000 games), where the 2.5% and 97.5% percentiles, each read off two or three
resamples, covered 93%. LOS(i over j) is
Φ((Elo_i − Elo_j) / sd), sd that of the resampled difference, so it allows for their correlation.
``resamples=0`` skips all this: zero-width intervals and no LOS.

Fitting: Newton's method on the log-likelihood, for both models. Hunter's MM algorithm (2004), the
usual choice for Plackett–Luce and OpenSpiel's for Bradley–Terry, reaches the same maximum (the
tests check it) but crawls where players meet few others: on a ladder of 100 snapshots each
playing its neighbours it took 833 updates for the point estimate and 45 s for 20 resamples, where
Newton takes 6 steps and about a second. Bradley–Terry's Newton steps come from conjugate gradients
over the distinct pairings, so 1,000 players and 200,000 games fit in about half a second.

Plackett–Luce ties: a tie shares its places as a draw shares a point. Going down the finishing order,
a group of k tied players facing the set R of the players at or below them holds k choices from R
(k − 1 for the last group), and each member is credited with an equal share of them. For two
players this is exactly the half-a-point draw above, so a two-player game rates the same both ways.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
from engine.errors import ArenaError

ELO_PER_NAT = 400.0 / math.log(10.0)

NEWTON_ITERATIONS = 100
NEWTON_TOLERANCE = 1e-9  # natural units: far below 0.001 Elo
CG_ITERATIONS = 500  # per Newton step, then a dense solve
CG_TOLERANCE = 1e-10  # relative residual
CHORD_ITERATIONS = 60
CHORD_TOLERANCE = 1e-4  # natural units, 0.02 Elo: ample for an error bar
BATCH_ELEMENTS = 4_000_000  # resamples × games (or cells) held at once by the bootstrap
RIDGE = 1e-6  # on θ², natural units: pins each unlinked group's location, moves nothing else


class RatingError(ArenaError):
    """Results that cannot be rated; the message is one line naming the fix."""


@dataclass(frozen=True)
class RatingConfig:
    anchor: str | None = "random"  # this player is 0; None, or absent from the results: mean is 0
    advantage: bool = True  # fit a first-move advantage for seat 0 (Bradley–Terry only)
    resamples: int = 100  # bootstrap resamples of the games; 0: point estimates only
    confidence: float = 0.95
    prior_games: float = 1.0  # virtual draws per player, spread over the opponents it met
    seed: int = 0  # of the bootstrap

    def __post_init__(self) -> None:
        if self.resamples < 0:
            raise RatingError(f"resamples must be >= 0, not {self.resamples}")
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
    samples: np.ndarray | None = field(default=None, repr=False)  # [resamples, players], anchored

    def rating(self, name: str) -> float:
        if name not in self.names:
            raise RatingError(f"no player {name!r} among the rated players")
        return float(self.elo[self.names.index(name)])

    def los(self, i: int, j: int) -> float | None:
        """Likelihood that player i is stronger than player j, or None without resamples."""
        if self.samples is None:
            return None
        sd = float(_deviation(self.samples[:, i] - self.samples[:, j]))
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
        """One line: model, games, anchor, advantage, resamples."""
        parts = [f"{self.model}: {len(self.names)} players", self.note]
        if self.advantage is not None:
            adv = f"first-move advantage {self.advantage:+.1f} Elo"
            if self.samples is not None:
                adv += f" [{self.advantage_lower:+.1f}, {self.advantage_upper:+.1f}]"
            parts.append(adv)
        if self.samples is not None:
            parts.append(f"{self.confidence:.0%} intervals from {len(self.samples)} resamples")
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


# ---------------------------------------------------------------------------------------- inputs


class Results(NamedTuple):
    """Two-player results: seat-0 player, seat-1 player, seat-0 score (1, 0.5, 0), player names."""

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    names: list[str]


def _name_index(names: Sequence[str] | None) -> tuple[list[str], dict[str, int], bool]:
    """Names so far, their index, and whether unseen names may be added."""
    known = list(names) if names is not None else []
    index = {n: k for k, n in enumerate(known)}
    if len(index) != len(known):
        raise RatingError("player names must be unique")
    return known, index, names is None


def _lookup(name: str, known: list[str], index: dict[str, int], grow: bool) -> int:
    if name not in index:
        if not grow:
            raise RatingError(f"unknown player {name!r}: add it to names, or pass names=None")
        index[name] = len(known)
        known.append(name)
    return index[name]


def results_from_records(records: Iterable[tuple[str, str, float, float]],
                         names: Sequence[str] | None = None) -> Results:
    """(seat-0 name, seat-1 name, return0, return1) records as arrays; the higher return wins.

    With ``names`` the players are indexed in that order and any other name is refused; without,
    in order of first appearance.
    """
    known, index, grow = _name_index(names)
    a, b, score = [], [], []
    for k, record in enumerate(records):
        if len(record) != 4:
            raise RatingError(f"record {k} has {len(record)} fields, not (player0, player1, return0, return1)")
        p0, p1, r0, r1 = record
        a.append(_lookup(p0, known, index, grow))
        b.append(_lookup(p1, known, index, grow))
        score.append(1.0 if r0 > r1 else 0.5 if r0 == r1 else 0.0)
    return Results(np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(score, np.float64), known)


def placings_from_records(records: Iterable[tuple[Sequence[str], Sequence[float]]],
                          names: Sequence[str] | None = None
                          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(participant names, their returns) records as ``players`` and ``ranks`` for Plackett–Luce.

    A player's rank is how many participants scored strictly more, so equal returns tie; games with
    fewer players are padded with -1.
    """
    known, index, grow = _name_index(names)
    games: list[tuple[list[int], list[int]]] = []
    for k, (who, returns) in enumerate(records):
        if len(who) != len(returns):
            raise RatingError(f"record {k} names {len(who)} players but has {len(returns)} returns")
        games.append(([_lookup(n, known, index, grow) for n in who],
                      [sum(o > r for o in returns) for r in returns]))
    width = max([2] + [len(p) for p, _ in games])
    players = np.full((len(games), width), -1, np.int64)
    ranks = np.zeros((len(games), width), np.int64)
    for g, (p, r) in enumerate(games):
        players[g, :len(p)], ranks[g, :len(r)] = p, r
    return players, ranks, known


def _check_names(names: Sequence[str]) -> list[str]:
    names = list(names)
    if len(set(names)) != len(names):
        raise RatingError("player names must be unique")
    return names


# -------------------------------------------------------------------------------- shared helpers


def _tally(index: np.ndarray, values: np.ndarray | None, size: int) -> np.ndarray:
    """Sums of values by index, as floats even when there are none."""
    return np.bincount(index, values, size).astype(np.float64, copy=False)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for any z


def _resample(rng: np.random.Generator, games: int, cell: np.ndarray, cells: int, copies: int,
              weight: np.ndarray | None) -> np.ndarray:
    """[copies, cells] total weight per cell of `copies` resamples of the games, with replacement."""
    picks = rng.integers(0, games, size=(copies, games))
    keys = (np.arange(copies)[:, None] * cells + cell[picks]).ravel()
    w = None if weight is None else weight[picks].ravel()
    return _tally(keys, w, copies * cells).reshape(copies, cells)


def _deviation(samples: np.ndarray) -> np.ndarray:
    return samples.std(axis=0, ddof=1) if len(samples) > 1 else np.zeros(samples.shape[1:])


class _Prior(NamedTuple):
    """The prior's virtual draws, and the groups of players linked by games."""

    draws: np.ndarray  # virtual draws beside each (i, j) entry
    group: np.ndarray  # [players] index of each player's group
    groups: int


def _prior(i: np.ndarray, j: np.ndarray, games: np.ndarray, players: int, prior: float) -> _Prior:
    """Virtual draws beside entries of `games` (i against j), and the groups they link.

    A player's ``prior`` virtual draws are spread over its games, so over its opponents in proportion
    to the games against each; an entry gets the mean of its two players' shares.
    """
    seen = np.maximum(_tally(i, games, players) + _tally(j, games, players), 1e-300)
    draws = prior * games * (1.0 / seen[i] + 1.0 / seen[j]) / 2
    linked = games > 0
    group = _components(i[linked], j[linked], players)
    return _Prior(draws, group, int(group.max(initial=-1)) + 1)


def _components(i: np.ndarray, j: np.ndarray, players: int) -> np.ndarray:
    """Connected groups of the graph with edges (i, j): label propagation with pointer jumping."""
    label = np.arange(players)
    while True:
        low = np.minimum(label[i], label[j])
        new = label.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        new = new[new]
        if np.array_equal(new, label):
            return np.unique(label, return_inverse=True)[1].ravel()
        label = new


def _centre(theta: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """theta [batch, players] with each group's mean at 0: the games say nothing across groups."""
    batch = len(theta)
    keys = (np.arange(batch)[:, None] * groups + group).ravel()
    sizes = np.tile(np.bincount(group, minlength=groups), batch)
    mean = (_tally(keys, theta.ravel(), batch * groups) / sizes).reshape(batch, groups)
    return theta - mean[:, group]


def _anchor(names: list[str], anchor: str | None) -> tuple[int | None, str]:
    if anchor is not None and anchor in names:
        return names.index(anchor), f"anchor {anchor} = 0"
    if anchor is None:
        return None, "mean rating = 0"
    return None, f"anchor {anchor!r} not among the players: mean rating = 0"


def _finish(model: str, names: list[str], theta: np.ndarray, samples: np.ndarray | None,
            counts: tuple[np.ndarray, ...], config: RatingConfig, iterations: int, groups: int,
            advantage: tuple[float, np.ndarray | None] | None = None) -> Ratings:
    """Anchored Elo, intervals and records into a :class:`Ratings`."""
    k, note = _anchor(names, config.anchor)
    if groups > 1:
        note += f"; {groups} groups never linked by games, each centred on its own: compare within a group only"
    shift = (lambda x: x - x[..., k:k + 1]) if k is not None else (lambda x: x - x.mean(-1, keepdims=True))
    elo = shift(theta * ELO_PER_NAT)
    z = NormalDist().inv_cdf(0.5 + config.confidence / 2)
    spread = np.zeros_like(elo)
    if samples is not None:
        samples = shift(samples * ELO_PER_NAT)
        spread = z * _deviation(samples)
    games, wins, draws, losses = counts
    ratings = Ratings(model=model, names=names, elo=elo, lower=elo - spread, upper=elo + spread, games=games,
                      wins=wins, draws=draws, losses=losses, anchor=names[k] if k is not None else None,
                      note=note, iterations=iterations, groups=groups, confidence=config.confidence,
                      samples=samples)
    if advantage is not None:
        adv, adv_samples = advantage
        ratings.advantage = ratings.advantage_lower = ratings.advantage_upper = adv * ELO_PER_NAT
        if adv_samples is not None:
            half = z * float(_deviation(adv_samples * ELO_PER_NAT))
            ratings.advantage_lower, ratings.advantage_upper = ratings.advantage - half, ratings.advantage + half
    return ratings


# ------------------------------------------------------------------------------------ the fitting

# Both models are concave log-likelihoods in x = (θ_0 … θ_{P-1}[, adv]), natural units, fitted the
# same way: Newton with backtracking for the point estimate, then a chord iteration for all
# bootstrap resamples at once. A problem's data are arrays whose leading axis, where batched, runs
# over resamples; ``objective``, ``step`` and ``hessian`` take one resample's data.


def _newton(problem, x0: np.ndarray, *data: np.ndarray) -> tuple[np.ndarray, int]:
    """Maximise from x0 by Newton steps with backtracking; returns x and the iterations."""
    x, f = x0.copy(), problem.objective(x0, *data)
    for it in range(1, NEWTON_ITERATIONS + 1):
        step = problem.step(x, problem.gradient(x[None], *data)[0], *data)
        t = 1.0
        while True:
            trial = x + t * step
            f_trial = problem.objective(trial, *data)
            if f_trial >= f - 1e-12 * abs(f) or t < 1e-4:
                break
            t *= 0.5
        x, f = trial, f_trial
        if np.max(np.abs(t * step), initial=0.0) < NEWTON_TOLERANCE:
            return x, it
    return x, NEWTON_ITERATIONS


def _solve(hess: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        step = np.linalg.solve(hess, g)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(hess, g, rcond=None)[0]


def _bootstrap(problem, x_hat: np.ndarray, data_hat: tuple[np.ndarray, ...],
               batches: Iterable[tuple[np.ndarray, ...]], prior: _Prior) -> np.ndarray:
    """[resamples, size] refits, warm-started at the point estimate x_hat.

    A chord iteration, x ← x + S H⁻¹ S g(x), runs a whole batch of resamples for the price of their
    gradients: H is the full data's Hessian at x_hat, S rescales it to each resample's own
    diagonal. The rescaling matters for the players at the ends of the table, whose few telling
    games a resample reweighs most (unscaled, they took 20 to 60 iterations; scaled, about 6), but
    upsets long ladders, where a resample that diverges scaled starts again unscaled. Any resample
    the iteration does not settle gets Newton.
    """
    hess = problem.hessian(x_hat, *data_hat)
    base, p = np.diag(hess).copy(), problem.players
    # Only the 1e-6 ridge pins a group's location, and S would leak steps into that direction:
    # give each group's mean the curvature of a typical player instead (no gradient points there).
    same = prior.group[:, None] == prior.group[None, :]
    hess[:p, :p] += same * (base[:p].mean() / np.bincount(prior.group)[prior.group])[:, None]
    try:
        inverse = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(hess)
    out = []
    for data in batches:
        copies = len(data[0])
        x = np.repeat(x_hat[None], copies, axis=0)
        scaled = np.ones(copies, bool)  # a row that diverges scaled restarts unscaled, then gets Newton
        age, last = np.zeros(copies, int), np.full(copies, np.inf)
        active = np.ones(copies, bool)
        with np.errstate(all="ignore"):
            for _ in range(CHORD_ITERATIONS):
                rows = np.flatnonzero(active)
                if len(rows) == 0:
                    break
                here = tuple(d[rows] for d in data)
                scale = np.sqrt(base / np.maximum(problem.diagonal(x[rows], *here), RIDGE))
                scale[~scaled[rows]] = 1.0
                step = ((problem.gradient(x[rows], *here) * scale) @ inverse) * scale
                size = np.max(np.abs(step), axis=1)
                diverging = (size > last[rows]) & (age[rows] >= 3) | ~np.isfinite(size)
                x[rows[~diverging]] += step[~diverging]
                last[rows], age[rows] = size, age[rows] + 1
                retry, give_up = rows[diverging & scaled[rows]], rows[diverging & ~scaled[rows]]
                active[rows[size < CHORD_TOLERANCE]] = False
                active[give_up] = False
                x[retry], last[retry], age[retry], scaled[retry] = x_hat, np.inf, 0, False
        for r in np.flatnonzero(~(last < CHORD_TOLERANCE)):
            x[r] = _newton(problem, x_hat, *(d[r] for d in data))[0]
        out.append(x)
    return np.concatenate(out)


def _chunks(resamples: int, width: int) -> Iterable[int]:
    """Batch sizes that keep resamples × width near BATCH_ELEMENTS."""
    chunk = max(1, min(resamples, BATCH_ELEMENTS // max(width, 1)))
    for start in range(0, resamples, chunk):
        yield min(chunk, resamples - start)


# ---------------------------------------------------------------------------------- Bradley–Terry


@dataclass
class _PairProblem:
    """Log-likelihood of games aggregated into cells (seat-0 i, seat-1 j, one outcome).

    Data: ``n``, the games (weight) of each cell, and ``s``, the seat-0 score in it.
    """

    i: np.ndarray
    j: np.ndarray
    players: int
    advantage: bool

    @property
    def size(self) -> int:
        return self.players + int(self.advantage)

    def margins(self, x: np.ndarray) -> np.ndarray:
        z = x[..., self.i] - x[..., self.j]
        return z + x[..., -1:] if self.advantage else z

    def objective(self, x: np.ndarray, n: np.ndarray, s: np.ndarray) -> float:
        z = self.margins(x)
        ll = -np.sum(s * np.logaddexp(0.0, -z) + (n - s) * np.logaddexp(0.0, z))
        return float(ll - 0.5 * RIDGE * np.sum(x[:self.players] ** 2))

    def _per_player(self, values: np.ndarray, sign: float) -> np.ndarray:
        """[batch, size]: each cell's value to its seat-0 player, `sign` times it to its seat-1
        player, and the cells' sum to the advantage."""
        batch, m = values.shape[0], self.size
        offsets = (np.arange(batch) * m)[:, None]
        out = _tally((offsets + self.i).ravel(), values.ravel(), batch * m)
        out += sign * _tally((offsets + self.j).ravel(), values.ravel(), batch * m)
        out = out.reshape(batch, m)
        if self.advantage:
            out[:, -1] = values.sum(axis=1)
        return out

    def gradient(self, x: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Gradient for x of shape [batch, size]."""
        r = np.broadcast_to(s - n * _sigmoid(self.margins(x)), (len(x), len(self.i)))
        g = self._per_player(r, -1.0)
        g[:, :self.players] -= RIDGE * x[:, :self.players]
        return g

    def curvature(self, x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Each cell's weight in minus the Hessian: its games times p(1 − p)."""
        q = _sigmoid(self.margins(x))
        return n * q * (1.0 - q)

    def hessian(self, x: np.ndarray, n: np.ndarray, s: np.ndarray | None = None) -> np.ndarray:
        """Minus the Hessian (positive definite) at one x, assembled densely."""
        m, p, i, j = self.size, self.players, self.i, self.j
        h = self.curvature(x, n)
        index = [i * m + i, j * m + j, i * m + j, j * m + i]
        value = [h, h, -h, -h]
        if self.advantage:
            a = m - 1
            index += [i * m + a, a * m + i, j * m + a, a * m + j]
            value += [h, h, -h, -h]
        hess = _tally(np.concatenate(index), np.concatenate(value), m * m).reshape(m, m)
        if self.advantage:
            hess[-1, -1] = h.sum()
        hess[np.arange(p), np.arange(p)] += RIDGE
        return hess

    def diagonal(self, x: np.ndarray, n: np.ndarray, s: np.ndarray | None = None) -> np.ndarray:
        """The diagonal of minus the Hessian, for x of shape [batch, size]."""
        d = self._per_player(np.broadcast_to(self.curvature(x, n), (len(x), len(self.i))), 1.0)
        d[:, :self.players] += RIDGE
        return d

    def _hessian_times(self, h: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Minus the Hessian times v, from the cells without assembling the matrix."""
        out = self._per_player((h * self.margins(v))[None], -1.0)[0]
        out[:self.players] += RIDGE * v[:self.players]
        return out

    def step(self, x: np.ndarray, g: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
        """The Newton step: preconditioned conjugate gradients on the cells, which needs no BLAS
        (whose threads crawl on a busy machine) and, on well-mixed pairings, a dozen products;
        a dense solve where that does not converge (a long ladder of snapshots)."""
        h = self.curvature(x, n)
        diagonal = np.maximum(self.diagonal(x[None], n)[0], RIDGE)  # an advantage in games all decided by far
        y, r = np.zeros_like(g), g.copy()
        z = r / diagonal
        direction, rz = z.copy(), r @ z
        norm = math.sqrt(g @ g)
        goal = max(CG_TOLERANCE, min(0.1, math.sqrt(norm))) * norm  # loose while far: inexact Newton
        for _ in range(CG_ITERATIONS):
            if math.sqrt(r @ r) <= goal:
                return y
            product = self._hessian_times(h, direction)
            alpha = rz / (direction @ product)
            y += alpha * direction
            r -= alpha * product
            z = r / diagonal
            rz, previous = r @ z, rz
            direction = z + (rz / previous) * direction
        if math.sqrt(r @ r) <= goal:
            return y
        return _solve(self.hessian(x, n), g)


def _two_player_counts(a: np.ndarray, b: np.ndarray, score: np.ndarray, players: int
                       ) -> tuple[np.ndarray, ...]:
    """Games, wins, draws, losses per player, whichever seat."""
    def count(mask_a: np.ndarray, mask_b: np.ndarray) -> np.ndarray:
        return np.bincount(a[mask_a], minlength=players) + np.bincount(b[mask_b], minlength=players)
    everything = np.ones(len(a), bool)
    win, draw, loss = score == 1.0, score == 0.5, score == 0.0
    return count(everything, everything), count(win, loss), count(draw, draw), count(loss, win)


def fit_bradley_terry(a: np.ndarray, b: np.ndarray, score: np.ndarray, names: Sequence[str],
                      config: RatingConfig | None = None, *,
                      weight: np.ndarray | None = None) -> Ratings:
    """Rate two-player games: ``a[k]`` (seat 0) played ``b[k]``, scoring ``score[k]`` ∈ {1, ½, 0}.

    ``weight`` (default 1 per game) scales a game's say, e.g. to fade old games. Games are
    aggregated into cells of equal (seat-0, seat-1, outcome), so the cost of an iteration grows with
    the distinct pairings, not the games.
    """
    config = config or RatingConfig()
    names = _check_names(names)
    a, b = np.asarray(a), np.asarray(b)
    score = np.asarray(score, np.float64)
    if not (a.ndim == b.ndim == score.ndim == 1 and len(a) == len(b) == len(score)):
        raise RatingError(f"a, b and score must be 1-d of one length, not shapes {a.shape}, {b.shape}, {score.shape}")
    if len(a) and not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        raise RatingError("a and b must be integer player indices")
    a, b = a.astype(np.int64), b.astype(np.int64)
    players = len(names)
    if len(a) and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= players):
        raise RatingError(f"player indices must lie in [0, {players}) for {players} names")
    if np.any(a == b):
        raise RatingError(f"game {int(np.argmax(a == b))} pits player {names[a[a == b][0]]!r} against itself")
    code = score * 2.0
    if not np.all(np.isin(code, (0.0, 1.0, 2.0))):
        raise RatingError("scores must be 1 (seat 0 won), 0.5 (draw) or 0 (seat 0 lost)")
    if weight is not None:
        weight = np.asarray(weight, np.float64)
        if weight.shape != a.shape or not np.all(np.isfinite(weight) & (weight >= 0)):
            raise RatingError("weight must hold one finite, non-negative number per game")

    keys, cell = np.unique((a * players + b) * 3 + code.astype(np.int64), return_inverse=True)
    cell = cell.ravel()
    i, j, cell_score = keys // 3 // players, keys // 3 % players, keys % 3 / 2.0
    cell_n = _tally(cell, weight, len(keys))
    prior = _prior(i, j, cell_n, players, config.prior_games)
    problem = _PairProblem(i, j, players, config.advantage)
    n, s = cell_n + prior.draws, cell_n * cell_score + prior.draws / 2
    x_hat, iterations = _newton(problem, np.zeros(problem.size), n, s)
    samples = None
    if config.resamples and len(a):
        rng = np.random.default_rng(config.seed)

        def batches() -> Iterable[tuple[np.ndarray, np.ndarray]]:
            for copies in _chunks(config.resamples, max(len(a), len(n))):
                nb = _resample(rng, len(a), cell, len(keys), copies, weight)
                yield nb + prior.draws, nb * cell_score + prior.draws / 2
        samples = _bootstrap(problem, x_hat, (n, s), batches(), prior)
    advantage = None
    if config.advantage:
        advantage = (float(x_hat[-1]), None if samples is None else samples[:, -1])
    p = players
    theta = _centre(x_hat[None, :p], prior.group, prior.groups)[0]
    if samples is not None:
        samples = _centre(samples[:, :p], prior.group, prior.groups)
    return _finish("bradley-terry", names, theta, samples, _two_player_counts(a, b, score, players),
                   config, iterations, prior.groups, advantage)


def rate_records(records: Iterable[tuple[str, str, float, float]], config: RatingConfig | None = None,
                 names: Sequence[str] | None = None) -> Ratings:
    """:func:`fit_bradley_terry` on (seat-0 name, seat-1 name, return0, return1) records."""
    a, b, score, known = results_from_records(records, names)
    return fit_bradley_terry(a, b, score, known, config)


# ---------------------------------------------------------------------------------- Plackett–Luce


@dataclass
class _Placings:
    """Games sorted best first, with what the likelihood needs, all [games, seats].

    Going down a game, each tie group (a "stage") chooses ``choices`` of the players left at and
    below it, and each member is credited with ``credit`` of those choices.
    """

    players: np.ndarray  # 0 in empty seats, which `valid` masks
    valid: np.ndarray
    starts: np.ndarray  # a tie group begins here
    choices: np.ndarray  # at group starts: the choices the group makes from the players left
    credit: np.ndarray  # each member's share of its group's choices
    size: np.ndarray  # of the tie group

    @classmethod
    def build(cls, players: np.ndarray, ranks: np.ndarray) -> _Placings:
        valid = players >= 0
        order = np.argsort(np.where(valid, ranks, np.inf), axis=1, kind="stable")
        players = np.take_along_axis(players, order, 1)
        ranks = np.take_along_axis(np.where(valid, ranks, np.inf), order, 1)
        valid = players >= 0
        games, seats = players.shape
        starts = valid.copy()
        starts[:, 1:] &= ranks[:, 1:] != ranks[:, :-1]
        group = np.cumsum(starts, axis=1) - 1
        flat = (np.arange(games)[:, None] * seats + group)
        size = np.bincount(flat[valid], minlength=games * seats)[flat]
        last = group == (starts.sum(1, keepdims=True) - 1)
        group_choices = np.where(last, size - 1, size)
        choices = np.where(starts, group_choices, 0).astype(np.float64)
        credit = np.where(valid, group_choices / np.maximum(size, 1), 0.0)
        return cls(np.where(valid, players, 0), valid, starts, choices, credit, size)

    def counts(self, n: int) -> tuple[np.ndarray, ...]:
        """Games, and opponents beaten, tied with and lost to, per player."""
        position = np.broadcast_to(np.arange(self.players.shape[1]), self.players.shape)
        above = np.maximum.accumulate(np.where(self.starts, position, 0), axis=1)  # group's start
        below = self.valid.sum(1, keepdims=True) - above - self.size
        p, v = self.players[self.valid], self.valid

        def tally(x: np.ndarray) -> np.ndarray:
            return np.bincount(p, x[v], n).astype(np.int64)
        return np.bincount(p, minlength=n), tally(below), tally(self.size - 1), tally(above)


@dataclass
class _RankProblem:
    """Plackett–Luce log-likelihood of finishing orders, plus the prior's virtual draws.

    Data: ``w``, each game's weight. A stage with choices c from the players R left contributes
    Σ credit·θ − c·log Σ_R γ; for players at places q and r its curvature is c·(π_q δ_qr − π_q π_r)
    with π = γ / Σ_R γ, which cumulative sums over the places gather for all stages at once.
    """

    placings: _Placings
    pairs: _PairProblem  # the prior's virtual draws, as seatless two-player games, and the ridge
    draws: np.ndarray

    @property
    def size(self) -> int:
        return self.pairs.players

    @property
    def players(self) -> int:
        return self.pairs.players

    def _stages(self, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
        """θ, γ at each place, the strength left at each stage, its weighted choices: [batch, games, seats]."""
        pl = self.placings
        theta = x - x.max(1, keepdims=True)  # the same ratios, no overflow
        gamma = np.where(pl.valid, np.exp(theta)[:, pl.players], 0.0)
        left = np.cumsum(gamma[:, :, ::-1], axis=2)[:, :, ::-1]
        left = np.where(pl.starts, left, 1.0)
        return theta, gamma, left, np.broadcast_to(w, (len(x), len(pl.valid)))[:, :, None] * pl.choices

    def objective(self, x: np.ndarray, w: np.ndarray) -> float:
        pl = self.placings
        theta, _, left, choices = self._stages(x[None], w)
        ll = np.sum(w[:, None] * pl.credit * theta[0][pl.players]) - np.sum(choices * np.log(left))
        return float(ll) + self.pairs.objective(x, self.draws, self.draws / 2)

    def _per_player(self, per_place: np.ndarray) -> np.ndarray:
        """[batch, players] sums of [batch, games, seats] values over each player's places."""
        pl, (batch, _, _), m = self.placings, per_place.shape, self.size
        keys = ((np.arange(batch) * m)[:, None, None] + pl.players).ravel()
        return _tally(keys, np.where(pl.valid, per_place, 0.0).ravel(), batch * m).reshape(batch, m)

    def gradient(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        _, gamma, left, choices = self._stages(x, w)
        per_place = np.atleast_2d(w)[:, :, None] * self.placings.credit - gamma * np.cumsum(choices / left, axis=2)
        return self._per_player(per_place) + self.pairs.gradient(x, self.draws, self.draws / 2)

    def diagonal(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        _, gamma, left, choices = self._stages(x, w)
        per_place = gamma * np.cumsum(choices / left, axis=2) - gamma ** 2 * np.cumsum(choices / left ** 2, axis=2)
        return self._per_player(per_place) + self.pairs.diagonal(x, self.draws)

    def hessian(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        pl, m = self.placings, self.size
        _, gamma, left, choices = self._stages(x[None], w)
        gamma, seats = gamma[0], gamma.shape[2]
        own = gamma * np.cumsum(choices[0] / left[0], axis=1)  # Σ c·π_q over the stages q faces
        shared = np.cumsum(choices[0] / left[0] ** 2, axis=1)  # Σ c / (Σ_R γ)² over them
        q, r = np.meshgrid(np.arange(seats), np.arange(seats), indexing="ij")
        outer = gamma[:, q] * gamma[:, r] * shared[:, np.minimum(q, r)]
        hess = -_tally((pl.players[:, q] * m + pl.players[:, r]).ravel(), outer.ravel(), m * m).reshape(m, m)
        hess[np.arange(m), np.arange(m)] += _tally(pl.players.ravel(), own.ravel(), m)
        return hess + self.pairs.hessian(x, self.draws)

    def step(self, x: np.ndarray, g: np.ndarray, w: np.ndarray) -> np.ndarray:
        return _solve(self.hessian(x, w), g)


def fit_plackett_luce(players: np.ndarray, ranks: np.ndarray, names: Sequence[str],
                      config: RatingConfig | None = None) -> Ratings:
    """Rate games of any number of players from finishing order.

    ``players[g]`` lists game g's participants (player indices, -1 for empty seats) and
    ``ranks[g]`` their places: lower is better, equal places tie.
    """
    config = config or RatingConfig()
    names = _check_names(names)
    players, ranks = np.asarray(players), np.asarray(ranks, np.float64)
    if players.ndim != 2 or players.shape != ranks.shape:
        raise RatingError(f"players and ranks must be 2-d of one shape, not {players.shape} and {ranks.shape}")
    if players.size and not np.issubdtype(players.dtype, np.integer):
        raise RatingError("players must be integer player indices, -1 for an empty seat")
    players = players.astype(np.int64)
    n = len(names)
    if players.size and (players.min() < -1 or players.max() >= n):
        raise RatingError(f"player indices must lie in [0, {n}) for {n} names, or be -1 for an empty seat")
    valid = players >= 0
    if np.any(valid.sum(1) < 2):
        raise RatingError(f"game {int(np.argmax(valid.sum(1) < 2))} has fewer than two players")
    if not np.all(np.isfinite(ranks[valid])):
        raise RatingError("ranks must be finite numbers")
    ordered = np.sort(players, axis=1)
    if np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)):
        raise RatingError("a player appears twice in one game")

    games, seats = players.shape
    first, second = np.triu_indices(seats, 1)
    both = valid[:, first] & valid[:, second]
    i, j = players[:, first][both], players[:, second][both]  # every two players who met in a game
    prior = _prior(i, j, np.ones(len(i)), n, config.prior_games)
    placings = _Placings.build(players, ranks)
    problem = _RankProblem(placings, _PairProblem(i, j, n, False), prior.draws)
    x_hat, iterations = _newton(problem, np.zeros(n), np.ones(games))
    samples = None
    if config.resamples and games:
        rng = np.random.default_rng(config.seed)
        batches = ((_resample(rng, games, np.arange(games), games, copies, None),)
                   for copies in _chunks(config.resamples, 2 * players.size))
        samples = _bootstrap(problem, x_hat, (np.ones(games),), batches, prior)
        samples = _centre(samples, prior.group, prior.groups)
    theta = _centre(x_hat[None], prior.group, prior.groups)[0]
    return _finish("plackett-luce", names, theta, samples, placings.counts(n), config, iterations,
                   prior.groups)


# ------------------------------------------------------------------------------------- online Elo


@dataclass
class OnlineElo:
    """Elo updated game by game (K-factor), for a live view while the batch fit is not yet due.

    Order-dependent and without error bars; players start at ``initial`` when first seen.
    """

    k: float = 16.0
    initial: float = 0.0
    advantage: float = 0.0  # Elo added to the seat-0 player's expectation
    ratings: dict[str, float] = field(default_factory=dict)
    games: dict[str, int] = field(default_factory=dict)

    def expected(self, a: str, b: str) -> float:
        """Seat-0 player a's expected score against b."""
        d = self.ratings.get(a, self.initial) + self.advantage - self.ratings.get(b, self.initial)
        return 1.0 / (1.0 + 10.0 ** (-d / 400.0))

    def update(self, a: str, b: str, score: float) -> float:
        """Record a game of a (seat 0) against b where a scored `score`; returns a's change."""
        if not 0.0 <= score <= 1.0:
            raise RatingError(f"score must lie in [0, 1], not {score}")
        delta = self.k * (score - self.expected(a, b))
        self.ratings[a] = self.ratings.get(a, self.initial) + delta
        self.ratings[b] = self.ratings.get(b, self.initial) - delta
        for p in (a, b):
            self.games[p] = self.games.get(p, 0) + 1
        return delta


# ---------------------------------------------------------------------------------------- bench


def synthetic_games(true_elo: np.ndarray, games: int, seed: int = 0, draw_rate: float = 0.3,
                    advantage: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random pairings scored under the half-point model: expected score is exactly the Elo curve.

    ``draw_rate`` is the draw probability between equals (at most 0.5); it falls off as
    4·p·(1 − p) with the seat-0 player's expected score p, leaving p unchanged.
    """
    if not 0.0 <= draw_rate <= 0.5:
        raise RatingError(f"draw_rate must lie in [0, 0.5], not {draw_rate}")
    rng = np.random.default_rng(seed)
    true_elo = np.asarray(true_elo, np.float64)
    n = len(true_elo)
    a = rng.integers(0, n, games)
    b = (a + rng.integers(1, n, games)) % n
    p = _sigmoid((true_elo[a] - true_elo[b] + advantage) / ELO_PER_NAT)
    d = draw_rate * 4.0 * p * (1.0 - p)
    u = rng.random(games)
    score = np.where(u < p - d / 2, 1.0, np.where(u < p + d / 2, 0.5, 0.0))
    return a, b, score


def coverage(players: int = 50, games: int = 20_000, seed: int = 0, resamples: int = 100) -> dict:
    """Share of true ratings (spread N(0, 300), mean anchored) inside the reported intervals."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 300.0, players)
    a, b, score = synthetic_games(truth, games, seed + 1, advantage=30.0)
    t0 = time.perf_counter()
    fit = fit_bradley_terry(a, b, score, [f"p{k}" for k in range(players)],
                            RatingConfig(anchor=None, resamples=resamples, seed=seed))
    seconds = time.perf_counter() - t0
    truth = truth - truth.mean()
    inside = (fit.lower <= truth) & (truth <= fit.upper)
    return {"players": players, "games": games, "resamples": resamples, "coverage": float(inside.mean()),
            "mean_error_bar_elo": float(np.mean(fit.upper - fit.lower) / 2), "seconds": seconds,
            "advantage_true_elo": 30.0, "advantage_elo": fit.advantage,
            "advantage_interval_elo": [fit.advantage_lower, fit.advantage_upper]}


def openspiel_agreement(players: int = 8, games: int = 2000, seed: int = 0, smoothing: float = 0.01) -> float:
    """The largest gap, in Elo, between our point estimates and ``pyspiel.elo``'s on the same games.

    Our fit runs without advantage or prior; OpenSpiel's smoothing (``smoothing`` wins each way
    between every two players) goes in as a virtual draw of weight 2·smoothing per pair. Ratings are
    compared relative to player 0, as OpenSpiel puts its lowest player at ``minimum_rating``.
    """
    import pyspiel

    a, b, score = synthetic_games(np.random.default_rng(seed).normal(0.0, 200.0, players), games, seed + 1)
    wins, draws = np.zeros((players, players), np.int64), np.zeros((players, players), np.int64)
    np.add.at(wins, (np.where(score == 1, a, b)[score != 0.5], np.where(score == 1, b, a)[score != 0.5]), 1)
    np.add.at(draws, (a[score == 0.5], b[score == 0.5]), 1)
    draws += draws.T
    options = pyspiel.elo.default_elo_options()
    options.smoothing_factor = smoothing
    theirs = np.array(pyspiel.elo.compute_ratings_from_matrices(wins.tolist(), draws.tolist(), options))
    i, j = np.triu_indices(players, 1)
    ours = fit_bradley_terry(
        np.concatenate([a, i]), np.concatenate([b, j]), np.concatenate([score, np.full(len(i), 0.5)]),
        [f"p{k}" for k in range(players)], RatingConfig(anchor="p0", advantage=False, prior_games=0, resamples=0),
        weight=np.concatenate([np.ones(len(a)), np.full(len(i), 2.0 * smoothing)])).elo
    return float(np.max(np.abs((theirs - theirs[0]) - ours)))


def bench_ratings(players: int = 1000, games: int = 200_000, seed: int = 0, repeats: int = 3) -> dict:
    """Point-fit speed (best of `repeats`) and accuracy on `players` × `games`, interval coverage
    on 50 × 20,000, and agreement with ``pyspiel.elo``."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 300.0, players)
    a, b, score = synthetic_games(truth, games, seed + 1, advantage=30.0)
    names = [f"p{k}" for k in range(players)]
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit = fit_bradley_terry(a, b, score, names, RatingConfig(anchor=None, resamples=0))
        seconds.append(time.perf_counter() - t0)
    error = fit.elo - (truth - truth.mean())
    return {"players": players, "games": games, "fit_seconds": min(seconds), "fit_seconds_all": seconds,
            "iterations": fit.iterations, "max_abs_error_elo": float(np.max(np.abs(error))),
            "rms_error_elo": float(np.sqrt(np.mean(error ** 2))),
            "advantage_true_elo": 30.0, "advantage_elo": fit.advantage,
            "coverage": coverage(seed=seed),
            "openspiel_max_gap_elo": openspiel_agreement(seed=seed)}
