"""OpenSpiel's Go rules over arrays of boards, compiled (numba), for the search's trees.

A search step into a new go9 leaf through OpenSpiel costs a state copy (8.7 kB: the board, its
chains, and a hash set of every position of the game for superko), its legal-move list and its
observation, then a free when the tree drops it: about 10 µs of per-leaf Python and C++ that the
search cannot batch. Here a position is a row of small arrays (stones, ko point, passes, move
count, Zobrist hash), and one kernel call steps, masks and encodes a whole wave's leaves.

The rules are OpenSpiel's `go`, reproduced exactly (tests/test_games_gorules.py plays thousands of
random games through both):
  - a stone whose chain would have no liberties and that captures nothing is illegal (no suicide);
  - simple ko: a lone stone played into an enemy eye that captures exactly one stone makes that
    stone's point illegal for the next move (a pass clears it);
  - positional superko: a move (not a pass) that repeats an earlier position ends the game, drawn;
  - the game ends after two passes in a row or `max_game_length` moves;
  - Tromp–Taylor area score (stones, and empty regions that reach one colour only), less komi.
OpenSpiel stays the authority over games: roots are OpenSpiel states, and every move played in a
game is applied to one.

Points are OpenSpiel's action numbers, `row * size + column`; the pass is `size * size`.
Boards hold EMPTY, BLACK, WHITE; OpenSpiel's player 0 is Black.
"""
from __future__ import annotations

import numba
import numpy as np

EMPTY, BLACK, WHITE = 0, 1, 2


def neighbour_table(size: int) -> np.ndarray:
    """[size * size, 4] neighbours of each point, -1 off the board."""
    table = np.full((size * size, 4), -1, np.int64)
    for p in range(size * size):
        r, c = divmod(p, size)
        for d, (dr, dc) in enumerate(((1, 0), (0, 1), (0, -1), (-1, 0))):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                table[p, d] = (r + dr) * size + c + dc
    return table


def zobrist_table(size: int) -> np.ndarray:
    """[size * size, 3] random 64-bit keys (row EMPTY is zero): a position's hash is the XOR of
    its stones' keys. Only equality of positions is asked of it, within one game."""
    keys = np.random.default_rng(2765481).integers(0, 2**63, (size * size, 3), dtype=np.int64)
    keys[:, EMPTY] = 0
    return keys.view(np.uint64)


@numba.njit(cache=True)
def _liberties(board, nbr, p, stamp, gen, stack, limit):
    """Distinct liberties of the chain through stone p, counted up to `limit`. `stamp` marks
    points visited in this count with `gen[0]`, which it advances first (no clearing needed)."""
    gen[0] += 1
    g = gen[0]
    colour = board[p]
    stack[0] = p
    stamp[p] = g
    top, libs = 1, 0
    while top > 0:
        top -= 1
        q = stack[top]
        for d in range(4):
            m = nbr[q, d]
            if m < 0 or stamp[m] == g:
                continue
            if board[m] == EMPTY:
                stamp[m] = g
                libs += 1
                if libs >= limit:
                    return libs
            elif board[m] == colour:
                stamp[m] = g
                stack[top] = m
                top += 1
    return libs


@numba.njit(cache=True)
def _remove_chain(board, nbr, zobrist, p, stack):
    """Take the chain through p off the board; returns (stones removed, hash delta)."""
    colour = board[p]
    board[p] = EMPTY
    delta = zobrist[p, colour]
    stack[0] = p
    top, removed = 1, 1
    while top > 0:
        top -= 1
        q = stack[top]
        for d in range(4):
            m = nbr[q, d]
            if m >= 0 and board[m] == colour:
                board[m] = EMPTY
                delta ^= zobrist[m, colour]
                removed += 1
                stack[top] = m
                top += 1
    return removed, delta


@numba.njit(cache=True)
def play(board, nbr, zobrist, p, colour, stamp, gen, stack):
    """Put a stone of `colour` on empty point p (a legal move) and take what it captures, in place.
    Returns (the ko point it makes or -1, the hash delta)."""
    enemy = 3 - colour
    enemy_eye = True
    for d in range(4):
        m = nbr[p, d]
        if m >= 0 and (board[m] == colour or board[m] == EMPTY):
            enemy_eye = False
    board[p] = colour
    delta = zobrist[p, colour]
    captured, last = 0, -1
    for d in range(4):
        m = nbr[p, d]
        if m >= 0 and board[m] == enemy and _liberties(board, nbr, m, stamp, gen, stack, 1) == 0:
            removed, dh = _remove_chain(board, nbr, zobrist, m, stack)
            captured += removed
            delta ^= dh
            last = m
    return (last if enemy_eye and captured == 1 else -1), delta


@numba.njit(cache=True)
def legal_mask(board, nbr, ko, colour, stamp, gen, stack, out):
    """OpenSpiel's legal moves for `colour` (pass included) into the bool row `out`."""
    points = board.shape[0]
    enemy = 3 - colour
    for p in range(points):
        out[p] = False
        if board[p] != EMPTY or p == ko:
            continue
        ok = False
        for d in range(4):
            m = nbr[p, d]
            if m >= 0 and board[m] == EMPTY:
                ok = True
                break
        if not ok:  # surrounded: legal if it joins a chain with another liberty, or captures
            for d in range(4):
                m = nbr[p, d]
                if m < 0:
                    continue
                libs = _liberties(board, nbr, m, stamp, gen, stack, 2)
                if (board[m] == colour and libs >= 2) or (board[m] == enemy and libs == 1):
                    ok = True
                    break
        out[p] = ok
    out[points] = True


@numba.njit(cache=True)
def black_score(board, nbr, komi):
    """Tromp–Taylor area score from Black's side: stones, plus each empty region that reaches
    only one colour, less komi."""
    points = board.shape[0]
    marked = np.zeros(points, np.bool_)
    stack = np.empty(points, np.int64)
    delta = 0
    for p in range(points):
        if board[p] == BLACK:
            delta += 1
        elif board[p] == WHITE:
            delta -= 1
        elif not marked[p]:
            marked[p] = True
            stack[0] = p
            top, size, black, white = 1, 0, False, False
            while top > 0:
                top -= 1
                q = stack[top]
                size += 1
                for d in range(4):
                    m = nbr[q, d]
                    if m < 0:
                        continue
                    if board[m] == BLACK:
                        black = True
                    elif board[m] == WHITE:
                        white = True
                    elif not marked[m]:
                        marked[m] = True
                        stack[top] = m
                        top += 1
            if black and not white:
                delta += size
            elif white and not black:
                delta -= size
    return delta - komi


@numba.njit(cache=True)
def replay(actions, nbr, zobrist, boards, hashes):
    """Play `actions` from the empty board (Black first): boards[i] and hashes[i] are the position
    after i moves (rows 0..len(actions)). Returns the final position's ko point and the passes
    that end its history."""
    points = boards.shape[1]
    stamp = np.zeros(points, np.int64)
    gen = np.zeros(1, np.int64)
    stack = np.empty(points, np.int64)
    boards[0] = EMPTY
    hashes[0] = 0
    ko, passes = -1, 0
    for i in range(actions.shape[0]):
        boards[i + 1] = boards[i]
        h = hashes[i]
        if actions[i] == points:
            ko = -1
            passes += 1
        else:
            ko, dh = play(boards[i + 1], nbr, zobrist, actions[i], BLACK if i % 2 == 0 else WHITE, stamp, gen, stack)
            h ^= dh
            passes = 0
        hashes[i + 1] = h
    return ko, passes
