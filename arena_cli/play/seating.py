"""The `arena play` setup: its options (PlayConfig), the error it refuses to start with, and which
player spec takes which seat (`--vs`, `--as`; HUMAN where a person plays)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import ArenaError
from engine.search.resign import THRESHOLD

HUMAN = "human"
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")


class PlayError(ArenaError):
    """A play command that cannot start (seats, players, game); one line naming the fix."""


@dataclass
class PlayConfig:
    game: str
    vs: list[str]  # one spec: you against it; two: they play each other (first --vs first)
    seat: str | None = None  # --as: first/second/black/white/random (with one --vs)
    delay: float = 0.5  # seconds between moves when no human plays
    save: str | None = None  # where the record goes (default ./games/)
    seed: int | None = None  # None: a fresh seed each game, recorded in the saved game
    # One torch thread: a network call of 8 leaves gains little from more, and torch's spinning
    # threads make a move many times slower whenever another process holds a core.
    threads: int = 1
    # A neural bot resigns when its search values its position below this on 3 own moves
    # running (engine/search/resign.py); -1 never.
    resign_threshold: float = THRESHOLD


def _seat_index(seat: str | None, game: str, players: int, rng: np.random.Generator) -> int:
    """The seat `--as` names: first/second/... (or 1, 2, ...), black/white (first/second), random."""
    if seat is None:
        return 0
    word = seat.strip().lower()
    if word == "random":
        return int(rng.integers(players))
    # black/white are the first/second seat in every game (Black moves first in Go).
    index = {"black": 0, "white": 1}.get(word)
    if index is None and word in ORDINALS:
        index = ORDINALS.index(word)
    if index is None and word.isdigit():
        index = int(word) - 1
    if index is None or not 0 <= index < players:
        raise PlayError(f"--as {seat}: {game} has {players} seats; choose {', '.join(ORDINALS[:players])} "
                        f"(or 1-{players}) or random")
    return index


def seat_specs(config: PlayConfig, rng: np.random.Generator, players: int = 2) -> list[str]:
    """The player spec of each seat, HUMAN where a person plays.

    With n players: n `--vs` play each other (you watch); n - 1 `--vs` take the other seats in order,
    and one `--vs` takes them all; `--as` places you among them.
    """
    count = len(config.vs)
    if count == players:
        if config.seat is not None:
            raise PlayError(f"--as places you among the players; with {players} --vs the bots play each other "
                            "and you watch (give one --vs fewer to play)")
        return list(config.vs)
    if count == 1 or count == players - 1:
        seat = _seat_index(config.seat, config.game, players, rng)
        opponents = list(config.vs) * (players - 1) if count == 1 else list(config.vs)
        return opponents[:seat] + [HUMAN] + opponents[seat:]
    if players == 2:
        raise PlayError("give one --vs SPEC (you against it) or two (they play each other, you watch)")
    raise PlayError(f"{config.game} has {players} players: give {players - 1} --vs (you and {players - 1} others), "
                    f"one (the same player in every other seat) or {players} (watch them play), not {count}")
