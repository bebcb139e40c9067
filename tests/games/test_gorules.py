"""games/gorules.py: the compiled Go rules agree with OpenSpiel's go on random games."""
import numpy as np
import pyspiel
import pytest

from games import gorules


def _replay(actions, size):
    n = len(actions)
    boards = np.empty((n + 1, size * size), np.int8)
    hashes = np.empty(n + 1, np.uint64)
    ko, passes = gorules.replay(np.asarray(actions, np.int64), gorules.neighbour_table(size),
                                gorules.zobrist_table(size), boards, hashes)
    return boards, hashes, ko, passes


def _random_games(game, count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        state = game.new_initial_state()
        while not state.is_terminal():
            state.apply_action(int(rng.choice(state.legal_actions())))
        yield state


@pytest.mark.parametrize("size,games", [(5, 500), (9, 120)])
def test_boards_and_legal_moves_match_openspiel_at_every_position(size, games):
    game = pyspiel.load_game(f"go(board_size={size},komi=7.5)")
    nbr = gorules.neighbour_table(size)
    points = size * size
    scratch = np.zeros(points, np.int64), np.zeros(1, np.int64), np.empty(points, np.int64)
    checked = surrounded = 0
    for final in _random_games(game, games, seed=size):
        state = game.new_initial_state()
        for action in final.history():
            boards, _, ko, _ = _replay(state.history(), size)
            planes = np.asarray(state.observation_tensor(0)).reshape(4, points)
            np.testing.assert_array_equal(boards[-1], planes[0] * gorules.BLACK + planes[1] * gorules.WHITE)
            mask = np.zeros(points + 1, bool)
            gorules.legal_mask(boards[-1], nbr, ko, 1 + state.current_player(), *scratch, mask)
            want = np.asarray(state.legal_actions_mask(), bool)
            np.testing.assert_array_equal(mask, want)
            # empty points that are not legal: suicide or ko, the cases the kernel must work out
            surrounded += int((boards[-1][:points] == gorules.EMPTY).sum() - want[:points].sum())
            checked += 1
            state.apply_action(action)
    assert checked > 2000 and surrounded > 200


@pytest.mark.parametrize("size", [5, 9])
def test_the_area_score_decides_every_game_as_openspiel_does(size):
    game = pyspiel.load_game(f"go(board_size={size},komi=7.5)")
    nbr = gorules.neighbour_table(size)
    decided = 0
    for state in _random_games(game, 300, seed=1):
        black = state.returns()[0]
        if black == 0:  # komi 7.5 leaves no ties: a draw is a superko (next test)
            continue
        boards, *_ = _replay(state.history(), size)
        assert np.sign(gorules.black_score(boards[-1], nbr, 7.5)) == black
        owners = np.empty(size * size, np.int8)
        gorules.area_owners(boards[-1], nbr, owners)  # the same count, point by point
        assert owners.sum() - 7.5 == gorules.black_score(boards[-1], nbr, 7.5)
        assert np.all(owners[boards[-1] == gorules.BLACK] == 1) and np.all(owners[boards[-1] == gorules.WHITE] == -1)
        decided += 1
    assert decided > 250


def test_a_repeated_position_is_the_superko_that_ends_openspiel_games_drawn():
    game = pyspiel.load_game("go(board_size=5,komi=7.5)")
    size, found = 5, 0
    for state in _random_games(game, 1500, seed=3):
        history = state.history()
        _, hashes, _, _ = _replay(history, size)
        repeat = history[-1] != size * size and hashes[-1] in set(hashes[:-1].tolist())
        assert repeat == (state.returns()[0] == 0)
        found += repeat
    assert found >= 2
