"""`arena league run` end to end: real subprocesses, real actor processes, SIGKILL, resumption.

Every run is tic_tac_toe with a tiny network and search (TINY below), in a run home under tmp_path
(ARENA_HOME), so nothing lands in the repository's checkpoints/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import games
from engine.nn import checkpoint
from engine import rundir
from engine.data import inspect, list_segments, read_segment
from engine import config as cfg
from engine.nn import build
from engine.players import NeuralBot, load_bot
from league.match import play_match
from league.ledger import Ledger


# ---- one process -------------------------------------------------------------------------------

def test_run_makes_a_complete_run_dir_and_resumes(tmp_path, run_cli):
    home = tmp_path
    run_dir = home / "r"
    first = run_cli.final_json(run_cli.ok(run_cli.league_run(home, "r", "--actors", "0", "--steps", "20")))
    assert first["run"] == "r" and first["step"] == 20
    config = cfg.from_dict(cfg.read_toml(run_dir / "config.toml"))
    assert config.game == "tic_tac_toe" and config.network.channels == 16 and config.search.simulations == 8
    assert run_cli.snapshot_steps(run_dir) == [0, 10, 20]
    assert (run_dir / "learner.pt").is_file()
    assert json.loads((run_dir / "status.json").read_text())["step"] == 20
    assert len(rundir.read_jsonl(run_dir / "metrics.jsonl")) == 3  # one line per snapshot
    segments = list_segments(run_dir / "trajectories")
    assert segments
    games_before = inspect(run_dir / "trajectories")["games"]
    assert games_before >= 8 and games_before == first["stored_games"]

    shown = run_cli.ok(run_cli.arena(home, "data", "inspect", str(run_dir / "trajectories")))
    assert re.search(rf"^\s*games\s+{games_before:,}$", shown.stdout, re.M), shown.stdout
    assert "tic_tac_toe" in shown.stdout and "board-v1" in shown.stdout
    as_json = json.loads(run_cli.ok(run_cli.arena(home, "data", "inspect", str(run_dir / "trajectories"), "--json")).stdout)
    assert as_json["games"] == games_before and as_json["positions"] > 3 * games_before  # league games store one side
    status = json.loads(run_cli.ok(run_cli.arena(home, "league", "status", "r", "--json")).stdout)
    assert status["step"] == 20

    kept = {s: (run_dir / "snapshots" / p.name).read_bytes() for s, p in checkpoint.list_snapshots(run_dir)}
    second = run_cli.ok(run_cli.league_run(home, "r", "--actors", "0", "--steps", "20"))
    assert "resuming run 'r'" in second.stderr
    assert run_cli.final_json(second)["step"] == 40
    # Pool members (every 20 steps) and the newest three stay; step 10 is neither, so it went.
    assert run_cli.snapshot_steps(run_dir) == [0, 20, 30, 40]
    assert json.loads((run_dir / "pool.json").read_text())["members"][-1]["step"] == 40
    for step, data in kept.items():  # snapshots that stay are never rewritten
        if step != 10:
            assert checkpoint.snapshot_path(run_dir, step).read_bytes() == data
    games_after = inspect(run_dir / "trajectories")["games"]
    assert games_after > games_before
    assert len(list_segments(run_dir / "trajectories")) > len(segments)
    # The resumed learner continued the old one: same run, same snapshot lineage.
    assert json.loads((run_dir / "status.json").read_text())["step"] == 40


def test_same_seed_repeats_exactly(tmp_path, run_cli):
    for run, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        run_cli.ok(run_cli.league_run(tmp_path, run, "--actors", "0", "--steps", "20", "--seed", seed))
    for step in (0, 10, 20):
        assert run_cli.same_weights(run_cli.snapshot_weights(tmp_path / "a", step), run_cli.snapshot_weights(tmp_path / "b", step)), step
    # The seed is used: another seed gives other weights from the very first snapshot.
    assert not run_cli.same_weights(run_cli.snapshot_weights(tmp_path / "a", 0), run_cli.snapshot_weights(tmp_path / "c", 0))
    assert not run_cli.same_weights(run_cli.snapshot_weights(tmp_path / "a", 20), run_cli.snapshot_weights(tmp_path / "c", 20))
    ga = [r.game_id for p in list_segments(tmp_path / "a" / "trajectories") for r in read_segment(p).records()]
    gb = [r.game_id for p in list_segments(tmp_path / "b" / "trajectories") for r in read_segment(p).records()]
    assert ga == gb


def test_resume_republishes_a_snapshot_lost_to_a_kill(tmp_path, run_cli):
    """A kill between writing learner.pt and its snapshot: the next session re-publishes that step."""
    run_dir = tmp_path / "r"
    run_cli.ok(run_cli.league_run(tmp_path, "r", "--actors", "0", "--steps", "20"))
    state = torch.load(run_dir / "learner.pt", weights_only=True)
    assert state["step"] == 20
    checkpoint.snapshot_path(run_dir, 20).unlink()
    (run_dir / "snapshots" / "step-0000020.pt.x1y2z3.tmp").write_bytes(b"torn")
    run_cli.ok(run_cli.league_run(tmp_path, "r", "--actors", "0", "--steps", "10"))
    assert run_cli.snapshot_steps(run_dir) == [0, 10, 20, 30]
    assert run_cli.same_weights(run_cli.snapshot_weights(run_dir, 20), state["weights"])
    assert not list((run_dir / "snapshots").glob("*.tmp"))


def test_per_player_networks_end_to_end(tmp_path, monkeypatch, run_cli):
    config = run_cli.write_config(tmp_path, 'networks = "per_player"\n', name="pp.toml")
    result = run_cli.ok(run_cli.league_run(tmp_path, "pp", "--actors", "0", "--steps", "10", config=config))
    assert run_cli.final_json(result)["step"] == 10
    run_dir = tmp_path / "pp"
    assert cfg.from_dict(cfg.read_toml(run_dir / "config.toml")).networks == "per_player"
    weights = run_cli.snapshot_weights(run_dir, 10)
    assert len(weights) == 2
    assert not run_cli.same_weights(weights[:1], weights[1:])
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))  # load_bot resolves the run name under ARENA_HOME
    bot = load_bot("pp@sims=4", games.load("tic_tac_toe"))
    assert isinstance(bot, NeuralBot) and bot.mcts.evaluator.per_player
    state = games.load("tic_tac_toe").game.new_initial_state()
    assert bot.step(state) in state.legal_actions()


# ---- actor processes ---------------------------------------------------------------------------


def test_multiprocess_run_exits_cleanly(tmp_path, run_cli):
    config = run_cli.write_config(tmp_path)
    proc = subprocess.Popen(run_cli.arena_cmd("league", "run", "tic_tac_toe", "--config", str(config), "--run", "mp",
                                      "--actors", "1", "--steps", "10", "--no-live"),
                            cwd=tmp_path, env=run_cli.arena_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert json.loads(out.strip().splitlines()[-1])["step"] == 10
    assert run_cli.wait_gone(proc.pid), "an actor process outlived the run"
    run_dir = tmp_path / "mp"
    assert 10 in run_cli.snapshot_steps(run_dir)
    info = inspect(run_dir / "trajectories")
    assert info["writers"] == ["actor-0"] and info["games"] >= 8


def test_resignations_reach_the_store_the_ledger_status_and_curves(tmp_path, run_cli):
    """Stats of resignation travel from the actor to status.json, `arena league status` and
    TensorBoard; a resigned game's stored moves and ledger row agree. (Inline, so that the
    status counts every game: actor processes report once a second.)"""
    # The untrained network values positions around 0: at 0 many games resign, half may not.
    resigning = "[selfplay]\nresign_threshold = 0.0\nresign_moves = 2\nno_resign_fraction = 0.5\n"
    config = tmp_path / "tiny.toml"
    config.write_text(run_cli.TINY.replace("[selfplay]\n", resigning))
    run_cli.ok(run_cli.league_run(tmp_path, "rs", "--actors", "0", "--steps", "10", config=config))
    run_dir = tmp_path / "rs"
    status = json.loads(run_cli.ok(run_cli.arena(tmp_path, "league", "status", "rs", "--json")).stdout)
    assert 0 < status["resigned_share"] < 1 and status["would_resign"] > 0
    assert 0 <= status["false_resign_rate"] <= 1
    shown = run_cli.ok(run_cli.arena(tmp_path, "league", "status", "rs")).stdout
    assert re.search(r"resigned\W+\d+% of games · false resigns \d+% \(of [\d,]+ played out\)", shown), shown
    curves = run_cli.read_curves(tmp_path / "rs" / "tensorboard" / "main")
    assert {"selfplay/resigned_share", "selfplay/false_resign_rate"} <= curves.keys()
    assert 0 < curves["selfplay/resigned_share"][-1].value < 1

    spec = games.load("tic_tac_toe")
    rows = {r.uid: r for _, r in Ledger.of_run(run_dir).games(kinds=["training"])}
    resigned = 0
    for path in list_segments(run_dir / "trajectories"):
        for record in read_segment(path).records():
            row = rows[record.game_id]
            assert list(row.returns) == record.returns.tolist() and record.returns.sum() == 0
            assert row.length >= len(record)  # the ledger's plies; the store holds the learning side's moves
            if row.length > len(record):
                continue  # against a pool member, whose moves are not stored
            state = spec.game.new_initial_state()
            for action in record.action:
                state.apply_action(int(action))
            if not state.is_terminal():  # resigned by the player to move, a loss
                resigned += 1
                assert record.returns[state.current_player()] == -1
    assert resigned > 0


def test_live_view_in_a_terminal(tmp_path, run_cli):
    """The rich live panel renders in a real pseudo-terminal and shows the run's progress."""
    import pexpect

    config = run_cli.write_config(tmp_path)
    child = pexpect.spawn(sys.executable, ["-m", "arena_cli", "league", "run", "tic_tac_toe", "--config",
                                           str(config), "--run", "live", "--actors", "0", "--steps", "15"],
                          cwd=str(tmp_path), env=run_cli.arena_env(tmp_path), encoding="utf-8", timeout=120,
                          dimensions=(40, 120))
    child.expect("arena league · live · tic_tac_toe")
    child.expect("learner step")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert run_cli.snapshot_steps(tmp_path / "live")[-1] == 15


def test_kill_9_then_resume(tmp_path, run_cli):
    config = run_cli.write_config(tmp_path)
    run_dir = tmp_path / "k"
    traj = run_dir / "trajectories"
    flushed = []

    def ready(run_dir: Path) -> bool:
        latest = checkpoint.latest_snapshot(run_dir)
        if list_segments(traj) and latest and latest[0] > 0:
            flushed.append(inspect(traj)["games"])
            return True
        return False
    seen_step = run_cli.kill_9_when(tmp_path, "tic_tac_toe", config, "k", ready)

    result = run_cli.ok(run_cli.league_run(tmp_path, "k", "--actors", "1", "--steps", "5", config=config, timeout=150))
    assert "resuming run 'k'" in result.stderr
    final = run_cli.final_json(result)["step"]
    assert final >= seen_step + 5, (seen_step, final)  # resumed from the last snapshot, not from 0
    assert run_cli.snapshot_steps(run_dir)[-1] == final
    stored = []
    for path in list_segments(traj):  # every trajectory file reads
        info = inspect(path)
        assert info["games"] >= 1
        stored += read_segment(path).games["game_id"]
    assert not list(traj.glob("*.tmp")) and not list((run_dir / "snapshots").glob("*.tmp"))
    assert inspect(traj)["games"] >= flushed[0]
    # The ledger came through intact: every stored game recorded once, nothing it lacks.
    with sqlite3.connect(run_dir / "league.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ledger = Ledger.of_run(run_dir, create=False)
    training = [g.uid for _, g in ledger.games(kinds=("training",))]
    assert len(training) == len(set(training)) and set(training) == set(stored)


def test_kill_9_then_resume_an_mmd_run(tmp_path, run_cli):
    """The imperfect-information learner keeps the same guarantees: kill -9 mid-run, resume from
    the last snapshot, every trajectory file readable, the NashConv log intact."""
    config = tmp_path / "kuhn.toml"
    config.write_text("[mmd]\npositions_per_update = 2000\n[league]\nevaluator = false\n")
    run_dir = tmp_path / "kp"
    seen_step = run_cli.kill_9_when(tmp_path, "kuhn_poker", config, "kp",
                            lambda d: (checkpoint.latest_snapshot(d) or (0,))[0] >= 2)
    result = run_cli.ok(run_cli.arena(tmp_path, "league", "run", "kuhn_poker", "--run", "kp", "--actors", "1", "--steps", "2",
                      "--no-live", timeout=150))
    assert "resuming run 'kp'" in result.stderr
    final = run_cli.final_json(result)["step"]
    assert final >= seen_step + 2 and run_cli.snapshot_steps(run_dir)[-1] == final
    traj = run_dir / "trajectories"
    for path in list_segments(traj):
        assert inspect(path)["games"] >= 1
    assert not list(traj.glob("*.tmp")) and not list((run_dir / "snapshots").glob("*.tmp"))
    lines = (run_dir / "exploitability.jsonl").read_text().splitlines()
    assert [json.loads(line)["nash_conv"] for line in lines if line.endswith("}")]
    # Its TensorBoard curves: MMD's losses and NashConv, each learner step once across the kill.
    curves = run_cli.read_curves(run_dir / "tensorboard" / "main")
    assert {"main/loss/critic", "main/loss/policy", "main/loss/kl", "main/policy/entropy", "main/learning_rate",
            "main/nash_conv", "main/nash_conv_iterate", "main/replay/fill", "selfplay/games_per_minute"} <= curves.keys()
    assert [e.step for e in curves["main/loss/critic"]] == list(range(1, final + 1))
    measured = [e.step for e in curves["main/nash_conv"]]
    assert measured == sorted(set(measured)) and measured[-1] > seen_step
    with sqlite3.connect(run_dir / "league.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigterm_stops_cleanly_and_publishes_the_last_step(tmp_path, run_cli):
    """`kill` (or Ctrl-C) ends a run cleanly: exit 0, actors gone, the learner's last step published."""
    config = run_cli.write_config(tmp_path)
    run_dir = tmp_path / "t"
    proc = subprocess.Popen(run_cli.arena_cmd("league", "run", "tic_tac_toe", "--config", str(config), "--run", "t",
                                      "--actors", "1", "--no-live"),
                            cwd=tmp_path, env=run_cli.arena_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        latest = checkpoint.latest_snapshot(run_dir)
        if latest and latest[0] > 0:
            break
        assert proc.poll() is None
        time.sleep(0.3)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("no snapshot beyond step 0 within 150 s")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err
    step = json.loads(out.strip().splitlines()[-1])["step"]
    assert run_cli.snapshot_steps(run_dir)[-1] == step
    assert run_cli.wait_gone(proc.pid)
    assert not list((run_dir / "trajectories").glob("*.tmp"))


# ---- bad input ---------------------------------------------------------------------------------

def test_bad_input_gives_one_line_errors(tmp_path, run_cli):
    home = tmp_path / "home"
    home.mkdir()
    bad_key = run_cli.write_config(tmp_path, "", name="ok.toml")
    bad_key.write_text("[search]\nsimulatons = 3\n")
    bad_type = tmp_path / "bad_type.toml"
    bad_type.write_text("game = 7\n")
    bad_toml = tmp_path / "bad_syntax.toml"
    bad_toml.write_text("[search\n")
    bad_choice = tmp_path / "bad_choice.toml"
    bad_choice.write_text('networks = "both"\n')
    search_toml = tmp_path / "search.toml"
    search_toml.write_text("[search]\nsimulations = 100\n")
    mmd_toml = tmp_path / "mmd.toml"
    mmd_toml.write_text("[mmd]\nstep_size = 1.0\n")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not hdf5 at all")
    cases = {
        "unknown game": (["league", "run", "tic_tac_toes", "--no-live"], "did you mean 'tic_tac_toe'"),
        "simultaneous moves": (["league", "run", "matrix_rps", "--no-live"], "simultaneous"),
        "search on poker": (["league", "run", "kuhn_poker", "--config", str(search_toml), "--no-live"],
                            "no tree search"),
        "mmd on a board game": (["league", "run", "tic_tac_toe", "--config", str(mmd_toml), "--no-live"],
                                "[mmd] is for"),
        "bad config key": (["league", "run", "tic_tac_toe", "--config", str(bad_key), "--no-live"],
                           "did you mean 'simulations'"),
        "bad config type": (["league", "run", "tic_tac_toe", "--config", str(bad_type), "--no-live"], "game"),
        "bad TOML": (["league", "run", "tic_tac_toe", "--config", str(bad_toml), "--no-live"], "not valid TOML"),
        "bad choice": (["league", "run", "tic_tac_toe", "--config", str(bad_choice), "--no-live"], "per_player"),
        "missing config": (["league", "run", "tic_tac_toe", "--config", str(tmp_path / "nope.toml"), "--no-live"],
                           "not found"),
        "zero steps": (["league", "run", "tic_tac_toe", "--steps", "0", "--no-live"], "positive"),
        "negative actors": (["league", "run", "tic_tac_toe", "--actors", "-1", "--steps", "1", "--no-live"],
                            "negative"),
        "status of no run": (["league", "status", "nope"], "no run named 'nope'"),
        "inspect nothing": (["data", "inspect", str(tmp_path / "nope")], "no such file"),
        "inspect empty dir": (["data", "inspect", str(empty_dir)], "no trajectory segments"),
        "inspect garbage": (["data", "inspect", str(garbage)], "not an HDF5 file"),
    }
    procs = {name: subprocess.Popen(run_cli.arena_cmd(*args), cwd=home, env=run_cli.arena_env(home), stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, (args, _) in cases.items()}
    failures = []
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        words = cases[name][1]
        if (proc.returncode != 2 or len(lines) != 1 or not lines[0].startswith("arena: error:")
                or "Traceback" in err or words not in lines[0]):
            failures.append(f"{name}: exit {proc.returncode}, stderr {err!r}")
    assert not failures, "\n".join(failures)
    assert list(home.iterdir()) == [], "a failed command left a run directory behind"


def test_resume_refuses_another_config_or_game(tmp_path, run_cli):
    config = run_cli.write_config(tmp_path)
    run_cli.ok(run_cli.league_run(tmp_path, "r", "--actors", "0", "--steps", "1", config=config))
    other = run_cli.write_config(tmp_path, 'seed = 9\n', name="other.toml")
    procs = [
        subprocess.Popen(run_cli.arena_cmd(*args), cwd=tmp_path, env=run_cli.arena_env(tmp_path), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for args in (["league", "run", "tic_tac_toe", "--config", str(other), "--run", "r", "--no-live"],
                     ["league", "run", "connect_four", "--run", "r", "--no-live"])
    ]
    for proc, words in zip(procs, ("another config", "plays tic_tac_toe")):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("arena: error:") and words in lines[0], err


def test_a_session_resumed_at_the_same_step_plays_new_games(tmp_path, monkeypatch, run_cli):
    """Two sessions from one learner step (the first stopped before the learner could step): the
    second must not replay the first's games, ids included, into the store."""
    from engine.data import list_segments, read_segment
    from league.run import LeagueRun, prepare_run

    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    config_file = tmp_path / "wait.toml"
    config_file.write_text(run_cli.TINY.replace("min_positions = 64", "min_positions = 100000"))
    ids = []
    for _ in range(2):
        config, run_dir, _ = prepare_run("tic_tac_toe", str(config_file), "same", {"actors": 0})
        # 9 s: 3 s of session, start-up included, flushed no game on a slow host busy with other tests
        progress = LeagueRun(config, run_dir).run(minutes=0.15)
        assert progress.step == 0
    for path in list_segments(run_dir / "trajectories"):
        ids += [str(g) for g in read_segment(path, slice(0, 0)).games["game_id"]]
    assert len(ids) > 16 and len(ids) == len(set(ids))


def test_a_go_run_with_liberty_inputs_plays_wherever_snapshots_play(tmp_path, monkeypatch, run_cli):
    """network.liberties: the learner, the actor and the store read Go with the liberty planes, and
    its snapshots play a network without them (each search encodes for its own network)."""
    game = "go(board_size=5,komi=0.5)"
    config = tmp_path / "lib.toml"
    config.write_text(run_cli.TINY.replace("[network]\n", "[network]\nliberties = true\n"))
    run_cli.ok(run_cli.arena(tmp_path, "league", "run", game, "--config", str(config), "--run", "lib",
                             "--actors", "0", "--steps", "10", "--no-live", timeout=240))
    run_dir = tmp_path / "lib"
    lib_path = checkpoint.snapshot_path(run_dir, 10)
    snap = checkpoint.load_snapshot(lib_path)
    assert snap.network.liberties and snap.obs_shape == (13, 5, 5)
    info = inspect(run_dir / "trajectories")
    assert info["encoder"] == "go-h4-lib3-v1" and info["obs_shape"] == [13, 5, 5] and info["games"] > 0

    spec = games.load(game)
    plain_net = cfg.NetworkConfig(channels=8, blocks=1)
    plain_path = tmp_path / "plain.pt"
    checkpoint.save_snapshot(plain_path, spec.game_string, plain_net, spec.encoder.shape, spec.num_actions, 0,
                             [build(plain_net, spec.encoder.shape, spec.num_actions, spec.has_ownership)])
    result = play_match(spec, f"{lib_path}@sims=4", f"{plain_path}@sims=4", 4)
    assert result.games == 4
    bot = load_bot(f"{lib_path}@sims=4", spec)
    assert bot.game_spec.encoder.shape == (13, 5, 5)
    state = spec.game.new_initial_state()
    assert bot.step(state) in state.legal_actions()
    exported = run_cli.ok(run_cli.arena(tmp_path, "export", str(lib_path), "--onnx", str(tmp_path / "lib.onnx")))
    assert "Traceback" not in exported.stderr and (tmp_path / "lib.onnx").is_file()
