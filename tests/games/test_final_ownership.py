"""Tromp–Taylor ownership of Go positions (games/gorules.py `owners`, games/goboard.py `final_ownership`)."""
import numpy as np
import pyspiel

from games import goboard, gorules

B, W, E = gorules.BLACK, gorules.WHITE, gorules.EMPTY


def board_of(rows: list[str]) -> np.ndarray:
    """A board from text rows, top row first (OpenSpiel's row 0 is the bottom): X black, O white."""
    cells = {"X": B, "O": W, ".": E}
    return np.array([cells[c] for row in reversed(rows) for c in row], np.int8)


def grid(owner: np.ndarray, size: int) -> list[str]:
    """Owners as text rows, top row first: b, w, or - for neutral."""
    marks = {1: "b", -1: "w", 0: "-"}
    return ["".join(marks[int(v)] for v in owner[r * size:(r + 1) * size]) for r in reversed(range(size))]


def test_territory_and_neutral_dame() -> None:
    stones = board_of([".X.O.",
                       ".X.O.",
                       ".X.O.",
                       ".X.O.",
                       ".X.O."])
    assert grid(gorules.ownership(stones, 5), 5) == ["bb-ww"] * 5
    assert goboard.area_score(stones, 5, 0.5) == -0.5  # 10 points each, less komi


def test_dead_stones_count_as_alive_and_spoil_the_region_they_touch() -> None:
    # White's stone inside Black's area stays White's, and Black's empty points around it become
    # neutral: Tromp–Taylor has no dead stones (they are captured by playing on, not by agreement).
    stones = board_of(["..X..",
                       "..X..",
                       "O.X..",
                       "..XXX",
                       "....."])
    assert grid(gorules.ownership(stones, 5), 5) == ["--bbb",
                                                     "--bbb",
                                                     "w-bbb",
                                                     "--bbb",
                                                     "-----"]


def test_an_empty_board_and_a_one_colour_board() -> None:
    assert not gorules.ownership(np.zeros(81, np.int8), 9).any()
    lone = np.zeros(81, np.int8)
    lone[40] = W
    assert (gorules.ownership(lone, 9) == -1).all()


def test_the_ownership_sums_to_the_area_score_on_random_boards() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        stones = rng.choice(np.array([E, B, W], np.int8), size=49, p=[0.6, 0.2, 0.2])
        assert gorules.ownership(stones, 7).sum() - 7.5 == gorules.area_score(stones, 7, 7.5)


def test_final_ownership_of_a_finished_openspiel_game() -> None:
    game = pyspiel.load_game("go(board_size=5,komi=0.5)")
    state = game.new_initial_state()
    black, white = [1, 6, 11, 16, 21], [3, 8, 13, 18, 23]  # the walls of the first test
    for action in goboard.setup_actions(black, white, 0, 5):
        state.apply_action(action)
    assert goboard.final_ownership(state) is None  # not finished
    state.apply_action(25)
    state.apply_action(25)
    owner, margin = goboard.final_ownership(state)
    assert owner.dtype == np.int8 and grid(owner, 5) == ["bb-ww"] * 5
    assert margin == -0.5 and state.returns()[0] == -1
