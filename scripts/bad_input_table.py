"""Write docs/bad-input.md: every bad input tried on `arena` and the exact line it gets.

Runs each command in this process (arena_cli.cli.main) in a scratch directory holding one tiny run
`t` (tic_tac_toe) and a few broken files, so the table stays current with the code:

    PYTHONPATH=. .venv/bin/python scripts/bad_input_table.py        # rewrites docs/bad-input.md

A command that ends in a traceback is listed as such (tests/cli/test_every_command.py fails on one).
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "bad-input.md"

# One learner step of a tiny network on a few games: the runs exist only to be named.
SMALL = ('network = {channels = 8, blocks = 1}\nselfplay = {concurrent_games = 8, flush_games = 8}\n'
         'train = {min_positions = 32, batch_size = 16, snapshot_every = 1}\nleague = {evaluator = false}\n')
TINY = SMALL + "search = {simulations = 4}\n"
MMD = SMALL + "mmd = {positions_per_update = 32}\n"

# (what is wrong, the command's arguments); files named here are made in the scratch directory.
CASES: list[tuple[str, list[str]]] = [
    ("unknown game", ["play", "no_such_game", "--vs", "random"]),
    ("simultaneous-move game", ["league", "run", "matrix_rps", "--steps", "1"]),
    ("4-player imperfect-information game", ["league", "run", "leduc_poker(players=4)", "--steps", "1"]),
    ("config file missing", ["league", "run", "tic_tac_toe", "--config", "missing.toml"]),
    ("config file not TOML", ["league", "run", "tic_tac_toe", "--config", "broken.toml"]),
    ("config key unknown", ["league", "run", "tic_tac_toe", "--config", "unknown_key.toml"]),
    ("[search] for an MMD game", ["league", "run", "kuhn_poker", "--config", "tiny.toml"]),
    ("--steps 0", ["league", "run", "tic_tac_toe", "--steps", "0"]),
    ("--actors -1", ["league", "run", "tic_tac_toe", "--actors", "-1"]),
    ("--ray with --actors 0", ["league", "run", "tic_tac_toe", "--ray", "local", "--actors", "0"]),
    ("no game and no config game", ["league", "run", "--run", "new_run"]),
    ("bad run name", ["league", "run", "tic_tac_toe", "--run", "../up"]),
    ("run of another game", ["league", "run", "connect_four", "--run", "t", "--steps", "1"]),
    ("status of no run", ["league", "status", "no_such_run"]),
    ("ladder of a run without rating games", ["ladder", "t"]),
    ("ladder of no run", ["ladder", "no_such_run"]),
    ("ladder of one player", ["ladder", "--players", "random", "--game", "tic_tac_toe"]),
    ("ladder with --games 0", ["ladder", "--players", "random", "minimax", "--game", "tic_tac_toe", "--games", "0"]),
    ("ladder --duplicate with 2 games", ["ladder", "--players", "random", "call", "--game", "kuhn_poker",
                                         "--games", "2", "--duplicate"]),
    ("3-player ladder of two players", ["ladder", "--players", "random", "call", "--game", "leduc_poker3"]),
    ("unknown player spec", ["ladder", "--players", "random", "no_such_bot", "--game", "tic_tac_toe"]),
    ("bot option unknown", ["ladder", "--players", "random", "mcts:4@frobs=2", "--game", "tic_tac_toe"]),
    ("snapshot step missing", ["play", "tic_tac_toe", "--vs", "t:step-999"]),
    ("snapshot of another game", ["play", "connect_four", "--vs", "t"]),
    ("results file missing", ["ladder", "--results", "missing.csv"]),
    ("results file malformed", ["ladder", "--results", "bad.csv"]),
    ("data inspect of a missing path", ["data", "inspect", "missing"]),
    ("data inspect of a non-HDF5 file", ["data", "inspect", "not_hdf5.h5"]),
    ("export of a built-in player", ["export", "random", "--onnx", "x.onnx"]),
    ("export --seat of a shared network", ["export", "t", "--onnx", "t.onnx", "--seat", "5"]),
    ("bench curve without --run", ["bench", "curve", "--game", "tic_tac_toe"]),
    ("bench curve of a 3-player run", ["bench", "curve", "--run", "l3", "--opponent", "random", "--games", "2"]),
    ("bench mcts of a hidden-information game", ["bench", "mcts", "--game", "kuhn_poker"]),
    ("bench selfplay of a hidden-information game", ["bench", "selfplay", "--game", "phantom_go5"]),
    ("play with three --vs in a 2-player game", ["play", "tic_tac_toe", "--vs", "random", "--vs", "random",
                                                  "--vs", "random"]),
    ("play --as a seat the game lacks", ["play", "tic_tac_toe", "--vs", "random", "--as", "ninth"]),
    ("replay of a missing file", ["replay", "missing.json"]),
    ("replay of a non-game file", ["replay", "broken.toml"]),
    ("gtp for a game that is not Go", ["gtp", "random", "--game", "tic_tac_toe"]),
    ("gtp of a snapshot that is not Go", ["gtp", "t"]),
    ("gtp resign threshold out of range", ["gtp", "random", "--resign-threshold", "2"]),
    ("play resign threshold out of range", ["play", "go9", "--vs", "random", "--resign-threshold", "-2"]),
    ("resignation in a game not won or lost", ["league", "run", "kuhn_poker", "--config", "resign.toml"]),
]


def make_files(folder: Path) -> None:
    (folder / "tiny.toml").write_text(TINY)
    (folder / "broken.toml").write_text("[network\nchannels = \n")
    (folder / "unknown_key.toml").write_text("[network]\nchanels = 8\n")
    (folder / "resign.toml").write_text("[selfplay]\nresign_threshold = -0.9\n")
    (folder / "bad.csv").write_text("player0,player1,result\nrandom,minimax,maybe\n")
    (folder / "not_hdf5.h5").write_text("not hdf5\n")


def run(argv: list[str]) -> str:
    """The command's `arena: error:` line, its traceback's last line, or what it did."""
    from arena_cli.cli import main

    err, out = io.StringIO(), io.StringIO()
    sys.stdin = io.StringIO("")
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
    except Exception:  # noqa: BLE001 - a traceback is what this table exists to catch
        return "TRACEBACK: " + traceback.format_exc().strip().splitlines()[-1]
    finally:
        sys.stdin = sys.__stdin__
    lines = [line for line in err.getvalue().splitlines() if line.startswith("arena: error:")]
    if lines:
        return lines[-1]
    return f"(no error: exit {code})"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        os.environ.pop("ARENA_HOME", None)  # runs under ./checkpoints, as messages then say
        make_files(Path(scratch))
        from arena_cli.cli import main as arena

        quiet = io.StringIO()
        with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
            arena(["league", "run", "tic_tac_toe", "--config", "tiny.toml", "--run", "t", "--steps", "1",
                   "--actors", "0", "--no-live"])
            Path("mmd.toml").write_text(MMD)
            arena(["league", "run", "leduc_poker3", "--config", "mmd.toml", "--run", "l3", "--steps", "1",
                   "--actors", "0", "--no-live"])
        for what, argv in CASES:
            rows.append((what, "arena " + " ".join(argv), run(argv)))
    lines = ["# Bad input and the line it gets",
             "",
             "Every bad input below ends `arena` with exit status 2 and the one line shown (on stderr), never a",
             "traceback. Generated by `scripts/bad_input_table.py` (run it again after changing a message);",
             "`t` is a tiny tic_tac_toe run, `l3` a leduc_poker3 run. A full disk is one more such line:",
             "`arena: error: disk full writing checkpoints/RUN/... (needs about N MB more; free space shows M MB):",
             "free space, then run the same command to resume`.",
             "",
             "| bad input | command | line |",
             "|---|---|---|"]
    for what, command, line in rows:
        cell = line.replace("|", "\\|")
        lines.append(f"| {what} | `{command}` | {cell} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
