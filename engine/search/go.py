"""BatchedMCTS for Go with the trees' positions held as arrays and stepped in compiled code.

The generic search keeps an OpenSpiel state and an encoding per node, and for Go its per-leaf
Python (state copy, legal-move list, observation, the copy's free) is most of the search's own
work. Here each node is a row of arrays (stones, ko point, passes, move count, Zobrist hash,
colour to move) and one kernel call per wave steps, masks or encodes all its leaves, by the rules
of games/gorules.py.

OpenSpiel stays the authority over games: each tree keeps its root's OpenSpiel state, every move
played advances it, and a tree starts by replaying that state's history. A node's encoding is
built from its own board and its ancestors' (then the boards before the root, kept per tree), so
nothing per node lives outside the arrays. Same search, same answers as BatchedMCTS on OpenSpiel
states (tests/engine/search/test_go_search.py).
"""
from __future__ import annotations

import numba
import numpy as np
import pyspiel

from engine.config import SearchConfig
from engine.nn import Evaluator
from engine.search.mcts import BatchedMCTS
from games import gorules
from games.encoders import GoEncoder


def supports(encoder, config: SearchConfig) -> bool:
    """Whether GoSearch serves this game and search: Go without handicap stones (whose score
    adds the handicap) and without the one-ply win check (which asks OpenSpiel's children)."""
    return (isinstance(encoder, GoEncoder) and int(encoder.game.get_parameters().get("handicap", 0)) < 2
            and not config.win_check)


class GoSearch(BatchedMCTS):
    def __init__(self, encoder: GoEncoder, num_actions: int, evaluator: Evaluator, config: SearchConfig,
                 num_trees: int, rng: np.random.Generator, capacity: int | None = None) -> None:
        super().__init__(encoder, num_actions, evaluator, config, num_trees, rng, capacity)
        game, size = encoder.game, encoder.size
        self.points = size * size
        self.komi = float(game.get_parameters()["komi"])
        self.max_length = game.max_game_length()
        self.nbr = gorules.neighbour_table(size)
        self.zobrist = gorules.zobrist_table(size)
        shape = (num_trees, self.capacity)
        self.board = np.zeros(shape + (self.points,), np.int8)
        self.ko = np.full(shape, -1, np.int64)
        self.passes = np.zeros(shape, np.int64)  # passes in a row ending at the node
        self.moves = np.zeros(shape, np.int64)  # moves since the game's start
        self.hash = np.zeros(shape, np.uint64)
        self.to_play = np.zeros(shape, np.int8)  # 0 Black, 1 White (even at terminal nodes)
        # Per tree, the game before its root: the last boards (most recent first), every hash.
        self.past_boards = np.zeros((num_trees, max(1, encoder.history - 1), self.points), np.int8)
        self.past_hashes = np.zeros((num_trees, self.max_length + 1), np.uint64)
        self.past_count = np.zeros(num_trees, np.int64)
        self.root_states: list[pyspiel.State | None] = [None] * num_trees
        self.states = self.xs = None  # the generic per-node lists are not used
        # Terminal nodes carry the score utility too where the network's values do (else passing
        # out a won game would outscore playing on to keep its margin)
        self.utility = float(config.score_utility) if getattr(evaluator, "has_aux_heads", True) else 0.0

    # ---- positions --------------------------------------------------------------------------

    def _clear_positions(self, t: int, start: int) -> None:
        pass  # array rows are written whole when a node is created

    def _keep_positions(self, t: int, keep: np.ndarray) -> None:
        m = len(keep)
        for arr in (self.board, self.ko, self.passes, self.moves, self.hash, self.to_play):
            arr[t, :m] = arr[t, keep]

    def reset(self, t: int, state: pyspiel.State, x: np.ndarray | None = None) -> None:
        """Start tree t afresh at `state`, replaying its history into the root's arrays."""
        self._clear_rows(t, 0)
        self.count[t], self.root[t], self.cut[t] = 1, 0, False
        self.parent[t, 0] = -1
        self.root_states[t] = state
        history = np.asarray(state.history(), np.int64)
        n = len(history)
        boards = np.empty((n + 1, self.points), np.int8)
        hashes = np.empty(n + 1, np.uint64)
        self.ko[t, 0], self.passes[t, 0] = gorules.replay(history, self.nbr, self.zobrist, boards, hashes)
        self.board[t, 0], self.hash[t, 0], self.moves[t, 0], self.to_play[t, 0] = boards[n], hashes[n], n, n % 2
        self.past_hashes[t, :n] = hashes[:n]
        self.past_count[t] = n
        before = boards[n - 1::-1][:self.past_boards.shape[1]] if n else boards[:0]
        self.past_boards[t, :len(before)] = before
        if state.is_terminal():
            self.terminal[t, 0], self.player[t, 0], self.value[t, 0] = True, 0, state.returns()[0]
        else:
            self.player[t, 0] = state.current_player()

    def root_state(self, t: int) -> pyspiel.State:
        return self.root_states[t]

    def root_x(self, t: int) -> np.ndarray:
        return self._encode(np.array([t]), self.root[t:t + 1])[0][0]

    def advance(self, t: int, action: int) -> None:
        """Play `action` in tree t's OpenSpiel state; the child's subtree becomes the tree when reuse is on."""
        r = self.root[t]
        c = self.child[t, r, action]
        state = self.root_states[t].child(action)
        if not (self.config.reuse_tree and not self.gumbel and c >= 0):
            self.reset(t, state)
            return
        self.past_boards[t, 1:] = self.past_boards[t, :-1]
        self.past_boards[t, 0] = self.board[t, r]
        self.past_hashes[t, self.past_count[t]] = self.hash[t, r]
        self.past_count[t] += 1
        self.root[t] = c
        self.parent[t, c] = -1
        self.root_states[t] = state

    # ---- the search's per-leaf work ---------------------------------------------------------

    def _expand_edges(self, trees: np.ndarray, parents: np.ndarray, actions: np.ndarray) -> np.ndarray:
        nodes = self.count[trees]
        self.count[trees] = nodes + 1
        self.parent[trees, nodes] = parents
        self.child[trees, parents, actions] = nodes
        terminal = np.empty(len(trees), bool)
        value = np.empty(len(trees), np.float32)
        expand(trees, parents, nodes, actions, self.parent, self.board, self.ko, self.passes, self.moves,
               self.hash, self.to_play, self.past_hashes, self.past_count, self.nbr, self.zobrist, self.komi,
               self.max_length, self.utility, terminal, value)
        # A terminal node stores its return for the player to move at its parent (see BatchedMCTS).
        player = self.to_play[trees, nodes]
        player[terminal] = self.player[trees[terminal], parents[terminal]]
        self.sampled[trees, nodes] = False
        self.terminal[trees, nodes] = terminal
        self.player[trees, nodes] = player
        self.value[trees[terminal], nodes[terminal]] = value[terminal]
        return nodes

    def _encode(self, trees: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = len(trees)
        x = np.empty((k, *self.encoder.shape), np.uint8)
        legal = np.empty((k, self.num_actions), bool)
        features(trees, nodes, self.parent, self.board, self.ko, self.to_play, self.moves, self.past_boards,
                 self.nbr, self.encoder.history, x.reshape(k, x.shape[1], self.points), legal)
        return x, legal, self.player[trees, nodes]


@numba.njit(cache=True)
def expand(trees, parents, nodes, actions, parent, board, ko, passes, moves, hashes, to_play, past_hashes,
           past_count, nbr, zobrist, komi, max_length, utility, terminal, value):
    """Make each new node its parent's position after its action. terminal[i] says whether the game
    ends there, and value[i] is then the return of the player who moved (OpenSpiel's: superko draws),
    with the score utility λ = `utility` mixed in as the network's values have it (engine.nn.inference)."""
    points = board.shape[2]
    stamp = np.zeros(points, np.int64)
    gen = np.zeros(1, np.int64)
    stack = np.empty(points, np.int64)
    for i in range(trees.shape[0]):
        t, p, c, a = trees[i], parents[i], nodes[i], actions[i]
        board[t, c] = board[t, p]
        mover = to_play[t, p]
        h = hashes[t, p]
        superko = False
        if a == points:
            ko[t, c] = -1
            passes[t, c] = passes[t, p] + 1
        else:
            ko[t, c], delta = gorules.play(board[t, c], nbr, zobrist, a, 1 + mover, stamp, gen, stack)
            passes[t, c] = 0
            h ^= delta
            q = p  # a repeat of any earlier position: on the path to the root, or before it
            while q >= 0 and not superko:
                superko = hashes[t, q] == h
                q = parent[t, q]
            for j in range(past_count[t]):
                if superko:
                    break
                superko = past_hashes[t, j] == h
        hashes[t, c] = h
        moves[t, c] = moves[t, p] + 1
        to_play[t, c] = 1 - mover
        terminal[i] = moves[t, c] >= 2 and (superko or passes[t, c] >= 2 or moves[t, c] >= max_length)
        value[i] = 0.0
        if terminal[i] and not superko:
            score = gorules.black_score(board[t, c], nbr, komi)
            black = 1.0 if score > 0 else (-1.0 if score < 0 else 0.0)
            if utility > 0:
                black = (black + utility * np.arctan(score / np.sqrt(points)) * (2 / np.pi)) / (1 + utility)
            value[i] = black if mover == 0 else -black


@numba.njit(cache=True)
def features(trees, nodes, parent, board, ko, to_play, moves, past_boards, nbr, history, x, legal):
    """Each node's legal moves and GoEncoder planes (x: [k, planes, points]): for the last H
    positions, the mover's stones then the opponent's; Black-to-move ones; all ones; then, where x
    has room for them, the liberty planes of the node's own board."""
    points = board.shape[2]
    liberties = x.shape[1] - 2 * history - 2
    stamp = np.zeros(points, np.int64)
    gen = np.zeros(1, np.int64)
    stack = np.empty(points, np.int64)
    for i in range(trees.shape[0]):
        t, n = trees[i], nodes[i]
        colour = 1 + to_play[t, n]
        enemy = 3 - colour
        gorules.legal_mask(board[t, n], nbr, ko[t, n], colour, stamp, gen, stack, legal[i])
        q, j = n, 0
        for s in range(history):
            if s > moves[t, n]:  # before the game started
                x[i, 2 * s] = 0
                x[i, 2 * s + 1] = 0
                continue
            if q >= 0:
                b = board[t, q]
                q = parent[t, q]
            else:
                b = past_boards[t, j]
                j += 1
            for p in range(points):
                x[i, 2 * s, p] = 1 if b[p] == colour else 0
                x[i, 2 * s + 1, p] = 1 if b[p] == enemy else 0
        x[i, 2 * history] = 1 if to_play[t, n] == 0 else 0
        x[i, 2 * history + 1] = 1
        if liberties > 0:
            gorules.liberty_planes(board[t, n], nbr, stamp, gen, stack, x[i, 2 * history + 2:])
