"""Choosing the move a finished search plays: the most visited root action."""
from __future__ import annotations

import numpy as np


def most_visited(visits: np.ndarray, rng: np.random.Generator, prior: np.ndarray | None = None) -> int:
    """The most visited action, ties broken at random by `rng`; the best `prior` action instead when
    nothing was visited (a one-simulation search only expands the root)."""
    if prior is not None and visits.sum() <= 0:
        visits = prior
    best = np.flatnonzero(visits == visits.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))
