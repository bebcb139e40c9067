"""Duplicate-dealt matches (league/duplicate.py) and `arena ladder --duplicate`: the same cards with
seats swapped, exact cancellation of identical strategies, a real margin found, the interval, the
one-line errors and the JSON fields. Real games and bots."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import arena_cli
import games
from league.duplicate import ChanceTape, DuplicateError, DuplicateResult, big_blind, play_duplicate


def cards(state) -> dict[str, str]:
    """universal_poker's hole cards per seat and board, read from its state text."""
    lines = str(state).splitlines()

    def field(prefix: str) -> str:
        return next(line[len(prefix):].strip() for line in lines if line.startswith(prefix))
    return {"p0": field("P0 Cards:"), "p1": field("P1 Cards:"), "board": field("BoardCards")}


def chance_outcomes(state) -> list[int]:
    return [step.action for step in state.full_history() if step.player < 0]


def test_the_swapped_hand_gets_the_same_cards_in_the_same_seats():
    spec = games.load("holdem_limit")
    pairs = []
    result = play_duplicate(spec, "raise", "random", 40, seed=3, on_pair=lambda i, a, b: pairs.append((a, b)))
    assert len(pairs) == 20 and result.replay_misses == 0
    for (first, second), total in zip(pairs, result.pair_returns):
        c1, c2 = cards(first), cards(second)
        assert c1["p0"] == c2["p0"] and c1["p1"] == c2["p1"]
        board1, board2 = ({b[i:i + 2] for i in range(0, len(b), 2)} for b in (c1["board"], c2["board"]))
        assert board1 <= board2 or board2 <= board1  # printed sorted; the hand that went on saw more
        dealt1, dealt2 = chance_outcomes(first), chance_outcomes(second)
        common = min(len(dealt1), len(dealt2))
        assert common >= 4 and dealt1[:common] == dealt2[:common]
        assert total == first.returns()[0] + second.returns()[1]  # a sat first, then second
    assert len({cards(first)["p0"] for first, _ in pairs}) > 15  # deals do differ between pairs


def test_every_pairing_with_one_seed_sees_the_same_deals():
    spec = games.load("holdem_limit")
    hole = {}
    for a, b in (("call", "random"), ("raise", "random")):
        seen = hole.setdefault(a, [])
        play_duplicate(spec, a, b, 30, seed=2, on_pair=lambda i, first, _: seen.append(cards(first)["p0"]))
    assert hole["call"] == hole["raise"] and len(set(hole["call"])) > 10


@pytest.mark.parametrize("name", ["kuhn_poker", "leduc_poker", "holdem_limit"])
def test_identical_strategies_cancel_exactly_in_every_pair(name):
    result = play_duplicate(games.load(name), "call", "call", 200, seed=1)
    assert result.hands == 200 and result.pairs == 100
    assert result.pair_returns == [0.0] * 100
    assert result.mbb == 0.0 and result.mbb_interval == 0.0 and result.verdict == "not separated"


def test_without_duplicate_dealing_identical_strategies_would_not_cancel():
    """The same two hands with fresh cards for the second: the exact zero above is the replay's doing."""
    spec = games.load("leduc_poker")
    from engine.players import load_bot
    from league.match import play_game
    rng = np.random.default_rng(1)
    bots = [load_bot("call", spec), load_bot("call", spec)]
    totals = [play_game(spec.game.new_initial_state(), bots, rng).returns()[0]
              + play_game(spec.game.new_initial_state(), bots, rng).returns()[1] for _ in range(50)]
    assert any(t != 0 for t in totals)


def test_raise_beats_random_on_leduc_outside_the_interval():
    result = play_duplicate(games.load("leduc_poker"), "raise", "random", 1000, seed=0)
    assert result.mbb - result.mbb_interval > 0 and result.verdict == "ahead"
    flipped = play_duplicate(games.load("leduc_poker"), "random", "raise", 1000, seed=0)
    assert flipped.verdict == "behind"


def test_seeded_and_reproducible():
    spec = games.load("holdem_limit")
    one = play_duplicate(spec, "call", "random", 60, seed=5).pair_returns
    assert play_duplicate(spec, "call", "random", 60, seed=5).pair_returns == one
    assert play_duplicate(spec, "call", "random", 60, seed=6).pair_returns != one


def test_interval_is_over_pairs_in_mbb_of_the_big_blind():
    result = DuplicateResult("a", "b", "holdem_limit", 10.0, pair_returns=[2.0, 0.0, 4.0, -2.0])
    # per-hand pair means 1, 0, 2, -1: mean 0.5, sd sqrt(5/3), interval 1.96 * sd / 2
    assert result.per_hand == 0.5 and result.mbb == 50.0
    assert math.isclose(result.per_hand_interval, 1.96 * math.sqrt(5 / 3) / 2)
    assert math.isclose(result.mbb_interval, 100 * 1.96 * math.sqrt(5 / 3) / 2)
    assert result.verdict == "not separated"


def test_a_pyspiel_game_is_taken_as_its_preset():
    a = play_duplicate(games.load("leduc_poker").game, "raise", "random", 20, seed=4)
    b = play_duplicate("leduc_poker", "raise", "random", 20, seed=4)
    assert a.pair_returns == b.pair_returns and a.game == "leduc_poker"


def test_big_blind_per_game():
    assert big_blind(games.load("holdem_limit").game) == 10.0
    assert big_blind(games.load("leduc_poker").game) == 2.0
    assert big_blind(games.load("kuhn_poker").game) == 1.0
    assert big_blind(games.load("liars_dice").game) is None


def test_an_illegal_taped_outcome_is_sampled_instead_and_counted():
    state = games.load("kuhn_poker").game.new_initial_state()
    tape = ChanceTape(np.random.default_rng(0))
    tape.outcomes = [0, 0]  # the second card cannot be the first one again
    state.apply_action(tape(state))
    second = tape(state)
    assert second in (1, 2) and tape.misses == 1


@pytest.mark.parametrize("name, words", [("tic_tac_toe", "no chance"), ("leduc_poker3", "2-player")])
def test_games_duplicate_dealing_cannot_serve(name, words):
    with pytest.raises(DuplicateError, match=words):
        play_duplicate(games.load(name), "random", "random", 4)


def arena(capsys, *args):
    code = arena_cli.main(["ladder", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args, words", [
    (("--players", "call", "random", "--game", "holdem_limit", "--games", "7"), "even"),
    (("--players", "call", "random", "--game", "tic_tac_toe", "--games", "8"), "no chance"),
    (("--players", "call", "random", "--game", "leduc_poker3", "--games", "8"), "2-player"),
    (("--players", "call", "random", "--game", "liars_dice", "--games", "8"), "poker only"),
    (("--players", "call", "random", "--games", "8"), "--game"),
])
def test_cli_bad_input_is_one_line(capsys, args, words):
    code, out, err = arena(capsys, *args, "--duplicate")
    assert code == 2 and out == "" and words in err and err.count("\n") == 1, err


def test_cli_json_gives_each_pairing(capsys):
    code, out, err = arena(capsys, "--players", "raise", "call", "random", "--gauntlet", "raise",
                           "--game", "leduc_poker", "--games", "400", "--duplicate", "--json")
    assert code == 0, err
    table = json.loads(out)
    assert table["game"] == "leduc_poker" and table["unit"] == "mbb/hand" and table["big_blind"] == 2.0
    rows = {(r["a"], r["b"]): r for r in table["pairings"]}
    assert set(rows) == {("raise", "call"), ("raise", "random")}
    for r in rows.values():
        assert r["hands"] == 400 and r["pairs"] == 200 and r["replay_misses"] == 0
        assert set(r) >= {"mbb_per_hand", "mbb_interval95", "chips_per_hand", "chips_interval95", "verdict", "seconds"}
        assert r["mbb_per_hand"] == pytest.approx(500 * r["chips_per_hand"], abs=0.1)
    assert rows[("raise", "random")]["verdict"] == "ahead" and rows[("raise", "random")]["mbb_per_hand"] > 0
    assert rows[("raise", "call")]["mbb_per_hand"] == 0.0 and rows[("raise", "call")]["verdict"] == "not separated"
    assert err.count("\n") == 2  # one progress line a pairing


def test_cli_table_names_unit_and_verdict(capsys):
    code, out, err = arena(capsys, "--players", "raise", "random", "--game", "holdem_limit", "--games", "200",
                           "--duplicate")
    assert code == 0, err
    words = " ".join(out.split())  # the caption wraps at the terminal's width
    assert "mbb/hand" in words and "raise ahead" in words and "(10 chips)" in words
