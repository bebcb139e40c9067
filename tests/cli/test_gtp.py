"""GTP both ways, with real processes: `arena gtp` as a GTP engine, GNU Go as a `gtp:` player.

Covers the server's every listed command and its failure answers, a whole 9x9 game of a snapshot
served by `arena gtp` against GNU Go through the match runner (scored by both engines), and the
client's failures: a missing engine, an engine killed mid-game (that game lost, on the ledger too,
and the match goes on), resignation, stalls, refusals and illegal moves.
"""
from __future__ import annotations

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
from engine.nn import checkpoint
from engine import config as cfg
from engine.players import BotError, GTPBot, GTPError, RandomBot, final_score, load_bot
from engine.nn.networks import build
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

pytestmark = pytest.mark.skipif(not os.access(GNUGO, os.X_OK), reason="GNU Go is not installed at /usr/games/gnugo")

LISTED = {"protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "clear_board",
          "komi", "play", "genmove", "undo", "showboard", "final_score", "time_settings", "time_left", "quit"}
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

    def _line(self, timeout: float = 60.0) -> str:
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
        lines = [self._line()]
        while lines[-1] != "":
            lines.append(self._line())
        m = re.match(r"^([=?])(\d*)(?: (.*))?$", lines[0])
        assert m, f"not a GTP response: {lines!r}"
        return m.group(1), m.group(2), "\n".join([m.group(3) or ""] + lines[1:-1]).strip()

    def ask(self, command: str) -> tuple[str, str]:
        self.sent.add(command.split()[0])
        self.raw(command + "\n")
        status, _, text = self.response()
        return status, text

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


def test_every_listed_command_answers_by_the_protocol(session):
    s = session
    assert s.ok("protocol_version") == "2"
    assert s.ok("name") == "Arena"
    assert s.ok("version")
    listed = set(s.ok("list_commands").split())
    assert listed == LISTED
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
    assert s.ok("quit") == ""
    assert s.proc.wait(timeout=10) == 0
    assert LISTED <= s.sent  # every listed command was exercised


def test_final_score_is_tromp_taylor_area_with_komi(session):
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


# ---- our snapshot against GNU Go, through the match runner -----------------------------------------


def test_a_snapshot_served_by_arena_gtp_plays_a_whole_game_against_gnugo(snapshot):
    ours = f"gtp:{shlex.join(arena_gtp(f'{snapshot}@sims=4'))}"
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
    assert seen["ours"] == final_score(state)  # the server and the client see the same final position
    assert seen["ours"][0] == ("B" if state.returns()[0] > 0 else "W")  # and score it as OpenSpiel does
    assert seen["dead"] == "", "GNU Go left dead stones on the board"
    assert seen["gnugo"] == seen["ours"], seen  # both engines count the same area and komi


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
