"""`arena play` and `arena replay` driven through a real pseudo-terminal, and the session's pieces in-process."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

import arena_cli
import games
from engine.nn import checkpoint, networks
from engine import rundir
from engine import config as cfg
from engine.players import load_bot
from games import goboard
from games.notation import go_action
from arena_cli.play import saved_games as records
from games import poker
from arena_cli.play import PlayConfig, Session, last_search, policy_line, search_view

ARENA = str(Path(sys.executable).parent / "arena")  # the installed script: cwd is not on its sys.path
YOU = r"\(you\) > "
TINY = cfg.NetworkConfig(channels=8, blocks=1, hidden=16)


def tiny_run(home: Path, name: str, game: str) -> None:
    """A run under ARENA_HOME with one untrained tiny snapshot, so nothing lands in checkpoints/."""
    spec = games.load(game)
    run_dir = home / name
    config = cfg.resolve(game, {"network": {"channels": 8, "blocks": 1, "hidden": 16}})
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(config))
    model = networks.build(TINY, tuple(spec.encoder.shape), spec.num_actions)
    checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, 7), spec.game_string, TINY,
                             tuple(spec.encoder.shape), spec.num_actions, 7, [model])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "runs"))
    return tmp_path / "runs"


def spawn(tmp_path: Path, *args: str, timeout: int = 30) -> pexpect.spawn:
    env = {**os.environ, "ARENA_HOME": str(tmp_path / "runs"), "TERM": "dumb", "OMP_NUM_THREADS": "1"}
    return pexpect.spawn(ARENA, list(args), cwd=str(tmp_path), env=env, encoding="utf-8", timeout=timeout,
                         dimensions=(50, 120))


def finish(child: pexpect.spawn) -> str:
    """Wait for the end; returns everything printed since the last match. Fails on a traceback."""
    child.expect(pexpect.EOF)
    rest = child.before
    child.close()
    assert "Traceback" not in rest, rest
    assert child.exitstatus == 0, rest
    return rest


def saved(tmp_path: Path, suffix: str = ".json") -> list[Path]:
    return sorted((tmp_path / "games").glob(f"*{suffix}"))


def replay_all(tmp_path: Path, path: Path) -> str:
    child = spawn(tmp_path, "replay", str(path), "--all")
    return finish(child)


# ---- through a terminal ---------------------------------------------------------------------------


def test_tic_tac_toe_against_minimax_to_the_end_then_replay(tmp_path):
    child = spawn(tmp_path, "play", "tic_tac_toe", "--vs", "minimax", "--seed", "0")
    child.expect("x \\(you\\) vs o \\(minimax\\)")
    child.expect(YOU)
    cell, moves = 1, 0
    while True:  # always the lowest free cell
        child.sendline(str(cell))
        i = child.expect(["illegal move \\d: occupied", "o \\(minimax\\) plays", "game over"])
        if i == 0:
            child.expect(YOU)
            cell += 1
            continue
        moves += 1
        if i == 2 or child.expect(["game over", YOU]) == 0:
            break
    child.expect("saved ")
    finish(child)
    [path] = saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["players"] == ["human", "minimax"] and data["game"] == "tic_tac_toe"
    assert data["returns"][0] <= 0 and data["result"] in ("0-1", "1/2-1/2")  # minimax never loses
    assert data["actions"][0] == 0 and len(data["actions"]) in (2 * moves - 1, 2 * moves)
    out = replay_all(tmp_path, path)
    n = len(data["actions"])
    assert f"move {n} of {n}" in out and f"result {data['result']}" in out


def test_go_against_random_with_bad_input_undo_hint_help_then_sgf(tmp_path):
    game = "go(board_size=5,komi=0.5)"
    child = spawn(tmp_path, "play", game, "--vs", "random", "--as", "black", "--seed", "2")
    child.expect(YOU)
    child.sendline("")  # empty: just the prompt again
    child.expect(YOU)
    assert "expected" not in child.before and "│" not in child.before
    for typed, answer in [("zz", "expected a point like D4"), ("Z9", "Z9 is off the 5x5 board"),
                          ("help", "undo +take back"), ("undo", "nothing to undo"), ("hint", "hint from random: ")]:
        child.sendline(typed)
        child.expect(answer)
        child.expect(YOU)
    child.sendline("C3")
    child.expect("White \\(random\\) plays (\\S+) ")
    child.expect(YOU)
    child.sendline("c3")
    child.expect("illegal move C3: occupied")
    child.expect(YOU)
    child.sendline("undo")
    child.expect("took back 2 move\\(s\\)")
    child.expect("Black to move")
    child.expect(YOU)
    child.sendline("B2")
    child.expect("White \\(random\\) plays")
    for _ in range(60):  # pass until the game ends (two passes, or the length limit)
        child.expect([YOU, "game over"])
        if "game over" in child.after:
            break
        child.sendline("pass")
    else:
        pytest.fail("the game did not end")
    finish(child)
    [path] = saved(tmp_path)
    [sgf] = saved(tmp_path, ".sgf")
    data = json.loads(path.read_text())
    assert data["actions"][0] == go_action("B2", 5)  # the undone C3 is gone
    assert data["players"] == ["human", "random"] and data["returns"] is not None
    spec, states = records.replay_states(records.load(path))
    assert data["result"] == goboard.result_string(states[-1])
    text = sgf.read_text()
    assert ";B[bd]" in text and f"RE[{data['result']}]" in text
    out = replay_all(tmp_path, sgf)
    n = len(data["actions"])
    assert f"move {n} of {n}" in out and f"result {data['result']}" in out


def test_a_person_resigns_and_the_saved_game_says_so(tmp_path):
    child = spawn(tmp_path, "play", "go9", "--vs", "random", "--seed", "1")
    child.expect(YOU)
    child.sendline("help")
    child.expect("resign +give up")
    child.expect(YOU)
    child.sendline("E5")
    child.expect(YOU)
    child.sendline("resign")
    child.expect("game over: Black \\(you\\) resigns: you lose, W\\+R")
    finish(child)
    [path] = saved(tmp_path)
    [sgf] = saved(tmp_path, ".sgf")
    data = json.loads(path.read_text())
    assert data["resigned"] == 0 and data["returns"] == [-1.0, 1.0] and data["result"] == "W+R"
    assert len(data["actions"]) == 2  # E5 and the reply: the resignation is no move
    assert "RE[W+R]" in sgf.read_text()
    assert records.load(sgf).resigned == 0 and records.load(path).resigned == 0
    assert "result W+R" in replay_all(tmp_path, sgf)


def test_a_neural_bot_resigns_by_the_rule_and_resigning_needs_a_game_won_or_lost(home, tmp_path):
    tiny_run(home, "g", "go9")
    spec = games.load("go9")
    out = io.StringIO()
    # At 0.99 every value of the untrained network is low: Black resigns at its third move, before White's.
    config = PlayConfig("go9", ["g@sims=4", "g@sims=4"], delay=0, seed=0, save=str(tmp_path), resign_threshold=0.99)
    record = Session(spec, config.vs, config, Console(file=out, width=100)).run()
    assert len(record.actions) == 4 and record.resigned == 0 and record.result == "W+R"
    assert record.returns == [-1.0, 1.0]
    assert "Black (g@sims=4) resigns" in out.getvalue() and "game over: Black (g@sims=4) resigns: White (g@sims=4) " \
        "wins, W+R" in out.getvalue()
    config = PlayConfig("go9", ["g@sims=4", "g@sims=4"], delay=0, seed=0, save=str(tmp_path), resign_threshold=-1.0)
    session = Session(spec, config.vs, config, Console(file=io.StringIO()))
    for _ in range(6):  # past the move Black resigned at above: at -1 nobody resigns
        session._bot_turn()
    assert session.resigned is None and len(session.state.history()) == 6
    poker = games.load("kuhn_poker")
    out = io.StringIO()
    record = Session(poker, ["human", "random"], PlayConfig("kuhn_poker", ["random"], seed=4, save=str(tmp_path)),
                     Console(file=out, width=100), scripted(["resign", "quit"])).run()
    assert "no resigning in kuhn_poker" in out.getvalue() and record.resigned is None and record.returns is None


def test_ctrl_d_before_a_move_saves_nothing_and_ctrl_c_saves_the_unfinished_game(tmp_path):
    child = spawn(tmp_path, "play", "tic_tac_toe", "--vs", "random")
    child.expect(YOU)
    child.sendeof()
    assert "nothing saved" in finish(child)
    assert not (tmp_path / "games").exists()

    # Started from a process that ignores SIGINT (children inherit that), ^C must still work.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = spawn(tmp_path, "play", "tic_tac_toe", "--vs", "random", "--as", "second")
    finally:
        signal.signal(signal.SIGINT, previous)
    child.expect("x \\(random\\) plays")
    child.expect(YOU)
    time.sleep(0.5)  # let the line editor finish setting up the terminal, or ^C may arrive as a key
    child.sendintr()
    assert "game left unfinished" in finish(child)
    [path] = saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["result"] == "*" and data["returns"] is None and len(data["actions"]) == 1
    assert data["players"] == ["random", "human"]


def test_two_people_share_the_terminal(tmp_path):
    child = spawn(tmp_path, "play", "tic_tac_toe", "--vs", "human", "--save", "ttt.json")
    for move in ["1", "4", "2", "5"]:
        child.expect(r"(x|o) \(human\) > ")
        child.sendline(move)
    child.expect(r"x \(human\) > ")
    child.sendline("hint")
    child.expect("no bot in this game")
    child.expect(r"x \(human\) > ")
    child.sendline("undo")  # takes back o's 5 only: both seats are people
    child.expect("took back 1 move")
    child.expect(r"o \(human\) > ")
    child.sendline("5")
    child.expect(r"x \(human\) > ")
    child.sendline("c1")
    child.expect("game over: x \\(human\\) wins, 1-0")
    finish(child)
    data = json.loads((tmp_path / "ttt.json").read_text())
    assert data["actions"] == [0, 3, 1, 4, 2] and data["moves"] == ["a1", "a2", "b1", "b2", "c1"]


def test_neural_bot_shows_its_search_gives_hints_and_quit_saves(tmp_path):
    tiny_run(tmp_path / "runs", "tiny", "tic_tac_toe")
    child = spawn(tmp_path, "play", "tic_tac_toe", "--vs", "tiny@sims=8", "--as", "second", "--seed", "1")
    child.expect(r"x \(tiny@sims=8\) plays (\w+) \(\d+\.\d+ s\)")
    child.expect("tiny@sims=8 thought:")
    child.expect(r"position value [+-]\d\.\d\d \(win estimate \d+%\) after 7 visits")  # the root expansion is simulation 1
    child.expect(YOU)
    child.sendline("hint")
    child.expect(r"hint: (\w\d) \((\d+) of (\d+) visits, win estimate \d+% for you\)")
    assert int(child.match.group(2)) <= int(child.match.group(3)) >= 8  # 8 new simulations, more if the tree is reused
    child.expect(YOU)
    child.sendline("quit")
    assert "game left unfinished" in finish(child)
    [path] = saved(tmp_path)
    assert json.loads(path.read_text())["players"] == ["tiny@sims=8", "human"]


def test_watching_a_neural_bot_play_random_at_no_delay(tmp_path):
    tiny_run(tmp_path / "runs", "c4", "connect_four")
    child = spawn(tmp_path, "play", "connect_four", "--vs", "c4@sims=8", "--vs", "random", "--delay", "0",
                  "--seed", "3", "--save", "watch")
    child.expect("thought:")
    child.expect("game over")
    out = finish(child)
    [path] = (tmp_path / "watch").glob("*.json")
    data = json.loads(path.read_text())
    assert data["players"] == ["c4@sims=8", "random"] and sum(data["returns"]) == 0
    assert len(data["actions"]) >= 7 and "saved" in out


def test_two_minimax_bots_draw(tmp_path):
    child = spawn(tmp_path, "play", "tic_tac_toe", "--vs", "minimax", "--vs", "minimax", "--delay", "0")
    child.expect("game over: draw")
    finish(child)
    [path] = saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["result"] == "1/2-1/2" and len(data["actions"]) == 9


# ---- hidden information through a terminal ---------------------------------------------------------


def play_poker_to_the_end(child: pexpect.spawn, answer: str = "call") -> None:
    """Answer every prompt with `answer` (call, or a check when nothing is to call) until the hand ends."""
    for _ in range(40):
        if child.expect([YOU, "game over"]) == 1:
            return
        child.sendline(answer)
    pytest.fail("the hand did not end")


def test_kuhn_poker_hand_against_random_with_a_bad_action_first_then_replay(tmp_path):
    child = spawn(tmp_path, "play", "kuhn_poker", "--vs", "random", "--seed", "3")
    child.expect(r"player 0 \(you\) vs player 1 \(random\)")
    child.expect(r"player 0 \(you\)\s+([JQK]) ")  # the table shows my card ...
    mine = child.match.group(1)
    child.expect(r"player 1 \(random\)\s+\?\? ")  # ... and not the bot's
    child.expect(YOU)
    child.sendline("shove")
    child.expect(YOU)
    # Between the two prompts: the echoed input, then the message, then the next prompt's "player 0 ".
    said = [line for line in child.before.splitlines() if line.strip() not in ("", "shove", "player 0")]
    assert len(said) == 1 and re.search(r"type (check or bet|fold or call), not 'shove'", said[0]), said
    child.sendline("call")  # nothing to call: a check
    play_poker_to_the_end(child)
    child.expect(r"game over: you (win \d chips?|lose \d chips?|break even) \(returns [+-]\d, [+-]\d\)")
    finish(child)
    [path] = saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["players"] == ["human", "random"] and data["game"] == "kuhn_poker"
    assert sum(data["returns"]) == 0 and "JQK"[data["actions"][0]] == mine
    assert data["moves"][2] == "check"  # "call" with nothing to call is a check
    theirs = "JQK"[data["actions"][1]]
    out = replay_all(tmp_path, path)
    assert "This replay shows everything" in out
    n = len(data["actions"])
    assert f"move {n} of {n}" in out and re.search(rf"player 1 \(random\)\s+{theirs} ", out)


def test_leduc_hides_the_bots_card_until_the_showdown(tmp_path):
    child = spawn(tmp_path, "play", "leduc_poker", "--vs", "random", "--as", "second", "--seed", "5")
    seen = io.StringIO()
    child.logfile_read = seen
    play_poker_to_the_end(child)
    child.expect("game over")
    finish(child)
    [path] = saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["players"] == ["random", "human"] and sum(data["returns"]) == 0
    spec = games.load("leduc_poker")
    theirs, mine = (poker.card_name(spec.game, c) for c in data["actions"][:2])
    before, _, after = seen.getvalue().partition("showdown")
    assert after, "no showdown was shown"
    assert mine in before and re.search(r"player 0 \(random\)\s+\?\? ", before)
    assert theirs not in before  # the bot's card (rank and suit: no other card shares it)
    assert re.search(rf"player 0 \(random\)\s+{theirs} ", after)


def test_three_player_leduc_one_person_two_bots(tmp_path):
    child = spawn(tmp_path, "play", "leduc_poker3", "--vs", "random", "--vs", "random", "--as", "third",
                  "--seed", "2")
    child.expect(r"player 0 \(random\) vs player 1 \(random\) vs player 2 \(you\)")
    play_poker_to_the_end(child)
    child.expect(r"game over: you (win|lose|break even)")
    finish(child)
    [path] = saved(tmp_path)
    data = json.loads(path.read_text())
    assert data["players"] == ["random", "random", "human"] and len(data["returns"]) == 3
    assert abs(sum(data["returns"])) < 1e-9 and path.name.endswith("-random-vs-random-vs-human.json")


def test_watching_two_bots_play_leduc_shows_every_card(tmp_path):
    child = spawn(tmp_path, "play", "leduc_poker", "--vs", "random", "--vs", "random", "--delay", "0", "--seed", "4")
    child.expect("game over")
    out = child.before
    finish(child)
    data = json.loads(saved(tmp_path)[0].read_text())
    first, second = (poker.card_name(games.load("leduc_poker").game, c) for c in data["actions"][:2])
    # the first table after the deal already shows both cards
    assert re.search(rf"player 0 \(random\)\s+{first} ", out) and re.search(rf"player 1 \(random\)\s+{second} ", out)
    assert "??" not in out


def test_phantom_go_shows_the_person_only_their_view(tmp_path):
    child = spawn(tmp_path, "play", "phantom_go5", "--vs", "random", "--seed", "6")
    seen = io.StringIO()
    child.logfile_read = seen
    refused = 0
    for point in ["A1", "B1", "C1", "D1", "E1", "A2", "B2", "C2"]:
        child.expect(YOU)
        child.sendline(point)
        i = child.expect([r"White \(random\) (has moved|passes)", "is occupied by an unseen stone", "illegal move",
                          "game over"])
        refused += i == 1
        if i == 3:
            break
    child.expect(YOU)
    child.sendline("quit")
    finish(child)
    text = seen.getvalue()
    assert "White (random) plays" not in text  # the bot's points are never named
    [path] = saved(tmp_path)
    record = records.load(path)
    spec, states = records.replay_states(record)
    true_white = str(states[-1]).split("Observation")[0].count("O")
    boards = re.findall(r"((?:│\s+\d [·●○ ]+ \d\s+│\r?\n)+)", text)
    shown_white = boards[-1].count("○")
    view_white = states[-1].observation_string(0).count("O")
    assert shown_white == view_white  # what is drawn is Black's own view ...
    assert true_white > shown_white  # ... and White has stones there that Black was not shown
    assert refused == 0 or "now shown on your board" in text


def test_liars_dice_bids_typed_as_quantity_face(tmp_path):
    child = spawn(tmp_path, "play", "liars_dice", "--vs", "random", "--seed", "1")
    child.expect(r"dice: player 0 \(you\) (\d) · player 1 \(random\) \?\?")
    child.expect(YOU)
    for typed, answer in [("liar", "there is no bid to call liar on yet"), ("9-2", "9-2 is no bid: quantity 1-2"),
                          ("two fives", "expected a bid like 2-5")]:
        child.sendline(typed)
        child.expect(answer)
        child.expect(YOU)
    child.sendline("1-2")
    for _ in range(12):
        i = child.expect([YOU, "game over"])
        if i == 1:
            break
        child.sendline("liar")
    finish(child)
    data = json.loads(saved(tmp_path)[0].read_text())
    assert data["moves"][2] == "1-2" and data["moves"][-1] == "liar" and sum(data["returns"]) == 0


# ---- in-process -----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (["play", "tic_tac_toe", "--vs", "nosuch"], "no run named 'nosuch'"),
    (["play", "tic_tac_toe", "--vs", "random", "--vs", "random", "--as", "first"], "--as places you"),
    (["play", "tic_tac_toe", "--vs", "a", "--vs", "b", "--vs", "c"], "give one --vs"),
    (["play", "tic_tac_toe", "--vs", "random", "--delay", "-1"], "must not be negative"),
    (["play", "matrix_rps", "--vs", "random"], "simultaneous moves"),
    (["play", "leduc_poker3", "--vs", "a", "--vs", "b", "--vs", "c", "--vs", "d"], "leduc_poker3 has 3 players: give 2"),
    (["play", "leduc_poker3", "--vs", "random", "--vs", "random", "--as", "fourth"], "has 3 seats; choose first"),
    (["play", "leduc_poker3", "--vs", "random", "--vs", "random", "--vs", "random", "--as", "first"],
     "--as places you"),
    (["play", "nosuchgame", "--vs", "random"], "unknown game"),
    (["replay", "missing.json"], "not found"),
])
def test_user_errors_are_one_line(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert arena_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("arena: error: ") and words in err and err.count("\n") == 1, err


def scripted(lines: list[str]):
    feed = iter(lines)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None
    return read


def test_poker_takes_players_words_and_refuses_what_is_not_legal(tmp_path):
    spec = games.load("kuhn_poker")
    out = io.StringIO()
    session = Session(spec, ["human", "random"], PlayConfig("kuhn_poker", ["random"], seed=4, save=str(tmp_path)),
                      Console(file=out, width=100), scripted(["fold", "BET", "call", "call"]))
    record = session.run()
    text = out.getvalue()
    assert "nothing to call, no need to fold: type check or bet, not 'fold'" in text
    assert record.returns is not None and sum(record.returns) == 0
    assert record.moves[:2] == ["deal " + "JQK"[record.actions[0]], "deal " + "JQK"[record.actions[1]]]
    assert record.moves[2] == "bet" and set(record.moves[3:]) <= {"fold", "call"}


def test_undo_never_crosses_a_deal_the_player_has_seen(tmp_path):
    spec = games.load("leduc_poker")
    out = io.StringIO()
    session = Session(spec, ["human", "human"], PlayConfig("leduc_poker", ["human"], seed=2, save=str(tmp_path)),
                      Console(file=out, width=100), scripted(["check", "check", "undo", "bet", "undo", "quit"]))
    record = session.run()
    text = out.getvalue()
    assert "cannot undo: cards or dice were dealt since your move, and you have seen them" in text
    assert "took back 1 move(s)" in text  # the bet in round 2 could be taken back
    assert len(record.actions) == 5 and record.moves[2:4] == ["check", "check"]


def test_policy_lines_skip_uniform_policies_and_the_lone_player_is_the_viewer():
    spec = games.load("kuhn_poker")
    session = Session(spec, ["human", "random"], PlayConfig("kuhn_poker", ["random"], seed=1), Console(file=io.StringIO()))
    state = spec.game.new_initial_state()
    state.apply_action(0)
    state.apply_action(1)
    assert policy_line(spec, state, [(0, 0.5), (1, 0.5)]) is None  # uniform: it tells nothing
    assert policy_line(spec, state, [(0, 0.25), (1, 0.75)]) == "bet 75% · check 25%"
    assert session.viewer == 0 and session.hidden


def test_hint_and_the_bots_search_read_the_same_tree(home):
    tiny_run(home, "t", "tic_tac_toe")
    spec = games.load("tic_tac_toe")
    bot = load_bot("t@sims=16", spec)
    state = spec.game.new_initial_state()
    action = bot.step(state)
    stats = last_search(bot)
    view = search_view(spec, state, stats)
    assert view.visits == 15  # the root's expansion is the first of the 16 simulations
    assert stats["visits"][action] == stats["visits"].max() == view.moves[0][1]  # the move played leads
    assert [m[1] for m in view.moves] == sorted((m[1] for m in view.moves), reverse=True)
    assert -1.0 <= view.value <= 1.0 and 0 <= view.win <= 100


def test_a_go_game_ends_with_the_count_with_dead_stones_off_beside_openspiels(tmp_path):
    """Walls on D (Black) and E (White), a black stone left at G5 in White's area, both pass."""
    spec = games.load("go9")
    moves = [f"{c}{r}" for r in range(1, 10) for c in "DE"] + ["G5", "pass", "pass"]
    out = io.StringIO()
    session = Session(spec, ["human", "human"], PlayConfig("go9", ["human"], seed=1, save=str(tmp_path)),
                      Console(file=out, width=100), scripted(moves))
    record = session.run()
    text = out.getvalue()
    assert "game over: Black (human) wins, B+20.5" in text  # OpenSpiel's Tromp–Taylor: G5 counts as alive
    assert ("with dead stones removed (estimated from 200 random playouts): W+16.5; the game is decided by "
            "OpenSpiel's Tromp–Taylor count") in " ".join(text.split())
    assert "│  5 ▪ ▪ ▪ ● ○ ▫ × ▫ ▫ 5" in text  # each side's area, the dead stone crossed
    assert record.result == "B+20.5" and record.territory["result"] == "W+16.5"
    assert record.territory["dead"] == [go_action("G5", 9)] and len(record.territory["white"]) == 36
    [sgf] = sorted(tmp_path.glob("*.sgf"))
    text = sgf.read_text()
    assert "RE[B+20.5]" in text and "MA[ge]" in text and "TB[" in text and "TW[" in text and "W+16.5" in text
    assert text.count("TW[") == 1 and text.rstrip().endswith("])")  # on the last node
    [path] = sorted(tmp_path.glob("*.json"))
    assert records.load(path).territory == record.territory
    assert records.load(sgf).actions == record.actions  # the marks do not disturb reading it back
