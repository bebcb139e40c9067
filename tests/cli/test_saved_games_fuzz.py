"""Property tests of saved games: any SGF or JSON document given to `arena replay`, or to `loadsgf`
of `arena gtp`, is a SavedGame that replays, or one RecordError line; never another exception."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from arena_cli.play import saved_games
from arena_cli.play.saved_games import RecordError

NUMBERS = st.one_of(st.integers(-5, 25).map(str), st.integers(-10**30, 10**30).map(str),
                    st.floats().map(str), st.sampled_from(["", "nan", "inf", "1e309", "²", "7.5", " 9", "0x9"]))
POINTS = st.one_of(st.text("abcdefghijst", min_size=0, max_size=2), st.sampled_from(["tt", "zz", "", "aaa"]),
                   st.text(max_size=3))
JUNK = st.text(max_size=12)


@st.composite
def sgf_text(draw) -> str:
    """SGF as Go programs write it (size, komi, players, setup stones, moves, comments), then bent:
    characters cut, repeated or put in."""
    props = "".join(draw(st.lists(st.one_of(
        st.builds(lambda v: f"SZ[{v}]", NUMBERS), st.builds(lambda v: f"KM[{v}]", NUMBERS),
        st.builds(lambda k, v: f"{k}[{v}]", st.sampled_from(["PB", "PW", "RE", "DT", "C", "GM", "PL", "HA"]), JUNK),
        st.builds(lambda k, ps: k + "".join(f"[{p}]" for p in ps), st.sampled_from(["AB", "AW", "AE"]),
                  st.lists(POINTS, max_size=6)),
    ), max_size=8)))
    moves = "".join(draw(st.lists(st.one_of(
        st.builds(lambda c, p: f";{c}[{p}]", st.sampled_from("BWbX"), POINTS),
        st.builds(lambda v: f";C[{v}]", JUNK),
        st.builds(lambda k, ps: ";" + k + "".join(f"[{p}]" for p in ps), st.sampled_from(["AB", "AW"]),
                  st.lists(POINTS, max_size=3)),
        st.sampled_from(["(", ")", ";", "\\]", "\n"]),
    ), max_size=40)))
    text = f"(;{props}{moves})"
    for _ in range(draw(st.integers(0, 3))):  # mutations
        i = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 2))
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op == 1:
            text = text[:i] + draw(st.text(max_size=3)) + text[i:]
        else:
            text = text[:i]
    return text


GAME_STRINGS = st.one_of(st.sampled_from(["go(board_size=9,komi=7.5)", "tic_tac_toe()", "kuhn_poker()", "connect_four",
                                          "leduc_poker3", "go(board_size=0,komi=7.5)", "go(board_size=99,komi=1)",
                                          "go(komi=nan)", "no_such_game", "", "((", "tic_tac_toe(x=1)"]), JUNK)
JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(), JUNK),
                       lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(JUNK, inner, max_size=3)),
                       max_leaves=8)


@st.composite
def json_record(draw) -> str:
    """A JSON game record with some fields right, others missing or of any type; or any JSON."""
    record: dict = {"format": draw(st.sampled_from([saved_games.FORMAT, saved_games.FORMAT, "x", 1])),
                    "version": draw(st.sampled_from([saved_games.VERSION, saved_games.VERSION, 2, "1", None]))}
    fields = {"game": GAME_STRINGS, "players": st.one_of(st.lists(JUNK, max_size=3), JSONISH),
              "actions": st.one_of(st.lists(st.integers(-3, 90), max_size=30), st.lists(JSONISH, max_size=3), JSONISH),
              "moves": JSONISH, "returns": JSONISH, "result": JSONISH, "date": JSONISH, "seed": JSONISH,
              "setup": st.one_of(st.integers(-3, 40), JSONISH)}
    for name, strategy in fields.items():
        if draw(st.integers(0, 5)):
            record[name] = draw(strategy)
    doc = draw(st.one_of(st.just(record), st.just(record), JSONISH))
    text = json.dumps(doc)
    if draw(st.booleans()):  # a few characters bent
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.text(max_size=2)) + text[i + 1:]
    return text


def load_and_replay(text: str | bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"game{suffix}"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            record = saved_games.load(path)
            saved_games.replay_states(record, str(path))
        except RecordError as exc:
            assert str(exc) and "\n" not in str(exc), repr(str(exc))


@given(text=sgf_text(), suffix=st.sampled_from([".sgf", ".txt", ""]))
@example(text="(;SZ[99999999999999999999]AB[aa])", suffix=".sgf")
@example(text="(;SZ[0];B[aa])", suffix=".sgf")
@example(text="(;SZ[9]KM[nan];B[aa])", suffix=".sgf")
@example(text="(;SZ[9]KM[inf])", suffix=".sgf")
@example(text="(;SZ[-2];B[])", suffix=".sgf")
@example(text="(;GM[\n])", suffix=".sgf")  # a property's text quoted into the message: one line still
def test_any_sgf_is_a_game_or_one_record_error(text, suffix, case_time_limit):
    with case_time_limit():
        load_and_replay(text, suffix)


@given(text=json_record(), suffix=st.sampled_from([".json", ""]))
@example(text='{"format": "arena-game", "version": 1, "game": "tic_tac_toe", "players": [], "actions": [1e400]}',
         suffix=".json")
@example(text='{"format": "arena-game", "version": 1, "game": "go(komi=nan)", "players": [], "actions": []}',
         suffix=".json")
def test_any_json_record_is_a_game_or_one_record_error(text, suffix, case_time_limit):
    with case_time_limit():
        load_and_replay(text, suffix)


@given(data=st.binary(max_size=200), suffix=st.sampled_from([".sgf", ".json", ""]))
@example(data=b"\xff\xfe(;SZ[9])", suffix=".sgf")
def test_any_bytes_are_a_game_or_one_record_error(data, suffix, case_time_limit):
    with case_time_limit():
        load_and_replay(data, suffix)
