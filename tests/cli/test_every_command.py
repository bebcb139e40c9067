"""Every `arena` subcommand against one preset of each kind (issue 21): perfect information
(tic_tac_toe), poker (kuhn_poker), phantom (phantom_go5), three players (leduc_poker3). Each either
works or ends with one `arena: error:` line (exit 2); none ends in a traceback.

In-process (`arena_cli.cli.main`) with tiny runs and budgets, stdin closed; the slow paths (ONNX
export, throughput benches) have tests of their own (test_export.py, test_bench.py) and are only
argument-checked here.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from arena_cli.cli import main

PRESETS = ("tic_tac_toe", "kuhn_poker", "phantom_go5", "leduc_poker3")
def commands(g: str) -> list[list[str]]:
    """What each preset is put through; `g` is both the preset and its run's name."""
    return [
        ["games"],
        ["league", "status", g], ["league", "status", g, "--json"], ["league", "status", "no_such_run"],
        ["league", "run", g, "--steps", "0"], ["league", "run", g, "--actors", "-1"],
        ["league", "run", g, "--config", "no_such.toml"],
        ["ladder", g], ["ladder", g, "--json"],
        ["ladder", "--players", "random", "random@seed=1", "--game", g, "--games", "2"],
        ["ladder", "--players", "random", "random@seed=1", "random@seed=2", "--game", g, "--games", "2"],
        ["ladder", "--players", "random", "random@seed=1", "--game", g, "--games", "2", "--duplicate"],
        ["ladder", "--players", "random", "no_such_bot", "--game", g, "--games", "2"],
        ["data", "inspect", f"{g}/trajectories"], ["data", "inspect", f"{g}/league.sqlite"],
        ["export", g, "--onnx", f"{g}.onnx", "--seat", "5"], ["export", "random", "--onnx", "x.onnx"],
        ["bench", "curve", "--game", g],
        # A snapshot in matches: tic_tac_toe's batched search is slow to trace and tested in test_ladder.py.
        *([] if g == "tic_tac_toe" else
          [["ladder", "--players", "random", g, "--game", g, "--games", "2"],
           ["bench", "curve", "--run", g, "--opponent", "random", "--games", "2", "--points", "1"]]),
        *([] if g == "tic_tac_toe" else  # the search's benches refuse hidden information (test_bench.py times them)
          [["bench", "mcts", "--game", g, "--seconds", "0.1"], ["bench", "selfplay", "--game", g, "--seconds", "0.1"]]),
        ["play", g, "--vs", "random", "--vs", "random", "--delay", "0", "--seed", "1", "--save", "saved"],
        ["play", g, "--vs", "random", "--delay", "0", "--save", "saved"],
        ["play", g, "--vs", g, "--delay", "0", "--save", "saved"],
        ["play", g, "--vs", "random", "--as", "ninth"],
        ["play", g, "--vs", "no_such_bot"],
        ["replay", "no_such_game.json"],
        ["gtp", "random", "--game", g], ["gtp", g],
    ]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, tiny_run_config) -> Path:

    """Tiny one-step runs of the four presets, named after them."""
    root = tmp_path_factory.mktemp("every_command")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARENA_HOME", str(root))
        mp.chdir(root)
        for g in PRESETS:
            config = root / f"{g}.toml"
            config.write_text(tiny_run_config("alphazero" if g == "tic_tac_toe" else "mmd"))
            assert main(["league", "run", g, "--config", str(config), "--steps", "1", "--actors", "0", "--no-live"]) == 0
    return root


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    sys.stdin = io.StringIO("quit\n" if argv[0] == "gtp" else "")  # closed stdin for play, `quit` for gtp
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    finally:
        sys.stdin = sys.__stdin__
    return code, capsys.readouterr().err


@pytest.mark.parametrize("preset", PRESETS)
def test_every_command_works_or_says_one_line(preset: str, home: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ARENA_HOME", str(home))
    monkeypatch.chdir(home)
    for argv in commands(preset):
        code, err = run(argv, capsys)  # an exception other than an ArenaError fails the test here
        assert code in (0, 2), (argv, code, err)
        assert "Traceback" not in err, (argv, err)
        if code == 2:
            errors = [line for line in err.splitlines() if line.startswith("arena: error:")]
            assert len(errors) == 1, (argv, err)
