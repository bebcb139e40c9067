"""KataGo's forced playouts and policy target pruning (Wu 2019, "Accelerating Self-Play Learning in
Go", section 3.1), for self-play's noisy full searches (search.forced_playouts = k > 0).

During the search each root child c is taken whenever it has fewer than
n_forced(c) = sqrt(k * P(c) * sum of root visits) visits (engine/search/kernels.py, `select`), so
moves the noise favours get looked at even when the network's prior is low. Those visits are
exploration, not the search's judgement: before the visits become a policy target, each child but
the most visited gives back up to n_forced(c) of them, as long as its PUCT score with the reduced
count does not rise above the most visited child's, and a child left with a single visit is
dropped. The move played still comes from the full counts.
"""
from __future__ import annotations

import numpy as np


def forced_visits(prior: np.ndarray, total: np.ndarray, k: np.ndarray) -> np.ndarray:
    """n_forced = sqrt(k * prior * total) per root child (prior [..., actions], total and k [..., 1])."""
    return np.sqrt(k * prior * total)


def pruned_visits(edges: np.ndarray, prior: np.ndarray, k: np.ndarray, c_puct: float) -> np.ndarray:
    """The visit counts of roots as policy targets, forced playouts taken back ([roots, actions]).

    edges: the roots' edge rows [roots, 4, actions] (visits, value sums, priors, legal; BatchedMCTS's
    layout); prior: the root priors the search used (noise mixed in) [roots, actions]; k: each
    root's forced-playout constant [roots], 0 leaving its counts as they are. PUCT as the search
    scores it: Q + c_puct * P * sqrt(sum N + 1) / (1 + N), Q held at the child's mean value. Counts
    only go down, to whole visits (rounded up, as KataGo does).
    """
    n, w = edges[:, 0].astype(np.float64), edges[:, 1].astype(np.float64)
    total = n.sum(1, keepdims=True)
    explore = c_puct * np.sqrt(total + 1.0) * prior
    q = w / np.maximum(n, 1.0)
    rows = np.arange(len(n))
    best = n.argmax(1)
    best_puct = q[rows, best] + explore[rows, best] / (1.0 + n[rows, best])
    gap = best_puct[:, None] - q
    # The count at which a child's PUCT would meet the best child's: fewer visits would lift it above.
    level = np.where(gap > 0, explore / np.where(gap > 0, gap, 1.0) - 1.0, np.inf)
    forced = forced_visits(prior, total, k[:, None])
    reduced = np.minimum(n, np.ceil(np.maximum(n - forced, level)))  # whole visits, as KataGo rounds them
    reduced[reduced <= 1.0] = 0.0
    reduced[rows, best] = n[rows, best]
    return np.where(k[:, None] > 0, reduced, n).astype(np.float32)
