"""Synthetic leagues with known true ratings, and what the fit makes of them: interval coverage and
agreement with OpenSpiel's ``pyspiel.elo``. The tests and ``arena bench ratings`` measure the fit
with these."""
from __future__ import annotations

import time

import numpy as np

from league.ratings.bradley_terry import fit_bradley_terry
from league.ratings.solver import sigmoid
from league.ratings.table import ELO_PER_NAT, RatingConfig, RatingError


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
    p = sigmoid((true_elo[a] - true_elo[b] + advantage) / ELO_PER_NAT)
    d = draw_rate * 4.0 * p * (1.0 - p)
    u = rng.random(games)
    score = np.where(u < p - d / 2, 1.0, np.where(u < p + d / 2, 0.5, 0.0))
    return a, b, score


def coverage(players: int = 50, games: int = 20_000, seed: int = 0, resamples: int = 100,
             intervals: str = "sandwich", spread: float = 300.0) -> dict:
    """Share of true ratings (spread N(0, `spread`), mean anchored) inside the reported intervals."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, spread, players)
    a, b, score = synthetic_games(truth, games, seed + 1, advantage=30.0)
    t0 = time.perf_counter()
    fit = fit_bradley_terry(a, b, score, [f"p{k}" for k in range(players)],
                            RatingConfig(anchor=None, intervals=intervals, resamples=resamples, seed=seed))
    seconds = time.perf_counter() - t0
    truth = truth - truth.mean()
    inside = (fit.lower <= truth) & (truth <= fit.upper)
    return {"players": players, "games": games, "intervals": intervals,
            "resamples": resamples if intervals == "bootstrap" else None, "coverage": float(inside.mean()),
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
