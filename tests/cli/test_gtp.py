"""GTP both ways, with real processes: `arena gtp` as a GTP engine, GNU Go as a `gtp:` player.

Covers the server's every listed command and its failure answers, lz-analyze driven as Sabaki and
Lizzie drive it, SGF (printsgf, loadsgf, GNU Go reading ours and we reading GNU Go's), handicap,
dead stones and seki (final_status_list, final_score) judged as GNU Go judges them, a whole 9x9
game of a snapshot served by `arena gtp` against GNU Go through the match runner (scored by both
engines), and the client's failures: a missing engine, an engine killed mid-game (that game lost,
on the ledger too, and the match goes on), resignation, stalls, refusals and illegal moves.
"""
from __future__ import annotations

import io
import os
import re
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from open_spiel.python.algorithms import evaluate_bots

import games
from arena_cli.gtp import GTPServer, analyze, serve
from engine import config as cfg
from engine.nn import checkpoint
from engine.nn.networks import build
from engine.players import BotError, GTPBot, GTPError, RandomBot, final_score, load_bot
from engine.search import Resignation
from games import goboard
from games.notation import go_vertex
from league.ladder import round_robin
from league.ledger import Ledger
from league.match import play_match

GNUGO = "/usr/games/gnugo"
# OpenSpiel scores the board as it stands (Tromp–Taylor): GNU Go must count area (--chinese-rules) and
# capture the stones it judges dead before passing (--capture-all-dead), or random stones left in its
# territory count as alive and it can lose games it won.
GNUGO_CMD = f"{GNUGO} --mode gtp --level 1 --chinese-rules --capture-all-dead"
REPO = Path(__file__).resolve().parents[2]
GO9 = games.load("go9")

pytestmark = pytest.mark.skipif(not os.access(GNUGO, os.X_OK), reason="GNU Go is not installed at /usr/games/gnugo: sudo apt-get install gnugo (README, Quick start)")

LISTED = {"protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "clear_board",
          "komi", "play", "genmove", "undo", "showboard", "final_score", "final_status_list", "fixed_handicap",
          "place_free_handicap", "set_free_handicap", "loadsgf", "printsgf", "time_settings", "time_left", "quit"}
ANALYSIS = {"lz-analyze", "lz-genmove_analyze"}  # a snapshot's only: other players have no tree to show
VERTEX = re.compile(r"^(pass|[A-HJ-T]\d{1,2})$")
SCORE = re.compile(r"^(0|[BW]\+\d+(\.\d+)?)$")


@pytest.fixture
def snapshot(tmp_path, monkeypatch) -> Path:
    """A random-weight go9 snapshot of a tiny network, in a run under $ARENA_HOME = tmp_path."""
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    config = cfg.resolve("go9", {"network": {"channels": 8, "blocks": 1, "hidden": 16}})
    torch.manual_seed(0)
    net = build(config.network, GO9.encoder.shape, GO9.num_actions)
    path = checkpoint.snapshot_path(tmp_path / "g9", 0)
    checkpoint.save_snapshot(path, GO9.game_string, config.network, GO9.encoder.shape, GO9.num_actions, 0, [net])
    return path


def arena_gtp(*args: str) -> list[str]:
    return [sys.executable, "-m", "arena_cli", "gtp", *args]


class Session:
    """`arena gtp` as a subprocess: send lines, read whole responses (up to the blank line)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(arena_gtp(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=REPO, bufsize=0)
        self.buffer = b""
        self.sent: set[str] = set()

    def line(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            ready = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]
            assert ready, "arena gtp gave no answer in time"
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            assert chunk, f"arena gtp died: {self.proc.stderr.read().decode()[-500:]}"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def raw(self, text: str) -> None:
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def response(self) -> tuple[str, str, str]:
        """(status '=' or '?', id, text) of the next response, which must end with a blank line."""
        lines = [self.line()]
        while lines[-1] != "":
            lines.append(self.line())
        m = re.match(r"^([=?])(\d*)(?: (.*))?$", lines[0])
        assert m, f"not a GTP response: {lines!r}"
        return m.group(1), m.group(2), "\n".join([m.group(3) or ""] + lines[1:-1]).strip()

    def ask(self, command: str) -> tuple[str, str]:
        self.sent.add(command.split()[0])
        self.raw(command + "\n")
        status, _, text = self.response()
        return status, text

    def analysis(self, command: str, ident: str = "") -> None:
        """Start a streaming command (lz-analyze): its `=` comes at once, its lines after."""
        self.sent.add(command.split()[0])
        self.raw(f"{ident} {command}\n" if ident else command + "\n")
        assert self.line() == f"={ident}"

    def stream(self) -> list[str]:
        """A streaming response's lines, up to the blank line that ends it."""
        lines = [self.line()]
        while lines[-1] != "":
            lines.append(self.line())
        return lines[:-1]

    def stop(self, command: str) -> tuple[list[str], tuple[str, str, str]]:
        """Send `command` during an analysis: (the info lines still coming, then the command's response)."""
        self.raw(command + "\n")
        return self.stream(), self.response()

    def ok(self, command: str) -> str:
        status, text = self.ask(command)
        assert status == "=", f"{command!r} failed: ? {text}"
        return text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            pipe.close()


@pytest.fixture
def session(snapshot):
    s = Session(f"{snapshot}@sims=4", "--game", "go9")
    yield s
    s.close()


# ---- the server ----------------------------------------------------------------------------------


def test_every_listed_command_answers_by_the_protocol(session, tmp_path):
    s = session
    assert s.ok("protocol_version") == "2"
    assert s.ok("name") == "Arena"
    assert s.ok("version")
    listed = set(s.ok("list_commands").split())
    assert listed == LISTED | ANALYSIS
    for command in sorted(listed):
        assert s.ok(f"known_command {command}") == "true"
    assert s.ok("known_command frobnicate") == "false"
    assert s.ok("boardsize 9") == ""
    s.ok("clear_board")
    s.ok("komi 6.5")
    s.ok("play b D4")
    s.ok("play W e5")
    move = s.ok("genmove b")
    assert VERTEX.match(move), move
    board = s.ok("showboard")
    assert "X" in board and "O" in board and "ABCDEFGHJ" in board
    s.ok("undo")
    s.ok("undo")
    assert SCORE.match(s.ok("final_score"))
    s.ok("time_settings 0 1 1")
    s.ok("time_left w 1 1")
    started = time.monotonic()
    assert VERTEX.match(s.ok("genmove w"))
    assert time.monotonic() - started < 1.0, "genmove overran its byo-yomi second"
    assert s.ok("final_status_list dead") == "" and s.ok("final_status_list alive")
    sgf = tmp_path / "game.sgf"
    assert s.ok(f"printsgf {sgf}") == "" and s.ok("printsgf") == sgf.read_text().strip()
    s.ok(f"loadsgf {sgf} 2")
    assert "history.size()=1" in s.ok("showboard")
    s.ok("clear_board")
    assert s.ok("fixed_handicap 2") == "C3 G7"
    s.ok("clear_board")
    assert s.ok("place_free_handicap 4") == "C3 G7 C7 G3"
    s.ok("clear_board")
    assert s.ok("set_free_handicap A1 J9") == "A1 J9"
    s.analysis("lz-analyze 1")
    assert s.stop("name")[1] == ("=", "", "Arena")
    s.analysis("lz-genmove_analyze w 1")
    lines = s.stream()
    assert all(line.startswith("info move ") for line in lines[:-1]), lines
    assert VERTEX.match(lines[-1].removeprefix("play ")) and lines[-1].startswith("play "), lines
    assert s.ok("quit") == ""
    assert s.proc.wait(timeout=10) == 0
    assert LISTED | ANALYSIS <= s.sent  # every listed command was exercised


def test_final_score_counts_area_with_komi(session):
    s = session
    s.ok("komi 6.5")
    s.ok("play b D4")
    s.ok("play w E5")
    assert s.ok("final_score") == "W+6.5"  # a stone each, every empty region touches both colours
    s.ok("clear_board")
    s.ok("play b D4")
    assert s.ok("final_score") == "B+74.5"  # all 81 points are Black's area
    s.ok("komi 81.5")
    assert s.ok("final_score") == "W+0.5"  # komi changes the score of the same position


def test_failures_are_answered_with_question_marks_and_ids(session):
    s = session
    s.raw("7 name\n")
    assert s.response() == ("=", "7", "Arena")
    s.raw("8 frobnicate\n")
    assert s.response() == ("?", "8", "unknown command")
    s.raw("\n   \n# a comment line\n9 protocol_version # trailing comment\n")
    assert s.response() == ("=", "9", "2")  # blank and comment lines get no response at all
    s.raw("10 boardsize 19\n")
    assert s.response() == ("?", "10", "unacceptable size")  # the snapshot was trained on 9x9
    s.raw("11 boardsize 9\n")
    assert s.response() == ("=", "11", "")
    for bad in ("play b", "play x D4", "play b Z99", "play b I5", "komi abc", "boardsize nine", "genmove",
                "genmove purple", "time_settings 1 2", "time_left b x 0", "known_command", "undo", "NAME"):
        status, text = s.ask(bad)
        assert status == "?" and text and "\n" not in text, (bad, text)
    s.ok("play b D4")
    assert s.ask("play w D4") == ("?", "illegal move")
    s.ok("play b E5")  # Black twice: a White pass goes between, as GTP allows
    assert "history.size()=3" in s.ok("showboard")
    s.ok("undo")  # takes back E5 and the pass put in for it
    assert "history.size()=1" in s.ok("showboard")
    s.ok("play w pass")
    assert s.ask("play w E5")[0] == "?"  # White twice after a pass would end the game
    s.ok("play b pass")  # two passes: the game is over
    assert s.ask("genmove w") == ("?", "game is over")
    assert SCORE.match(s.ok("final_score"))


def test_genmove_keeps_within_the_clock(snapshot):
    s = Session(f"{snapshot}@sims=3000")  # far more simulations than a fraction of a second allows
    try:
        for settings, left in (("0 0.5 1", None), ("60 0 0", "b 0.5 0"), ("0 10 20", "b 0.4 1")):
            s.ok(f"time_settings {settings}")  # byo-yomi 0.5 s a move; sudden death; 0.4 s left for a stone
            if left:
                s.ok(f"time_left {left}")
            started = time.monotonic()
            assert VERTEX.match(s.ok("genmove b"))
            assert time.monotonic() - started < 0.5, f"genmove overran its time under {settings} / {left}"
            s.ok("undo")
    finally:
        s.close()


def test_bad_specs_and_sizes_exit_with_one_line(snapshot):
    for args, words in (([f"{snapshot}", "--game", "go13"], "trained on 9x9"),
                        (["mcts:10", "--game", "tic_tac_toe"], "Go only"),
                        (["no_such_run"], "no_such_run")):
        done = subprocess.run(arena_gtp(*args), input="name\n", capture_output=True, text=True, cwd=REPO, timeout=60)
        assert done.returncode == 2 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], done.stderr


def test_built_in_players_serve_any_board_size():
    s = Session("random")
    try:
        s.ok("boardsize 19")
        s.ok("play b Q16")
        assert VERTEX.match(s.ok("genmove w"))
        assert s.ask("boardsize 20") == ("?", "unacceptable size")
    finally:
        s.close()


# ---- analysis, as Sabaki and Lizzie drive it ------------------------------------------------------

ENTRY = re.compile(r"info move (\S+) visits (\d+) winrate (\d+) prior (\d+) lcb (\d+) order (\d+) "
                   r"pv (\S+(?: (?!info )\S+)*)")


def parse_info(line: str) -> list[dict]:
    """The entries of an info line, checked against Leela Zero's format."""
    assert line.startswith("info move ") and len(line) <= analyze.MAX_INFO, line[:200]
    entries = [{"move": m[0], "visits": int(m[1]), "winrate": int(m[2]), "prior": int(m[3]), "lcb": int(m[4]),
                "order": int(m[5]), "pv": m[6].split()} for m in ENTRY.findall(line)]
    assert entries and len(entries) == line.count("info move "), line[:300]
    return entries


def test_lz_analyze_streams_growing_info_lines_until_the_next_command(snapshot):
    s = Session(f"{snapshot}@sims=4")
    try:
        assert s.ok("known_command lz-analyze") == "true"
        s.ok("boardsize 9")
        s.ok("clear_board")
        s.ok("play B E5")
        s.analysis("lz-analyze 10")  # every 10 centiseconds
        totals = []
        for _ in range(4):
            entries = parse_info(s.line(timeout=10))
            for rank, e in enumerate(entries):
                assert VERTEX.match(e["move"]) and e["move"] != "E5", e  # White's legal moves
                assert all(VERTEX.match(v) for v in e["pv"]) and e["pv"][0] == e["move"]
                assert e["order"] == rank and e["visits"] > 0
                assert 0 <= e["lcb"] <= e["winrate"] <= 10000 and 0 <= e["prior"] <= 10000
            assert [e["visits"] for e in entries] == sorted((e["visits"] for e in entries), reverse=True)
            totals.append(sum(e["visits"] for e in entries))
        assert totals == sorted(set(totals)), f"the search did not grow between updates: {totals}"
        started = time.monotonic()
        rest, answer = s.stop("play W C3")  # a GUI's next command ends the analysis
        assert answer == ("=", "", "") and all(parse_info(line) for line in rest)
        assert time.monotonic() - started < 2.0, "the analysis went on after the next command"
        assert "history.size()=2" in s.ok("showboard")
        assert VERTEX.match(s.ok("genmove b"))
        s.analysis("lz-analyze W interval 5 maxmoves 2", ident="7")  # with an id, a colour, keywords
        assert len(parse_info(s.line(timeout=10))) <= 2
        assert s.stop("8 name")[1] == ("=", "8", "Arena")
        assert s.ok("play w pass") == "" and s.ok("play b pass") == ""  # the game is over: nothing to search
        s.analysis("lz-analyze 1")
        rest, (status, _, score) = s.stop("final_score")
        assert rest == [] and status == "=" and SCORE.match(score)
    finally:
        s.close()


def test_analysis_arguments_and_what_is_refused(snapshot):
    server = GTPServer(f"{snapshot}@sims=2", out=io.StringIO())
    for bad in ("lz-analyze purple", "lz-analyze -5", "lz-analyze 10 avoid b D4 1", "lz-analyze 10 maxmoves",
                "lz-analyze 10 maxmoves 0", "lz-analyze 10 bogus 3", "lz-analyze nan", "lz-genmove_analyze b x"):
        response, _ = server.handle(bad)
        assert response.startswith("? ") and response.count("\n") == 2, (bad, response)
    assert server.handle("lz-analyze 10") == ("\n", False)  # nothing waits behind it: `=` written, then ended
    assert server.out.getvalue() == "=\n"
    server.handle("play b pass")
    assert server.handle("lz-analyze b 10")[0].startswith("? cannot move twice")  # a pass would end the game
    plain = GTPServer("random")
    assert plain.handle("known_command lz-analyze")[0] == "= false\n\n"
    assert plain.handle("lz-analyze 10")[0] == "? unknown command\n\n"


class Patience:
    """The controller's side for an in-process analysis: the next command arrives after `polls` looks."""

    def __init__(self, polls: int) -> None:
        self.polls = polls

    def pending(self) -> bool:
        self.polls -= 1
        return self.polls < 0

    def wait(self, timeout: float | None = None) -> bool:
        return True


def test_a_full_analysis_tree_stops_the_search_and_lines_stay_capped(snapshot, monkeypatch):
    monkeypatch.setattr(analyze, "TREE_BYTES", 1)  # the smallest tree: a search's worth of nodes
    monkeypatch.setattr(analyze, "MAX_INFO", 150)
    server = GTPServer(f"{snapshot}@sims=20", out=io.StringIO(), incoming=Patience(10_000))
    assert server.handle("lz-analyze 0") == ("\n", False)  # ended by the full tree, not by 10k polls
    assert server.incoming.polls > 9_000
    head, *lines = server.out.getvalue().splitlines()
    assert head == "=" and lines
    for line in lines:
        entries = parse_info(line)
        assert len(line) <= 150 or len(entries) == 1
    assert sum(e["visits"] for e in parse_info(lines[-1])) <= analyze.tree_capacity(82, 20)


def test_malformed_input_always_gets_a_question_mark():
    lines = ["1 name", "2 " + "x" * 70_000, "\x00\x01frobnicate \x7f", "3 play b " + "Z" * 5000, "4 boardsize 1e400",
             "5 komi inf", "6 loadsgf", "7 loadsgf /no/such/file.sgf", "8 set_free_handicap", "9 name"]
    out = io.StringIO()
    serve("random", stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out)
    answers = out.getvalue().split("\n\n")
    assert answers[0] == "=1 Arena" and answers[-2] == "=9 Arena" and answers[-1] == ""
    assert answers[1].startswith("?2 line too long")
    assert all(a.startswith("?") and "\n" not in a and len(a) < 400 for a in answers[1:-2]), answers


# ---- SGF, handicap, final_status_list ---------------------------------------------------------------


def test_printsgf_loads_back_to_the_same_position(tmp_path):
    first = GTPServer("random")
    for command in ("komi 0.5", "fixed_handicap 3", "play w E5", "play b D4", "play b F6", "play w pass",
                    "play b E4"):
        assert first.handle(command)[0].startswith("="), command
    sgf = tmp_path / "game.sgf"
    assert first.handle(f"printsgf {sgf}")[0] == "=\n\n"
    text = sgf.read_text()
    assert "HA[3]AB[cg][gc][cc]" in text and "KM[0.5]" in text and ";W[ee]" in text and ";W[]" in text
    second = GTPServer("random")
    second.handle("boardsize 13")
    assert second.handle(f"loadsgf {sgf}")[0] == "=\n\n"
    assert second.state.history() == first.state.history() and str(second.state) == str(first.state)
    assert (second.size, second.komi, second.setup) == (9, 0.5, 5)
    assert second.handle("printsgf")[0] == first.handle("printsgf")[0]
    second.handle(f"loadsgf {sgf} 2")  # the position before move 2: the handicap and W E5
    assert second.state.history() == first.state.history()[:6]
    assert second.handle("undo")[0] == "=\n\n" and second.handle("undo")[0] == "? cannot undo\n\n"
    second.handle(f"loadsgf {sgf} 1")
    assert second.state.current_player() == 1 and second.state.history() == first.state.history()[:5]
    (tmp_path / "white.sgf").write_text("(;GM[1]SZ[9];B[cc];W[dd]AW[ee])")  # setup stones mid-game
    (tmp_path / "big.sgf").write_text("(;GM[1]SZ[19];B[dd])")
    assert second.handle(f"loadsgf {tmp_path / 'white.sgf'}")[0].startswith("? cannot load file:")
    assert second.handle(f"loadsgf {tmp_path / 'big.sgf'}")[0] == "=\n\n" and second.size == 19
    assert second.handle(f"loadsgf {sgf} 0")[0].startswith("? syntax error")


def test_snapshots_refuse_sgf_of_another_board_size(snapshot, tmp_path):
    (tmp_path / "big.sgf").write_text("(;GM[1]SZ[19];B[dd])")
    server = GTPServer(f"{snapshot}@sims=2")
    assert server.handle(f"loadsgf {tmp_path / 'big.sgf'}")[0] == \
        "? cannot load file: its 19x19 board is an unacceptable size\n\n"
    assert server.size == 9 and server.state.history() == []


def test_gnugo_reads_our_sgf_and_we_read_gnugos(tmp_path):
    ours = GTPServer("random", "go(board_size=9,komi=0.5)")
    for command in ("set_free_handicap C3 G7 E5", "play w C7", "play b D7", "play w D6", "genmove b"):
        assert ours.handle(command)[0].startswith("="), command
    sgf = tmp_path / "ours.sgf"
    ours.handle(f"printsgf {sgf}")

    def stones(server: GTPServer) -> tuple[set[str], set[str]]:
        board = goboard.board(server.state)
        return tuple({go_vertex(p, 9) for p in range(81) if board[p] == colour}
                     for colour in (goboard.BLACK, goboard.WHITE))

    script = f"loadsgf {sgf}\nlist_stones black\nlist_stones white\nclear_board\nfixed_handicap 4\nplay w E5\n" \
             f"play b D4\nprintsgf {tmp_path / 'gnugo.sgf'}\nquit\n"
    done = subprocess.run([GNUGO, "--mode", "gtp"], input=script, capture_output=True, text=True, timeout=30,
                          check=True)
    answers = [a.strip() for a in done.stdout.split("\n\n")]
    assert answers[0] == "= white"  # GNU Go's loadsgf names the colour to move
    assert ({v for v in answers[1][2:].split()}, {v for v in answers[2][2:].split()}) == stones(ours)
    theirs = GTPServer("random")
    assert theirs.handle(f"loadsgf {tmp_path / 'gnugo.sgf'}")[0] == "=\n\n"
    assert stones(theirs) == ({"C3", "G7", "C7", "G3", "D4"}, {"E5"}) and theirs.state.current_player() == 1
    assert "AW[ee]" in (tmp_path / "gnugo.sgf").read_text()  # GNU Go writes its position as setup stones


def test_handicap_commands():
    server = GTPServer("random", "go19")

    def ok(command: str) -> str:
        return server.handle(command)[0]

    assert ok("fixed_handicap 9") == "= D4 Q16 D16 Q4 D10 Q10 K4 K16 K10\n\n"
    assert server.state.current_player() == 1 and ok("undo") == "? cannot undo\n\n"
    assert ok("fixed_handicap 2") == "? board not empty\n\n"
    assert ok("genmove w").startswith("= ") and ok("undo") == "=\n\n" and len(server.state.history()) == 17
    ok("boardsize 13")
    assert ok("fixed_handicap 10") == "? invalid number of stones\n\n" and ok("fixed_handicap 1").startswith("?")
    assert ok("place_free_handicap 12") == "= D4 K10 D10 K4 D7 K7 G4 G10 G7\n\n"  # fewer than asked, as GTP allows
    ok("boardsize 8")
    assert ok("fixed_handicap 5") == "? invalid number of stones\n\n" and ok("fixed_handicap 4") == "= C3 F6 C6 F3\n\n"
    ok("boardsize 5")
    assert ok("place_free_handicap 2").startswith("? no handicap placement on 5x5")
    for bad, words in (("set_free_handicap A1", "invalid number"), ("set_free_handicap A1 A1", "repeated vertex"),
                       ("set_free_handicap A1 pass", "pass"), ("set_free_handicap A1 Z9", "invalid coordinate")):
        assert ok(bad).startswith("? ") and words in ok(bad), (bad, ok(bad))
    assert ok("set_free_handicap A1 B2 C3") == "= A1 B2 C3\n\n"
    assert ok("play b D4") == "=\n\n" and ok("play w E5") == "=\n\n"  # Black again: a White pass between
    # Komi alone, no point for White a handicap stone: Tromp–Taylor 4 - 1 - 7.5, and with E5 (one stone
    # against four on 5x5) judged dead, all 25 points Black's less 7.5.
    assert final_score(server.state) == "W+4.5" and ok("final_score") == "= B+17.5\n\n"


def interleaved(black: list[str], white: list[str]) -> list[str]:
    """play commands for these stones, the colours taking turns while both have stones left."""
    moves = [(c, v) for pair in zip(black, white) for c, v in zip("bw", pair)]
    rest = ("b", black[len(white):]) if len(black) > len(white) else ("w", white[len(black):])
    return [f"play {c} {v}" for c, v in moves + [(rest[0], v) for v in rest[1]]]


# Finished 9x9 positions with dead stones left on the board, or a seki: a black stone inside White's
# area; a seki in a corner (two chains sharing C1, one eye each); a GNU Go game (level 1, its random
# opening stones among the dead) where both sides passed with dead stones of both colours.
DEAD_STONE_POSITIONS = {
    "dead stone": interleaved([f"D{r}" for r in range(1, 10)] + ["G5"], [f"E{r}" for r in range(1, 10)]),
    "seki": interleaved(["B1", "A2", "B2", "C2"] + [f"D{r}" for r in range(3, 10)] + ["E3", "F3", "G3", "G2", "G1"],
                        ["D1", "D2", "E2", "F2", "F1", "A3", "B3"] + [f"C{r}" for r in range(3, 10)]),
    "gnugo game": [f"play {c} {v}" for c, v in re.findall(r"([bw])(\w+)", (
        "bD9 wC6 bH2 wA8 bE6 wC3 bG5 wF2 bB7 wC7 bD5 wB8 bC5 wB5 bB4 wB6 bB2 wC2 bC4 wE7 bF7 wE8 bF8 wE9 bF9 wD6 "
        "bA5 wA3 bB3 wA6 bA4 wE5 bD3 wF6 bE3 wG7 bH5 wH6 bF4 wJ6 bG6 wH7 bF5 wE6 bJ5 wE4 bF3 wD4 bA2 wpass bpass"))],
}
SCORING = ["final_score", "final_status_list dead", "final_status_list seki", "final_status_list alive"]


def chain_sets(answer: str) -> object:
    """A final_status_list answer as a set of chains (GNU Go and we list a chain's stones in other orders)."""
    return {frozenset(line.split()) for line in answer.splitlines() if line.strip()}


@pytest.mark.parametrize("name", DEAD_STONE_POSITIONS)
def test_dead_stones_seki_and_final_score_agree_with_gnugo(name):
    moves = DEAD_STONE_POSITIONS[name]
    server = GTPServer("random")
    for command in ["komi 7.5"] + moves:
        assert server.handle(command)[0] == "=\n\n", command
    ours = [server.handle(command)[0].removeprefix("= ").removeprefix("=").strip() for command in SCORING]
    script = "\n".join(["boardsize 9", "komi 7.5"] + moves + SCORING + ["quit"]) + "\n"
    done = subprocess.run([GNUGO, "--mode", "gtp", "--chinese-rules"], input=script, capture_output=True, text=True,
                          timeout=60, check=True)
    theirs = [block.removeprefix("= ").removeprefix("=").strip() for block in done.stdout.strip().split("\n\n")][-5:-1]
    assert ours[0] == theirs[0], (name, ours, theirs)  # the score: area with the dead stones off
    for mine, gnugos in zip(ours[1:], theirs[1:]):
        assert chain_sets(mine) == chain_sets(gnugos), (name, ours, theirs)
    assert ours[1 if name != "seki" else 2], "the position has dead stones or a seki to find"


def test_final_status_list_lists_each_chain_once_and_refuses_other_statuses():
    server = GTPServer("random")
    for command in ("play b C3", "play w E5", "play b D3", "play w E6", "play b J9"):
        server.handle(command)
    listed = [server.handle(f"final_status_list {status}")[0] for status in ("ALIVE", "dead", "seki")]
    chains = sorted(line for answer in listed for line in answer.removeprefix("=").strip().splitlines())
    assert chains == ["C3 D3", "E5 E6", "J9"]  # each chain once, a line each, whatever its status
    assert server.handle("final_status_list white_territory")[0].startswith("? syntax error")


# ---- our snapshot against GNU Go, through the match runner -----------------------------------------


def test_a_snapshot_served_by_arena_gtp_plays_a_whole_game_against_gnugo(snapshot):
    ours = f"gtp:{shlex.join(arena_gtp(f'{snapshot}@sims=4', '--resign-threshold', '-1'))}"  # played to the end
    gnugo = f"gtp:{GNUGO_CMD}"
    seen = {}

    def on_game(i, state, bots) -> None:
        seen.update(state=state, ours=bots[0].send("final_score"), gnugo=bots[1].send("final_score"),
                    dead=bots[1].send("final_status_list dead"))

    result = play_match(GO9, ours, gnugo, 1, on_game=on_game)
    state = seen["state"]
    assert result.games == 1 and not result.forfeits and state.is_terminal()
    history = state.history()
    assert history[-2:] == [81, 81] or len(history) == GO9.game.max_game_length()  # passes, or the move cap
    assert result.losses == 1, "a random network beat GNU Go"
    assert seen["dead"] == "", "GNU Go left dead stones on the board"
    assert seen["gnugo"] == seen["ours"], seen  # both engines count the same area and komi
    # No dead stones left: that is also OpenSpiel's Tromp–Taylor count of the final position.
    assert seen["ours"] == final_score(state)
    assert seen["ours"][0] == ("B" if state.returns()[0] > 0 else "W")
    margin = float(seen["ours"][2:]) * (1 if seen["ours"][0] == "B" else -1)  # ours was Black: a's margin
    assert result.margins == [margin] and result.as_dict()["margin"] == margin < 0


def test_a_snapshot_against_gnugo_records_its_margin_from_either_side(snapshot):
    """The batched runner (a snapshot's games all at once) takes GNU Go's count as the referee's too,
    margins from a's side: the random network loses every game on the count, and by the same
    margins whichever side of the match it is named on."""
    ours = f"{snapshot}@sims=2"
    result = play_match(GO9, ours, "gnugo:0", 2)
    assert result.losses == 2 and len(result.margins) == 2 and max(result.margins) < 0, result.as_dict()
    assert result.as_dict()["margin"] < 0
    flipped = play_match(GO9, "gnugo:0", ours, 2)
    assert flipped.wins == 2 and min(flipped.margins) > 0
    assert play_match(GO9, ours, "random", 2).margins == []  # no referee, no margin
    assert "margin" not in play_match(GO9, ours, "random", 2).as_dict()


# ---- resignation -----------------------------------------------------------------------------------

def hopeless_sgf(path: Path) -> Path:
    """White to move, Black passed: Black holds the board but for single eyes and a two-point hole with
    one white stone in it; every White move but a pass is suicide, and a pass ends the game, lost."""
    eyes = {(c, r) for c in (1, 4, 7) for r in (1, 4, 7)} - {(4, 4)}
    black = [(c, r) for c in range(9) for r in range(9) if (c, r) not in eyes | {(4, 4), (5, 4)}]
    points = "".join(f"[{chr(97 + c)}{chr(97 + r)}]" for c, r in black)
    path.write_text(f"(;GM[1]FF[4]SZ[9]KM[7.5]AB{points}PL[W];W[ee];B[])")
    return path


def test_genmove_resigns_when_the_search_finds_the_position_lost(snapshot, tmp_path):
    sgf = hopeless_sgf(tmp_path / "hopeless.sgf")
    for resign, answer in ((Resignation(moves=1), "= resign"), (Resignation(-1.0, moves=1), "= pass")):
        server = GTPServer(f"{snapshot}@sims=50", resign=resign)
        assert server.handle(f"loadsgf {sgf}")[0] == "=\n\n"
        assert server.state.legal_actions() == [81]  # a pass, which loses: every search ends there
        history = server.state.history()
        assert server.handle("genmove w") == (answer + "\n\n", False)
        if resign.enabled:
            assert server._bot().mcts.root_value(0) < -0.9  # the real search value, under the default -0.9
            assert server.state.history() == history  # a resignation plays no move


def test_resign_threshold_counts_own_moves_and_the_session_goes_on(snapshot):
    # At 0.99 every value of the untrained network is low: Black resigns at its third genmove.
    s = Session(f"{snapshot}@sims=4", "--resign-threshold", "0.99")
    try:
        for colour in "bwbw":
            assert VERTEX.match(s.ok(f"genmove {colour}"))
        s.analysis("lz-genmove_analyze b 100")
        assert s.stream()[-1] == "play resign"  # Leela Zero's form of it
        assert s.ok("genmove b") == "resign"  # still lost, if the controller asks again
        assert s.ok("genmove w") == "resign"  # White's third: the pass put in for Black goes with it
        assert len(s.ok("printsgf").split(";")) == 6  # the header and the four moves: a resignation plays none
        s.ok("clear_board")  # a new game: nobody is behind
        assert VERTEX.match(s.ok("genmove b"))
    finally:
        s.close()
    for value in ("2", "nan"):
        done = subprocess.run(arena_gtp(str(snapshot), "--resign-threshold", value), input="name\n",
                              capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip() == f"arena: error: --resign-threshold {value} must lie in [-1, 1] (-1: never resign)"


# ---- the client's failures -------------------------------------------------------------------------

KILLER = """
import os, signal, subprocess, sys
marker, trigger, engine = sys.argv[1], sys.argv[2], sys.argv[3:]
child = subprocess.Popen(engine, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
count = 0
for line in sys.stdin:
    if line.split()[:1] == [trigger]:
        count += 1
        if count == 5 and not os.path.exists(marker):  # die at the 5th genmove (or play), once
            open(marker, "w").close()
            child.kill()
            child.wait()
            os.kill(os.getpid(), signal.SIGKILL)
    child.stdin.write(line)
    child.stdin.flush()
    while True:
        out = child.stdout.readline()
        sys.stdout.write(out)
        sys.stdout.flush()
        if not out.strip():
            break
"""

SCRIPTED = """
import sys, time
mode = sys.argv[1]
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "quit":
        print("=\\n", flush=True)
        break
    if words[0] == "genmove":
        if mode == "hang":
            time.sleep(60)
        print({"resign": "= resign", "illegal": "= A1", "refuse": "? not today", "garbage": "= Z99"}[mode] + "\\n",
              flush=True)
    else:
        print("= 2\\n" if words[0] == "protocol_version" else "=\\n", flush=True)
"""


def killer_spec(tmp_path: Path, trigger: str = "genmove") -> str:
    """GNU Go behind a proxy that is killed (SIGKILL) at the 5th `trigger` command of its first life."""
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    return f"gtp:{sys.executable} {script} {tmp_path / 'died'} {trigger} {GNUGO_CMD}"


def scripted(tmp_path: Path, mode: str) -> str:
    script = tmp_path / "scripted.py"
    script.write_text(SCRIPTED)
    return f"{sys.executable} {script} {mode}"


def gone(pid: int) -> bool:
    """Whether a process has exited and been reaped: a zombie still has its /proc entry."""
    return not Path(f"/proc/{pid}").exists()


def test_a_missing_engine_is_a_one_line_error_and_fails_the_match():
    with pytest.raises(GTPError) as exc:
        load_bot("gtp:/no/such/engine --mode gtp", GO9)
    assert "\n" not in str(exc.value) and "/no/such/engine --mode gtp" in str(exc.value)
    with pytest.raises(GTPError, match="cannot start"):
        play_match(GO9, "gtp:/no/such/engine", "random", 2)
    for spec, words in ((f"gtp:{GNUGO_CMD}", "Go only"), ("gtp:", "empty"), ('gtp:gnugo "--mode', "quotation")):
        with pytest.raises(BotError, match=words) as exc:
            load_bot(spec, "tic_tac_toe" if words == "Go only" else GO9)
        assert "\n" not in str(exc.value)


def test_an_engine_killed_mid_game_loses_that_game_on_the_ledger_and_the_ladder_goes_on(tmp_path):
    killer = killer_spec(tmp_path)
    ledger = Ledger(tmp_path / "ladder.sqlite")
    assert round_robin(GO9, [killer, "random"], 2, ledger) == 2
    (_, first), (_, second) = ledger.games()
    assert first.players == (killer, "random") and first.returns == (-1.0, 1.0)
    assert first.length == 8  # Black died asked for its 5th move
    assert second.players == ("random", killer) and second.length > 8  # restarted, played to the end
    assert second.returns == (-1.0, 1.0), "GNU Go lost a whole game to random moves"
    ledger.close()


def test_an_engine_dying_as_it_hears_of_a_move_forfeits_too(tmp_path):
    result = play_match(GO9, "random", killer_spec(tmp_path, "play"), 2)
    assert result.games == 2 and len(result.forfeits) == 1 and "died at 'play" in result.forfeits[0]
    assert result.returns[0] == 1.0 and result.lengths[0] == 8  # it died hearing of random's 5th move
    assert result.returns[1] == -1.0  # restarted, GNU Go beat random in the second game


def test_the_batched_runner_scores_a_dead_opponent_as_a_loss(snapshot, tmp_path):
    result = play_match(GO9, f"{snapshot}@sims=2", killer_spec(tmp_path), 2)
    assert result.games == 2 and len(result.forfeits) == 1 and "died" in result.forfeits[0]
    lost = [i for i, length in enumerate(result.lengths) if length < 10]
    assert len(lost) == 1 and result.returns[lost[0]] == 1.0  # the snapshot wins the game its opponent left


@pytest.mark.parametrize("mode, words", [("resign", "resigned"), ("illegal", "illegal"),
                                         ("refuse", "? not today"), ("garbage", "not a vertex")])
def test_resigning_or_misbehaving_engines_forfeit(tmp_path, mode, words):
    command = scripted(tmp_path, mode)
    result = play_match(GO9, f"gtp:{command}", "random", 2)
    assert result.losses == 2 and len(result.forfeits) == 2
    assert all(words in why and "\n" not in why for why in result.forfeits), result.forfeits


def test_a_stalled_engine_times_out_and_is_reaped(tmp_path):
    bot = GTPBot(scripted(tmp_path, "hang"), GO9.game, timeout=1.0)
    pid = bot.process.pid
    state = GO9.game.new_initial_state()
    bot.restart_at(state)
    with pytest.raises(GTPError, match="no answer in 1 s"):
        bot.step(state)
    assert not bot.alive() and gone(pid)


def test_gnugo_as_a_pyspiel_bot_in_openspiels_tools_and_no_zombies():
    game = games.load("go(board_size=5,komi=0.5)").game
    bot = GTPBot(GNUGO_CMD, game)
    returns = evaluate_bots.evaluate_bots(game.new_initial_state(), [bot, RandomBot(1)], np.random.RandomState(0))
    assert returns[0] == 1.0  # GNU Go beats random moves on 5x5
    pid = bot.process.pid
    bot.close()
    assert gone(pid)
    other = GTPBot(GNUGO_CMD, game)
    pid = other.process.pid
    del other  # garbage collection stops the engine too
    assert gone(pid)


def test_gnugo_referees_a_finished_game_with_dead_stones_left_on_the_board():
    """Both passed with a dead black stone in White's area: Tromp–Taylor counts it alive, the empty
    points around it for no one, and gives Black the game; GNU Go's final_score takes it off, and a match against GNU Go counts that."""
    from games.notation import go_action
    from league.match import judged

    black, white = [f"D{r}" for r in range(1, 10)] + ["G5"], [f"E{r}" for r in range(1, 10)] + ["F5", "G4", "G6"]
    state = GO9.game.new_initial_state()
    for action in goboard.setup_actions([go_action(v, 9) for v in black], [go_action(v, 9) for v in white], 0, 9):
        state.apply_action(action)
    while not state.is_terminal():
        state.apply_action(81)  # passes end it
    assert state.returns() == [1.0, -1.0] and final_score(state) == "B+17.5"  # 37 against 12: the rest of F-J is no one's
    referee = GTPBot(GNUGO_CMD, GO9.game)
    assert judged(state, [referee]) == ([-1.0, 1.0], True, -16.5)  # Black's margin by GNU Go's count
    assert referee.send("final_score") == "W+16.5"  # 36 points against 45, komi 7.5: G5 off
    assert judged(state, [RandomBot(0)]) == ([1.0, -1.0], False, None)  # no GTP engine: the rules' count


def test_gnugo_level_is_a_player_spec_and_beats_random():
    from engine.errors import BotError
    from engine.players import load_bot

    result = play_match(GO9, "gnugo:0", "random", 2)
    assert result.games == 2 and result.wins == 2, result.as_dict()
    assert len(result.margins) == 2 and min(result.margins) > 0  # refereed by itself: won on the count
    assert result.as_dict()["margin"] == round(sum(result.margins) / 2, 2)
    for spec, words in (("gnugo:11", r"from 0 \(weakest\) to 10"), ("gnugo:x", "write gnugo:N")):
        with pytest.raises(BotError, match=words):
            load_bot(spec, GO9)
    with pytest.raises(BotError) as refused:
        load_bot("gnugo:3", "tic_tac_toe")
    assert "\n" not in str(refused.value)
