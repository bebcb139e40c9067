"""`make_search`: the search a game gets."""
from __future__ import annotations

import numpy as np

from engine.config import SearchConfig
from engine.nn import Evaluator
from engine.search.go import GoSearch, supports
from engine.search.mcts import BatchedMCTS


def make_search(encoder, num_actions: int, evaluator: Evaluator, config: SearchConfig, num_trees: int,
                rng: np.random.Generator, capacity: int | None = None) -> BatchedMCTS:
    """GoSearch where it serves (Go's tree positions as compiled arrays), BatchedMCTS over OpenSpiel
    states everywhere else."""
    cls = GoSearch if supports(encoder, config) else BatchedMCTS
    return cls(encoder, num_actions, evaluator, config, num_trees, rng, capacity)
