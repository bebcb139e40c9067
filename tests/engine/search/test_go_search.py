"""engine/search/go.py: Go's array-backed search is the same search as BatchedMCTS over OpenSpiel states."""
import dataclasses

import numpy as np
import pytest

import games
from engine.config import SearchConfig
from engine.search.go import GoSearch
from engine.search import BatchedMCTS, make_search


def _pair(make_evaluator, spec, config, trees, capacity=None):
    evaluator = make_evaluator(spec)
    return [cls(spec.encoder, spec.num_actions, evaluator, config, trees, np.random.default_rng(1), capacity)
            for cls in (BatchedMCTS, GoSearch)]


@pytest.mark.parametrize("search, liberties", [
    (dict(simulations=40), False), (dict(simulations=40, leaves_per_tree=4), False),
    (dict(simulations=30, reuse_tree=False), False), (dict(simulations=16, root="gumbel"), False),
    (dict(simulations=40), True)])
def test_both_searches_visit_alike_move_after_move_through_whole_games(search, liberties, make_evaluator):
    spec = games.load("go(board_size=5,komi=0.5)").with_liberties(liberties)
    config = dataclasses.replace(SearchConfig(), **search)
    trees = 6
    # A small capacity makes trees compact often; reuse carries subtrees (and their history) on.
    pair = _pair(make_evaluator, spec, config, trees, capacity=50)
    for m in pair:
        for t in range(trees):
            m.reset(t, spec.game.new_initial_state())
    rng = np.random.default_rng(5)
    finished = 0
    for _ in range(60):
        for m in pair:
            m.search(np.arange(trees), config.simulations, noise=True)
        ours = pair[1]
        for t in range(trees):
            visits = pair[0].visit_counts(t)
            np.testing.assert_array_equal(ours.visit_counts(t), visits)
            np.testing.assert_array_equal(ours.root_x(t), spec.encoder.encode(ours.root_state(t)))
            action = int(rng.choice(spec.num_actions, p=visits / visits.sum()))
            for m in pair:
                m.advance(t, action)
            if ours.root_state(t).is_terminal():
                finished += 1
                for m in pair:
                    m.reset(t, spec.game.new_initial_state())
    assert finished >= 3


def test_terminal_leaves_get_openspiels_returns(make_evaluator):
    """Roots just after a pass: the search's pass child ends the game, scored in compiled code."""
    spec = games.load("go(board_size=5,komi=0.5)")
    config = dataclasses.replace(SearchConfig(), simulations=60)
    trees = 16
    pair = _pair(make_evaluator, spec, config, trees)
    rng = np.random.default_rng(2)
    for t in range(trees):
        state = spec.game.new_initial_state()
        for _ in range(int(rng.integers(4, 30))):
            state.apply_action(int(rng.choice(state.legal_actions()[:-1])))  # stones only: no game ends yet
        state.apply_action(25)  # pass
        for m in pair:
            m.reset(t, state.clone())
    for m in pair:
        m.search(np.arange(trees), config.simulations)
    base, ours = pair
    ended = ours.terminal & (np.arange(ours.capacity)[None] < ours.count[:, None])
    assert ended.sum() >= 10
    np.testing.assert_array_equal(ended, base.terminal & (np.arange(base.capacity)[None] < base.count[:, None]))
    np.testing.assert_array_equal(ours.value[ended], base.value[ended])
    assert set(np.unique(ours.value[ended])) <= {-1.0, 1.0} and len(np.unique(ours.value[ended])) == 2


def test_the_search_is_chosen_by_game(make_evaluator):
    config = SearchConfig()
    go9, c4 = games.load("go9"), games.load("connect_four")
    evaluator = make_evaluator(go9)
    rng = np.random.default_rng(0)
    assert type(make_search(go9.encoder, go9.num_actions, evaluator, config, 1, rng)) is GoSearch
    # Handicap stones change the score, and the win check asks OpenSpiel: both keep OpenSpiel's states.
    # (OpenSpiel places handicap stones at 19x19 points, so only go19 takes them: games.load refuses go9's.)
    handicap = games.load("go(board_size=19,handicap=3)")
    assert type(make_search(handicap.encoder, handicap.num_actions, make_evaluator(handicap), config, 1, rng)) \
        is BatchedMCTS
    checked = dataclasses.replace(config, win_check=True)
    assert type(make_search(go9.encoder, go9.num_actions, evaluator, checked, 1, rng)) is BatchedMCTS
    assert type(make_search(c4.encoder, c4.num_actions, make_evaluator(c4), config, 1, rng)) is BatchedMCTS
