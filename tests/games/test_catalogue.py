"""Catalogue: presets, overrides, raw strings, one-line errors and the learner verdict."""

import pyspiel
import numpy as np
import pytest

import games
from games.catalogue import require_alphazero, require_learner


@pytest.mark.parametrize("preset", games.presets(), ids=lambda p: p.name)
def test_every_preset_loads(preset):
    spec = games.load(preset.name)
    assert spec.preset is preset
    assert spec.game_string == str(pyspiel.load_game(preset.game_string)).removesuffix("()")
    assert spec.game.get_type().short_name == preset.family
    assert spec.num_actions == spec.game.num_distinct_actions()
    assert spec.num_players == spec.game.num_players() in (2, 3)
    assert spec.learner == ("alphazero" if spec.perfect_information else "mmd") and spec.learner_problem is None
    assert spec.symmetries[0].name == "identity"


def test_required_presets_exist():
    names = {p.name for p in games.presets()}
    assert {"tic_tac_toe", "connect_four", "hex5", "hex11", "go9", "go13", "go19"} <= names
    assert {"kuhn_poker", "leduc_poker", "leduc_poker3", "holdem_limit", "liars_dice", "phantom_go5", "phantom_go9",
            "dark_hex"} <= names
    assert games.load("leduc_poker3").num_players == 3
    assert games.load("go9").game.get_parameters()["komi"] == 7.5


@pytest.mark.parametrize("name", ["go(board_size=7,komi=5.5)", "breakthrough", "hex(board_size=3)"])
def test_raw_openspiel_strings_load(name):
    spec = games.load(name)
    assert spec.preset is None
    assert spec.name == name
    assert pyspiel.load_game(spec.game_string).num_distinct_actions() == spec.num_actions


def test_overrides_merge_into_the_preset():
    spec = games.load("go9(komi=6.5)")
    params = spec.game.get_parameters()
    assert params["komi"] == 6.5 and params["board_size"] == 9
    assert spec.preset.name == "go9"
    # An integer komi is accepted although OpenSpiel declares a float.
    assert games.load("go9(komi=6)").game.get_parameters()["komi"] == 6.0
    assert games.load("go9( komi = 6.5 )") is spec  # whitespace-insensitive, cached


def test_load_is_cached():
    assert games.load("hex5") is games.load("hex5")


@pytest.mark.parametrize("form", ["go9", "go(board_size=9,komi=7.5)", "go(komi=7.5,board_size=9)",
                                  "PYSPIEL go(board_size=9)", "PYSPIEL go(komi=7.5,board_size=9,handicap=0)"])
def test_every_form_of_a_preset_game_is_the_preset(form):
    """A pyspiel.Game equal to a preset, parameter for parameter, is that preset (its settings and
    encoder); strings name it whatever the order of their parameters."""
    game = pyspiel.load_game(form.split()[1]) if form.startswith("PYSPIEL") else form
    spec = games.load(game)
    assert spec.game_string == "go(board_size=9,komi=7.5)"
    assert games.same_game(spec, "go9") and games.same_game(game, games.load("go9").game)
    if not isinstance(game, str) or game == "go9":
        assert spec is games.load("go9")


def test_other_pyspiel_games_keep_their_own_game():
    game = pyspiel.load_game("go(board_size=7,komi=5.5)")
    spec = games.load(game)
    assert spec.preset is None and spec.game is game and spec.game_string == "go(board_size=7,komi=5.5)"
    assert spec.num_actions == 50 and spec.encoder.shape[1:] == (7, 7)
    assert games.load(spec) is spec  # a GameSpec is taken as it is
    assert not games.same_game(game, "go9")
    with pytest.raises(games.GameError, match="pyspiel.Game") as info:
        games.load(9)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, fragment", [
    ("conect_four", "did you mean 'connect_four'"),
    ("go9(komi=", "parentheses"),
    ("go9(komi)", "key=value"),
    ("go9(komi=)", "key=value"),
    ("go9)", "key=value"),
    ("go9(bogus=1)", "no parameter 'bogus'"),
    ("go9(board_size=x)", "must be an integer"),
    ("", "arena games"),
    ("efg_game", "cannot load"),
    ("connect_four(rows=0)", "rows must be at least 1"),  # OpenSpiel itself segfaults on it
    ("connect_four(columns=0)", "columns must be at least 1"),
    ("hex(board_size=0)", "board_size must be at least 1"),
])
def test_bad_names_raise_one_line_game_errors(name, fragment):
    with pytest.raises(games.GameError) as info:
        games.load(name)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_imperfect_information_goes_to_mmd_and_never_to_search():
    for name in ("kuhn_poker", "leduc_poker3", "phantom_go5", "dark_hex", "holdem_limit"):
        spec = games.load(name)
        assert spec.learner == "mmd" and spec.learner_problem is None
        assert spec.encoder.name == "infostate-v1" and len(spec.encoder.shape) == 1
        assert require_learner(spec) is spec
    with pytest.raises(games.GameError, match="imperfect information") as info:
        require_alphazero(games.load("kuhn_poker"))
    assert "\n" not in str(info.value)
    assert require_alphazero(games.load("tic_tac_toe")).name == "tic_tac_toe"


def test_info_state_encoding_hides_the_opponents_cards():
    spec = games.load("kuhn_poker")
    state = spec.game.new_initial_state()
    state.apply_action(0)  # player 0 holds the jack
    a = state.clone()
    a.apply_action(1)  # player 1 the queen
    b = state.clone()
    b.apply_action(2)  # or the king
    # Player 0 moves: what it sees cannot depend on the card player 1 holds.
    assert np.array_equal(spec.encoder.encode(a), spec.encoder.encode(b))
    a.apply_action(0)
    b.apply_action(0)  # player 1 to move: now its own card shows
    assert not np.array_equal(spec.encoder.encode(a), spec.encoder.encode(b))


def test_simultaneous_and_multiplayer_games_are_refused():
    assert "simultaneous" in games.load("matrix_rps").learner_problem
    assert "4 players" in games.load("leduc_poker(players=4)").learner_problem
    assert "general-sum" in games.load("hearts").learner_problem


def test_general_sum_is_refused(tmp_path):
    # A two-player, perfect-information, general-sum game, written as an OpenSpiel EFG file.
    efg = tmp_path / "tiny.efg"
    efg.write_text(
        'EFG 2 R "tiny general-sum" { "P1" "P2" }\n'
        'p "" 1 1 "root" { "a" "b" } 0\n'
        'p "" 2 1 "after a" { "x" "y" } 0\n'
        't "" 1 "o1" { 1.0 1.0 }\n'
        't "" 2 "o2" { 2.0 0.0 }\n'
        't "" 3 "o3" { 0.0 3.0 }\n'
    )
    spec = games.load(f"efg_game(filename={efg})")
    assert spec.learner is None
    assert "general-sum" in spec.learner_problem
