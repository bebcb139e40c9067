"""games/goboard.py's setup stones: GTP's fixed handicap points, and stones played as moves that leave
the very position OpenSpiel's own handicap sets up."""
from itertools import pairwise

import numpy as np
import pyspiel
import pytest

import games
from games import goboard
from games.notation import go_action, go_vertex

# GNU Go 3.8's `fixed_handicap` answers (the GTP spec's table), as sets: GNU Go lists them by row.
GNUGO = {(9, 5): "C7 G7 E5 C3 G3", (9, 9): "C7 E7 G7 C5 E5 G5 C3 E3 G3", (13, 6): "D10 K10 D7 K7 D4 K4",
         (19, 3): "D16 Q16 D4", (19, 7): "D16 Q16 D10 K10 Q10 D4 Q4", (19, 8): "D16 K16 Q16 D10 Q10 D4 K4 Q4",
         (8, 4): "C6 F6 C3 F3", (7, 4): "C5 E5 C3 E3", (10, 2): "H8 C3"}


def test_fixed_handicap_is_gtps_table():
    for (size, stones), expected in GNUGO.items():
        assert {go_vertex(p, size) for p in goboard.fixed_handicap(size, stones)} == set(expected.split())
    assert [go_vertex(p, 19) for p in goboard.fixed_handicap(19, 4)] == ["D4", "Q16", "D16", "Q4"]  # the spec's order
    for size, stones in ((9, 1), (9, 10), (8, 5), (7, 5), (6, 2), (19, 0)):
        assert goboard.fixed_handicap(size, stones) == []


@pytest.mark.parametrize("stones", [2, 5, 9])
def test_handicap_as_moves_plays_on_exactly_as_openspiels_handicap(stones):
    """Same board, player and legal moves at every position of a random game, and the same end."""
    theirs = pyspiel.load_game(f"go(board_size=19,komi=0.5,handicap={stones})").new_initial_state()
    setup = goboard.setup_actions(goboard.fixed_handicap(19, stones), [], 1, 19)
    assert len(setup) == 2 * stones - 1
    ours = games.load(goboard.game_string(19, 0.5, len(setup))).game.new_initial_state()
    for action in setup:
        ours.apply_action(action)
    rng = np.random.default_rng(stones)
    while True:
        assert np.array_equal(goboard.board(ours), goboard.board(theirs))
        assert ours.is_terminal() == theirs.is_terminal()
        if theirs.is_terminal():
            break
        assert ours.current_player() == theirs.current_player() and ours.legal_actions() == theirs.legal_actions()
        action = int(rng.choice(theirs.legal_actions()))
        ours.apply_action(action)
        theirs.apply_action(action)
    assert len(theirs.history()) == theirs.get_game().max_game_length() or theirs.history()[-2:] == [361, 361]


def test_setup_stones_of_both_colours_and_what_cannot_be_set_up():
    def points(vertices: str) -> list[int]:
        return [go_action(v, 9) for v in vertices.split()]

    black, white = points("C3 G7 D4"), points("E5")
    for to_play in (0, 1):
        actions = goboard.setup_actions(black, white, to_play, 9)
        state = games.load(goboard.game_string(9, 7.5, len(actions))).game.new_initial_state()
        for action in actions:
            state.apply_action(action)
        assert state.current_player() == to_play and actions[-1] != 81
        assert all(a != 81 or b != 81 for a, b in pairwise(actions))  # never two passes in a row
        placed = goboard.setup_stones(actions, len(actions), 9)
        assert sorted(placed[0]) == sorted(black) and placed[1] == white
    with pytest.raises(ValueError, match="needs a W setup stone"):
        goboard.setup_actions(black, [], 0, 9)  # Black to play after Black's stones: a pass would come last
    with pytest.raises(ValueError, match="capture each other"):
        goboard.setup_actions(points("A1"), points("B1 A2"), 0, 9)
    assert goboard.setup_actions([], [], 0, 9) == []
