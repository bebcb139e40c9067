"""Catalogue: presets, overrides, raw strings, one-line errors and the learner verdict."""

import pyspiel
import pytest

import games
from games.catalogue import require_alphazero


@pytest.mark.parametrize("preset", games.presets(), ids=lambda p: p.name)
def test_every_preset_loads(preset):
    spec = games.load(preset.name)
    assert spec.preset is preset
    assert spec.game_string == str(pyspiel.load_game(preset.game_string)).removesuffix("()")
    assert spec.game.get_type().short_name == preset.family
    assert spec.num_actions == spec.game.num_distinct_actions()
    assert spec.num_players == 2
    assert spec.learner == "alphazero" and spec.learner_problem is None
    assert spec.symmetries[0].name == "identity"


def test_required_presets_exist():
    names = {p.name for p in games.presets()}
    assert {"tic_tac_toe", "connect_four", "hex5", "hex11", "go9", "go13", "go19"} <= names
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
])
def test_bad_names_raise_one_line_game_errors(name, fragment):
    with pytest.raises(games.GameError) as info:
        games.load(name)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_imperfect_information_is_refused_with_a_reason():
    spec = games.load("kuhn_poker")
    assert spec.learner is None
    assert "imperfect-information learner is not built yet" in spec.learner_problem
    with pytest.raises(games.GameError, match="imperfect"):
        require_alphazero(spec)
    assert require_alphazero(games.load("tic_tac_toe")).name == "tic_tac_toe"


def test_simultaneous_and_multiplayer_games_are_refused():
    assert "simultaneous" in games.load("matrix_rps").learner_problem
    assert "4 players" in games.load("hearts").learner_problem


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
