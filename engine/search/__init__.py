"""Batched neural tree search: PUCT and Gumbel root search over many trees at once, the compiled
tree kernels, Go's array search, `make_search`, which picks the right one for a game, and
`most_visited`, the move a finished search plays."""
from engine.search.choice import most_visited
from engine.search.make import make_search
from engine.search.mcts import BatchedMCTS

__all__ = ["BatchedMCTS", "make_search", "most_visited"]
