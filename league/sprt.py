"""Sequential probability ratio test for gating, as chess engine testers (fishtest) run it.

H0: the candidate is `elo0` Elo stronger than the reference; H1: `elo1` stronger. After each game
the log-likelihood ratio is approximated from the mean and variance of the game scores (W/D/L as
1/0.5/0, the trinomial GSPRT of Van den Bergh); the test stops when it leaves
[log(beta / (1 - alpha)), log((1 - beta) / alpha)].
"""
from __future__ import annotations

import math
from dataclasses import dataclass


def expected_score(elo: float) -> float:
    return 1.0 / (1.0 + 10.0 ** (-elo / 400.0))


@dataclass
class SPRT:
    elo0: float = 0.0
    elo1: float = 30.0
    alpha: float = 0.05
    beta: float = 0.05
    wins: int = 0
    draws: int = 0
    losses: int = 0

    def add(self, score: float) -> None:
        if score > 0.5:
            self.wins += 1
        elif score < 0.5:
            self.losses += 1
        else:
            self.draws += 1

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    def llr(self) -> float:
        n = self.games
        if n == 0 or self.wins + self.draws == 0 or self.losses + self.draws == 0:
            # No variance estimate yet (all games one way): count as a draw-free 1-game shrink.
            w, d, l = self.wins + 0.5, self.draws, self.losses + 0.5
        else:
            w, d, l = self.wins, self.draws, self.losses
        n = w + d + l
        mean = (w + 0.5 * d) / n
        var = (w * (1 - mean) ** 2 + d * (0.5 - mean) ** 2 + l * mean ** 2) / n
        if var <= 0:
            return 0.0
        s0, s1 = expected_score(self.elo0), expected_score(self.elo1)
        return n * (s1 - s0) * (2 * mean - s0 - s1) / (2 * var)

    @property
    def bounds(self) -> tuple[float, float]:
        return math.log(self.beta / (1 - self.alpha)), math.log((1 - self.beta) / self.alpha)

    def decision(self) -> str | None:
        """'accept' (H1: the candidate is stronger), 'reject' (H0), or None: play on."""
        lower, upper = self.bounds
        value = self.llr()
        if value >= upper:
            return "accept"
        if value <= lower:
            return "reject"
        return None
