"""arena_cli.play.saved_games: games saved as JSON and SGF, loaded back and replayed exactly."""
from __future__ import annotations

import json

import numpy as np
import pyspiel
import pytest

import games
from arena_cli.play import saved_games as records
from games import goboard
from games.notation import go_vertex

GO5 = games.load("go(board_size=5,komi=0.5)")


def finished_go(seed: int = 3) -> pyspiel.State:
    rng = np.random.default_rng(seed)
    state = GO5.game.new_initial_state()
    while not state.is_terminal():
        state.apply_action(int(rng.choice(state.legal_actions())))
    return state


def test_go_records_save_as_json_and_sgf_and_load_back(tmp_path):
    state = finished_go()
    record = records.record_of(GO5, state, ["human", "random"], seed=5)
    paths = records.save(record, tmp_path / "g.json")
    assert paths == [tmp_path / "g.json", tmp_path / "g.sgf"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json", "g.sgf"]  # no temp files left
    data = json.loads(paths[0].read_text())
    assert data["actions"] == state.history() and data["returns"] == state.returns()
    assert data["players"] == ["human", "random"] and data["game"] == GO5.game_string and data["date"]
    assert data["result"] == goboard.result_string(state) and len(data["moves"]) == len(state.history())
    for path in paths:
        loaded = records.load(path)
        spec, states = records.replay_states(loaded, str(path))
        assert spec.game_string == GO5.game_string
        assert str(states[-1]) == str(state) and states[-1].is_terminal()
    sgf = paths[1].read_text()
    assert sgf.startswith("(;GM[1]FF[4]") and "SZ[5]" in sgf and "KM[0.5]" in sgf and "PB[human]" in sgf
    assert f"RE[{data['result']}]" in sgf


def test_sgf_points_count_rows_from_the_top(play):
    spec = games.load("go9")
    state = play(spec, ["D4", "pass", "A9"])
    sgf = records.to_sgf(records.record_of(spec, state, ["a", "b"]))
    assert ";B[df]" in sgf and ";W[]" in sgf and ";B[aa]" in sgf
    back = records.from_sgf(sgf)
    assert back.actions == state.history() and back.result == "*"


def test_sgf_from_elsewhere_main_line_comments_and_refusals():
    text = "(;GM[1]SZ[9]KM[6.5]PB[gnugo]C[a comment (with parentheses)];B[ee]C[ok)];W[ce](;B[cc];W[gg])(;B[gc]))"
    record = records.from_sgf(text, "x.sgf")
    assert record.game == "go(board_size=9,komi=6.5)" and record.players[0] == "gnugo"
    assert [go_vertex(a, 9) for a in record.actions] == ["E5", "C5", "C7", "G3"]
    for bad, words in [("(;GM[1]SZ[9];B[ee];B[ce])", "only alternating"), ("(;GM[2]SZ[9];B[ee])", "not a Go game"),
                       ("(;GM[1]SZ[9];B[zz])", "off the 9x9"), ("(;GM[1]SZ[9]AE[ee];B[ce])", "removes stones"),
                       ("(;GM[1]SZ[9];B[ee]AB[cc];W[ce])", "after the first move"),
                       ("(;GM[1]SZ[9]AB[aa]AW[ba][ab])", "capture each other"),
                       ("(;GM[1]SZ[9]AB[cc][cc])", "two setup stones"), ("(;GM[1]SZ[9]AB[cc]PL[X])", "bad PL"),
                       ("(;GM[1]SZ[9]AB[cc];B[dd])", "needs a W setup stone"),  # a pass last: one more ends it
                       ("(;GM[1]SZ[9]AB[tt])", "setup stone 'tt' is off")]:
        with pytest.raises(records.RecordError, match=words):
            records.from_sgf(bad, "x.sgf")


def test_sgf_setup_stones_replay_as_moves_and_write_back(tmp_path):
    handicap = records.from_sgf("(;GM[1]FF[4]SZ[9]KM[0.5]HA[2]AB[cg][gc];W[ee];B[dd])", "h.sgf")
    assert handicap.setup == 3 and [go_vertex(a, 9) for a in handicap.actions] == ["C3", "pass", "G7", "E5", "D6"]
    assert handicap.game == "go(board_size=9,komi=0.5,max_game_length=165)"  # the move cap counts from the set-up
    sgf = records.to_sgf(handicap)
    assert "HA[2]AB[cg][gc]PL[W]" in sgf and ";W[ee]\n;B[dd])" in sgf and ";W[]" not in sgf
    assert records.from_sgf(sgf).actions == handicap.actions
    json_path = records.save(handicap, tmp_path / "h.json")[0]
    assert records.load(json_path).setup == 3 and records.load(json_path).actions == handicap.actions
    # GNU Go's printsgf: its position as setup stones of both colours, then who is to play
    position = records.from_sgf("(;GM[1]SZ[9]KM[0.0]HA[4]AW[ee]\nAB[cc][gc][df][cg][gg]\nPL[W])", "p.sgf")
    _, states = records.replay_states(position, "p.sgf")
    board = goboard.board(states[-1])
    assert {go_vertex(p, 9) for p in np.flatnonzero(board == goboard.BLACK)} == {"C7", "G7", "D4", "C3", "G3"}
    assert {go_vertex(p, 9) for p in np.flatnonzero(board == goboard.WHITE)} == {"E5"}
    assert states[-1].current_player() == 1 and states[-1].history()[-1] != 81  # no pass last
    written = records.to_sgf(position)
    assert "AB[cc][gc][df][cg][gg]AW[ee]PL[W]" in written and "HA[" not in written


def test_unreadable_records_are_one_line_errors(tmp_path):
    cases = {"missing.json": None, "text.json": "hello", "other.json": json.dumps({"a": 1}),
             "partial.json": json.dumps({"format": "arena-game", "version": 1, "game": "tic_tac_toe"})}
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_text(content)
        with pytest.raises(records.RecordError) as exc:
            records.load(tmp_path / name)
        assert "\n" not in str(exc.value) and name in str(exc.value)
    illegal = records.SavedGame("tic_tac_toe", ["a", "b"], [4, 4])
    with pytest.raises(records.RecordError, match="move 2"):
        records.replay_states(illegal, "r")


def test_default_directory_avoids_the_source_package(tmp_path, monkeypatch, play):
    monkeypatch.chdir(tmp_path)
    record = records.record_of(games.load("tic_tac_toe"), play(games.load("tic_tac_toe"), ["b2"]), ["human", "x/y.pt"])
    first = records.save(record)[0]
    assert first.parent == tmp_path / "games" or first.parent.resolve() == (tmp_path / "games").resolve()
    assert first.name.endswith("-tic_tac_toe-human-vs-y.json")
    assert records.save(record)[0] != first  # the same second gets another name
    (tmp_path / "games" / "__init__.py").write_text("")
    assert records.save(record)[0].parent.name == "saved-games"
