"""league.results_file's fast readers and league.ladder.file_ratings: on every file the fast readers
take they give exactly the careful line-by-line readers' games; they take the files Arena, BayesElo
and Ordo write and hand anything else over; a file's ratings are those of the record-by-record path,
and its sandwich intervals those of the bootstrap within its noise. Synthetic files of known ratings."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arena_cli.bench import write_results_file
from league import results_file
from league.ladder import file_ratings
from league.ratings import RatingConfig, fit_bradley_terry
from league.results_file import ResultColumns, read_result_columns, read_results

REPO = Path(__file__).resolve().parents[2]

GAME = '[Event "e"]\n[White "{w}"]\n[Black "{b}"]\n[Result "{r}"]\n[Game "connect_four"]\n\n{moves}\n\n'
PLAIN_PGN = {
    "arena's export": None,  # write_results_file's games, as `arena ladder --export` writes them
    "crlf": GAME.format(w="a", b="b", r="1-0", moves="1-0").replace("\n", "\r\n") * 3,
    "moves on the line": GAME.format(w="a", b="b c", r="0-1", moves="1. e4 e5 2. Nf3 0-1  ")
                         + GAME.format(w="b c", b="a", r="1/2-1/2", moves="1. d4 * 1/2-1/2"),
    "no blank lines": '[White "a"]\n[Black "b"]\n[Result "1-0"]\n1-0\n[White "b"]\n[Black "a"]\n[Result "0-1"]\n0-1',
    "more tags, spaces": '\n\n  [Site "x y"]\n[White "a"]\n[Black "b"]\n[Result "1-0"]\n[ Round  "3" ] \n\t1-0\n\n\n',
}
CAREFUL_PGN = {  # the fast reader hands these to the careful one
    "comments and escapes": '[White "say \\"hi\\""]\n[Black "b"]\n[Result "1-0"]\n{note} 1-0\n',
    "tags in another order": '[Result "1-0"]\n[White "a"]\n[Black "b"]\n1-0\n',
    "moves over lines": '[White "a"]\n[Black "b"]\n[Result "1-0"]\n1. e4 e5\n2. Nf3 1-0\n',
    "a second white tag": '[White "a"]\n[Black "b"]\n[Result "1-0"]\n[White "c"]\n1-0\n',
    "last game without moves": '[White "a"]\n[Black "b"]\n[Result "1-0"]\n1-0\n[White "b"]\n[Black "a"]\n[Result "0-1"]\n',
    "spaced white tag": '[White  "a"]\n[Black "b"]\n[Result "1-0"]\n1-0\n',
    "a blank line among tags": '[White "a"]\n\n[Black "b"]\n[Result "1-0"]\n1-0\n',
}
PLAIN_CSV = {
    "arena's": None,
    "columns in any order, game, spaces": "result, player1 ,player0,game\n1-0, b ,a,connect_four\n0-1,a,b c,\n",
    "crlf, quotes, empty lines": '\r\nplayer0,player1,result\r\n"a, the first",b,1/2-1/2\r\n\r\nb,"a, the first",1-0\r\n',
}
CAREFUL_CSV = {
    "a blank row": "player0,player1,result\na,b,1-0\n , ,\nb,a,0-1\n",
}


def _text(name: str, text: str | None, tmp_path: Path, suffix: str) -> str:
    if text is None:
        return write_results_file(tmp_path / f"synthetic{suffix}", players=12, games=300, seed=3).read_text()
    return text


def _careful(text: str, suffix: str) -> ResultColumns:
    path = Path(f"file{suffix}")
    return results_file._read_pgn(text, path, None, None) if suffix == ".pgn" else \
        results_file._read_csv(text, path, None, None)


@pytest.mark.parametrize("suffix, name", [(".pgn", n) for n in PLAIN_PGN] + [(".csv", n) for n in PLAIN_CSV])
def test_the_fast_readers_take_plain_files_and_read_what_the_careful_ones_read(tmp_path, suffix, name):
    text = _text(name, (PLAIN_PGN if suffix == ".pgn" else PLAIN_CSV)[name], tmp_path, suffix)
    fast = (results_file._fast_pgn if suffix == ".pgn" else results_file._fast_csv)(text, None, None)
    assert fast is not None and len(fast) > 0
    assert fast == _careful(text, suffix)
    path = tmp_path / f"f{suffix}"
    path.write_bytes(text.encode())
    assert read_result_columns(path, "connect_four", sorted(set(fast.player0 + fast.player1))) == fast


@pytest.mark.parametrize("suffix, name", [(".pgn", n) for n in CAREFUL_PGN] + [(".csv", n) for n in CAREFUL_CSV])
def test_other_files_go_to_the_careful_readers(tmp_path, suffix, name):
    text = (CAREFUL_PGN if suffix == ".pgn" else CAREFUL_CSV)[name]
    assert (results_file._fast_pgn if suffix == ".pgn" else results_file._fast_csv)(text, None, None) is None
    path = tmp_path / f"f{suffix}"
    path.write_text(text)
    assert read_result_columns(path) == _careful(text, suffix) and len(_careful(text, suffix)) > 0


def test_a_game_or_player_the_fast_reader_doubts_gets_the_careful_readers_error(tmp_path):
    path = write_results_file(tmp_path / "r.pgn", players=4, games=20)
    with pytest.raises(results_file.ResultsFileError, match=r"r.pgn:8: game 'connect_four' is not 'chess'"):
        read_results(path, "chess")
    with pytest.raises(results_file.ResultsFileError, match=r"r.pgn:\d+: unknown player 'p3'"):
        read_results(path, players=["p0", "p1", "p2"])


@pytest.mark.parametrize("suffix", [".pgn", ".csv"])
def test_a_files_ratings_are_those_of_the_record_by_record_path(tmp_path, suffix):
    """file_ratings reads columns; the ladder used to read lines carefully and index names record by
    record. Same games, same names in the same order, same fit (the bootstrap's too, seed for seed)."""
    path = write_results_file(tmp_path / f"r{suffix}", players=30, games=3000, seed=1)
    lines = _careful(path.read_text(), suffix).lines()
    index: dict[str, int] = {}
    for line in lines:
        index.setdefault(line.player0, len(index))
        index.setdefault(line.player1, len(index))
    a = np.array([index[line.player0] for line in lines])
    b = np.array([index[line.player1] for line in lines])
    score = np.array([1.0 if line.return0 > line.return1 else 0.5 if line.return0 == line.return1 else 0.0
                      for line in lines])
    for config in (RatingConfig(), RatingConfig(intervals="bootstrap", resamples=20)):
        ours, before = file_ratings(path, config), fit_bradley_terry(a, b, score, list(index), config)
        assert ours.names == before.names
        np.testing.assert_allclose(ours.elo, before.elo, atol=1e-9)
        np.testing.assert_allclose(ours.upper, before.upper, atol=1e-9)
        assert [r.los for r in ours.table()] == pytest.approx([r.los for r in before.table()], abs=1e-9)


def test_sandwich_intervals_match_the_bootstrap(tmp_path):
    """The default intervals against 400 bootstrap resamples (whose own spread is about ±4%): error
    bars, first-move advantage and LOS agree within that noise; point ratings are the same."""
    path = write_results_file(tmp_path / "r.pgn", players=30, games=6000, seed=2)
    sandwich = file_ratings(path)
    boot = file_ratings(path, RatingConfig(intervals="bootstrap", resamples=400))
    np.testing.assert_allclose(sandwich.elo, boot.elo, atol=1e-9)
    ratio = (sandwich.upper - sandwich.lower) / (boot.upper - boot.lower)
    assert 0.93 < np.median(ratio) < 1.07 and np.all((0.8 < ratio) & (ratio < 1.25)), ratio
    adv = (sandwich.advantage_upper - sandwich.advantage_lower) / (boot.advantage_upper - boot.advantage_lower)
    assert 0.85 < adv < 1.15
    los = np.array([[r.los for r in fit.table()[:-1]] for fit in (sandwich, boot)])
    assert np.max(np.abs(los[0] - los[1])) < 0.06
    assert "sandwich" in sandwich.summary() and "400 resamples" in boot.summary()


def test_rating_a_file_loads_neither_torch_nor_openspiel(tmp_path):
    """`arena ladder --results` imports only what rating needs: no torch, numba or OpenSpiel."""
    path = write_results_file(tmp_path / "r.csv", players=5, games=50)
    code = ("import sys, arena_cli; code = arena_cli.main(['ladder', '--results', sys.argv[1], '--json']); "
            "print(sorted(m for m in ('torch', 'numba', 'pyspiel') if m in sys.modules)); sys.exit(code)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
