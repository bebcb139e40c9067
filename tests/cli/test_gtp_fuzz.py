"""Property tests of `arena gtp`: any stream of command lines, the valid ones bent (bad arguments,
huge numbers, unicode, control characters, junk paths), is answered `=` or `?` a command, in bounded
lines, and the engine lives on. Driven in-process through GTPServer.handle, and once as a subprocess."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from arena_cli.gtp import analyze
from arena_cli.gtp.protocol import MAX_LINE, CommandError, clean
from arena_cli.gtp.server import GTPServer

REPO = Path(__file__).resolve().parents[2]
NUMBERS = st.one_of(st.integers(-3, 25).map(str), st.integers(-10**40, 10**40).map(str), st.floats().map(str),
                    st.sampled_from(["nan", "inf", "-inf", "1e309", "0x10", "7.5", "٣", "²", "-0", "", "1_0"]))
COLOURS = st.one_of(st.sampled_from(["b", "w", "B", "white", "black", "x", ""]), st.text(max_size=3))
VERTICES = st.one_of(st.sampled_from(["A1", "J9", "T19", "E5", "pass", "PASS", "Z99", "A0", "I5", "a1", "resign",
                                      "A-1", "A99999999999999999999"]), st.text(max_size=4))
JUNK = st.text(max_size=12)


@st.composite
def paths(draw) -> str:
    files = draw(st.sampled_from(["", "/", "/dev/null", "/nonexistent/x.sgf", "game.sgf", "game.json", "junk.sgf",
                                  "big.sgf", "..", "~", "a b.sgf"]))
    return draw(st.one_of(st.just(files), JUNK))


def command(name: str, *args: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(*args).map(lambda values: " ".join([name, *values]))


COMMANDS = st.one_of(
    command("play", COLOURS, VERTICES), command("genmove", COLOURS), command("boardsize", NUMBERS),
    command("komi", NUMBERS), command("fixed_handicap", NUMBERS), command("place_free_handicap", NUMBERS),
    st.lists(VERTICES, max_size=6).map(lambda vs: " ".join(["set_free_handicap", *vs])),
    command("loadsgf", paths()), command("loadsgf", paths(), NUMBERS),
    st.lists(st.one_of(COLOURS, NUMBERS, st.sampled_from(["interval", "minmoves", "maxmoves", "avoid"])), max_size=5)
    .map(lambda a: " ".join(["lz-analyze", *a])),
    command("final_status_list", st.one_of(st.sampled_from(["alive", "dead", "seki", "ALIVE"]), JUNK)),
    command("time_settings", NUMBERS, NUMBERS, NUMBERS), command("time_left", COLOURS, NUMBERS, NUMBERS),
    command("known_command", JUNK),
    st.sampled_from(["clear_board", "undo", "showboard", "final_score", "list_commands", "protocol_version", "name",
                     "version", "printsgf", "undo undo", "genmove", "play", "boardsize", "", "#", " \t "]),
    JUNK,
)


@st.composite
def lines(draw) -> str:
    """A command, bent: an id, control characters, tabs, a comment, a case change, words cut or repeated."""
    line = draw(COMMANDS)
    if draw(st.integers(0, 3)) == 0:
        line = draw(st.sampled_from(["1", "007", "99999999999999999999", "-1", "a"])) + " " + line
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(line)))
        bent = draw(st.sampled_from(["\x00", "\x07", "\t", "\r", "\x7f", "#", " ", "\u00a0", "\ufeff", "é", "\U0001F600",
                                     "\x1b[2J", "\u2028"]))
        line = line[:i] + bent + line[i:]
    if draw(st.integers(0, 5)) == 0:
        line = line.upper()
    return line


@pytest.fixture(scope="module")
def sgf_files(tmp_path_factory) -> Path:
    """Files for loadsgf to find by relative name: a real game, a JSON record, junk, a long game."""
    home = tmp_path_factory.mktemp("gtp")
    (home / "game.sgf").write_text("(;GM[1]FF[4]SZ[9]KM[6.5]AB[cc][gg];W[ee];B[dd];W[])")
    (home / "big.sgf").write_text("(;SZ[19]" + "".join(f";{'BW'[i % 2]}[{chr(97 + i % 19)}{chr(97 + i // 19)}]"
                                                       for i in range(300)) + ")")
    (home / "junk.sgf").write_bytes(b"(;SZ[9]\xff\xfe;B[zz]")
    (home / "game.json").write_text('{"format": "arena-game", "version": 1, "game": "go(board_size=5,komi=0.5)", '
                                    '"players": ["a", "b"], "actions": [0, 6, 12]}')
    return home


def check(response: str, line: str) -> None:
    """One response by the protocol: nothing for a line with no command, else `=` or `?`, the id
    echoed, a blank line at the end, bounded lines, and no internal error (a bug behind a `?`)."""
    if not clean(line):
        assert response == ""
        return
    assert response[:1] in ("=", "?") and response.endswith("\n\n") and not response.endswith("\n\n\n"), repr(response)
    assert "internal error" not in response, response
    assert all(len(ln) <= MAX_LINE for ln in response.split("\n")), max(map(len, response.split("\n")))


@given(stream=st.lists(lines(), min_size=1, max_size=15), spec=st.sampled_from(["random", "random@seed=3"]))
@example(stream=["boardsize 19", "fixed_handicap 9", "genmove w", "undo", "undo", "place_free_handicap 99"],
         spec="random")
@example(stream=["loadsgf big.sgf 99999999999999999999", "final_status_list alive", "printsgf"], spec="random")
@example(stream=["komi 1e309", "komi nan", "time_left b 1e308 99999999999999999999", "genmove b"], spec="random")
@example(stream=["boardsize 2", "set_free_handicap A1 B2 A2", "genmove b", "final_status_list alive"], spec="random")
def test_any_command_stream_is_answered_by_the_protocol(stream, spec, sgf_files, case_time_limit):
    cwd = os.getcwd()
    os.chdir(sgf_files)  # loadsgf's relative names, and printsgf FILE's writes, land here
    try:
        with case_time_limit():
            server = GTPServer(spec, "go9")
            for line in stream:
                response, done = server.handle(line)
                check(response, line)
                if done:
                    return
            response, _ = server.handle("showboard")  # still alive, the board still readable
            assert response.startswith("=")
    finally:
        os.chdir(cwd)


@given(args=st.lists(st.one_of(COLOURS, NUMBERS, JUNK, st.sampled_from(["interval", "minmoves", "maxmoves",
                                                                        "avoid", "allow"])), max_size=6))
@example(args=["minmoves", "1e400"])
@example(args=["interval", "99999999999999999999999"])
@example(args=["maxmoves", "-5"])
def test_any_lz_analyze_arguments_are_a_request_or_a_syntax_error(args):
    try:
        request = analyze.parse_request(args)
    except CommandError as exc:
        assert "\n" not in str(exc)
        return
    assert request.interval >= 0 or request.interval < 0  # a number, not nan
    assert request.min_moves >= 0 and (request.max_moves is None or request.max_moves >= 0)


def test_the_engine_process_answers_every_line_and_lives_on(tmp_path):
    """A real `arena gtp random` fed bytes a controller should never send: each line gets one `=` or
    `?` response, and `quit` still ends it cleanly."""
    script = [b"1 name", b"play b \xff\xfe", b"\x00\x01\x02", b"boardsize 99999999999999999999", b"genmove b",
              b"komi nan", b"a" * (MAX_LINE + 10), b"loadsgf /nonexistent", b"2 play w E5", b"lz-analyze b 10",
              "play b \u00e9\u00e9".encode(), b"undo", b"\t# only a comment", b"", b"final_status_list alive",
              b"9 quit"]
    done = subprocess.run([sys.executable, "-m", "arena_cli", "gtp", "random"], input=b"\n".join(script) + b"\n",
                          capture_output=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    responses = done.stdout.decode().split("\n\n")
    assert responses[-1] == ""
    responses = responses[:-1]
    commands = [line for line in script if clean(line.decode(errors="replace")) or len(line) > MAX_LINE]
    assert len(responses) == len(commands), responses
    assert all(r[:1] in "=?" and "internal error" not in r for r in responses), responses
    assert responses[0] == "=1 Arena" and responses[-1] == "=9"
