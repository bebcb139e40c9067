"""Encoders: step() agrees with encode() along random playouts; shape, dtype, whose move it is."""

import pickle

import numpy as np
import pytest

import games
from games.encoders import BoardEncoder, FlatEncoder, GoEncoder

FAMILIES = ["tic_tac_toe", "connect_four", "hex5", "go(board_size=5,komi=7.5)", "go9", "go9/liberties"]


def load(name: str):
    """games.load, where NAME/liberties is NAME's Go with the liberty planes."""
    base, _, variant = name.partition("/")
    return games.load(base).with_liberties(variant == "liberties")


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
    spec = load(name)
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
    spec = load(name)
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
    spec = load(name)
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


def _liberties_by_flood(board: np.ndarray, n: int) -> np.ndarray:
    """[3, n*n]: stones whose chain has exactly 1, 2, 3 liberties, by a plain Python flood fill."""
    out = np.zeros((3, n * n), np.uint8)
    for p in np.flatnonzero(board):
        chain, libs, todo = {p}, set(), [p]
        while todo:
            r, c = divmod(todo.pop(), n)
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < n and 0 <= cc < n:
                    q = rr * n + cc
                    if board[q] == 0:
                        libs.add(q)
                    elif board[q] == board[p] and q not in chain:
                        chain.add(q)
                        todo.append(q)
        if len(libs) <= 3:
            out[len(libs) - 1, p] = 1
    return out


def test_liberty_planes_count_each_chains_liberties():
    spec = games.load("go9").with_liberties(True)
    enc, n = spec.encoder, 9
    assert enc.shape == (13, 9, 9) and enc.name == "go-h4-lib3-v1"
    rng = np.random.default_rng(3)
    seen = np.zeros(3, int)
    for state in playout(spec, rng, max_moves=120, pass_prob=0.05)[::7]:
        planes = np.asarray(state.observation_tensor(0)).reshape(4, n * n)
        board = (planes[0] + 2 * planes[1]).astype(int)
        x = enc.encode(state)
        expected = _liberties_by_flood(board, n)
        np.testing.assert_array_equal(x[10:].reshape(3, -1), expected)
        seen += expected.sum(axis=1).astype(int)
    assert (seen > 0).all()  # the playout reached chains in atari, with two and with three liberties
    # The planes before them are the encoding without liberties
    plain = games.load("go9").encoder
    np.testing.assert_array_equal(enc.encode(state)[:10], plain.encode(state))


def test_specs_pick_the_encoder_a_network_reads():
    go9 = games.load("go9")
    lib = go9.with_liberties(True)
    assert go9.for_input((13, 9, 9)).encoder.name == lib.encoder.name
    assert lib.for_input((10, 9, 9)).encoder.name == go9.encoder.name
    assert go9.for_input(None) is go9 and lib.with_liberties(True) is lib
    assert len(lib.symmetries) == 8
    with pytest.raises(games.GameError, match="shape"):
        go9.for_input((7, 9, 9))
    with pytest.raises(games.GameError, match="not Go"):
        games.load("connect_four").with_liberties(True)


def test_liberties_are_refused_for_a_game_that_is_not_go_in_one_line():
    from engine import config as cfg

    for game in ("connect_four", "phantom_go5"):
        with pytest.raises(cfg.ConfigError, match="network.liberties") as refused:
            cfg.resolve(game, {"network": {"liberties": True}})
        assert "\n" not in str(refused.value)
    config = cfg.resolve("go9", {"network": {"liberties": True}})
    assert cfg.game_spec(config).encoder.shape == (13, 9, 9)
    assert cfg.game_spec(cfg.resolve("go9")).encoder.shape == (10, 9, 9)
