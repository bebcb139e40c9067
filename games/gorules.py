"""OpenSpiel's Go rules over arrays of boards, compiled (numba), for the search's trees.

A search step into a new go9 leaf through OpenSpiel costs a state copy (8.7 kB: the board, its
chains, and a hash set of every position of the game for superko), its legal-move list and its
observation, then a free when the tree drops it: about 10 µs of per-leaf Python and C++ that the
search cannot batch. Here a position is a row of small arrays (stones, ko point, passes, move
count, Zobrist hash), and one kernel call steps, masks and encodes a whole wave's leaves.

The rules are OpenSpiel's `go`, reproduced exactly (tests/games/test_gorules.py plays thousands of
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
def _chain(board, nbr, p, stamp, gen, queue, limit):
    """Flood the chain through stone p breadth first, its stones into queue[:size]. Returns (its
    distinct liberties, counted up to `limit`, where the flood stops; size). `stamp` marks points
    visited with `gen[0]`, which it advances first (no clearing needed)."""
    gen[0] += 1
    g = gen[0]
    colour = board[p]
    queue[0] = p
    stamp[p] = g
    head, size, libs = 0, 1, 0
    while head < size:
        q = queue[head]
        head += 1
        for d in range(4):
            m = nbr[q, d]
            if m < 0 or stamp[m] == g:
                continue
            stamp[m] = g
            if board[m] == EMPTY:
                libs += 1
                if libs >= limit:
                    return libs, size
            elif board[m] == colour:
                queue[size] = m
                size += 1
    return libs, size


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
        if m < 0 or board[m] != enemy:
            continue
        libs, size = _chain(board, nbr, m, stamp, gen, stack, 1)
        if libs == 0:  # captured: the flood left its stones in stack[:size]
            for k in range(size):
                board[stack[k]] = EMPTY
                delta ^= zobrist[stack[k], enemy]
            captured += size
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
                libs = _chain(board, nbr, m, stamp, gen, stack, 2)[0]
                if (board[m] == colour and libs >= 2) or (board[m] == enemy and libs == 1):
                    ok = True
                    break
        out[p] = ok
    out[points] = True


@numba.njit(cache=True)
def liberty_planes(board, nbr, stamp, gen, queue, out):
    """KataGo's liberty inputs: out[k, p] = 1 where p holds a stone (either colour) whose chain has
    exactly k + 1 liberties, for k < out.shape[0]; 0 elsewhere."""
    points = board.shape[0]
    out[:, :] = 0
    done = np.zeros(points, np.bool_)
    for p in range(points):
        if board[p] == EMPTY or done[p]:
            continue
        libs, size = _chain(board, nbr, p, stamp, gen, queue, points + 1)  # no limit: every stone
        for k in range(size):
            done[queue[k]] = True
            if 1 <= libs <= out.shape[0]:
                out[libs - 1, queue[k]] = 1


@numba.njit(cache=True)
def liberty_planes_batch(boards, nbr, out):
    """`liberty_planes` for each row of boards [B, points] into out [B, L, points]."""
    points = boards.shape[1]
    stamp = np.zeros(points, np.int64)
    gen = np.zeros(1, np.int64)
    queue = np.empty(points, np.int64)
    for i in range(boards.shape[0]):
        liberty_planes(boards[i], nbr, stamp, gen, queue, out[i])


@numba.njit(cache=True)
def owners(board, nbr):
    """Tromp–Taylor owner of every point, int8: +1 Black's (a black stone, or an empty point whose
    region reaches only black stones), -1 White's, 0 neutral (a region reaching both or neither).
    Stones count as alive, whatever their life: Tromp–Taylor has no dead stones."""
    points = board.shape[0]
    owner = np.zeros(points, np.int8)
    marked = np.zeros(points, np.bool_)
    stack = np.empty(points, np.int64)
    region = np.empty(points, np.int64)
    for p in range(points):
        if board[p] == BLACK:
            owner[p] = 1
        elif board[p] == WHITE:
            owner[p] = -1
        elif not marked[p]:
            marked[p] = True
            stack[0] = p
            top, size, black, white = 1, 0, False, False
            while top > 0:
                top -= 1
                q = stack[top]
                region[size] = q
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
            if black != white:
                side = 1 if black else -1
                for k in range(size):
                    owner[region[k]] = side
    return owner


@numba.njit(cache=True)
def black_score(board, nbr, komi):
    """Tromp–Taylor area score from Black's side: stones, plus each empty region that reaches
    only one colour, less komi."""
    owner = owners(board, nbr)
    delta = 0
    for p in range(owner.shape[0]):
        delta += owner[p]
    return delta - komi


@numba.njit(cache=True)
def area_owners(board, nbr, out):
    """Tromp–Taylor's owner of each point into the int8 row `out` (`owners`, written in place for
    callers that keep one buffer per playout)."""
    out[:] = owners(board, nbr)


def _scratch(points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(points, np.int64), np.zeros(1, np.int64), np.empty(points, np.int64)


def chain(board: np.ndarray, size: int, point: int) -> tuple[int, int]:
    """(liberties counted up to 2, stones) of the chain through the stone on `point`."""
    libs, stones = _chain(np.asarray(board, np.int8), neighbour_table(size), point, *_scratch(size * size), 2)
    return int(libs), int(stones)


def chains(board: np.ndarray, size: int) -> list[list[int]]:
    """The stones of every chain on `board`, each chain's points in flood order, chains by first point."""
    board = np.asarray(board, np.int8)
    nbr, (stamp, gen, queue) = neighbour_table(size), _scratch(size * size)
    seen = np.zeros(size * size, bool)
    found = []
    for p in np.flatnonzero(board != EMPTY):
        if not seen[p]:
            stones = queue[:_chain(board, nbr, p, stamp, gen, queue, size * size + 1)[1]].tolist()
            seen[stones] = True
            found.append(stones)
    return found


def legal_moves(board: np.ndarray, size: int, colour: int, ko: int = -1) -> np.ndarray:
    """The bool mask of `colour`'s legal moves (the pass last) on `board`, with `ko` forbidden."""
    mask = np.zeros(size * size + 1, bool)
    legal_mask(np.asarray(board, np.int8), neighbour_table(size), ko, colour, *_scratch(size * size), mask)
    return mask


def ownership(board: np.ndarray, size: int) -> np.ndarray:
    """Tromp–Taylor owner of every point of `board` (int8 by point: +1 Black's, -1 White's, 0 neutral)."""
    return owners(np.asarray(board, np.int8), neighbour_table(size))


def area_score(board: np.ndarray, size: int, komi: float) -> float:
    """Tromp–Taylor area score of `board`, Black's minus White's, less komi."""
    return float(black_score(np.asarray(board, np.int8), neighbour_table(size), komi))


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
