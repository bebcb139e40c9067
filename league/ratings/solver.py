"""The numerics both rating models share: Newton's method for the point estimate, a batched chord
iteration for the bootstrap, and the linear solves under them (with the inverse of the Hessian the
sandwich intervals of :mod:`league.ratings.bradley_terry` also use).

A model is a :class:`Problem`: a concave log-likelihood in x = (θ_0 … θ_{P-1}[, adv]), natural
units. Its data are arrays whose leading axis, where batched, runs over resamples; ``objective``,
``step`` and ``hessian`` take one resample's data, ``gradient`` and ``diagonal`` a batch of x.

Newton's method rather than Hunter's MM algorithm (2004), the usual choice for Plackett–Luce and
OpenSpiel's for Bradley–Terry: MM reaches the same maximum (the tests check it) but crawls where
players meet few others, as on a ladder of snapshots each playing its neighbours.

Bootstrap intervals (``RatingConfig.intervals = "bootstrap"``, and Plackett–Luce's): the games are
resampled with replacement ``resamples`` times and refitted, warm-started from the point estimate, a
batch of resamples at once (see :func:`bootstrap`); :mod:`league.ratings.table` turns the spread
into intervals and LOS.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

NEWTON_ITERATIONS = 100
NEWTON_TOLERANCE = 1e-9  # natural units: far below 0.001 Elo
CG_ITERATIONS = 500  # per Newton step, then a dense solve
CG_TOLERANCE = 1e-10  # relative residual
CHORD_ITERATIONS = 60
CHORD_TOLERANCE = 1e-4  # natural units, 0.02 Elo: ample for an error bar
BATCH_ELEMENTS = 4_000_000  # resamples × games (or cells) held at once by the bootstrap
RIDGE = 1e-6  # on θ², natural units: pins each unlinked group's location, moves nothing else


class Problem(Protocol):
    """A rating model's log-likelihood, as :func:`newton` and :func:`bootstrap` climb it."""

    @property
    def players(self) -> int: ...

    @property
    def size(self) -> int: ...

    def objective(self, x: np.ndarray, *data: np.ndarray) -> float: ...

    def gradient(self, x: np.ndarray, *data: np.ndarray) -> np.ndarray: ...

    def diagonal(self, x: np.ndarray, *data: np.ndarray) -> np.ndarray: ...

    def hessian(self, x: np.ndarray, *data: np.ndarray) -> np.ndarray: ...

    def step(self, x: np.ndarray, g: np.ndarray, *data: np.ndarray) -> np.ndarray: ...


def tally(index: np.ndarray, values: np.ndarray | None, size: int) -> np.ndarray:
    """Sums of values by index, as floats even when there are none."""
    return np.bincount(index, values, size).astype(np.float64, copy=False)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for any z


def resample(rng: np.random.Generator, games: int, cell: np.ndarray, cells: int, copies: int,
              weight: np.ndarray | None) -> np.ndarray:
    """[copies, cells] total weight per cell of `copies` resamples of the games, with replacement."""
    picks = rng.integers(0, games, size=(copies, games))
    keys = (np.arange(copies)[:, None] * cells + cell[picks]).ravel()
    w = None if weight is None else weight[picks].ravel()
    return tally(keys, w, copies * cells).reshape(copies, cells)



def newton(problem: Problem, x0: np.ndarray, *data: np.ndarray) -> tuple[np.ndarray, int]:
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


def solve(hess: np.ndarray, g: np.ndarray) -> np.ndarray:
    """hess⁻¹ g by a dense solve; least squares where hess is singular."""
    try:
        step = np.linalg.solve(hess, g)
        if np.all(np.isfinite(step)):
            return step
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(hess, g, rcond=None)[0]


def conjugate_gradient(times: Callable[[np.ndarray], np.ndarray], diagonal: np.ndarray, g: np.ndarray
                       ) -> np.ndarray | None:
    """H⁻¹ g by conjugate gradients preconditioned with H's ``diagonal``, given ``times(v)`` = H v;
    None where CG_ITERATIONS do not reach the goal. The goal is loose while g is large: inexact Newton."""
    y, r = np.zeros_like(g), g.copy()
    z = r / diagonal
    direction, rz = z.copy(), r @ z
    norm = math.sqrt(g @ g)
    goal = max(CG_TOLERANCE, min(0.1, math.sqrt(norm))) * norm
    for _ in range(CG_ITERATIONS):
        if math.sqrt(r @ r) <= goal:
            return y
        product = times(direction)
        alpha = rz / (direction @ product)
        y += alpha * direction
        r -= alpha * product
        z = r / diagonal
        rz, previous = r @ z, rz
        direction = z + (rz / previous) * direction
    return y if math.sqrt(r @ r) <= goal else None


def bootstrap(problem: Problem, x_hat: np.ndarray, data_hat: tuple[np.ndarray, ...],
              batches: Iterable[tuple[np.ndarray, ...]], group: np.ndarray) -> np.ndarray:
    """[resamples, size] refits, warm-started at the point estimate x_hat; ``group`` labels the
    groups of players linked by games.

    A chord iteration, x ← x + S H⁻¹ S g(x), runs a whole batch of resamples for the price of their
    gradients: H is the full data's Hessian at x_hat, S rescales it to each resample's own
    diagonal. The rescaling matters for the players at the ends of the table, whose few telling
    games a resample reweighs most, but upsets long ladders, where a resample that diverges scaled
    starts again unscaled. Any resample the iteration does not settle gets Newton.
    """
    hess = problem.hessian(x_hat, *data_hat)
    base = np.diag(hess).copy()
    inverse = pinned_inverse(hess, problem.players, group)  # S would leak steps along a group's mean
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
            x[r] = newton(problem, x_hat, *(d[r] for d in data))[0]
        out.append(x)
    return np.concatenate(out)


def pinned_inverse(hess: np.ndarray, players: int, group: np.ndarray) -> np.ndarray:
    """The inverse of minus the Hessian ``hess`` with each group's mean (``group`` labels the groups
    of players linked by games) given a typical player's curvature: only the 1e-6 ridge pins a
    group's location, and no game's score points along it, so this changes nothing else."""
    hess = hess.copy()
    same = group[:, None] == group[None, :]
    hess[:players, :players] += same * (np.diag(hess)[:players].mean() / np.bincount(group)[group])[:, None]
    try:
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(hess)


def chunks(resamples: int, width: int) -> Iterable[int]:
    """Batch sizes that keep resamples × width near BATCH_ELEMENTS."""
    chunk = max(1, min(resamples, BATCH_ELEMENTS // max(width, 1)))
    for start in range(0, resamples, chunk):
        yield min(chunk, resamples - start)
