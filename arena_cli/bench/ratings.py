"""`arena bench ratings`: the rating fit's speed, accuracy and interval coverage on synthetic games."""
from __future__ import annotations

import time

import numpy as np

from league.ratings import RatingConfig, coverage, fit_bradley_terry, openspiel_agreement, synthetic_games


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
    return {"bench": "ratings", "players": players, "games": games, "fit_seconds": min(seconds),
            "fit_seconds_all": seconds,
            "iterations": fit.iterations, "max_abs_error_elo": float(np.max(np.abs(error))),
            "rms_error_elo": float(np.sqrt(np.mean(error ** 2))),
            "advantage_true_elo": 30.0, "advantage_elo": fit.advantage,
            "coverage": coverage(seed=seed),
            "openspiel_max_gap_elo": openspiel_agreement(seed=seed)}
