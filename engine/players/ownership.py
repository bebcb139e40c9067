"""`ownership_of(bot, state)`: a Go position's ownership map from a player that offers one.

A map gives each point's likely owner at the end of the game, in [-1, 1], +1 Black's (what
games.territory judges dead stones and seki by). A bot offers one through a method
`ownership(state)` (NeuralBot: its network's ownership head); bots without one, and networks
without the head, give None, and callers fall back to games.territory's rollout estimate.
"""
from __future__ import annotations

import numpy as np
import pyspiel


def ownership_of(bot: pyspiel.Bot | None, state: pyspiel.State) -> np.ndarray | None:
    """The ownership map [points] (+1 Black's) `bot` gives of `state`, or None when it has none."""
    ask = getattr(bot, "ownership", None)
    if ask is None:
        return None
    owned = ask(state)
    return None if owned is None else np.asarray(owned, np.float64).reshape(-1)
