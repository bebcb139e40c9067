"""Go positions read from OpenSpiel states: stones, captures, the ko point, Tromp–Taylor score.

OpenSpiel's Go state exposes its board only as an observation (planes: black, white, empty,
white-to-play) and its result only as ±1; what a player wants to see — prisoners, the ko point,
the score margin — is derived here from the board and the move history. Points are OpenSpiel's
action numbers: `row * size + column`, row 0 at the bottom; the pass is `size * size`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyspiel

from games.gorules import BLACK, EMPTY, WHITE, area_score, chain, legal_moves  # noqa: F401 (re-exported)


@dataclass
class GoPosition:
    """What a player sees of a Go state beyond the stones themselves."""

    size: int
    komi: float
    board: np.ndarray  # [size * size] of EMPTY/BLACK/WHITE, indexed by point
    captures: tuple[int, int]  # stones captured by Black, by White, over the whole game
    ko: int | None  # the point the player to move may not retake because of ko, if any


def size_of(game: pyspiel.Game) -> int:
    return int(game.get_parameters()["board_size"])


def board(state: pyspiel.State) -> np.ndarray:
    """The stones of a Go state as a flat array of EMPTY/BLACK/WHITE, indexed by point."""
    game = state.get_game()
    size = size_of(game)
    planes = np.asarray(state.observation_tensor(0), np.float32).reshape(-1, size * size)
    return (planes[0] * BLACK + planes[1] * WHITE).astype(np.int8)


def position(state: pyspiel.State) -> GoPosition:
    """Board, prisoners and ko point of a Go state, by replaying its history once."""
    game = state.get_game()
    size = size_of(game)
    komi = float(game.get_parameters()["komi"])
    replay = game.new_initial_state()
    before = board(replay)
    captures = [0, 0]
    captured: list[int] = []  # points emptied by the last move
    last = None
    for action in state.history():
        mover = replay.current_player()
        replay.apply_action(action)
        after = board(replay)
        captured = np.flatnonzero((before != EMPTY) & (after == EMPTY)).tolist()
        if 0 <= mover < 2:
            captures[mover] += len(captured)
        before, last = after, action
    return GoPosition(size, komi, before, (captures[0], captures[1]), _ko_point(state, before, last, captured, size))


def _ko_point(state: pyspiel.State, stones: np.ndarray, last: int | None, captured: list[int], size: int) -> int | None:
    """The classic ko: the last move took one stone with a lone stone now in atari on that point."""
    if last is None or len(captured) != 1 or last >= size * size or state.is_terminal():
        return None
    # A lone stone with one liberty: that liberty is the point it just emptied.
    if chain(stones, size, last) == (1, 1) and captured[0] not in state.legal_actions():
        return captured[0]
    return None


def is_suicide(stones: np.ndarray, point: int, colour: int, size: int) -> bool:
    """Whether a stone of `colour` on empty `point` would have no liberties and capture nothing."""
    return not legal_moves(stones, size, colour)[point]


def result_string(state: pyspiel.State) -> str:
    """SGF-style result of a finished Go state: `B+3.5`, `W+0.5`, or `0` for a tie."""
    pos = position(state)
    margin = area_score(pos.board, pos.size, pos.komi)
    if margin == 0:
        return "0"
    return f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"
