"""Symmetries: the encoding of the transformed game equals the transformed encoding."""

import numpy as np
import pytest

import games

NAMES = ["tic_tac_toe", "connect_four", "hex5", "go9", "go(board_size=5,komi=7.5)",
         "hex(num_cols=4,num_rows=3)", "hex(board_size=4,plain_obs_tensor=true)"]
EXPECTED = {"tic_tac_toe": 8, "connect_four": 2, "hex5": 2, "go9": 8, "go(board_size=5,komi=7.5)": 8,
            "hex(num_cols=4,num_rows=3)": 2, "hex(board_size=4,plain_obs_tensor=true)": 2}


@pytest.mark.parametrize("name", NAMES)
def test_perm_is_a_permutation_and_identity_first(name):
    spec = games.load(name)
    syms = spec.symmetries
    assert len(syms) == EXPECTED[name]
    assert syms[0].name == "identity"
    np.testing.assert_array_equal(syms[0].perm, np.arange(spec.num_actions))
    assert len({s.name for s in syms}) == len(syms)
    for sym in syms:
        assert sym.perm.dtype == np.int64
        np.testing.assert_array_equal(np.sort(sym.perm), np.arange(spec.num_actions))
    if spec.game.get_type().short_name == "go":
        assert all(s.perm[-1] == spec.num_actions - 1 for s in syms)  # pass is fixed


@pytest.mark.parametrize("name", NAMES)
def test_transformed_game_encodes_as_transformed_encoding(name):
    spec = games.load(name)
    enc = spec.encoder
    rng = np.random.default_rng(1)
    is_go = spec.game.get_type().short_name == "go"
    for sym in spec.symmetries:
        for _ in range(2):
            original = spec.game.new_initial_state()
            mirrored = spec.game.new_initial_state()
            x, y = enc.encode(original), enc.encode(mirrored)
            moves = 0
            while not original.is_terminal() and moves < 40:
                legal = original.legal_actions()
                if is_go and rng.random() < 0.1:
                    action = spec.num_actions - 1
                else:
                    action = int(rng.choice(legal))
                image = sym.action(action)
                assert image in mirrored.legal_actions()
                original.apply_action(action)
                mirrored.apply_action(image)
                moves += 1
                assert original.is_terminal() == mirrored.is_terminal()
                if original.is_terminal():
                    assert original.returns() == mirrored.returns()
                    break
                x, y = enc.step(x, original), enc.step(y, mirrored)
                np.testing.assert_array_equal(sym.obs(x), y)


@pytest.mark.parametrize("name", NAMES)
def test_policy_follows_the_same_map(name):
    spec = games.load(name)
    rng = np.random.default_rng(2)
    policy = rng.random((3, spec.num_actions))
    for sym in spec.symmetries:
        moved = policy[..., sym.perm]
        for a in range(spec.num_actions):
            np.testing.assert_array_equal(moved[:, sym.action(a)], policy[:, a])


def test_obs_works_on_batches():
    spec = games.load("go9")
    state = spec.game.new_initial_state()
    xs = []
    for action in (0, 10, 20, 30):
        state.apply_action(action)
        xs.append(spec.encoder.encode(state))
    batch = np.stack(xs)
    for sym in spec.symmetries:
        out = sym.obs(batch)
        assert out.shape == batch.shape
        for i in range(len(xs)):
            np.testing.assert_array_equal(out[i], sym.obs(xs[i]))


def test_flat_games_have_identity_only():
    spec = games.load("breakthrough")
    assert [s.name for s in spec.symmetries] == ["identity"]
    x = spec.encoder.encode(spec.game.new_initial_state())
    assert spec.symmetries[0].obs(x) is x
