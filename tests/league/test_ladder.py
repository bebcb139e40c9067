"""`arena ladder`: a run's ladder, round robins and gauntlets among any players, results files,
PGN export, and the one-line errors of bad input. Real games, real ledgers."""
import json
import subprocess
import sys

import numpy as np
import pytest

import games
from league import ladder
from league.ledger import GameResult, Ledger
from league.ratings import RatingConfig
from league.results_file import read_results


def arena(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "arena_cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          env={"ARENA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_round_robin_ranks_perfect_play_over_random(tmp_path):
    spec = games.load("tic_tac_toe")
    ledger = Ledger(tmp_path / "l.sqlite")
    added = ladder.round_robin(spec, ["random", "minimax", "mcts:30"], 10, ledger, seed=1)
    assert added == 30
    pairs = ledger.pair_results(kinds=("rating",))
    assert pairs[("minimax", "random")].losses == 0
    ratings = ladder.ledger_ratings(ledger, RatingConfig(resamples=30))
    order = [r.player for r in ratings.table()]
    assert order.index("minimax") < order.index("random")
    assert ratings.rating("random") == 0.0  # the default anchor
    # Seats alternate within each pairing.
    seat0 = [g.players[0] for _, g in ledger.games(kinds=("rating",)) if set(g.players) == {"random", "minimax"}]
    assert seat0.count("random") == seat0.count("minimax") == 5


def test_gauntlet_plays_only_its_player(tmp_path):
    spec = games.load("tic_tac_toe")
    ledger = Ledger(tmp_path / "l.sqlite")
    ladder.round_robin(spec, ["random", "mcts:10"], 4, ledger, gauntlet="minimax")
    assert all("minimax" in g.players for _, g in ledger.games())
    assert ledger.total() == 8


def test_ledger_with_more_than_two_players_uses_plackett_luce(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite")
    rng = np.random.default_rng(0)
    records = []
    for i in range(300):  # strong always beats mid beats weak, in 3-player games, seats shuffled
        seats = list(rng.permutation(["strong", "mid", "weak"]))
        ret = {"strong": 1.0, "mid": 0.0, "weak": -1.0}
        if i % 10 == 0:
            ret = {"strong": 0.0, "mid": 1.0, "weak": -1.0}
        records.append(GameResult(players=tuple(seats), returns=tuple(ret[p] for p in seats), length=10,
                                  kind="rating", game="leduc_poker(players=3)", uid=str(i)))
    ledger.record_many(records)
    ratings = ladder.ledger_ratings(ledger, RatingConfig(anchor="weak", resamples=20))
    assert ratings.model == "plackett-luce"
    assert [r.player for r in ratings.table()] == ["strong", "mid", "weak"]


def test_cli_players_results_and_export(tmp_path):
    out = arena(tmp_path, "ladder", "--players", "random", "minimax", "--game", "tic_tac_toe", "--games", "6",
                "--export", str(tmp_path / "games.pgn"), "--json")
    assert out.returncode == 0, out.stderr
    table = json.loads(out.stdout)
    assert [p["player"] for p in table["players"]] == ["minimax", "random"]
    assert table["players"][0]["losses"] == 0 and table["players"][0]["games"] == 6
    results = read_results(tmp_path / "games.pgn")
    assert len(results) == 6
    again = arena(tmp_path, "ladder", "--results", str(tmp_path / "games.pgn"), "--csv")
    assert again.returncode == 0, again.stderr
    lines = again.stdout.strip().splitlines()
    assert lines[0].startswith("rank,player,elo") and lines[1].split(",")[1] == "minimax"


@pytest.mark.parametrize("args, words", [
    ((), "give one of"),
    (("--players", "random", "minimax"), "--game"),
    (("--players", "random", "nobody:latest", "--game", "tic_tac_toe"), "nobody"),
    (("--players", "random", "--game", "tic_tac_toe"), "two distinct"),
    (("norun",), "no run named"),
    (("--results", "missing.csv"), "missing.csv"),
    (("--results", "x.csv", "--ray", "local"), "--ray plays the games of --players"),
    (("--players", "random", "minimax", "--game", "tic_tac_toe", "--ray", "127.0.0.1:1"), "cannot reach a Ray"),
])
def test_bad_input_is_one_line(tmp_path, args, words):
    out = arena(tmp_path, "ladder", *args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and words in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_malformed_results_file_names_the_line(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("player0,player1,result\nrandom,minimax,0-1\nrandom,minimax,2-0\n")
    out = arena(tmp_path, "ladder", "--results", str(path))
    assert out.returncode == 2 and "r.csv:3:" in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_elo_chart_draws_snapshots_by_step():
    from league.ratings import rate_records
    records = []
    for i in range(40):
        records += [("r:step-100", "random", 1, -1), ("r:step-200", "r:step-100", 1, -1),
                    ("r:step-200", "random", 1 if i % 8 else -1, -1 if i % 8 else 1),
                    ("r:step-100", "random", -1 if i % 3 == 0 else 1, 1 if i % 3 == 0 else -1)]
    records += [(b, a, r1, r0) for a, b, r0, r1 in records]  # both seats
    lines = ladder.elo_chart(rate_records(records, RatingConfig(resamples=0)), "r", width=20, height=6)
    assert len(lines) == 8 and lines[-1].strip().startswith("step 100")
    assert lines[0].count("●") == 1 and "random" in lines[-3]  # top: step 200; bottom: the anchor line


def test_results_into_a_run_are_checked_and_all_or_nothing(tmp_path):
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    from engine import config as cfg, rundir
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(cfg.resolve("tic_tac_toe")))
    ledger = Ledger.of_run(run_dir)
    ledger.record(GameResult(players=("r:step-0", "random"), returns=(1, -1), length=7, kind="rating",
                             game="tic_tac_toe", uid="g0"))
    good = tmp_path / "good.csv"
    good.write_text("player0,player1,result\nr:step-0,minimax,0-1\nrandom,r:step-0,1/2-1/2\n")
    out = arena(tmp_path, "ladder", "r", "--results", str(good), "--json")
    assert out.returncode == 0, out.stderr
    assert "imported 2 new games" in out.stderr and Ledger.of_run(run_dir).total() == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("player0,player1,result\nr:step-0,random,1-0\nr:step-0,stranger,1-0\n")
    out = arena(tmp_path, "ladder", "r", "--results", str(bad))
    assert out.returncode == 2 and "bad.csv:3: unknown player 'stranger'" in out.stderr, out.stderr
    assert Ledger.of_run(run_dir).total() == 3  # nothing half-imported
    other = tmp_path / "other.csv"
    other.write_text("player0,player1,result,game\nr:step-0,random,1-0,connect_four\n")
    out = arena(tmp_path, "ladder", "r", "--results", str(other))
    assert out.returncode == 2 and "other.csv:2:" in out.stderr and "connect_four" in out.stderr, out.stderr
    # Without a run, --players names who may appear.
    out = arena(tmp_path, "ladder", "--results", str(bad), "--players", "r:step-0", "random")
    assert out.returncode == 2 and "unknown player 'stranger'" in out.stderr
