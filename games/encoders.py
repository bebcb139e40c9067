"""Tensor encoders: turn a pyspiel state into the array the network reads.

The network predicts the value for the PLAYER TO MOVE, so every encoding either is player-relative
(Go: own/opponent stone planes) or carries a to-move plane (boards taken from OpenSpiel as-is).

Three entry points per encoder:

* ``encode(state)`` — the full encoding, history included; may replay ``state.history()``. Called
  once per search root.
* ``step(parent_x, state)`` — the encoding of ``state`` given the encoding of the state one action
  earlier. It reads OpenSpiel's tensor through a reusable ``pyspiel._Observation`` buffer (a few
  µs, versus tens of µs for ``state.observation_tensor()``'s Python list).
* ``step_batch(parent_xs, states)`` — ``step`` for a whole batch of MCTS leaves at once, as one
  array: per leaf only the read of OpenSpiel's tensor, the rest whole-batch numpy operations.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyspiel

from games import gorules, wins

# Black is player 0 in OpenSpiel's go; its observation planes are black, white, empty, white-to-play.
_GO_BLACK, _GO_WHITE, _GO_WHITE_TO_PLAY = 0, 1, 3


class _TensorReader:
    """Reads a state's observation (or information-state) tensor into a reused float32 buffer.

    One ``pyspiel._Observation`` per thread, because its buffer is overwritten on every read and
    actors may search from several threads. Pickles as just the game, so encoders can travel to
    actor processes.
    """

    def __init__(self, game: pyspiel.Game, info_state: bool = False):
        self.game = game
        self.info_state = info_state
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        return {"game": self.game, "info_state": self.info_state}

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__init__(d["game"], d["info_state"])

    def _buffer(self) -> tuple[Any, np.ndarray]:
        local = self._local
        if not hasattr(local, "obs"):
            iig = pyspiel.IIGObservationType(perfect_recall=True) if self.info_state else None
            observer = self.game.make_observer(iig, {}) if iig else self.game.make_observer({})
            local.obs = pyspiel._Observation(self.game, observer)
            local.buf = np.frombuffer(local.obs, np.float32)  # a view: refreshed by every set_from
        return local.obs, local.buf

    def read(self, state: pyspiel.State, player: int = 0) -> np.ndarray:
        """The tensor for `player`, as a view that the next read overwrites (copy it to keep it)."""
        obs, buf = self._buffer()
        obs.set_from(state, player)
        return buf

    def read_batch(self, states: list[pyspiel.State]) -> np.ndarray:
        """Player 0's tensors of `states`, one row each (a new array)."""
        obs, buf = self._buffer()
        out = np.empty((len(states), len(buf)), np.float32)
        for i, state in enumerate(states):
            obs.set_from(state, 0)
            out[i] = buf
        return out


class Encoder:
    """Base encoder: ``name`` (recorded in the trajectory store), ``shape``, ``dtype``."""

    name: str
    shape: tuple[int, ...]
    dtype: type

    def encode(self, state: pyspiel.State) -> np.ndarray:
        raise NotImplementedError

    def step(self, parent_x: np.ndarray, state: pyspiel.State) -> np.ndarray:
        """Encodings without history need nothing from the parent."""
        return self.encode(state)

    def step_batch(self, parent_xs: list[np.ndarray], states: list[pyspiel.State]) -> np.ndarray:
        """``step`` for each (parent encoding, state) pair, stacked into one array [B, *shape]."""
        return np.stack([self.step(p, s) for p, s in zip(parent_xs, states)])

    def winning_moves(self, x: np.ndarray) -> np.ndarray | None:
        """[B, actions] bool: the moves that win at once from each encoding, when the encoding tells
        (games/wins.py); None when only the game's states can."""
        return None


class BoardEncoder(Encoder):
    """OpenSpiel's observation planes (C, H, W) plus one to-move plane (ones when player 1 moves).

    Used for tic_tac_toe, connect_four and hex, whose tensors are the same for both players (not
    egocentric): the extra plane is what tells the network whose value it is predicting.
    """

    def __init__(self, game: pyspiel.Game, binary: bool = True):
        c, h, w = game.observation_tensor_shape()
        self._planes = c
        self._reader = _TensorReader(game)
        self.name = "board-v1"
        self.shape = (c + 1, h, w)
        # 0/1 planes store compactly as uint8 in HDF5; unknown games may carry other values.
        self.dtype = np.uint8 if binary else np.float32
        self._rule = wins.line_rule(game, c)

    def encode(self, state: pyspiel.State) -> np.ndarray:
        x = np.empty(self.shape, self.dtype)
        x[: self._planes] = self._reader.read(state).reshape(self.shape[0] - 1, *self.shape[1:])
        x[self._planes] = state.current_player() == 1
        return x

    def step_batch(self, parent_xs: list[np.ndarray], states: list[pyspiel.State]) -> np.ndarray:
        x = np.empty((len(states), *self.shape), self.dtype)
        x[:, : self._planes] = self._reader.read_batch(states).reshape(len(states), self._planes, *self.shape[1:])
        x[:, self._planes] = np.array([s.current_player() == 1 for s in states])[:, None, None]
        return x

    def winning_moves(self, x: np.ndarray) -> np.ndarray | None:
        return None if self._rule is None else wins.winning_moves(x, self._rule)


class GoEncoder(Encoder):
    """Player-relative Go planes with the last ``history`` positions.

    Layout, for H = history and the player to move P at the current position t:
      planes 2k, 2k+1 (k = 0..H-1): P's stones, P's opponent's stones at position t-k
                                    (all zero before the game started);
      plane 2H:   ones when black is to move (komi makes colour matter);
      plane 2H+1: ones (lets convolutions find the board edge through zero padding);
      with `liberties`, planes 2H+2..2H+4: stones (either colour) of the current position whose
      chain has exactly 1, 2, 3 liberties (KataGo's liberty inputs: atari and capture races read
      off the input instead of learned through the tower).
    A pass is a position too: it repeats the board, like any other move.
    """

    LIBERTY_PLANES = 3

    def __init__(self, game: pyspiel.Game, history: int = 4, liberties: bool = False):
        n = game.get_parameters()["board_size"]
        self.size = n
        self.history = history
        self.liberties = liberties
        self._reader = _TensorReader(game)
        self.game = game
        self.name = f"go-h{history}-lib{self.LIBERTY_PLANES}-v1" if liberties else f"go-h{history}-v1"
        self.shape = (2 * history + 2 + (self.LIBERTY_PLANES if liberties else 0), n, n)
        self.dtype = np.uint8
        self._nbr = gorules.neighbour_table(n)
        # The parent's own/opponent planes swap roles when the mover changes (every move in Go).
        older = np.arange(2 * history - 2)
        self._swap = older ^ 1
        self._keep = older

    def _board(self, state: pyspiel.State) -> tuple[np.ndarray, bool]:
        """Black and white planes [2, n, n] (a view) and whether black is to move."""
        planes = self._reader.read(state).reshape(4, self.size, self.size)
        # Read the colour from the tensor, not current_player(), so terminal states encode too.
        return planes[_GO_BLACK:_GO_WHITE + 1], not planes[_GO_WHITE_TO_PLAY, 0, 0]

    def _fill_top(self, x: np.ndarray, stones: np.ndarray, black_to_move: bool) -> None:
        order = [0, 1] if black_to_move else [1, 0]
        x[0:2] = stones[order]
        x[2 * self.history] = black_to_move
        x[2 * self.history + 1] = 1
        if self.liberties:
            self._fill_liberties(x[None], stones[None])

    def _fill_liberties(self, x: np.ndarray, stones: np.ndarray) -> None:
        """x [B, planes, n, n] gets the liberty planes of black/white stones [B, 2, n, n]."""
        b, first = len(x), 2 * self.history + 2
        boards = (stones[:, 0] * gorules.BLACK + stones[:, 1] * gorules.WHITE).astype(np.int8).reshape(b, -1)
        out = np.empty((b, self.LIBERTY_PLANES, self.size * self.size), np.uint8)
        gorules.liberty_planes_batch(boards, self._nbr, out)
        x[:, first:] = out.reshape(b, self.LIBERTY_PLANES, self.size, self.size)

    def encode(self, state: pyspiel.State) -> np.ndarray:
        x = np.zeros(self.shape, self.dtype)
        history = state.history()
        # Replay only to collect the boards of the last H positions (absolute colours).
        boards: list[np.ndarray] = []
        s = self.game.new_initial_state()
        first_kept = len(history) - (self.history - 1)
        for i in range(len(history) + 1):
            if i >= first_kept:
                boards.append(self._board(s)[0].copy())
            if i < len(history):
                s.apply_action(history[i])
        stones, black_to_move = self._board(state)
        mine, theirs = (0, 1) if black_to_move else (1, 0)
        for k, board in enumerate(reversed(boards)):  # k = 0 is the current position
            x[2 * k] = board[mine]
            x[2 * k + 1] = board[theirs]
        self._fill_top(x, stones, black_to_move)
        return x

    def step(self, parent_x: np.ndarray, state: pyspiel.State) -> np.ndarray:
        x = np.empty(self.shape, self.dtype)
        stones, black_to_move = self._board(state)
        parent_black = bool(parent_x[2 * self.history, 0, 0])
        older = self._swap if parent_black != black_to_move else self._keep
        x[2:2 * self.history] = parent_x[older]
        self._fill_top(x, stones, black_to_move)
        return x

    def step_batch(self, parent_xs: list[np.ndarray], states: list[pyspiel.State]) -> np.ndarray:
        b, n, h = len(states), self.size, self.history
        planes = self._reader.read_batch(states).reshape(b, 4, n, n)
        black = planes[:, _GO_WHITE_TO_PLAY, 0, 0] == 0
        parents = np.stack(parent_xs)
        x = np.empty((b, *self.shape), self.dtype)
        # Every Go move (a pass too) hands the turn over, so the parent's planes almost always swap.
        swap = parents[:, 2 * h, 0, 0].astype(bool) != black
        x[swap, 2:2 * h] = parents[swap][:, self._swap]
        x[~swap, 2:2 * h] = parents[~swap][:, self._keep]
        mover = black[:, None, None]
        x[:, 0] = np.where(mover, planes[:, _GO_BLACK], planes[:, _GO_WHITE])
        x[:, 1] = np.where(mover, planes[:, _GO_WHITE], planes[:, _GO_BLACK])
        x[:, 2 * h] = mover
        x[:, 2 * h + 1] = 1
        if self.liberties:
            self._fill_liberties(x, planes[:, _GO_BLACK:_GO_WHITE + 1])
        return x


class FlatEncoder(Encoder):
    """Any other game: the flattened observation tensor (or information-state tensor when the game
    has no observation tensor), seen by the player to move, plus a to-move one-hot."""

    def __init__(self, game: pyspiel.Game):
        game_type = game.get_type()
        if game_type.provides_observation_tensor:
            self._reader, size = _TensorReader(game), game.observation_tensor_size()
        elif game_type.provides_information_state_tensor:
            self._reader, size = _TensorReader(game, info_state=True), game.information_state_tensor_size()
        else:
            raise ValueError(f"{game} provides neither an observation nor an information-state tensor")
        self._size = size
        self._players = game.num_players()
        self.name = "flat-v1"
        self.shape = (size + self._players,)
        self.dtype = np.float32

    def encode(self, state: pyspiel.State) -> np.ndarray:
        x = np.zeros(self.shape, self.dtype)
        player = state.current_player()
        # Chance, simultaneous and terminal nodes have no single mover: view them as player 0.
        x[: self._size] = self._reader.read(state, max(player, 0))
        if player >= 0:
            x[self._size + player] = 1
        return x


class InfoStateEncoder(Encoder):
    """Imperfect-information games: what the player to move knows, never the hidden state.

    OpenSpiel's information-state tensor (perfect recall: the player's own cards and the whole
    public history) when the game provides one, else its observation tensor (phantom Go: the
    player's own view of the board). Poker tensors carry the player's seat already.
    """

    def __init__(self, game: pyspiel.Game):
        game_type = game.get_type()
        if game_type.provides_information_state_tensor:
            self._reader, size = _TensorReader(game, info_state=True), game.information_state_tensor_size()
        elif game_type.provides_observation_tensor:
            self._reader, size = _TensorReader(game), game.observation_tensor_size()
        else:
            raise ValueError(f"{game} provides neither an information-state nor an observation tensor")
        self.name = "infostate-v1"
        self.shape = (size,)
        self.dtype = np.float32

    def encode(self, state: pyspiel.State) -> np.ndarray:
        # Chance and terminal nodes have no mover; nothing reads their encoding but the store's
        # shape checks, so player 0's view serves.
        return self._reader.read(state, max(state.current_player(), 0)).copy()


_BOARD_FAMILIES = ("tic_tac_toe", "connect_four", "hex")


def encoder_for(game: pyspiel.Game, preset: Any = None) -> Encoder:
    """The encoder for a game: Go, a known board game, or the flat fallback.

    `preset` is accepted so presets can one day pick an encoder variant; the family is read from
    the game itself so that raw strings (`go(board_size=7)`) get the same encoder as presets.
    """
    family = game.get_type().short_name
    if game.get_type().information != pyspiel.GameType.Information.PERFECT_INFORMATION:
        return InfoStateEncoder(game)
    if family == "go":
        return GoEncoder(game)
    if family in _BOARD_FAMILIES and len(game.observation_tensor_shape()) == 3:
        return BoardEncoder(game)
    return FlatEncoder(game)
