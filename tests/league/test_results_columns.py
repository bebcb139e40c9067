"""Results files: the CSV headers and result forms other tools write, `--columns`, and property tests
(any file is records or one ResultsFileError line naming file:line)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from league.ledger import Ledger
from league.results_file import ResultsFileError, ResultLine, read_results

WIN, LOSS, DRAW = (1.0, -1.0), (-1.0, 1.0), (0.0, 0.0)


def results(tmp_path: Path, text: str, suffix: str = ".csv", **kwargs) -> list[tuple]:
    path = tmp_path / f"r{suffix}"
    path.write_text(text)
    return [(r.player0, r.player1, (r.return0, r.return1)) for r in read_results(path, **kwargs)]


@pytest.mark.parametrize("header", ["player0,player1,result", "white,black,result", "White,Black,Result",
                                    "player1,player2,result", "p1,p2,result", "first,second,result",
                                    "black,white,result", "result,player0,player1,game"])
def test_common_player_columns_read_first_seat_first(tmp_path, header):
    names = header.lower().split(",")
    row = {"player0": "a", "white": "a", "player1": "a" if "player2" in names else "b", "player2": "b", "p1": "a",
           "p2": "b", "first": "a", "second": "b", "black": "b", "result": "1-0", "game": "tic_tac_toe"}
    if "player0" in names:
        row["player1"] = "b"
    text = header + "\n" + ",".join(row[n] for n in names) + "\n"
    assert results(tmp_path, text) == [("a", "b", WIN)]


@pytest.mark.parametrize("value, returns", [("1-0", WIN), ("0-1", LOSS), ("1/2-1/2", DRAW), ("½-½", DRAW),
                                            ("1", WIN), ("0", LOSS), ("0.5", DRAW), ("1.0", WIN), ("0.0", LOSS)])
def test_result_as_pgn_token_or_first_players_score(tmp_path, value, returns):
    assert results(tmp_path, f"white,black,result\nw,b,{value}\n") == [("w", "b", returns)]


@pytest.mark.parametrize("value, returns", [("w", WIN), ("b", LOSS), ("white", WIN), ("Black", LOSS),
                                            ("W", WIN), ("draw", DRAW), ("", DRAW), ("1/2", DRAW),
                                            ("alice", WIN), ("bob", LOSS)])
def test_winner_column_names_a_player_a_colour_or_a_draw(tmp_path, value, returns):
    assert results(tmp_path, f"white,black,winner\nalice,bob,{value}\n") == [("alice", "bob", returns)]


def test_a_player_named_like_a_colour_wins_by_name(tmp_path):
    assert results(tmp_path, "white,black,winner\nblack,white,black\n") == [("black", "white", WIN)]


def test_columns_name_the_files_own_columns_and_the_rest_is_ignored(tmp_path):
    text = "date,a,b,score,event\n2026-01-01,x,y,0-1,club\n2026-01-02,y,x,1,club\n"
    cols = {"a": "white", "b": "black", "score": "result"}
    assert results(tmp_path, text, columns=cols) == [("x", "y", LOSS), ("y", "x", WIN)]
    assert results(tmp_path, "a,b,who\nx,y,y\n", columns={"a": "player0", "b": "player1", "who": "winner"}) == \
        [("x", "y", LOSS)]
    with pytest.raises(ResultsFileError, match=r"r\.csv:1: no column 'c'"):
        results(tmp_path, text, columns={"c": "white", "b": "black", "score": "result"})
    with pytest.raises(ResultsFileError, match="unknown column role 'loser'"):
        results(tmp_path, text, columns={"a": "white", "b": "loser"})


@pytest.mark.parametrize("header", ["white,black", "home,away,result", "white,black,result,winner",
                                    "white,white,result", "player0,player2,result,date"])
def test_an_unknown_header_is_one_line_listing_what_is_accepted(tmp_path, header):
    with pytest.raises(ResultsFileError) as err:
        results(tmp_path, header + "\na,b,1-0\n")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'r.csv'}:1: header") and "\n" not in message
    assert "white,black" in message and "--columns" in message


def test_bad_values_name_file_and_line(tmp_path):
    with pytest.raises(ResultsFileError, match=r"r\.csv:3: unknown winner 'carol'"):
        results(tmp_path, "white,black,winner\na,b,a\na,b,carol\n")
    with pytest.raises(ResultsFileError, match=r"r\.csv:2: unknown result '2'"):
        results(tmp_path, "p1,p2,result\na,b,2\n")


def test_ladder_columns_flag(tmp_path, capsys):
    from arena_cli.cli import main

    path = tmp_path / "games.csv"
    path.write_text("a,b,r\n" + "x,y,1-0\ny,x,0-1\n" * 5)
    run = ["ladder", "--results", str(path), "--anchor", "", "--resamples", "5", "--csv"]
    assert main(run + ["--columns", "a=white,b=black,r=result"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split(",")[1] == "x"  # x won every game: first place
    assert main(run + ["--columns", "a=white,b"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "COLUMN=ROLE" in err
    assert main(run) == 2
    assert "header 'a,b,r' is not valid" in capsys.readouterr().err


# ---- property tests ---------------------------------------------------------------------------------

NAMES = st.one_of(st.sampled_from(["a", "b", "white", "black", "", " ", "x,y", '"q"', "é"]), st.text(max_size=6))
CELLS = st.one_of(NAMES, st.sampled_from(["1-0", "0-1", "1/2-1/2", "*", "1", "0", "0.5", "draw", "2", "½-½"]))
HEADER_NAMES = st.sampled_from(["player0", "player1", "player2", "white", "black", "p1", "p2", "result", "winner",
                                "game", "date", "", "Result"])


@st.composite
def csv_text(draw) -> str:
    header = draw(st.lists(HEADER_NAMES, min_size=0, max_size=5))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=len(header) + 1), max_size=6))
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return "\n".join(lines)


@st.composite
def pgn_text(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        for tag in draw(st.lists(st.sampled_from(["White", "Black", "Result", "Game", "Event", "X y", ""]), max_size=5)):
            value = draw(st.one_of(CELLS, st.just('a \\" b'), st.just("\\")))
            parts.append(f'[{tag} "{value}"]')
        parts.append(draw(st.sampled_from(["", "1. e4 e5", "{a comment", "}", "; x", "% esc", "1-0", "0-1",
                                           "1/2-1/2", "*", "{c} 1-0", "[", "]"])))
    return "\n".join(parts)


def mutate(draw, text: str) -> str:
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.one_of(st.text(max_size=3), st.sampled_from(["\x00", "\r", '"', "\n", ","]))) + \
            text[i + draw(st.integers(0, 2)):]
    return text


@st.composite
def results_file(draw) -> tuple[bytes, str]:
    text = mutate(draw, draw(st.one_of(csv_text(), pgn_text())))
    data = draw(st.one_of(st.just(text.encode("utf-8", "surrogatepass")), st.binary(max_size=60)))
    return data, draw(st.sampled_from([".csv", ".pgn", ".txt"]))


def check_results_file(data: bytes, suffix: str, read) -> None:
    """`read(path)` of a results file holding `data` returns records or raises one line naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"results{suffix}"
        path.write_bytes(data)
        try:
            out = read(path)
        except ResultsFileError as exc:
            message = str(exc)
            assert message.startswith(f"{path}") and "\n" not in message, message
            return
        assert out is not None


GAME = st.sampled_from([None, "tic_tac_toe", "connect_four()"])
PLAYERS = st.sampled_from([None, ("a", "b"), ()])
COLUMNS = st.sampled_from([None, None, {"white": "white", "black": "black", "result": "result"},
                           {"p1": "player0", "p2": "player1", "winner": "winner"}])


@given(file=results_file(), game=GAME, players=PLAYERS, columns=COLUMNS)
@example(file=(b"white,black,result\na,b,1-0\n\x00", ".csv"), game=None, players=None, columns=None)
@example(file=(b'white,black,result\n"' + b"x" * 200_000 + b'",b,1-0\n', ".csv"), game=None, players=None,
         columns=None)
@example(file=(b"\xff\xfe", ".csv"), game=None, players=None, columns=None)
def test_any_results_file_is_records_or_one_line(file, game, players, columns, case_time_limit):
    with case_time_limit():
        out: list = []
        check_results_file(*file, lambda path: out.extend(read_results(path, game, players, columns)) or out)
        assert all(isinstance(r, ResultLine) and r.player0 and r.player1 for r in out)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """One ledger for every case (module-scoped: @given tests may not take function-scoped fixtures)."""
    ledger = Ledger(tmp_path_factory.mktemp("ledger") / "l.sqlite")
    yield ledger
    ledger.close()


@given(file=results_file())
def test_any_results_file_imports_all_or_nothing(file, ledger, case_time_limit):
    with case_time_limit():
        before = sum(ledger.counts().values())
        added: list[int] = []
        check_results_file(*file, lambda path: added.append(ledger.import_results(path, "tic_tac_toe")) or added)
        assert sum(ledger.counts().values()) == before + sum(added)  # a refused file adds nothing
