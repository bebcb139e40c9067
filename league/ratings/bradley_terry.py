"""Bradley–Terry: ratings from two-player games, with draws and a fitted first-move advantage.

Draws: a draw is half a win and half a loss. A game scores s ∈ {1, ½, 0} for its seat-0 player and
the fit maximises Σ s·log p + (1 − s)·log(1 − p), p = σ(θ_a − θ_b + adv). This is the model of
OpenSpiel's ``pyspiel.elo`` (and of Ordo): the expected score is exactly the Elo curve whatever the
draw rate, so a 100-point gap means the same in a drawish game as in a decisive one, and with the
advantage off our point estimates equal ``pyspiel.elo``'s (the tests check within 1 Elo). Draw-rate
models (Davidson; Rao–Kupper as in BayesElo) stretch the scale with the draw rate instead.

Intervals. The objective is a quasi-likelihood (a draw varies less than a coin flip), so the inverse
Hessian alone would not see the real spread of the scores. The default intervals are the sandwich
H⁻¹ J H⁻¹ (Huber–White): H minus the Hessian, J the sum of the games' score vectors' outer products,
each game's inflated by 1/(1 − h)² for its leverage h (HC3, MacKinnon & White 1985) so that players
with few games are not overconfident. It is the limit of the game bootstrap's first step, costs one
inverse of H however many games there are, and covers the truth as often as the bootstrap in the
cases ``arena bench ratings`` and the tests measure (docs/benchmarks.md).
``RatingConfig.intervals = "bootstrap"`` refits resampled games instead (:mod:`league.ratings.solver`).

First-move advantage: the seat-0 player plays with +adv Elo; adv is fitted with the ratings
(``RatingConfig.advantage=False`` fixes it at 0).

:class:`PairProblem` also carries the prior's virtual draws for :mod:`league.ratings.plackett_luce`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from league.ratings.prior import centre, virtual_draws
from league.ratings.records import check_names, results_from_records
from league.ratings.solver import (RIDGE, bootstrap, chunks, conjugate_gradient, newton, pinned_inverse, resample,
                                   sigmoid, solve, tally)
from league.ratings.table import RatingConfig, RatingError, Ratings, anchored_ratings, deviation


@dataclass
class PairProblem:
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
        out = tally((offsets + self.i).ravel(), values.ravel(), batch * m)
        out += sign * tally((offsets + self.j).ravel(), values.ravel(), batch * m)
        out = out.reshape(batch, m)
        if self.advantage:
            out[:, -1] = values.sum(axis=1)
        return out

    def gradient(self, x: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Gradient for x of shape [batch, size]."""
        r = np.broadcast_to(s - n * sigmoid(self.margins(x)), (len(x), len(self.i)))
        g = self._per_player(r, -1.0)
        g[:, :self.players] -= RIDGE * x[:, :self.players]
        return g

    def curvature(self, x: np.ndarray, n: np.ndarray) -> np.ndarray:
        """Each cell's weight in minus the Hessian: its games times p(1 − p)."""
        q = sigmoid(self.margins(x))
        return n * q * (1.0 - q)

    def assemble(self, w: np.ndarray) -> np.ndarray:
        """Σ over cells of w · u uᵀ as a dense [size, size] matrix, u a cell's margin direction
        (e_i − e_j, + e_adv): minus the Hessian with w its curvature, the sandwich's J with w its
        games' squared residuals."""
        m, i, j = self.size, self.i, self.j
        index = [i * m + i, j * m + j, i * m + j, j * m + i]
        value = [w, w, -w, -w]
        if self.advantage:
            a = m - 1
            index += [i * m + a, a * m + i, j * m + a, a * m + j]
            value += [w, w, -w, -w]
        out = tally(np.concatenate(index), np.concatenate(value), m * m).reshape(m, m)
        if self.advantage:
            out[-1, -1] = w.sum()
        return out

    def quadratic(self, matrix: np.ndarray) -> np.ndarray:
        """u ᵀ M u for each cell's margin direction u, M symmetric [size, size]."""
        i, j = self.i, self.j
        q = matrix[i, i] + matrix[j, j] - 2.0 * matrix[i, j]
        if self.advantage:
            q += matrix[-1, -1] + 2.0 * (matrix[i, -1] - matrix[j, -1])
        return q

    def hessian(self, x: np.ndarray, n: np.ndarray, s: np.ndarray | None = None) -> np.ndarray:
        """Minus the Hessian (positive definite) at one x, assembled densely."""
        hess = self.assemble(self.curvature(x, n))
        hess[np.arange(self.players), np.arange(self.players)] += RIDGE
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
        y = conjugate_gradient(lambda v: self._hessian_times(h, v), diagonal, g)
        return y if y is not None else solve(self.hessian(x, n), g)


def sandwich(problem: PairProblem, x_hat: np.ndarray, n: np.ndarray, group: np.ndarray, cell: np.ndarray,
             cell_score: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """[size, size] covariance of the fit x_hat: H⁻¹ J H⁻¹ (see the module doc), H at the data and
    prior ``n``; J from the real games only (game k in cell ``cell[k]``, all of whose games score
    ``cell_score``), as the bootstrap resamples them and not the prior's virtual draws.

    J is centred as a resample of as many games is: Σ g gᵀ − (Σ g)(Σ g)ᵀ / games, g a game's score
    vector w (s − p) u. Each group's mean direction gets nothing from J, so the covariance needs no
    centring per group."""
    inverse = pinned_inverse(problem.hessian(x_hat, n), problem.players, group)
    p = sigmoid(problem.margins(x_hat))
    residual = cell_score - p
    leverage = p * (1.0 - p) * problem.quadratic(inverse)  # of one game of unit weight in each cell
    games = len(cell)
    if weight is None:
        w = tally(cell, None, len(p))
        inflated = w / np.clip(1.0 - leverage, 0.01, 1.0) ** 2
    else:
        w = tally(cell, weight, len(p))
        inflated = tally(cell, (weight / np.clip(1.0 - weight * leverage[cell], 0.01, 1.0)) ** 2, len(p))
    meat = problem.assemble(inflated * residual ** 2)
    total = problem._per_player((w * residual)[None], -1.0)[0]
    meat -= np.outer(total, total) / games
    return inverse @ meat @ inverse


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
    names = check_names(names)
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
    cell_n = tally(cell, weight, len(keys))
    prior = virtual_draws(i, j, cell_n, players, config.prior_games)
    problem = PairProblem(i, j, players, config.advantage)
    n, s = cell_n + prior.draws, cell_n * cell_score + prior.draws / 2
    x_hat, iterations = newton(problem, np.zeros(problem.size), n, s)
    samples = covariance = None
    if config.resamples and len(a) and config.intervals == "sandwich":
        covariance = sandwich(problem, x_hat, n, prior.group, cell, cell_score, weight)
    elif config.resamples and len(a):
        rng = np.random.default_rng(config.seed)

        def batches() -> Iterable[tuple[np.ndarray, np.ndarray]]:
            for copies in chunks(config.resamples, max(len(a), len(n))):
                nb = resample(rng, len(a), cell, len(keys), copies, weight)
                yield nb + prior.draws, nb * cell_score + prior.draws / 2
        samples = bootstrap(problem, x_hat, (n, s), batches(), prior.group)
    advantage = None
    if config.advantage:  # its value and standard deviation, natural units
        sd = None
        if covariance is not None:
            sd = math.sqrt(max(covariance[-1, -1], 0.0))
        elif samples is not None:
            sd = float(deviation(samples[:, -1:])[0])
        advantage = (float(x_hat[-1]), sd)
    p = players
    theta = centre(x_hat[None, :p], prior.group, prior.groups)[0]
    if samples is not None:
        samples = centre(samples[:, :p], prior.group, prior.groups)
    return anchored_ratings("bradley-terry", names, theta, _two_player_counts(a, b, score, players), config,
                            iterations, prior.groups, samples=samples,
                            covariance=None if covariance is None else covariance[:p, :p], advantage=advantage)


def rate_records(records: Iterable[tuple[str, str, float, float]], config: RatingConfig | None = None,
                 names: Sequence[str] | None = None) -> Ratings:
    """:func:`fit_bradley_terry` on (seat-0 name, seat-1 name, return0, return1) records."""
    a, b, score, known = results_from_records(records, names)
    return fit_bradley_terry(a, b, score, known, config)
