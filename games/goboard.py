"""Go positions read from OpenSpiel states: stones, captures, the ko point, Tromp–Taylor score;
handicap stones placed as moves.

OpenSpiel's Go state exposes its board only as an observation (planes: black, white, empty,
white-to-play) and its result only as ±1; what a player wants to see — prisoners, the ko point,
the score margin — is derived here from the board and the move history. Points are OpenSpiel's
action numbers: `row * size + column`, row 0 at the bottom; the pass is `size * size`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyspiel

from games.gorules import BLACK, EMPTY, WHITE, area_score, chain, legal_moves, ownership  # noqa: F401 (re-exported)

MAX_SIZE = 19  # OpenSpiel's Go board stops at 19x19


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


def white_to_move(state: pyspiel.State) -> bool:
    """Whether White moves next, read off OpenSpiel's observation (its fourth plane), so a finished
    game answers too: current_player() is terminal there."""
    size = size_of(state.get_game())
    return bool(np.asarray(state.observation_tensor(0), np.float32)[3 * size * size])


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


def final_ownership(state: pyspiel.State) -> tuple[np.ndarray, float] | None:
    """The Tromp–Taylor owner of every point of a finished Go state (int8 by point: +1 Black's, -1
    White's, 0 neutral) and Black's margin (area difference less komi): the targets of a network's
    ownership and score heads. None for a state not finished, or one whose result the score did not
    decide (a superko repetition ends the game drawn whatever the board says)."""
    if not state.is_terminal():
        return None
    game = state.get_game()
    size, komi = size_of(game), float(game.get_parameters()["komi"])
    stones = board(state)
    margin = area_score(stones, size, komi)
    if np.sign(margin) != np.sign(state.returns()[0]):
        return None
    return ownership(stones, size), margin


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
    return margin_string(area_score(pos.board, pos.size, pos.komi))


def margin_string(margin: float) -> str:
    """A score margin from Black's side as SGF and GTP write it: `B+3.5`, `W+0.5`, `0` for a tie."""
    if margin == 0:
        return "0"
    return f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"


# ---- setup stones -------------------------------------------------------------------------------
# OpenSpiel's Go starts from an empty board: its `handicap` parameter knows only the 19x19 points (it
# fails on smaller boards), takes no free placement, and gives White a point per stone. Setup stones
# (handicap, SGF's AB/AW) are played here as moves instead, each colour's stones in turn with a pass
# for a colour that has none left: the same board, player to move, ko and capture state, and
# Tromp–Taylor score with komi only (what GTP controllers expect). The game's move cap is raised by
# those moves, so it still counts from the set-up position. One difference stays: the superko
# history also holds the partial set-ups (the empty board among them), which recur only if one move
# captures every stone but some of the setup stones.


def fixed_handicap(size: int, stones: int) -> list[int]:
    """GTP's fixed handicap points, in the spec's order (D4 Q16 D16 Q4, then D10 Q10, K4 K16, K10 for
    odd counts from 5): 3rd line up to 12x12, 4th line above; 2-4 stones on 7x7 and even boards,
    2-9 on odd boards from 9x9, as GNU Go places them. [] where the spec defines none."""
    most = 9 if size % 2 and size >= 9 else 4
    if size < 7 or not 2 <= stones <= most:
        return []
    low = 3 if size >= 13 else 2
    high, mid = size - 1 - low, size // 2
    cols_rows = [(low, low), (high, high), (low, high), (high, low)][:stones]
    if stones >= 6:
        cols_rows += [(low, mid), (high, mid)]
    if stones >= 8:
        cols_rows += [(mid, low), (mid, high)]
    if stones >= 5 and stones % 2:
        cols_rows.append((mid, mid))
    return [row * size + col for col, row in cols_rows]


def setup_actions(black: list[int], white: list[int], to_play: int, size: int) -> list[int]:
    """Setup stones as OpenSpiel moves leading to the position with them on the board and `to_play`
    (0 Black, 1 White) to move: each colour's stones in turn, a pass for a colour with none left,
    never two passes in a row nor a pass last (either would end the game sooner). ValueError where
    no such moves exist or they would not leave exactly these stones (a capture, a suicide)."""
    last = 1 - to_play  # the colour whose stone must come last
    stones = [list(black), list(white)]
    if not stones[last]:
        if not stones[to_play]:
            return []
        raise ValueError(f"{'BW'[to_play]} to play needs a {'BW'[last]} setup stone to follow")
    final = stones[last].pop()
    actions: list[int] = []
    while stones[0] or stones[1]:  # the mover's next stone, or a pass while the other colour has one
        mover = len(actions) % 2
        actions.append(stones[mover].pop(0) if stones[mover] else size * size)
    if len(actions) % 2 != last:
        actions.append(size * size)
    actions.append(final)
    state = pyspiel.load_game("go", {"board_size": size}).new_initial_state()
    for action in actions:
        if action not in state.legal_actions():
            raise ValueError(f"a setup stone on point {action} is illegal (occupied or without liberties)")
        state.apply_action(action)
    want = np.full(size * size, EMPTY, np.int8)
    want[list(black)], want[list(white)] = BLACK, WHITE
    if not np.array_equal(board(state), want):
        raise ValueError("the setup stones capture each other: no position of them can be played as moves")
    return actions


def setup_stones(actions: list[int], setup: int, size: int) -> tuple[list[int], list[int]]:
    """(Black's, White's) setup stones of a history whose first `setup` actions place them."""
    return ([a for a in actions[:setup:2] if a != size * size], [a for a in actions[1:setup:2] if a != size * size])


def game_string(size: int, komi: float, setup: int = 0) -> str:
    """OpenSpiel's Go with `setup` moves placing stones ahead of the game: the move cap raised by them."""
    if not setup:
        return f"go(board_size={size},komi={komi!r})"
    cap = pyspiel.load_game("go", {"board_size": size}).max_game_length() + setup
    return f"go(board_size={size},komi={komi!r},max_game_length={cap})"
