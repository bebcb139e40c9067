"""Resignation: a player whose search sees its game as lost, move after move, gives it up.

A root value (the player to move's, in [-1, 1]) below `threshold` on `moves` consecutive own moves
resigns; a threshold of -1 never does. Self-play (engine/train/selfplay.py), `arena gtp` and
`arena play` share this rule; only games a player wins or loses resign (games.GameSpec.resignable).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NEVER = -1.0  # a threshold no value lies below: resignation off
THRESHOLD = -0.9  # play-time defaults (arena gtp, arena play): KataGo's, a 5% winning chance...
MOVES = 3  # ...on three own moves running


@dataclass
class Resignation:
    """The rule and its count: per player, the own moves in a row whose root value was below threshold."""

    threshold: float = THRESHOLD
    moves: int = MOVES
    low: dict[int, int] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.threshold > NEVER

    def hopeless(self, player: int, value: float) -> bool:
        """Count a move of `player` whose search valued its position at `value`; True: resign now."""
        if not self.enabled:
            return False
        self.low[player] = self.low.get(player, 0) + 1 if value < self.threshold else 0
        return self.low[player] >= self.moves

    def reset(self) -> None:
        """A new game: nobody has been behind yet."""
        self.low.clear()


def resigned_returns(num_players: int, loser: int) -> np.ndarray:
    """The returns of a game `loser` resigned (a resignable game: -1 for it, +1 for the other)."""
    returns = np.ones(num_players, np.float32)
    returns[loser] = -1.0
    return returns

