"""engine.search.choice: the move a finished search plays."""
import numpy as np

from engine.search import most_visited


def test_most_visited_breaks_ties_at_random_and_falls_back_to_the_prior():
    rng = np.random.default_rng(0)
    assert all(most_visited(np.array([1.0, 5.0, 2.0]), rng) == 1 for _ in range(10))
    assert {most_visited(np.array([3.0, 0.0, 3.0]), rng) for _ in range(100)} == {0, 2}
    prior = np.array([0.1, 0.2, 0.7])
    assert most_visited(np.zeros(3), rng, prior) == 2  # a one-simulation search visited nothing
    assert most_visited(np.array([0.0, 1.0, 0.0]), rng, prior) == 1  # visits win once there are any
