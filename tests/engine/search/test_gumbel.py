"""engine/search/gumbel.py: the sequential-halving schedule and the completed-Q scores, on hand-made
root rows (the search itself plays Gumbel in test_mcts.py)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.search.gumbel import GumbelRoot, completed_logits, considered_visits, improved_policy


def root_rows(visits, values, priors, legal) -> np.ndarray:
    """One root's edge rows as BatchedMCTS packs them: [1, (N, W, P, L), actions]."""
    return np.array([[visits, values, priors, legal]], np.float32)


def test_considered_visits_halves_the_candidates():
    seq = considered_visits(4, 16)
    assert len(seq) == 16
    # Phase 1 visits each of the 4 candidates once per round; later phases ask for higher counts.
    assert seq[:4] == (0, 0, 0, 0) and max(seq) > 1
    assert considered_visits(1, 5) == (0, 1, 2, 3, 4)  # a single candidate takes every visit
    assert all(b <= a + 1 for a, b in zip(seq, seq[1:]))


def test_an_unsearched_root_keeps_its_priors_and_illegal_actions_get_nothing():
    priors = [0.5, 0.3, 0.2, 0.0]
    edges = root_rows([0, 0, 0, 0], [0, 0, 0, 0], priors, [1, 1, 1, 0])
    logits = completed_logits(edges, np.array([0.1], np.float32))
    assert logits[0, 3] == -np.inf
    np.testing.assert_allclose(improved_policy(edges[0], np.float32(0.1)), priors, atol=1e-6)


def test_completed_q_moves_the_policy_to_the_better_visited_action():
    # Equal priors; action 0 won both its visits, action 1 lost both: the target favours 0 over 1,
    # and the unvisited action 2 sits between them at the root's mixed value.
    edges = root_rows([2, 2, 0], [2, -2, 0], [1 / 3, 1 / 3, 1 / 3], [1, 1, 1])
    policy = improved_policy(edges[0], np.float32(0.0))
    assert policy[0] > policy[2] > policy[1] and policy.sum() == pytest.approx(1.0)


def test_the_next_root_action_holds_the_scheduled_visit_count():
    root = GumbelRoot(num_trees=1, num_actions=3)
    trees = np.array([0])
    root.start(trees, np.ones((1, 3), bool), np.array([4]), considered=2, rng=None)
    assert root.schedule[0] == considered_visits(2, 4)
    # Without noise the best prior goes first; once it holds a visit, the other candidate is due.
    edges = root_rows([0, 0, 0], [0, 0, 0], [0.2, 0.5, 0.3], [1, 1, 1])
    assert root.next_actions(trees, edges, np.zeros(1, np.float32)).tolist() == [1]
    edges[0, 0, 1] = 1
    assert root.next_actions(trees, edges, np.zeros(1, np.float32)).tolist() == [2]
    assert root.k[0] == 2
