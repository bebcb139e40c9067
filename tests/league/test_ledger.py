"""Tests for league.ledger, and for league.results_file as the ledger imports and exports results files:
real SQLite files in tmp_path, real processes killed with SIGKILL."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from league.ledger import (
    FILENAME,
    SCHEMA_VERSION,
    GameResult,
    Ledger,
    LedgerError,
    PairRecord,
)
from league.results_file import ResultLine, ResultsFileError, read_results

ROOT = Path(__file__).resolve().parents[2]
C4 = "connect_four()"


def game(p0: str, p1: str, r0: float, kind: str = "rating", uid: str | None = None, t: float | None = None) -> GameResult:
    """A two-player zero-sum game: seat 0's return r0, seat 1's -r0."""
    return GameResult((p0, p1), (r0, -r0), 30, kind, C4, uid=uid, time=t)


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger.of_run(tmp_path) as led:
        yield led


# ---------------------------------------------------------------------------------- recording


def test_round_trip_ids_counts_and_players(ledger: Ledger, tmp_path: Path) -> None:
    assert (tmp_path / FILENAME).is_file()
    three = GameResult(("x", "y", "z"), (1.0, 0.0, -1.0), 12, "training", "hearts()", uid="h1", time=5.0, match_id="m")
    batch = [game("a", "b", 1, uid="g1", t=1.0), game("b", "a", 0, kind="gating", t=2.0), three]
    assert ledger.record_many(batch) == 3
    rows = ledger.games()
    assert [gid for gid, _ in rows] == [1, 2, 3]
    assert [g for _, g in rows] == batch  # players, returns, length, kind, game, uid, time, match_id
    assert ledger.games(after_id=2) == [(3, three)]
    assert [gid for gid, _ in ledger.games(limit=2)] == [1, 2]
    assert ledger.games(kinds=["gating"]) == [(2, batch[1])]
    assert ledger.counts() == {"rating": 1, "gating": 1, "training": 1}
    assert ledger.counts(after_id=1) == {"gating": 1, "training": 1}
    assert ledger.total() == 3 and ledger.total(kinds="rating") == 1 and ledger.total(after_id=2) == 1
    assert ledger.last_id() == 3
    assert ledger.players() == ["a", "b", "x", "y", "z"]
    assert ledger.players(kinds=["rating", "gating"]) == ["a", "b"]
    assert ledger.record(game("a", "c", 1)) is True
    assert ledger.games(after_id=3)[0][1].time == pytest.approx(time.time(), abs=60)  # stamped on record


def test_resent_uids_add_nothing(ledger: Ledger) -> None:
    batch = [game("a", "b", 1, uid=f"u{i}") for i in range(5)]
    assert ledger.record_many(batch[:3]) == 3
    assert ledger.record_many(batch) == 2  # the writer is unsure about its last batch: re-sends all
    assert ledger.record(batch[0]) is False
    assert ledger.record_many([game("a", "b", 1), game("a", "b", 1)]) == 2  # no uid: always new
    assert ledger.total() == 7


def test_batch_is_all_or_nothing(ledger: Ledger) -> None:
    ledger.record(game("a", "b", 1))

    def batch():
        yield game("c", "d", 1, uid="c1")
        yield game("c", "e", 1, uid="c2")
        raise RuntimeError("writer died mid-batch")

    with pytest.raises(RuntimeError):
        ledger.record_many(batch())
    assert ledger.total() == 1 and ledger.players() == ["a", "b"]
    assert ledger.record_many([game("c", "d", 1, uid="c1")]) == 1  # the rolled-back uid is free
    assert ledger.players() == ["a", "b", "c", "d"]


def test_game_record_validation() -> None:
    with pytest.raises(ValueError, match="players for"):
        GameResult(("a", "b"), (1.0,), 3, "rating", C4)
    with pytest.raises(ValueError, match="kind"):
        GameResult(("a", "b"), (1.0, -1.0), 3, "rated", C4)
    with pytest.raises(ValueError, match="finite"):
        GameResult(("a", "b"), (float("nan"), 0.0), 3, "rating", C4)
    with pytest.raises(ValueError, match="empty player"):
        GameResult(("a", ""), (1.0, -1.0), 3, "rating", C4)
    g = GameResult(["a", "b"], np.array([1, -1], np.float32), np.int64(4), "rating", C4)
    assert g.players == ("a", "b") and g.returns == (1.0, -1.0) and type(g.returns[0]) is float and g.length == 4


def test_wal_mode_and_pragmas(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record(game("a", "b", 1))
    db = sqlite3.connect(tmp_path / FILENAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert dict(db.execute("SELECT key, value FROM meta"))["schema_version"] == str(SCHEMA_VERSION)
    db.close()
    assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert ledger._db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


# ------------------------------------------------------------------------------------ queries


def test_rating_input_two_and_more_players(ledger: Ledger) -> None:
    ledger.record_many(
        [
            game("mcts:1000", "random", 1),
            game("random", "mcts:1000", -1),
            game("run:step-1", "mcts:1000", 0),
            game("random", "run:step-1", 1, kind="training"),  # not rated by default
            GameResult(("random", "mcts:1000", "run:step-1"), (0.0, 2.0, 0.0), 40, "rating", "x()"),
            GameResult(("a", "b", "c", "d"), (-1.0, 3.0, -1.0, 1.0), 40, "gating", "x()"),
        ]
    )
    r = ledger.rating_input()
    assert r.players == ["mcts:1000", "random", "run:step-1"]
    assert r.a.tolist() == [0, 1, 2] and r.b.tolist() == [1, 0, 0]
    assert r.score.tolist() == [1.0, 0.0, 0.5]
    assert r.a.dtype == np.int64 and r.score.dtype == np.float64
    assert r.orders == [[[0], [1, 2]]]  # mcts first, the other two tied
    assert r.last_id == 5
    every = ledger.rating_input(kinds=None)
    assert every.players == ["a", "b", "c", "d", "mcts:1000", "random", "run:step-1"]
    assert len(every.a) == 4 and every.orders[1] == [[1], [3], [0, 2]]
    empty = ledger.rating_input(kinds=["gating", "training"])
    assert len(empty.a) == 1 and empty.orders == [[[1], [3], [0, 2]]]
    with pytest.raises(ValueError, match="unknown game kinds"):
        ledger.rating_input(kinds=["rated"])


def test_rating_input_of_empty_ledger(ledger: Ledger) -> None:
    r = ledger.rating_input()
    assert r.players == [] and r.a.shape == r.b.shape == r.score.shape == (0,) and r.orders == [] and r.last_id == 0


def test_pair_results_from_either_seat(ledger: Ledger) -> None:
    ledger.record_many(
        [
            game("x", "y", 1, t=10.0),  # x wins as seat 0
            game("y", "x", -1, t=20.0),  # x wins as seat 1
            game("y", "x", 0, t=30.0),  # draw
            game("x", "y", -1, t=40.0),  # x loses
            game("x", "z", 1, kind="training", t=50.0),
        ]
    )
    pairs = ledger.pair_results(kinds=["rating"])
    assert pairs == {("x", "y"): PairRecord(2, 1, 1), ("y", "x"): PairRecord(1, 1, 2)}
    assert pairs["x", "y"].games == 4 and pairs["x", "y"].score == 0.625
    assert ledger.pair_results()[("z", "x")] == PairRecord(0, 0, 1)
    assert ledger.pair_results(kinds="rating", since=25.0)[("x", "y")] == PairRecord(0, 1, 1)
    assert ledger.pair_results(kinds="rating", last=2)[("x", "y")] == PairRecord(0, 1, 1)  # the newest two
    assert ledger.pair_results(last=1, player="x") == {("x", "y"): PairRecord(0, 0, 1), ("x", "z"): PairRecord(1, 0, 0)}
    assert ledger.pair_results(player="nobody") == {}
    assert PairRecord().score == 0.5


def test_pair_results_in_n_player_games(ledger: Ledger) -> None:
    ledger.record(GameResult(("a", "b", "c"), (1.0, 0.0, 0.0), 9, "rating", "x()"))
    pairs = ledger.pair_results()
    assert pairs[("a", "b")] == PairRecord(1, 0, 0) and pairs[("b", "c")] == PairRecord(0, 1, 0)
    assert pairs[("c", "a")] == PairRecord(0, 0, 1) and len(pairs) == 6


# ------------------------------------------------------------------------------ opening files


def test_refuses_foreign_and_newer_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database, just some text " * 100)
    with pytest.raises(LedgerError, match="not an SQLite file") as e:
        Ledger(junk)
    assert "\n" not in str(e.value)

    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="not an Arena match ledger"):
        Ledger(other)

    newer = tmp_path / "newer.sqlite"
    Ledger(newer).close()
    db = sqlite3.connect(newer)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="newer than this Arena's.*upgrade Arena") as e:
        Ledger(newer)
    assert "\n" not in str(e.value)

    with pytest.raises(LedgerError, match="no match ledger"):
        Ledger.of_run(tmp_path / "nowhere", create=False)
    assert not (tmp_path / "nowhere").exists()


def test_reopen_keeps_games(tmp_path: Path) -> None:
    with Ledger.of_run(tmp_path) as led:
        led.record(game("a", "b", 1, uid="g"))
    with Ledger.of_run(tmp_path, create=False) as led:
        assert led.total() == 1 and led.record(game("a", "b", 1, uid="g")) is False


# ----------------------------------------------------------------------------- results files

CSV_OK = """player0,player1,result,game
mcts:1000,random,1-0,connect_four

"c4run:step-0000400","mcts:1000",0-1,connect_four()
random,c4run:step-0000400,1/2-1/2,
"""

PGN_OK = """[Event "ladder"]
[White "mcts:1000"]
[Black "random"]
[Result "1-0"]
[Game "connect_four"]

1. d1 d2 {a comment with 0-1 in it
spanning lines} 2. d3 1-0
[Event "ladder"]
[White "say \\"hi\\""]
[Black "random"]
[Result "1/2-1/2"]
; a comment line
% an escape line
1/2-1/2

[White "random"]
[Black "mcts:1000"]
[Result "0-1"]
"""


def test_read_results_csv_and_pgn(tmp_path: Path) -> None:
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("\ufeff" + CSV_OK)  # a byte-order mark, as spreadsheets write
    assert read_results(csv_file, "connect_four()") == [
        ResultLine("mcts:1000", "random", 1.0, -1.0),
        ResultLine("c4run:step-0000400", "mcts:1000", -1.0, 1.0),
        ResultLine("random", "c4run:step-0000400", 0.0, 0.0),
    ]
    pgn_file = tmp_path / "r.pgn"
    pgn_file.write_text(PGN_OK)
    assert read_results(pgn_file, "connect_four") == [
        ("mcts:1000", "random", 1.0, -1.0),
        ('say "hi"', "random", 0.0, 0.0),
        ("random", "mcts:1000", -1.0, 1.0),
    ]
    sniffed = tmp_path / "results.txt"
    sniffed.write_text(PGN_OK)
    assert len(read_results(sniffed)) == 3


BAD_CSV = [
    ("home,away,result\na,b,1-0\n", 1, "header"),
    ("player0,player1,result\na,b,1-0\na,b,2-0\n", 3, "unknown result '2-0'; use 1-0, 0-1, 1/2-1/2"),
    ("player0,player1,result\na,b,1-0\n,b,1-0\n", 3, "missing player in column player0"),
    ("player0,player1,result\na,b\n", 2, "2 fields for 3 columns"),
    ("player0,player1,result,game\na,b,1-0,chess\n", 2, "game 'chess' is not 'connect_four\\(\\)'"),
    ("player0,player1,result\n", None, "no games in this file"),
]


@pytest.mark.parametrize("text,line,message", BAD_CSV)
def test_bad_csv_names_line_and_imports_nothing(ledger: Ledger, tmp_path: Path, text: str, line, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    where = f"bad.csv:{line}: " if line else "bad.csv: "
    with pytest.raises(ResultsFileError, match=where + message) as e:
        ledger.import_results(path, C4)
    assert "\n" not in str(e.value)
    assert ledger.total() == 0


BAD_PGN = [
    ('[White "a"]\n[Black "b"]\n[Result "1-0"]\n1-0\n\n[White "a"]\n[Result "1-0"]\n1-0\n', 6, "game without a \\[Black\\]"),
    ('[White "a"]\n[Black "b"]\n[Result "2-0"]\n', 3, "unknown result '2-0'"),
    ('[White "a"]\n[Black "b"]\n[Result "*"]\n*\n', 3, "unknown result '\\*'; remove unfinished games"),
    ('[White "a"]\n[Black "b"]\n1-0\n', 1, "game without a \\[Result\\] tag"),
    ('[White "a"]\n[Black "b"]\n[Result "1-0"]\n1. e4 0-1\n', 4, "moves end in '0-1' but \\[Result\\] is '1-0'"),
    ('[White "a"]\n[Black "b"]\n[Result "1-0"]\n[Game "chess"]\n1-0\n', 4, "game 'chess' is not"),
    ('[White "a"]\n[Black b]\n[Result "1-0"]\n1-0\n', 2, "malformed tag"),
]


@pytest.mark.parametrize("text,line,message", BAD_PGN)
def test_bad_pgn_names_line_and_imports_nothing(ledger: Ledger, tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.pgn"
    path.write_text(text)
    with pytest.raises(ResultsFileError, match=f"bad.pgn:{line}: {message}") as e:
        ledger.import_results(path, C4)
    assert "\n" not in str(e.value)
    assert ledger.total() == 0


def test_missing_results_file(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match="no such results file"):
        ledger.import_results(tmp_path / "nope.csv", C4)


def test_import_is_idempotent(ledger: Ledger, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(CSV_OK)
    assert ledger.import_results(path, C4, match_id="ladder-1") == 3
    assert ledger.import_results(path, C4) == 0  # same file again: nothing new
    assert ledger.counts() == {"rating": 3}
    gid, g = ledger.games()[0]
    assert g.players == ("mcts:1000", "random") and g.match_id == "ladder-1" and g.game == C4 and g.length == 0
    path.write_text(CSV_OK + "random,mcts:1000,0-1,\n")  # another file: all its games are new
    assert ledger.import_results(path, C4) == 4


def test_export_pgn_reads_back(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record_many(
        [
            game("mcts:1000", 'gtp:gnugo --mode "gtp"', 1, t=0.0),
            game("random", "mcts:1000", 0),
            game("random", "mcts:1000", -0.5),
            game("random", "mcts:1000", 1, kind="training"),
            GameResult(("a", "b", "c"), (1.0, 0.0, 0.0), 9, "rating", "x()"),  # not expressible in PGN
        ]
    )
    out = tmp_path / "out" / "rating.pgn"
    assert ledger.export_pgn(out) == 3
    text = out.read_text()
    for tag in ("Event", "Site", "Date", "Round", "White", "Black", "Result"):
        assert text.count(f"[{tag} ") == 3
    assert '[Date "1970.01.01"]' in text and '[Round "1"]' in text
    assert read_results(out, C4) == [
        ResultLine("mcts:1000", 'gtp:gnugo --mode "gtp"', 1.0, -1.0),
        ResultLine("random", "mcts:1000", 0.0, 0.0),
        ResultLine("random", "mcts:1000", -1.0, 1.0),
    ]
    assert not [p for p in out.parent.iterdir() if p != out]  # no temp file left behind
    assert ledger.export_pgn(out, kinds=None) == 4
    other = Ledger(tmp_path / "copy.sqlite")
    assert other.import_results(out, C4) == 4
    assert other.rating_input(kinds=None).score.tolist() == ledger.rating_input(kinds=None).score.tolist()[:4]


# -------------------------------------------------------------------------- several processes

BATCH = 7
WRITER_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[1])
    from league.ledger import GameResult, Ledger

    path, writer, batches = sys.argv[2], sys.argv[3], int(sys.argv[4])
    with Ledger(path) as ledger:
        b = 0
        while batches < 0 or b < batches:
            games = [
                GameResult((f"p{i % 3}", f"{writer}:{b}"), (1.0, -1.0), i, "training", "connect_four()",
                           uid=f"{writer}-{b}-{i}", match_id=f"{writer}-{b}")
                for i in range({batch})
            ]
            ledger.record_many(games)
            print(b, flush=True)  # committed: this batch is durable
            b += 1
    """
).replace("{batch}", str(BATCH))


def start_writer(tmp_path: Path, db: Path, writer: str, batches: int = -1) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER_SCRIPT)
    return subprocess.Popen(
        [sys.executable, str(script), str(ROOT), str(db), writer, str(batches)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def batch_sizes(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        seats = con.execute("SELECT count(*) FROM seats").fetchone()[0]
        games = con.execute("SELECT count(*) FROM games").fetchone()[0]
        assert seats == 2 * games  # no game without its seats
        return dict(con.execute("SELECT match_id, count(*) FROM games GROUP BY match_id"))
    finally:
        con.close()


def test_kill_9_keeps_whole_batches_and_resend_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / FILENAME
    rand = random.Random(11)
    committed: list[str] = []
    for it in range(4):
        writer = f"w{it}"
        proc = start_writer(tmp_path, db, writer)
        first = proc.stdout.readline()  # wait until it is committing batches
        assert first.endswith("\n"), proc.stderr.read()
        time.sleep(rand.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL
        lines = (first + rest).split("\n")
        done = [int(x) for x in lines[:-1] if x]  # the last piece may be a line cut off by the kill
        committed += [f"{writer}-{b}" for b in done]

        sizes = batch_sizes(db)
        assert set(committed) <= set(sizes), f"iteration {it}: committed batches lost"
        assert set(sizes.values()) == {BATCH}, f"iteration {it}: a partial batch"

        # The writer comes back, unsure whether its last printed batch and the one after it (which
        # the kill may have cut before or after COMMIT) went in: it re-sends both.
        with Ledger(db) as ledger:
            before = ledger.total()
            for b in (done[-1], done[-1] + 1):
                resent = [
                    GameResult((f"p{i % 3}", f"{writer}:{b}"), (1.0, -1.0), i, "training", C4,
                               uid=f"{writer}-{b}-{i}", match_id=f"{writer}-{b}")
                    for i in range(BATCH)
                ]
                added = ledger.record_many(resent)
                assert added in (0, BATCH)
                assert added == 0 or b == done[-1] + 1
            assert ledger.total() - before in (0, BATCH)
        assert set(batch_sizes(db).values()) == {BATCH}
    assert len(committed) > 4


def test_reader_reads_while_writer_writes(tmp_path: Path) -> None:
    db = tmp_path / FILENAME
    Ledger(db).close()
    proc = start_writer(tmp_path, db, "w", batches=400)
    try:
        assert proc.stdout.readline().endswith("\n"), proc.stderr.read()
        seen = []
        with Ledger(db, create=False, timeout=5.0) as reader:
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                total = reader.total()
                assert total % BATCH == 0  # a reader sees whole batches only
                assert len(reader.rating_input(kinds=["training"]).a) % BATCH == 0
                seen.append(total)
                time.sleep(0.005)
        assert seen == sorted(seen) and len(set(seen)) > 2, "the reader saw no progress"
    finally:
        proc.kill()
        proc.communicate()
    with Ledger(db) as ledger:
        r = ledger.rating_input(kinds=["training"])
        assert len(r.a) == ledger.total() and set(r.score.tolist()) == {1.0}


def test_two_writers_at_once(tmp_path: Path) -> None:
    db = tmp_path / FILENAME
    procs = [start_writer(tmp_path, db, w, batches=60) for w in ("actor", "evaluator")]  # both may create it
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.split() == [str(b) for b in range(60)]
    sizes = batch_sizes(db)
    assert len(sizes) == 120 and set(sizes.values()) == {BATCH}
