"""Plackett–Luce: ratings from the finishing order of games of any number of players, on the same
Elo scale as Bradley–Terry (no seat term).

Ties: a tie shares its places as a draw shares a point. Going down the finishing order, a group of k
tied players facing the set R of the players at or below them holds k choices from R (k − 1 for the
last group), and each member is credited with an equal share of them. For two players this is
exactly Bradley–Terry's half-a-point draw, so a two-player game rates the same both ways.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from league.ratings.bradley_terry import PairProblem
from league.ratings.prior import centre, virtual_draws
from league.ratings.records import check_names
from league.ratings.solver import bootstrap, chunks, newton, resample, solve, tally
from league.ratings.table import RatingConfig, RatingError, Ratings, anchored_ratings


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
    pairs: PairProblem  # the prior's virtual draws, as seatless two-player games, and the ridge
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
        return tally(keys, np.where(pl.valid, per_place, 0.0).ravel(), batch * m).reshape(batch, m)

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
        hess = -tally((pl.players[:, q] * m + pl.players[:, r]).ravel(), outer.ravel(), m * m).reshape(m, m)
        hess[np.arange(m), np.arange(m)] += tally(pl.players.ravel(), own.ravel(), m)
        return hess + self.pairs.hessian(x, self.draws)

    def step(self, x: np.ndarray, g: np.ndarray, w: np.ndarray) -> np.ndarray:
        return solve(self.hessian(x, w), g)


def fit_plackett_luce(players: np.ndarray, ranks: np.ndarray, names: Sequence[str],
                      config: RatingConfig | None = None) -> Ratings:
    """Rate games of any number of players from finishing order.

    ``players[g]`` lists game g's participants (player indices, -1 for empty seats) and
    ``ranks[g]`` their places: lower is better, equal places tie.
    """
    config = config or RatingConfig()
    names = check_names(names)
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
    prior = virtual_draws(i, j, np.ones(len(i)), n, config.prior_games)
    placings = _Placings.build(players, ranks)
    problem = _RankProblem(placings, PairProblem(i, j, n, False), prior.draws)
    x_hat, iterations = newton(problem, np.zeros(n), np.ones(games))
    samples = None
    if config.resamples and games:
        rng = np.random.default_rng(config.seed)
        batches = ((resample(rng, games, np.arange(games), games, copies, None),)
                   for copies in chunks(config.resamples, 2 * players.size))
        samples = bootstrap(problem, x_hat, (np.ones(games),), batches, prior.group)
        samples = centre(samples, prior.group, prior.groups)
    theta = centre(x_hat[None], prior.group, prior.groups)[0]
    return anchored_ratings("plackett-luce", names, theta, placings.counts(n), config, iterations, prior.groups,
                            samples=samples)
