"""Gumbel root search (Danihelka et al., 2022, as in DeepMind's mctx): which root action each
simulation takes, which action the search plays, and the improved policy it trains on.

The root samples Gumbel noise per action and runs sequential halving: the `considered` best
actions by noise + logits share the simulations phase by phase, the worse half dropping out each
phase. Scores are logits plus sigma(completed Q), over the root's edge rows ([k, 4, actions]:
visits, value sums, priors, legal 0/1, as BatchedMCTS packs them) and its network value.
"""
from __future__ import annotations

import math

import numpy as np

GUMBEL_C_VISIT, GUMBEL_C_SCALE = 50.0, 0.1  # the paper's sigma constants


def considered_visits(considered: int, simulations: int) -> tuple[int, ...]:
    """Sequential halving's schedule: for simulation k, the visit count an action must hold to get it.

    Phase by phase, each of the `considered` actions still in the race gets an equal share of
    visits, then the worse half drops out (as in DeepMind's mctx).
    """
    if considered <= 1:
        return tuple(range(simulations))
    phases = math.ceil(math.log2(considered))
    sequence: list[int] = []
    visits = [0] * considered
    while len(sequence) < simulations:
        extra = max(1, int(simulations / (phases * considered)))
        for _ in range(extra):
            sequence.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return tuple(sequence[:simulations])


def completed_logits(edges: np.ndarray, value: np.ndarray) -> np.ndarray:
    """logits + sigma(completed Q) of each root ([k, actions]; -inf at illegal actions).

    Completed Q: a visited action's mean value, else the root's mixed value estimate; rescaled
    to [0, 1] over legal actions; sigma(q) = (c_visit + max visits) * c_scale * q.
    """
    n, w, p, legal = edges[:, 0], edges[:, 1], edges[:, 2], edges[:, 3] > 0
    visited = n > 0
    q = np.where(visited, w / np.maximum(n, 1.0), 0.0)
    seen_prior = np.where(visited, p, 0.0)
    weighted_q = (seen_prior * q).sum(1) / np.maximum(seen_prior.sum(1), 1e-12)
    total = n.sum(1)
    v_mix = (value + total * weighted_q) / (1.0 + total)
    completed = np.where(visited, q, v_mix[:, None])
    lo = np.where(legal, completed, np.inf).min(1, keepdims=True)
    hi = np.where(legal, completed, -np.inf).max(1, keepdims=True)
    completed = (completed - lo) / np.maximum(hi - lo, 1e-8)
    sigma = (GUMBEL_C_VISIT + n.max(1, keepdims=True)) * GUMBEL_C_SCALE * completed
    return np.where(legal, np.log(np.maximum(p, 1e-12)) + sigma, -np.inf)


def improved_policy(edges: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Gumbel's policy target at one root (edges [4, actions]): softmax(logits + sigma(completed Q))
    over legal actions."""
    logits = completed_logits(edges[None], value[None])[0]
    z = np.exp(logits - logits.max())
    return (z / z.sum()).astype(np.float32)


class GumbelRoot:
    """Per tree: its root's Gumbel noise and sequential-halving schedule, and how far along it is."""

    def __init__(self, num_trees: int, num_actions: int) -> None:
        self.g = np.zeros((num_trees, num_actions), np.float32)  # Gumbel(0, 1) noise per root action
        self.schedule: list[tuple[int, ...]] = [()] * num_trees  # considered visit count per simulation
        self.k = np.zeros(num_trees, np.int64)  # simulations scheduled so far

    def start(self, trees: np.ndarray, legal: np.ndarray, simulations: np.ndarray, considered: int,
              rng: np.random.Generator | None) -> None:
        """New searches of `simulations` at roots with legal masks `legal`; noise from `rng`, none without."""
        self.g[trees] = rng.gumbel(size=legal.shape).astype(np.float32) if rng is not None else np.zeros(legal.shape, np.float32)
        self.k[trees] = 0
        for i, t in enumerate(trees.tolist()):
            self.schedule[t] = considered_visits(min(considered, int(legal[i].sum())), int(simulations[i]))

    def next_actions(self, trees: np.ndarray, edges: np.ndarray, value: np.ndarray) -> np.ndarray:
        """The root action of each tree's next simulation: the best-scored action among those
        holding the scheduled visit count, which halves the candidates phase by phase."""
        want = np.array([seq[min(i, len(seq) - 1)] if seq else 0
                         for seq, i in zip((self.schedule[t] for t in trees.tolist()), self.k[trees].tolist())])
        self.k[trees] += 1
        scores = self.g[trees] + completed_logits(edges, value)
        due = np.where(edges[:, 0] == want[:, None], scores, -np.inf)
        return np.where(np.isfinite(due).any(1), due.argmax(1), scores.argmax(1))

    def action(self, t: int, edges: np.ndarray, value: np.ndarray) -> int:
        """The action tree t's search plays (edges [4, actions]): the best-scored among the most visited."""
        scores = self.g[t] + completed_logits(edges[None], value[None])[0]
        n = edges[0]
        return int(np.where(n == n.max(), scores, -np.inf).argmax())
