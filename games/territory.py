"""Dead stones, seki and territory at the end of a Go game, judged from an ownership map.

OpenSpiel decides Go games by Tromp–Taylor: the board as it stands, every stone alive. People, GNU
Go and Go GUIs count area after taking the dead stones off. Which stones are dead is a judgement;
here it comes from an ownership map (per point in [-1, 1], +1 Black's: how likely each colour ends
up owning the point), a network's ownership head where one exists, else `rollout_ownership`: the
classic Monte Carlo estimate, Tromp–Taylor owners averaged over random playouts that never fill
their own eyes.

The judgement (`judge`), chain by chain:
  - dead: the map gives the chain's stones, on average, to the other colour (KataGo's rule: the
    owner's sign disagrees with the stones' colour);
  - seki: a chain that is not dead and shares a liberty with a chain of the other colour that is
    not dead either, where that point is nobody's on the map and playing there would put the
    player's own chain in atari, whichever colour plays (so neither will);
  - alive: the rest.
The score is area counting once the dead stones are off: stones, plus each empty region that reaches
one colour only (Tromp–Taylor's flood fill), less komi. A seki's shared liberties reach both
colours, so they count for neither, as in Chinese counting.

Points are OpenSpiel's action numbers, `row * size + column`; boards hold gorules' EMPTY/BLACK/WHITE.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyspiel

from games import goboard, gorules
from games.gorules import BLACK, EMPTY, WHITE

NEUTRAL = 0.5  # a point is nobody's on the map while |ownership| stays under this
PLAYOUTS = 200  # random playouts of the rollout estimate: 0.05 s of CPU on 9x9, 1 s on an empty 19x19


@dataclass(frozen=True)
class Territory:
    """A position judged: which stones are dead or in seki, and who owns each point once the dead are off."""

    size: int
    komi: float
    board: np.ndarray  # [points] the stones as they stand
    ownership: np.ndarray  # [points] the map judged by, +1 Black's
    dead: np.ndarray  # [points] bool: stones judged dead
    seki: np.ndarray  # [points] bool: stones in seki
    area: np.ndarray  # [points] int8: +1 Black's, -1 White's, 0 neither, once the dead stones are off
    source: str  # where the map came from, for people ("200 random playouts", "the bot's ownership map")

    @property
    def margin(self) -> float:
        """Black's area minus White's, less komi."""
        return float(self.area.astype(np.int64).sum()) - self.komi

    @property
    def result(self) -> str:
        """`B+3.5`, `W+0.5` or `0`, as SGF and GTP's final_score write it."""
        return goboard.margin_string(self.margin)

    def chains(self, status: str) -> list[list[int]]:
        """The chains (sorted points each) that are `alive`, `dead` or in `seki`."""
        marked = {"dead": self.dead, "seki": self.seki, "alive": ~(self.dead | self.seki)}[status]
        return [sorted(c) for c in gorules.chains(self.board, self.size) if marked[c[0]]]

    def territory(self, colour: int) -> list[int]:
        """`colour`'s points that hold none of its stones: empty points and the other colour's dead stones."""
        owner = 1 if colour == BLACK else -1
        return np.flatnonzero((self.area == owner) & (self.board != colour)).tolist()


def judge(board: np.ndarray, size: int, komi: float, ownership: np.ndarray, source: str = "an ownership map"
          ) -> Territory:
    """Dead stones, seki and area of `board` by the ownership map `ownership` (+1 Black's)."""
    board = np.asarray(board, np.int8)
    ownership = np.asarray(ownership, np.float64).reshape(-1)
    if ownership.shape != board.shape:
        raise ValueError(f"an ownership map of {ownership.size} points for a board of {board.size}")
    dead = np.zeros(board.size, bool)
    for stones in gorules.chains(board, size):
        held = ownership[stones].mean() * (1 if board[stones[0]] == BLACK else -1)
        if held < 0:
            dead[stones] = True
    standing = np.where(dead, EMPTY, board).astype(np.int8)
    seki = _seki(standing, size, ownership)
    area = np.empty(board.size, np.int8)
    gorules.area_owners(standing, gorules.neighbour_table(size), area)
    return Territory(size, float(komi), board, ownership, dead, seki, area, source)


def _seki(board: np.ndarray, size: int, ownership: np.ndarray) -> np.ndarray:
    """Stones of `board` (dead stones off) in seki: chains of both colours around a point that is
    nobody's on the map and that either colour would fill only to put its own chain in atari."""
    nbr = gorules.neighbour_table(size)
    chains = gorules.chains(board, size)
    chain_of = np.full(board.size, -1)
    for i, stones in enumerate(chains):
        chain_of[stones] = i
    seki = np.zeros(board.size, bool)
    scratch = np.zeros(board.size, np.int64), np.zeros(1, np.int64), np.empty(board.size, np.int64)
    for p in np.flatnonzero((board == EMPTY) & (np.abs(ownership) < NEUTRAL)):
        around = [int(m) for m in nbr[p] if m >= 0 and board[m] != EMPTY]
        if {int(board[m]) for m in around} == {BLACK, WHITE} and not any(
                _captures(board, nbr, p, colour, *scratch) or not _self_atari(board, nbr, p, colour, *scratch)
                for colour in (BLACK, WHITE)):
            for m in around:
                seki[chains[chain_of[m]]] = True
    return seki


# ---- the rollout estimate ---------------------------------------------------------------------------


def diagonal_table(size: int) -> np.ndarray:
    """[size * size, 4] diagonal neighbours of each point, -1 off the board."""
    table = np.full((size * size, 4), -1, np.int64)
    for p in range(size * size):
        r, c = divmod(p, size)
        for d, (dr, dc) in enumerate(((1, 1), (1, -1), (-1, 1), (-1, -1))):
            if 0 <= r + dr < size and 0 <= c + dc < size:
                table[p, d] = (r + dr) * size + c + dc
    return table


@numba.njit(cache=True)
def _own_eye(board, nbr, diag, p, colour):
    """Whether empty p is an eye of `colour`: its neighbours all `colour`, and at most one diagonal
    the enemy's (none on the edge), so that filling it could only hurt."""
    for d in range(4):
        m = nbr[p, d]
        if m >= 0 and board[m] != colour:
            return False
    enemy, edge = 0, False
    for d in range(4):
        m = diag[p, d]
        if m < 0:
            edge = True
        elif board[m] == 3 - colour:
            enemy += 1
    return enemy == 0 or (enemy == 1 and not edge)


@numba.njit(cache=True)
def _captures(board, nbr, p, colour, stamp, gen, stack):
    """Whether `colour` on empty p takes an enemy chain (one in atari beside it)."""
    for d in range(4):
        m = nbr[p, d]
        if m >= 0 and board[m] == 3 - colour and gorules._chain(board, nbr, m, stamp, gen, stack, 2)[0] == 1:
            return True
    return False


@numba.njit(cache=True)
def _self_atari(board, nbr, p, colour, stamp, gen, stack):
    """Whether `colour` on empty p, taking nothing, leaves its chain one liberty (p is empty again after)."""
    board[p] = colour
    libs = gorules._chain(board, nbr, p, stamp, gen, stack, 2)[0]
    board[p] = EMPTY
    return libs < 2


@numba.njit(cache=True)
def _playouts(board, nbr, diag, colour, ko, playouts, max_moves, seed, total):
    """Add the Tromp–Taylor owners (+1 Black, -1 White) at the end of `playouts` random games from
    `board`, `colour` to move, into `total`. A player takes a chain in atari when it can, else plays
    a random legal move that fills no eye of its own and puts none of its chains in atari (pure
    random play lets dead stones live and living groups die far too often), and passes when none is
    left; two passes, or `max_moves`, end a game."""
    np.random.seed(seed)
    points = board.shape[0]
    zobrist = np.zeros((points, 3), np.uint64)  # play() keeps a hash; no superko here
    stamp, gen, stack = np.zeros(points, np.int64), np.zeros(1, np.int64), np.empty(points, np.int64)
    legal = np.empty(points + 1, np.bool_)
    moves = np.empty(points, np.int64)
    takes = np.empty(points, np.int64)
    owners = np.empty(points, np.int8)
    b = np.empty_like(board)
    for _ in range(playouts):
        b[:] = board
        mover, k, passes, played = colour, ko, 0, 0
        while passes < 2 and played < max_moves:
            gorules.legal_mask(b, nbr, k, mover, stamp, gen, stack, legal)
            n = t = 0
            for p in range(points):
                if legal[p] and not _own_eye(b, nbr, diag, p, mover):
                    if _captures(b, nbr, p, mover, stamp, gen, stack):
                        takes[t] = p
                        t += 1
                    else:
                        moves[n] = p
                        n += 1
            move = -1
            if t > 0:
                move = takes[np.random.randint(t)]
            while move < 0 and n > 0:  # a random move, self-ataris drawn and thrown away
                i = np.random.randint(n)
                if not _self_atari(b, nbr, moves[i], mover, stamp, gen, stack):
                    move = moves[i]
                n -= 1
                moves[i] = moves[n]
            if move < 0:
                passes += 1
                k = -1
            else:
                k = gorules.play(b, nbr, zobrist, move, mover, stamp, gen, stack)[0]
                passes = 0
            mover = 3 - mover
            played += 1
        gorules.area_owners(b, nbr, owners)
        for p in range(points):
            total[p] += owners[p]


def rollout_ownership(board: np.ndarray, size: int, to_play: int = BLACK, ko: int = -1, playouts: int = PLAYOUTS,
                      seed: int = 0) -> np.ndarray:
    """The Monte Carlo ownership map of `board` (`to_play` to move, `ko` forbidden to it): each point's
    Tromp–Taylor owner (+1 Black, -1 White) averaged over `playouts` random games (seeded: the same
    answer every time)."""
    total = np.zeros(size * size, np.float64)
    _playouts(np.asarray(board, np.int8), gorules.neighbour_table(size), diagonal_table(size), to_play, ko,
              playouts, 3 * size * size, seed, total)
    return total / playouts


def of_state(state: pyspiel.State, ownership: np.ndarray | None = None, playouts: int = PLAYOUTS,
             seed: int = 0) -> Territory:
    """A Go state judged by `ownership` (+1 Black's), or by the rollout estimate when it is None."""
    pos = goboard.position(state)
    source = "the bot's ownership map"
    if ownership is None:
        to_play = BLACK if len(state.history()) % 2 == 0 else WHITE  # OpenSpiel's Go alternates, passes too
        ownership = rollout_ownership(pos.board, pos.size, to_play, -1 if pos.ko is None else pos.ko, playouts, seed)
        source = f"{playouts} random playouts"
    return judge(pos.board, pos.size, pos.komi, ownership, source)
