"""engine.players: player specs into pyspiel.Bots that play legal moves in OpenSpiel's own tools."""

from __future__ import annotations

import sys
import numpy as np
import pyspiel
import pytest
import torch
from open_spiel.python.algorithms import evaluate_bots

import games
from engine.nn import checkpoint
from engine import rundir
from engine import config as cfg
from engine.players import (BotError, MinimaxBot, NeuralBot, RandomBot, SampledISMCTSBot, agent_of, is_neural, load_bot,
                            parse_spec, snapshot_spec, step_of)
from engine.errors import ArenaError
from engine.nn.checkpoint import CheckpointError
from engine.train.alphazero import Learner
from engine.rundir import RunError

TTT = games.load("tic_tac_toe")
TINY_NET = {"network": {"channels": 8, "blocks": 1, "hidden": 16}}


def make_run(name: str, game: str, steps: list[int]) -> tuple:
    """A run directory under $ARENA_HOME with one snapshot per step, each with different weights."""
    config = cfg.resolve(game, TINY_NET)
    run_dir = rundir.run_path(name)
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(config))
    learner = Learner(games.load(game), config, run_dir)
    for step in steps:
        learner.step = step
        with torch.no_grad():
            learner.models[0].policy_head[-1].bias.fill_(float(step))  # tells the snapshots apart
        learner.publish()
    return run_dir, config


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    make_run("r", "tic_tac_toe", [0, 10, 20])
    return tmp_path


def loaded_step(bot: NeuralBot) -> float:
    return float(bot.mcts.evaluator.models[0].policy_head[-1].bias[0].detach())


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg, f"not one line: {msg!r}"
    return msg


def play_checked(bots, game=TTT.game, seed: int = 0) -> list[float]:
    """A game where every move is checked against the legal moves before it is applied."""
    state = game.new_initial_state()
    for bot in bots:
        bot.restart_at(state)
    while not state.is_terminal():
        player = state.current_player()
        action = bots[player].step(state)
        assert action in state.legal_actions(), f"{type(bots[player]).__name__} played illegal {action}"
        for i, bot in enumerate(bots):
            if i != player:
                bot.inform_action(state, player, action)
        state.apply_action(action)
    return state.returns()


# ---- specs that work ---------------------------------------------------------------------------

SPECS = ["random", "mcts:50", "minimax", "r", "r:latest", "r:step-10", "r@sims=8", "r:step-0@sims=4@seed=3",
         "SNAPSHOT"]


@pytest.mark.parametrize("spec", SPECS)
def test_every_spec_is_a_bot_that_plays_legal_moves(home, spec):
    if spec == "SNAPSHOT":
        spec = str(checkpoint.snapshot_path(home / "r", 10))
    bot = load_bot(spec, TTT)
    assert isinstance(bot, pyspiel.Bot)
    opponent = load_bot("random", TTT, seed=1)
    rng = np.random.RandomState(0)
    for seat in (0, 1):
        bots = [bot, opponent] if seat == 0 else [opponent, bot]
        returns = evaluate_bots.evaluate_bots(TTT.game.new_initial_state(), bots, rng)
        assert sorted(returns) in ([-1.0, 1.0], [0.0, 0.0])
        play_checked(bots)


def test_spec_by_game_name_too(home):
    assert isinstance(load_bot("random", "tic_tac_toe"), RandomBot)
    assert isinstance(load_bot("r", "tic_tac_toe"), NeuralBot)


def test_run_specs_pick_the_right_snapshot(home):
    assert loaded_step(load_bot("r", TTT)) == 20
    assert loaded_step(load_bot("r:latest", TTT)) == 20
    assert loaded_step(load_bot("r:step-10", TTT)) == 10
    assert loaded_step(load_bot("r:step-0", TTT)) == 0
    assert loaded_step(load_bot(str(checkpoint.snapshot_path(home / "r", 10)), TTT)) == 10


def test_bot_kinds(home):
    assert isinstance(load_bot("random", TTT), RandomBot)
    assert isinstance(load_bot("minimax", TTT), MinimaxBot)
    assert isinstance(load_bot("mcts:50", TTT), pyspiel.MCTSBot)
    assert isinstance(load_bot("r", TTT), NeuralBot)


def test_sims_option_applies(home):
    default = load_bot("r", TTT)
    assert default.search_config.simulations == cfg.default_config("tic_tac_toe").search.simulations
    bot = load_bot("r@sims=13", TTT)
    assert bot.search_config.simulations == 13
    info = bot.think(TTT.game.new_initial_state())
    assert info["visits"].sum() == 12  # a fresh root: the expansion is the first simulation
    other = load_bot("r@sims=6,c_puct=2.5@leaves_per_tree=2@reuse_tree=false", TTT)
    assert other.search_config.simulations == 6 and other.search_config.c_puct == 2.5
    assert other.search_config.leaves_per_tree == 2 and other.search_config.reuse_tree is False
    assert other.think(TTT.game.new_initial_state())["visits"].sum() == 5


def test_int8_option_runs_the_snapshot_as_int8_actors_do(home):
    """@int8=true: the network in onnxruntime, quantized once enough positions have been seen (the
    head-to-head that measures int8's cost in strength); a value other than true or false is refused."""
    pytest.importorskip("onnxruntime")
    assert not load_bot("r", TTT).evaluator.int8
    bot = load_bot("r@int8=true@sims=8", TTT)
    assert bot.evaluator.int8 and bot.search_config.simulations == 8
    assert bot.step(TTT.game.new_initial_state()) in range(9)
    with pytest.raises(BotError, match="must be true or false"):
        load_bot("r@int8=maybe", TTT)


def test_int8_without_onnxruntime_names_the_install(home, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(BotError, match=r"onnxruntime, not installed here: pip install -e '\.\[onnx\]'"):
        load_bot("r@int8=true", TTT)
    assert not load_bot("r@int8=false", TTT).evaluator.int8


def test_seed_option_makes_random_bots_repeat(home):
    def moves(spec):
        bot = load_bot(spec, TTT)
        return [bot.step(TTT.game.new_initial_state()) for _ in range(20)]
    assert moves("random@seed=5") == moves("random@seed=5")
    assert moves("random@seed=5") != moves("random@seed=6")


def test_neural_bot_step_with_policy(home):
    bot = load_bot("r@sims=20", TTT)
    state = TTT.game.new_initial_state()
    for a in (4, 0):
        state.apply_action(a)
    policy, action = bot.step_with_policy(state)
    legal = state.legal_actions()
    assert [a for a, _ in policy] == legal
    assert sum(p for _, p in policy) == pytest.approx(1.0)
    assert all(p >= 0 for _, p in policy)
    assert action in legal
    assert dict(policy)[action] == max(p for _, p in policy)
    assert bot.provides_policy()


def test_neural_bot_with_one_simulation_falls_back_to_the_priors(home):
    bot = load_bot("r@sims=1", TTT)
    state = TTT.game.new_initial_state()
    policy, action = bot.step_with_policy(state)
    assert sum(p for _, p in policy) == pytest.approx(1.0) and action in state.legal_actions()


def test_neural_bot_reuses_its_tree_between_moves(home):
    bot = load_bot("r@sims=200@leaves_per_tree=1", TTT)
    state = TTT.game.new_initial_state()
    a = bot.step(state)
    state.apply_action(a)
    m = bot.mcts  # its root is still the position before its own move
    mine = m.child[0, m.root[0], a]
    kept = {int(r): m.N[0, m.child[0, mine, r]].sum() for r in np.flatnonzero(m.child[0, mine] >= 0)}
    reply = max(kept, key=kept.get)  # the opponent's reply with the biggest searched subtree
    subtree = kept[reply]
    assert subtree > 0
    state.apply_action(reply)
    info = bot.think(state)
    assert info["visits"].sum() == subtree + 200  # the kept subtree plus this search
    # A position that does not follow from the last one starts a fresh tree.
    other = TTT.game.new_initial_state()
    other.apply_action(8)
    assert bot.think(other)["visits"].sum() == 199


def test_minimax_never_loses_to_random(home):
    minimax = load_bot("minimax", TTT)
    rng = np.random.RandomState(0)
    results = []
    for i in range(20):
        random = load_bot("random", TTT, seed=i)
        seat = i % 2
        bots = [minimax, random] if seat == 0 else [random, minimax]
        results.append(evaluate_bots.evaluate_bots(TTT.game.new_initial_state(), bots, rng)[seat])
    assert min(results) >= 0
    assert results.count(1.0) >= 10  # and it beats random most of the time


def test_minimax_finds_the_win_and_the_block():
    bot = MinimaxBot(TTT.game)
    state = TTT.game.new_initial_state()
    for a in (0, 3, 1, 4):  # X to move: 2 wins now
        state.apply_action(a)
    assert bot.step(state) == 2
    state = TTT.game.new_initial_state()
    for a in (0, 4, 1):  # O to move must block at 2
        state.apply_action(a)
    assert bot.step(state) == 2


# ---- specs that fail ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, error, words", [
    ("", BotError, "empty player spec"),
    ("   ", BotError, "empty player spec"),
    ("@sims=3", BotError, "empty player spec"),
    ("nope", RunError, "no run named 'nope'"),
    ("nope:latest", RunError, "no run named 'nope'"),
    ("bad name", RunError, "not valid"),
    ("bad/name", RunError, "no run named 'bad'"),
    ("r/nobody", BotError, "run 'r' has no agent 'nobody': it has no exploiters"),
    ("r/nobody:step-10", BotError, "has no agent 'nobody'"),
    ("r:step-999", BotError, "no snapshot at step 999"),
    ("r:step-x", BotError, "bad snapshot selector"),
    ("r:newest", BotError, "bad snapshot selector"),
    ("mcts:x", BotError, "mcts:N"),
    ("mcts:0", BotError, "mcts:N"),
    ("mcts:-5", BotError, "mcts:N"),
    ("mcts:50@sims=0", BotError, "positive"),
    ("mcts:5@rollouts=0", BotError, "positive"),
    ("random@foo=1", BotError, "unknown option"),
    ("r@bogus=3", BotError, "unknown option"),
    ("minimax@sims=3", BotError, "unknown option"),
    ("random@seed=x", BotError, "must be an integer"),
    ("random@seed=-1", BotError, "must not be negative"),
    ("random@verbose", BotError, "@key=value"),
    ("r@sims=abc", BotError, "must be a number"),
    ("r@sims=0", BotError, "positive"),
    ("r@sims=-3", BotError, "positive"),
    ("r@leaves_per_tree=0", BotError, "positive"),
    ("r@c_puct=-1", BotError, "negative"),
    ("r@dirichlet_fraction=2", BotError, "[0, 1]"),
    ("r@reuse_tree=maybe", BotError, "true or false"),
    ("missing.pt", BotError, "not found"),
    ("human", BotError, "not available"),
    ("gtp:gnugo --mode gtp", BotError, "plays Go only"),
    ("ismcts:50", BotError, "perfect information"),
    ("ismcts:x", BotError, "ismcts:N"),
    ("ismcts:5@rollouts=0", BotError, "positive"),
])
def test_bad_specs_raise_one_line_errors(home, spec, error, words):
    with pytest.raises(error) as e:
        load_bot(spec, TTT)
    assert words in one_line(e)


@pytest.mark.parametrize("game", ["kuhn_poker", "leduc_poker"])
def test_ismcts_plays_imperfect_information_games(game):
    spec = games.load(game)
    bots = [load_bot("ismcts:30", spec, seed=1), RandomBot(2)]
    assert isinstance(bots[0], pyspiel.ISMCTSBot)  # OpenSpiel resamples poker's hidden cards itself
    for i in range(4):
        returns = evaluate_bots.evaluate_bots(spec.game.new_initial_state(), bots, np.random.RandomState(i))
        assert sum(returns) == 0 and any(returns)  # zero-sum poker: somebody won chips


def test_ismcts_refuses_simultaneous_moves():
    with pytest.raises(BotError) as e:
        load_bot("ismcts:5", "matrix_rps")
    assert "turn-based" in one_line(e)


def test_ismcts_plays_games_openspiel_cannot_resample():
    """Phantom tic-tac-toe lacks ResampleFromInfostate: worlds come from engine.players.world_sampler."""
    spec = games.load("phantom_ttt")
    bot = load_bot("ismcts:20@seed=3", spec)
    assert isinstance(bot, SampledISMCTSBot)
    for i in range(2):
        bots = [bot, RandomBot(2)] if i == 0 else [RandomBot(2), bot]
        returns = evaluate_bots.evaluate_bots(spec.game.new_initial_state(), bots, np.random.RandomState(i))
        assert sorted(returns) in ([-1.0, 1.0], [0.0, 0.0])


def test_a_run_without_snapshots(home):
    rundir.atomic_write_text(rundir.run_path("empty") / "config.toml", cfg.dumps(cfg.default_config("tic_tac_toe")))
    with pytest.raises(BotError) as e:
        load_bot("empty", TTT)
    assert "no snapshots" in one_line(e)


def test_snapshot_of_another_game_is_refused(home):
    run_dir, _ = make_run("c4", "connect_four", [0])
    for spec in ("c4", "c4:step-0", str(checkpoint.snapshot_path(run_dir, 0))):
        with pytest.raises(CheckpointError) as e:
            load_bot(spec, TTT)
        msg = one_line(e)
        assert "connect_four" in msg and "tic_tac_toe" in msg
    assert isinstance(load_bot("c4", "connect_four"), NeuralBot)


HEX5_FORMS = {"GameSpec": lambda: games.load("hex5"), "preset": lambda: "hex5", "string": lambda: "hex(board_size=5)",
              "pyspiel.Game": lambda: pyspiel.load_game("hex(board_size=5)"),
              "pyspiel.Game with parameters": lambda: pyspiel.load_game("hex", {"board_size": 5}),
              "spelled out": lambda: "hex(board_size=5,num_cols=5,num_rows=5)"}  # another string, the same game


@pytest.mark.parametrize("form", HEX5_FORMS)
def test_bots_take_every_form_of_their_game_and_play_in_openspiels_loops(home, form):
    """A snapshot, `random` and `mcts:N` from a GameSpec, a preset name, a game string or a pyspiel.Game
    (which maps to its preset, encoder and settings), playing in OpenSpiel's C++ and Python loops."""
    make_run("h", "hex5", [0])
    game = pyspiel.load_game("hex(board_size=5)")  # the caller's own game object, as in OpenSpiel's tools
    for spec in ("h@sims=4", "random", "mcts:10"):
        bot = load_bot(spec, HEX5_FORMS[form](), seed=1)
        if spec.startswith("h"):
            assert isinstance(bot, NeuralBot) and games.same_game(bot.game_spec, "hex5")
            if form.startswith("pyspiel"):
                assert bot.game_spec is games.load("hex5")  # its preset, not a bare game
        opponent = load_bot("random", HEX5_FORMS[form](), seed=2)
        for seat in (0, 1):
            bots = [bot, opponent] if seat == 0 else [opponent, bot]
            assert sorted(pyspiel.evaluate_bots(game.new_initial_state(), bots, seat)) == [-1.0, 1.0]  # no draws in hex
            returns = evaluate_bots.evaluate_bots(game.new_initial_state(), bots, np.random.RandomState(seat))
            assert sorted(returns) == [-1.0, 1.0]


def test_a_snapshot_refuses_another_game_in_any_form(home):
    make_run("c4", "connect_four", [0])
    assert isinstance(load_bot("c4", pyspiel.load_game("connect_four")), NeuralBot)
    for form in ("tic_tac_toe", TTT, TTT.game, pyspiel.load_game("connect_four(rows=5)")):
        with pytest.raises(CheckpointError) as e:
            load_bot("c4", form)
        msg = one_line(e)
        assert isinstance(e.value, ArenaError)
        assert "trained on 'connect_four'" in msg and f"not '{games.load(form).game_string}'" in msg
        assert "use a snapshot of" in msg  # the fix


def test_garbage_snapshot_file_is_refused(home, tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError) as e:
        load_bot(str(path), TTT)
    one_line(e)


def test_parse_spec():
    assert parse_spec("r:step-5@sims=8,seed=2") == ("r:step-5", {"sims": "8", "seed": "2"})
    assert parse_spec("r@sims=8@seed=2") == ("r", {"sims": "8", "seed": "2"})
    assert parse_spec(" random ") == ("random", {})


def test_snapshot_specs_round_trip():
    assert snapshot_spec("r", 5) == "r:step-5" and snapshot_spec("r", 5, "main-exploiter-0") == "r/main-exploiter-0:step-5"
    for agent in ("main", "main-exploiter-0", "any-agent"):
        spec = snapshot_spec("r", 30, agent) + "@sims=4"
        assert step_of(spec) == 30 and agent_of(spec) == agent
    assert step_of("r") is None and step_of("r:latest") is None and step_of("gtp:gnugo --mode gtp") is None


def test_builtin_kinds_and_snapshots_are_told_apart():
    for spec in ("random", "random@seed=3", "mcts", "mcts:50", "ismcts:5@rollouts=2", "minimax", "call", "raise",
                 "human", "gtp:gnugo --mode gtp@x"):
        assert not is_neural(spec), spec
    # Only mcts and ismcts take a count: `random:step-5` is step 5 of a run named random.
    for spec in ("r", "r:step-5@sims=8", "r/main-exploiter-0", "x.pt", "random:step-5", "minimax:latest"):
        assert is_neural(spec), spec


def test_an_agent_is_whatever_has_a_directory(home):
    """`<run>/<agent>` takes any agent directory under the run's agents/, whatever its name."""
    source = rundir.agent_dir(home / "r", "main")
    Learner(TTT, cfg.resolve("tic_tac_toe", TINY_NET), rundir.agent_dir(source, "sparring")).publish()
    assert isinstance(load_bot("r/sparring", TTT), NeuralBot)
    with pytest.raises(BotError) as e:
        load_bot("r/other", TTT)
    assert "its agents are sparring" in one_line(e)
