"""games/territory.py: dead stones, seki and the count with them off, from hand-built ownership maps
and from the rollout estimate, on hand-built 9x9 positions."""
import time

import numpy as np
import pyspiel
import pytest

from games import goboard, territory
from games.gorules import BLACK, EMPTY, WHITE
from games.notation import go_action, go_vertex

SIZE, KOMI = 9, 7.5
# Black's wall on D, White's on E, and a black stone at G5 in White's area.
WALLS = ([f"D{r}" for r in range(1, 10)] + ["G5"], [f"E{r}" for r in range(1, 10)])
# A seki in the lower left: Black's B1 A2 B2 C2 (an eye at A1) and White's D1 D2 E2 F2 F1 (an eye at
# E1) share one liberty, C1; either filling it puts its own chain in atari. Walls around both.
SEKI = (["B1", "A2", "B2", "C2"] + [f"D{r}" for r in range(3, 10)] + ["E3", "F3", "G3", "G2", "G1"],
        ["D1", "D2", "E2", "F2", "F1", "A3", "B3"] + [f"C{r}" for r in range(3, 10)])


def points(vertices) -> list[int]:
    return [go_action(v, SIZE) for v in vertices]


def board_of(black, white) -> np.ndarray:
    board = np.full(SIZE * SIZE, EMPTY, np.int8)
    board[points(black)], board[points(white)] = BLACK, WHITE
    return board


def state_of(black, white) -> pyspiel.State:
    """The position with these stones, played as moves (games.goboard's setup stones)."""
    game = pyspiel.load_game(goboard.game_string(SIZE, KOMI, 2 * max(len(black), len(white))))
    state = game.new_initial_state()
    for action in goboard.setup_actions(points(black), points(white), 0, SIZE):
        state.apply_action(action)
    return state


def columns_map(black_columns: str) -> np.ndarray:
    """+1 on the columns named, -1 on the others."""
    return np.array([1.0 if "ABCDEFGHJ"[p % SIZE] in black_columns else -1.0 for p in range(SIZE * SIZE)])


def vertices(chains: list[list[int]]) -> list[set[str]]:
    return [{go_vertex(p, SIZE) for p in chain} for chain in chains]


def test_a_stone_the_map_gives_to_the_other_colour_is_dead_and_its_point_counts_for_it():
    board = board_of(*WALLS)
    judged = territory.judge(board, SIZE, KOMI, columns_map("ABCD"))
    assert vertices(judged.chains("dead")) == [{"G5"}]
    assert vertices(judged.chains("alive")) == [{f"D{r}" for r in range(1, 10)}, {f"E{r}" for r in range(1, 10)}]
    assert judged.chains("seki") == []
    assert judged.result == "W+16.5"  # 36 points against 45, komi 7.5
    assert goboard.margin_string(goboard.area_score(board, SIZE, KOMI)) == "B+20.5"  # Tromp–Taylor: G5 alive
    assert go_action("G5", SIZE) in judged.territory(WHITE) and len(judged.territory(WHITE)) == 36
    assert len(judged.territory(BLACK)) == 27


def test_a_stone_the_map_leaves_to_its_colour_stays_and_the_count_is_tromp_taylors():
    owned = columns_map("ABCD")
    owned[go_action("G5", SIZE)] = 0.2  # unclear, leaning Black's way
    judged = territory.judge(board_of(*WALLS), SIZE, KOMI, owned)
    assert not judged.dead.any() and judged.result == "B+20.5"
    with pytest.raises(ValueError, match="81"):
        territory.judge(board_of(*WALLS), SIZE, KOMI, np.zeros(80))


def seki_map() -> np.ndarray:
    owned = columns_map("DEFGHJ")
    for colour, stones in ((1.0, SEKI[0] + ["A1"]), (-1.0, SEKI[1] + ["E1"] + [f"{c}{r}" for c in "AB" for r in range(4, 10)])):
        owned[points(stones)] = colour
    owned[go_action("C1", SIZE)] = 0.0
    return owned


def test_seki_chains_share_a_liberty_nobody_can_fill_and_it_counts_for_nobody():
    judged = territory.judge(board_of(*SEKI), SIZE, KOMI, seki_map())
    assert vertices(judged.chains("seki")) == [{"B1", "A2", "B2", "C2"}, {"D1", "D2", "E2", "F2", "F1"}]
    assert not judged.dead.any() and len(judged.chains("alive")) == 2
    assert judged.area[go_action("C1", SIZE)] == 0 and judged.area[go_action("A1", SIZE)] == 1
    assert judged.result == "B+18.5"  # 53 - 27, komi 7.5: the eyes count for their owners (area counting)
    owned = seki_map()
    owned[go_action("C1", SIZE)] = 0.9  # a map sure the point is Black's: no seki there
    assert not territory.judge(board_of(*SEKI), SIZE, KOMI, owned).seki.any()


def test_dame_between_two_living_walls_is_no_seki():
    board = board_of([f"D{r}" for r in range(1, 10)], [f"F{r}" for r in range(1, 10)])
    owned = columns_map("ABCD")
    owned[points([f"E{r}" for r in range(1, 10)])] = 0.0
    judged = territory.judge(board, SIZE, KOMI, owned)
    assert not judged.seki.any() and not judged.dead.any()
    assert judged.result == "W+7.5"  # 36 each; column E reaches both


def test_the_rollout_estimate_finds_the_dead_stone_and_the_seki():
    walls = territory.of_state(state_of(*WALLS))
    assert vertices(walls.chains("dead")) == [{"G5"}] and walls.result == "W+16.5"
    assert walls.source == f"{territory.PLAYOUTS} random playouts"
    assert walls.ownership[go_action("G5", SIZE)] < 0 < walls.ownership[go_action("A1", SIZE)]
    seki = territory.of_state(state_of(*SEKI))
    assert vertices(seki.chains("seki")) == [{"B1", "A2", "B2", "C2"}, {"D1", "D2", "E2", "F2", "F1"}]
    assert seki.result == "B+18.5"


def test_the_rollout_estimate_is_seeded_and_fast():
    board = board_of(*WALLS)
    first = territory.rollout_ownership(board, SIZE, WHITE, seed=4)
    assert np.array_equal(first, territory.rollout_ownership(board, SIZE, WHITE, seed=4))
    assert not np.array_equal(first, territory.rollout_ownership(board, SIZE, WHITE, seed=5))
    assert np.all(np.abs(first) <= 1)
    started = time.process_time()  # CPU time: other processes on the host do not count
    territory.rollout_ownership(np.zeros(SIZE * SIZE, np.int8), SIZE, BLACK, playouts=100)
    assert time.process_time() - started < 0.5, "100 playouts of a whole 9x9 game took half a second"
