"""games.notation, games.goboard and games.render: move names, Go positions, boards."""
from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console

import games
from games import goboard
from games.notation import NotationError, format_action, go_action, go_vertex, parse_action
from games.render import render

GO5 = games.load("go(board_size=5,komi=0.5)")


def refusal(spec, state, text: str) -> str:
    with pytest.raises(NotationError) as exc:
        parse_action(spec, state, text)
    msg = str(exc.value)
    assert msg and "\n" not in msg, f"not one line: {msg!r}"
    return msg


# A ko: Black D3 has just taken the white stone on C3; White may not retake at once.
KO = ["c4", "d4", "b3", "e3", "c2", "d2", "a1", "c3", "d3"]


# ---- Go vertices ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 9, 13, 19])
def test_go_vertices_name_every_point_as_openspiel_does(size):
    spec = games.load(f"go(board_size={size},komi=7.5)")
    state = spec.game.new_initial_state()
    for action in state.legal_actions():
        vertex = go_vertex(action, size)
        # OpenSpiel prints "B d4" and "B PASS": the same letters (no i), lower case.
        assert state.action_to_string(0, action) == f"B {vertex.lower() if action < size * size else 'PASS'}"
        assert go_action(vertex, size) == action
        assert go_action(vertex.lower(), size) == action
    assert "I" not in "".join(go_vertex(a, size) for a in range(size * size))


def test_go_vertex_examples_and_refusals():
    assert (go_vertex(0, 9), go_vertex(8, 9), go_vertex(80, 9), go_vertex(81, 9)) == ("A1", "J1", "J9", "pass")
    assert go_action("D4", 19) == 3 * 19 + 3
    assert go_action("PASS", 9) == go_action(" pass ", 9) == 81
    for bad, words in [("I5", "off the 9x9 board"), ("K1", "off the 9x9 board"), ("A10", "off the 9x9 board"),
                       ("A0", "off the 9x9 board"), ("D", "expected a point like D4"), ("44", "expected a point"),
                       ("resign", "expected a point"), ("", "expected a point")]:
        with pytest.raises(NotationError, match=words):
            go_action(bad, 9)
    with pytest.raises(NotationError):
        go_vertex(82, 9)


# ---- parse and print round trips --------------------------------------------------------------


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four", "hex5", "hex11", "go9", "breakthrough",
                                  "leduc_poker", "kuhn_poker", "leduc_poker3", "holdem_limit", "liars_dice",
                                  "phantom_go5", "dark_hex"])
def test_every_legal_move_prints_and_parses_back_along_a_game(name):
    spec = games.load(name)
    rng = np.random.default_rng(0)
    state = spec.game.new_initial_state()
    checked = 0
    while not state.is_terminal() and checked < 200:
        if state.is_chance_node():
            state.apply_action(state.legal_actions()[0])
            continue
        for action in state.legal_actions():
            text = format_action(spec, state, action)
            assert parse_action(spec, state, text) == action, (text, action)
            checked += 1
        state.apply_action(int(rng.choice(state.legal_actions())))
    assert checked > 0


def test_hex_cells_match_openspiel_names_and_rows_count_from_the_top():
    spec = games.load("hex5")
    state = spec.game.new_initial_state()
    for action in range(25):
        assert format_action(spec, state, action) == state.action_to_string(0, action)
    state.apply_action(parse_action(spec, state, "C1"))  # upper case accepted
    assert str(state).splitlines()[0].split()[2] == "x"


def test_tic_tac_toe_cells_and_numbers_name_the_same_cell():
    spec = games.load("tic_tac_toe")
    state = spec.game.new_initial_state()
    assert [parse_action(spec, state, t) for t in ("a1", "c1", "b2", "a3", "C3")] == [0, 2, 4, 6, 8]
    assert [parse_action(spec, state, str(n)) for n in range(1, 10)] == list(range(9))
    state.apply_action(4)
    assert "occupied" in refusal(spec, state, "b2") and "occupied" in refusal(spec, state, "5")
    assert "expected a cell a1-c3" in refusal(spec, state, "d1")
    assert "expected a cell a1-c3 or 1-9" in refusal(spec, state, "0")


def test_connect_four_columns_and_a_full_column(play):
    spec = games.load("connect_four")
    state = play(spec, ["4"] * 6)
    assert refusal(spec, state, "4") == "illegal move 4: column 4 is full"
    assert refusal(spec, state, "8") == "expected a column 1-7, not '8'"
    assert "expected a column 1-7" in refusal(spec, state, "d")
    assert parse_action(spec, state, " 7 ") == 6


def test_go_refusals_say_why(play):
    state = play(GO5, KO)
    assert refusal(GO5, state, "d3") == "illegal move D3: occupied"
    assert refusal(GO5, state, "C3").startswith("illegal move C3: ko")
    assert "off the 5x5 board" in refusal(GO5, state, "f1")
    assert "expected a point like D4" in refusal(GO5, state, "hello")
    # White in the corner A1 against Black A2 and B1 would have no liberty and take nothing.
    corner = play(GO5, ["a2", "e5", "b1"])
    assert refusal(GO5, corner, "a1") == "illegal move A1: suicide"
    finished = play(GO5, ["pass", "pass"])
    assert refusal(GO5, finished, "c3") == "the game is over"


def dealt(name: str, cards: list[int] | None = None) -> tuple:
    """A poker or dice game after its deal (the given chance outcomes, else the first ones)."""
    spec = games.load(name)
    state = spec.game.new_initial_state()
    for card in cards or []:
        state.apply_action(card)
    while state.is_chance_node():
        state.apply_action(state.legal_actions()[0])
    return spec, state


def test_poker_takes_players_words_openspiel_names_and_numbers():
    spec, state = dealt("leduc_poker")
    # Nothing to call yet: OpenSpiel's Call is a check and its Raise a bet.
    assert parse_action(spec, state, "check") == parse_action(spec, state, "CALL") == 1
    assert parse_action(spec, state, "bet") == parse_action(spec, state, "Raise") == parse_action(spec, state, "2") == 2
    assert [format_action(spec, state, a) for a in state.legal_actions()] == ["check", "bet"]
    assert refusal(spec, state, "fold").startswith("nothing to call, no need to fold: type check or bet")
    state.apply_action(2)  # a bet: now the words change
    assert [format_action(spec, state, a) for a in state.legal_actions()] == ["fold", "call", "raise"]
    assert refusal(spec, state, "check").startswith("there is a bet to call: type fold, call or raise")
    assert "not 'shove'" in refusal(spec, state, "shove")
    kuhn, state = dealt("kuhn_poker")
    assert [format_action(kuhn, state, a) for a in state.legal_actions()] == ["check", "bet"]
    state.apply_action(parse_action(kuhn, state, "bet"))
    assert [format_action(kuhn, state, a) for a in state.legal_actions()] == ["fold", "call"]
    assert parse_action(kuhn, state, "call") == 1 and parse_action(kuhn, state, "Pass") == 0


def test_holdem_words_preflop_treat_the_big_blind_as_the_bet():
    spec, state = dealt("holdem_limit")
    assert state.current_player() == 1  # the small blind acts first preflop
    assert [format_action(spec, state, a) for a in state.legal_actions()] == ["fold", "call", "raise"]
    state.apply_action(parse_action(spec, state, "call"))
    assert [format_action(spec, state, a) for a in state.legal_actions()] == ["check", "raise"]
    from games import poker
    view = poker.table(state, 0)
    assert view.pot == 20 and [s.chips_in for s in view.seats] == [10, 10] and view.seats[1].cards is None
    assert view.seats[0].stack == 1190 and len(view.seats[0].cards) == 2


def test_liars_dice_bids():
    spec, state = dealt("liars_dice", [1, 4])  # dice 2 and 5
    assert parse_action(spec, state, "2-5") == parse_action(spec, state, "2 5") == parse_action(spec, state, "2x5")
    assert state.action_to_string(0, parse_action(spec, state, "2-5")) == "2-5"
    assert refusal(spec, state, "liar").startswith("there is no bid to call liar on yet")
    assert "expected a bid like 2-5" in refusal(spec, state, "five fives")
    assert "is no bid: quantity 1-2" in refusal(spec, state, "3-5")
    assert "face 1-6" in refusal(spec, state, "1-7")
    state.apply_action(parse_action(spec, state, "2-5"))
    assert refusal(spec, state, "1-6") == "1-6 does not raise the last bid: bid 2-6, or liar"
    assert format_action(spec, state, parse_action(spec, state, "LIAR")) == "liar"


def test_phantom_go_refuses_only_what_the_player_sees():
    spec = games.load("phantom_go5")
    state = spec.game.new_initial_state()
    state.apply_action(parse_action(spec, state, "c3"))  # Black's stone: White cannot see it
    assert parse_action(spec, state, "C3") == go_action("C3", 5)  # for White the point looks empty
    state.apply_action(go_action("C3", 5))
    assert state.current_player() == 1  # the game refused it: White moves again, and now sees the stone
    assert refusal(spec, state, "c3") == "illegal move C3: occupied (you can see the stone there)"
    assert "off the 5x5 board" in refusal(spec, state, "f1")


def test_dark_hex_cells_as_in_hex():
    spec = games.load("dark_hex")
    state = spec.game.new_initial_state()
    assert format_action(spec, state, 5) == "b2" == state.action_to_string(0, 5)
    state.apply_action(parse_action(spec, state, "B2"))
    state.apply_action(parse_action(spec, state, "b2"))  # o cannot see x's stone: refused, o again
    assert state.current_player() == 1
    assert refusal(spec, state, "b2") == "illegal move b2: occupied (you can see the stone there)"


# ---- Go positions --------------------------------------------------------------------------------


def test_go_position_counts_captures_and_finds_the_ko(play):
    state = play(GO5, KO)
    pos = goboard.position(state)
    assert pos.captures == (1, 0)
    assert pos.ko == go_action("C3", 5)
    state.apply_action(go_action("E1", 5))  # White plays elsewhere: the ko is over
    assert goboard.position(state).ko is None


def test_area_score_agrees_with_openspiel_on_random_games():
    rng = np.random.default_rng(1)
    margins = set()
    for _ in range(40):
        state = GO5.game.new_initial_state()
        while not state.is_terminal():
            state.apply_action(int(rng.choice(state.legal_actions())))
        pos = goboard.position(state)
        margin = goboard.area_score(pos.board, pos.size, pos.komi)
        assert np.sign(margin) == np.sign(state.returns()[0]), (margin, state.returns(), str(state))
        margins.add(np.sign(margin))
        assert goboard.result_string(state).startswith("B+" if margin > 0 else "W+")
    assert margins == {-1.0, 1.0}  # both sides won some: the check saw both signs


# ---- rendering ---------------------------------------------------------------------------------


def shown(spec, state, viewer=None, styles=False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=styles, color_system="standard" if styles else None)
    console.print(render(spec, state, viewer))
    return out.getvalue()


def test_go_board_has_coordinates_stones_captures_and_ko(play):
    text = shown(GO5, play(GO5, KO))
    assert "A B C D E" in text
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r"│\s+(\d) (.*?) \1", text)}
    assert rows[3] == "· ● □ ● ○" and rows[1] == "● · · · ·"
    assert "captures: Black 1, White 0" in text and "ko at C3" in text
    assert "last: Black D3" in text and "White to move" in text


def test_the_last_move_is_highlighted(play):
    state = play(GO5, ["c3", "d4"])
    text = shown(GO5, state, styles=True)
    assert re.search(r"\x1b\[[0-9;]*7m○", text), "White's D4 is not drawn inverted"
    assert not re.search(r"\x1b\[[0-9;]*7m●", text), "Black's stone is inverted too"
    assert "last: White pass" in shown(GO5, play(GO5, ["c3", "pass"]))


def test_connect_four_hex_and_tic_tac_toe_boards(play):
    c4 = games.load("connect_four")
    text = shown(c4, play(c4, ["4", "4", "3"]))
    assert "1 2 3 4 5 6 7" in text and "last: x 3" in text
    assert re.search(r"│ · · X X · · · │", text)
    hex5 = games.load("hex5")
    lines = [l for l in shown(hex5, play(hex5, ["c3", "a1"])).splitlines() if re.search(r"\d  [·XO]", l)]
    assert len(lines) == 5
    indents = [len(l) - len(l.lstrip("│ ")) for l in lines]
    assert indents == sorted(indents) and indents[-1] - indents[0] == 4  # a rhombus: one step a row
    ttt = games.load("tic_tac_toe")
    text = shown(ttt, play(ttt, ["b2", "a1"]))
    assert "a b c" in text and re.search(r"1  O · ·", text) and re.search(r"2  · X ·", text)


def test_hidden_information_shows_only_the_viewers_side():
    spec, state = dealt("kuhn_poker", [0, 2])  # player 0 holds the jack, player 1 the king
    mine = shown(spec, state, viewer=0)
    assert re.search(r"player 0 \(you\)\s+J ", mine) and re.search(r"player 1\s+\?\? ", mine)
    assert " K " not in mine
    both = shown(spec, state)
    assert re.search(r"player 0\s+J ", both) and re.search(r"player 1\s+K ", both)
    state.apply_action(1)
    state.apply_action(0)  # a bet and a fold: the hand is over and everything shows
    over = shown(spec, state, viewer=0)
    assert re.search(r"player 1\s+K ", over) and "betting: you bet, player 1 fold" in over
    assert re.search(r"player 0 \(you\)\s+J\s+2\s+\+1", over)


def test_leduc_view_names_cards_board_pot_and_betting():
    spec, state = dealt("leduc_poker", [5, 0])  # player 0 K♥, player 1 J♠
    state.apply_action(2)  # bet
    state.apply_action(1)  # call
    state.apply_action(3)  # the board: Q♥
    mine = shown(spec, state, viewer=1)
    assert "board Q♥ · pot 6 · round 2" in mine and "J♠" in mine and "K♥" not in mine
    assert "round 1: player 0 bet, you call" in mine
    assert "K♥" in shown(spec, state) and "J♠" in shown(spec, state)


def test_phantom_go_view_hides_the_opponents_stones_until_the_end():
    spec = games.load("phantom_go5")
    state = spec.game.new_initial_state()
    for move in ["c3", "d4"]:  # Black C3, White D4
        state.apply_action(parse_action(spec, state, move))
    black = shown(spec, state, viewer=0)
    assert black.count("●") == 1 and "○" not in black and "your view" in black
    assert "D4" not in black  # the status line names no move
    truth = shown(spec, state)
    assert truth.count("●") == 1 and truth.count("○") == 1 and "last: White D4" in truth
