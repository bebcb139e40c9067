"""Encoders: step() agrees with encode() along random playouts; shape, dtype, whose move it is."""

import pickle

import numpy as np
import pytest

import games
from games.encoders import BoardEncoder, FlatEncoder, GoEncoder

FAMILIES = ["tic_tac_toe", "connect_four", "hex5", "go(board_size=5,komi=7.5)", "go9"]


def playout(spec, rng, max_moves=60, pass_prob=0.0):
    """States of one random game (the initial state included); in Go, passes come with pass_prob."""
    state = spec.game.new_initial_state()
    states = [state.clone()]
    pass_action = spec.num_actions - 1
    while not state.is_terminal() and len(states) <= max_moves:
        legal = state.legal_actions()
        if pass_prob and pass_action in legal and rng.random() < pass_prob:
            action = pass_action
        else:
            action = int(rng.choice(legal))
        state.apply_action(action)
        states.append(state.clone())
    return states


@pytest.mark.parametrize("name", FAMILIES)
def test_step_matches_encode_along_playouts(name):
    spec = games.load(name)
    enc = spec.encoder
    rng = np.random.default_rng(0)
    pass_prob = 0.3 if spec.game.get_type().short_name == "go" else 0.0
    for _ in range(5):
        states = playout(spec, rng, pass_prob=pass_prob)
        x = enc.encode(states[0])
        for state in states[1:]:
            if state.is_terminal():
                break
            x = enc.step(x, state)
            full = enc.encode(state)
            assert x.shape == enc.shape == full.shape
            assert x.dtype == enc.dtype == full.dtype
            np.testing.assert_array_equal(x, full)


@pytest.mark.parametrize("name", FAMILIES + ["breakthrough", "kuhn_poker"])
def test_encoding_tells_who_is_to_move(name):
    spec = games.load(name)
    state = spec.game.new_initial_state()
    while state.is_chance_node():
        state.apply_action(state.chance_outcomes()[0][0])
    first = spec.encoder.encode(state)
    mover = state.current_player()
    # Play until the other player moves (Go: a pass leaves the board as it is, only the mover changes).
    legal = state.legal_actions()
    state.apply_action(legal[-1])
    assert state.current_player() == 1 - mover
    second = spec.encoder.encode(state)
    assert not np.array_equal(first, second)


def test_go_planes_are_player_relative():
    spec = games.load("go(board_size=5,komi=7.5)")
    enc = spec.encoder
    assert isinstance(enc, GoEncoder) and enc.shape == (10, 5, 5) and enc.dtype == np.uint8
    state = spec.game.new_initial_state()
    state.apply_action(12)  # black plays the centre; white is to move
    x = enc.encode(state)
    assert x[0].sum() == 0 and x[1, 2, 2] == 1  # white's view: the stone is the opponent's
    assert x[8].sum() == 0 and x[9].all()  # white to play; ones plane
    state.apply_action(25)  # white passes; black to move, the white-to-move position is history
    y = enc.step(x, state)
    assert y[0, 2, 2] == 1 and y[1].sum() == 0 and y[8].all()
    assert y[2, 2, 2] == 1 and y[3].sum() == 0  # one position back, from black's view: own stone
    np.testing.assert_array_equal(y, enc.encode(state))


def test_encoder_kinds_and_dtypes():
    assert isinstance(games.load("tic_tac_toe").encoder, BoardEncoder)
    assert games.load("connect_four").encoder.dtype == np.uint8
    assert games.load("hex11").encoder.shape == (10, 11, 11)
    flat = games.load("breakthrough").encoder
    assert isinstance(flat, FlatEncoder) and flat.dtype == np.float32 and len(flat.shape) == 1


def test_encoders_pickle_for_actor_processes():
    spec = games.load("go9")
    enc = pickle.loads(pickle.dumps(spec.encoder))
    state = spec.game.new_initial_state()
    state.apply_action(40)
    np.testing.assert_array_equal(enc.encode(state), spec.encoder.encode(state))


def test_encode_returns_fresh_arrays():
    spec = games.load("hex5")
    state = spec.game.new_initial_state()
    a = spec.encoder.encode(state)
    state.apply_action(3)
    spec.encoder.encode(state)
    assert a[:9].sum() == 25  # still the empty board: not a view of the reused buffer


@pytest.mark.parametrize("name", FAMILIES + ["breakthrough"])
def test_step_batch_matches_step(name):
    """A batch of leaves from different games and depths encodes as each leaf would alone."""
    spec = games.load(name)
    enc = spec.encoder
    rng = np.random.default_rng(1)
    pass_prob = 0.3 if spec.game.get_type().short_name == "go" else 0.0
    parents, states = [], []
    for _ in range(12):
        game = [s for s in playout(spec, rng, pass_prob=pass_prob) if not s.is_terminal()]
        if len(game) < 2:
            continue
        k = int(rng.integers(1, len(game)))
        parents.append(enc.encode(game[k - 1]))
        states.append(game[k])
    batch = enc.step_batch(parents, states)
    assert batch.shape == (len(states), *enc.shape) and batch.dtype == enc.dtype
    np.testing.assert_array_equal(batch, np.stack([enc.step(p, s) for p, s in zip(parents, states)]))
