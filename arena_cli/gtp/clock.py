"""GTP time control (time_settings, time_left), and a search that keeps to the time a move may take."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.players import NeuralBot


@dataclass
class Clock:
    """GTP time control (time_settings, time_left) and the time a move may take under it."""

    main: float = 0.0
    byo_time: float = 0.0
    byo_stones: int = 0
    active: bool = False  # no time_settings yet: no limit
    left: dict[int, tuple[float, int]] = field(default_factory=dict)  # player -> (seconds, stones)

    def settings(self, main: float, byo_time: float, byo_stones: int) -> None:
        self.main, self.byo_time, self.byo_stones = main, byo_time, byo_stones
        # GTP: byo-yomi time with zero stones means no time limit at all.
        self.active = not (byo_time > 0 and byo_stones == 0)
        self.left = {}

    def _remaining(self, player: int) -> tuple[float, int]:
        if player in self.left:
            return self.left[player]
        return (self.main, 0) if self.main > 0 else (self.byo_time, self.byo_stones)

    def budget(self, player: int, moves_left: int) -> float | None:
        """Seconds for this move, or None for no limit; leaves a margin for the answer to travel."""
        if not self.active:
            return None
        seconds, stones = self._remaining(player)
        if stones > 0:  # in byo-yomi: this period's time shared among its stones
            share = seconds / stones
        else:  # main time over the moves still to come, plus one byo-yomi stone's share after it
            share = seconds / max(moves_left, 1)
            if self.byo_stones > 0:
                share += self.byo_time / self.byo_stones
        return max(0.0, 0.7 * share - 0.05)

    def spend(self, player: int, seconds: float) -> None:
        """Our own bookkeeping between time_left commands (controllers send those when they like)."""
        if not self.active:
            return
        left, stones = self._remaining(player)
        left -= seconds
        if stones > 0:
            stones -= 1
            if stones == 0:  # a byo-yomi period completed in time starts afresh
                left, stones = self.byo_time, self.byo_stones
        elif left <= 0 and self.byo_stones > 0:
            left, stones = self.byo_time, self.byo_stones
        self.left[player] = (max(left, 0.0), stones)


def timed_search(bot: NeuralBot, state, budget: float | None, report: Callable[[], None] | None = None,
                 every: float = 1.0) -> int:
    """The bot's full search, or under a clock, growing chunks of it until the budget is spent; with
    `report`, chunks no longer than `every` seconds and `report()` called every `every` seconds
    (lz-genmove_analyze's info lines). Returns the move.

    The tree is kept between chunks (bots reuse trees by default), so the chunks add up to one search.
    """
    limit = bot.search_config.simulations
    if budget is None and report is None:
        return bot.best_action(bot.think(state))
    start = last = time.monotonic()
    done, chunk = 0, 1
    while True:
        n = min(chunk, limit - done)
        info = bot.think(state, n)
        done += n
        now = time.monotonic()
        elapsed = now - start
        rate = done / max(elapsed, 1e-6)
        horizon = float("inf") if budget is None else budget - elapsed
        if report is not None:
            if now - last >= every:
                report()
                last = now
            horizon = min(horizon, every)
        chunk = max(1, min(2 * chunk, int(rate * horizon)))
        if done >= limit or budget is not None and elapsed + chunk / rate > budget:
            if report is not None and last < now:
                report()  # the candidates the move was chosen from
            return bot.best_action(info)
