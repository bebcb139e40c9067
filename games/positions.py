"""Positions a few random moves from the start, encoded: inputs for benchmarks, tests and the ONNX
export's check, real positions of the game rather than noise in its tensor's shape."""
from __future__ import annotations

import numpy as np
import pyspiel

from games.catalogue import GameSpec


def _draw_chance(state: pyspiel.State, rng: np.random.Generator) -> None:
    """Draw chance outcomes by their probabilities until a player moves (or the game ends): a
    network reads positions with a player to move, never a chance node (the deal of a card game)."""
    while state.is_chance_node():
        outcomes, probs = zip(*state.chance_outcomes())
        state.apply_action(int(rng.choice(outcomes, p=probs)))


def _start(game: pyspiel.Game, rng: np.random.Generator) -> pyspiel.State:
    state = game.new_initial_state()
    _draw_chance(state, rng)
    return state


def random_positions(spec: GameSpec, count: int, seed: int = 0, max_plies: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Encodings and legal masks of `count` positions a few random moves from the start of a
    games.GameSpec's game, each with a player to move."""
    rng = np.random.default_rng(seed)
    xs, legal = [], []
    for _ in range(count):
        state = _start(spec.game, rng)
        for _ in range(int(rng.integers(0, max_plies))):
            if state.is_terminal():
                break
            state.apply_action(int(rng.choice(state.legal_actions())))
            _draw_chance(state, rng)
        if state.is_terminal():
            state = _start(spec.game, rng)
        xs.append(spec.encoder.encode(state))
        legal.append(state.legal_actions_mask())
    return np.stack(xs), np.asarray(legal, bool)
