"""Online Elo: a K-factor rating updated game by game, for a live view between batch fits."""
from __future__ import annotations

from dataclasses import dataclass, field

from league.ratings.table import RatingError


@dataclass
class OnlineElo:
    """Elo updated game by game (K-factor), for a live view while the batch fit is not yet due.

    Order-dependent and without error bars; players start at ``initial`` when first seen.
    """

    k: float = 16.0
    initial: float = 0.0
    advantage: float = 0.0  # Elo added to the seat-0 player's expectation
    ratings: dict[str, float] = field(default_factory=dict)
    games: dict[str, int] = field(default_factory=dict)

    def expected(self, a: str, b: str) -> float:
        """Seat-0 player a's expected score against b."""
        d = self.ratings.get(a, self.initial) + self.advantage - self.ratings.get(b, self.initial)
        return 1.0 / (1.0 + 10.0 ** (-d / 400.0))

    def update(self, a: str, b: str, score: float) -> float:
        """Record a game of a (seat 0) against b where a scored `score`; returns a's change."""
        if not 0.0 <= score <= 1.0:
            raise RatingError(f"score must lie in [0, 1], not {score}")
        delta = self.k * (score - self.expected(a, b))
        self.ratings[a] = self.ratings.get(a, self.initial) + delta
        self.ratings[b] = self.ratings.get(b, self.initial) - delta
        for p in (a, b):
            self.games[p] = self.games.get(p, 0) + 1
        return delta
