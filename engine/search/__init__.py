"""Batched neural tree search: PUCT and Gumbel root search over many trees at once, the compiled
tree kernels, Go's array search, `make_search`, which picks the right one for a game,
`most_visited`, the move a finished search plays, and `Resignation`, when a player gives up."""
from engine.search.choice import most_visited
from engine.search.make import make_search
from engine.search.mcts import BatchedMCTS
from engine.search.resign import Resignation, resigned_returns

__all__ = ["BatchedMCTS", "Resignation", "make_search", "most_visited", "resigned_returns"]
