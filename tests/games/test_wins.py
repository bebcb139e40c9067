"""games/wins.py: the compiled win scan agrees with OpenSpiel's own rules on random positions."""
import numpy as np
import pyspiel
import pytest

from games.encoders import BoardEncoder, GoEncoder
from games.wins import child_wins


def _random_positions(game: pyspiel.Game, count: int, seed: int) -> list[pyspiel.State]:
    rng = np.random.default_rng(seed)
    positions = []
    while len(positions) < count:
        state = game.new_initial_state()
        while not state.is_terminal():
            positions.append(state.clone())
            state.apply_action(int(rng.choice(state.legal_actions())))
    return positions[:count]


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four", "connect_four(rows=5,columns=6,x_in_row=3)"])
def test_the_scan_finds_exactly_the_moves_that_win_at_once(name):
    game = pyspiel.load_game(name)
    encoder = BoardEncoder(game)
    states = _random_positions(game, 3000, seed=7)
    x = np.stack([encoder.encode(s) for s in states])
    got = encoder.winning_moves(x)
    want = np.stack([child_wins(s, game.num_distinct_actions()) for s in states])
    assert want.any(1).sum() > 100  # the sample holds plenty of positions with a win on the board
    np.testing.assert_array_equal(got, want)


def test_games_without_a_line_rule_leave_the_answer_to_openspiel():
    for name in ["hex(board_size=5)", "go(board_size=5)"]:
        game = pyspiel.load_game(name)
        encoder = GoEncoder(game) if name.startswith("go") else BoardEncoder(game)
        assert encoder.winning_moves(encoder.encode(game.new_initial_state())[None]) is None
