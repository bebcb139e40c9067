"""AlphaStar's exploiter roles (league/roles.py): the join and reset rules, who each agent plays,
the pool and specs of several agents, and inline and multi-process runs with exploiters (real
learner, actors, ledger and evaluator on tic_tac_toe with a tiny network, as in test_league_run)."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
import torch

import games
from engine.nn import checkpoint
from engine import config as cfg, rundir
from engine.data import inspect, list_segments, read_segment
from engine.players import BotError, NeuralBot, load_bot
from engine.config import ConfigError, LeagueConfig
from engine.train.alphazero import STATE_FILE, Learner
from league import pfsp, roles
from league.ledger import GameResult, Ledger
from league.run import LeagueRun
from engine.players import agent_of, step_of
from league.pool import Pool, snapshot_file, spec

EXPLOITERS = "[league]\nmain_exploiters = 1\nleague_exploiters = 1\nexploiter_steps = 20\n"
ME, LE = "main-exploiter-0", "league-exploiter-0"


def exploiter_config(run_cli, home, name: str = "ex.toml", extra: str = ""):
    """test_league_run's tiny config with our [league] keys merged in; exploiters store only their
    own side's positions (half a self-play game's), so they start learning at fewer positions."""
    path = run_cli.write_config(home, name=name)
    text = path.read_text().replace("[league]\n", EXPLOITERS + extra, 1)
    path.write_text(text.replace("min_positions = 64", "min_positions = 32"))
    return path


def agent_steps(run_dir, agent: str) -> list[int]:
    return [s for s, _ in checkpoint.list_snapshots(rundir.agent_dir(run_dir, agent))]


def learner_state(run_dir, agent: str) -> dict:
    return torch.load(rundir.agent_dir(run_dir, agent) / "learner.pt", weights_only=True)


def stored_game_ids(run_dir) -> list[str]:
    ids = []
    for agent in ("main", *rundir.agent_names(run_dir)):
        for path in list_segments(rundir.agent_dir(run_dir, agent) / "trajectories"):
            ids += read_segment(path, slice(0, 0)).games["game_id"]
    return ids


def assert_ledger_matches_store(run_dir) -> None:
    """Every stored game of every agent is in the ledger once, and the ledger has no others."""
    with sqlite3.connect(run_dir / "league.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    training = [g.uid for _, g in Ledger.of_run(run_dir, create=False).games(kinds=("training",))]
    stored = stored_game_ids(run_dir)
    assert len(training) == len(set(training)) and set(training) == set(stored)


# ---- the rules -----------------------------------------------------------------------------------

def test_agents_are_named_in_order_and_seeded_apart():
    found = roles.agents(LeagueConfig(main_exploiters=2, league_exploiters=1))
    assert [(a.name, a.role, a.index) for a in found] == [
        ("main", "main", 0), ("main-exploiter-0", roles.MAIN_EXPLOITER, 1),
        ("main-exploiter-1", roles.MAIN_EXPLOITER, 2), ("league-exploiter-0", roles.LEAGUE_EXPLOITER, 3)]
    assert roles.agents(LeagueConfig()) == [roles.MAIN_AGENT]  # off by default
    seeds = {roles.seed_of(0, a.index) for a in found} | {roles.seed_of(1, a.index) for a in found}
    assert len(seeds) == 8 and roles.seed_of(0, 1) == roles.seed_of(0, 1)


def test_join_rule_needs_a_high_win_rate_over_enough_games_or_the_step_limit():
    lc = LeagueConfig(exploiter_win_rate=0.7, exploiter_steps=1000)
    assert roles.ready_to_join(0.7, roles.MIN_GAMES, 10, lc)
    assert not roles.ready_to_join(0.69, 500, 10, lc)
    assert not roles.ready_to_join(0.95, roles.MIN_GAMES - 1, 10, lc)  # a lucky start is not a join
    assert roles.ready_to_join(0.0, 0, 1000, lc) and not roles.ready_to_join(0.0, 0, 999, lc)


def test_reset_rule_main_exploiters_always_league_exploiters_by_chance():
    lc = LeagueConfig(exploiter_reset=0.25)
    main_x, league_x = roles.agents(LeagueConfig(main_exploiters=1, league_exploiters=1))[1:]
    assert all(roles.resets_after_join(main_x, j, 0, lc) for j in range(1, 50))
    assert not any(roles.resets_after_join(roles.MAIN_AGENT, j, 0, lc) for j in range(1, 50))
    draws = [roles.resets_after_join(league_x, j, 0, lc) for j in range(1, 2001)]
    assert 0.22 < np.mean(draws) < 0.28
    assert draws == [roles.resets_after_join(league_x, j, 0, lc) for j in range(1, 2001)]  # a resume decides the same
    assert not any(roles.resets_after_join(league_x, j, 0, LeagueConfig(exploiter_reset=0.0)) for j in range(1, 50))


def test_matchups_by_role():
    lc = LeagueConfig(self_play=0.5, pfsp="var", main_exploiters=1, league_exploiters=1)
    main, main_x, league_x = roles.agents(lc)
    pool = ["r:step-0", "r/league-exploiter-0:step-20", "r:step-40"]
    main_pool = ["r:step-0", "r:step-40"]
    assert roles.matchup(main, lc, pool, main_pool, "r:step-50", 0.5) == roles.Matchup(pool, "var", 0.5)
    assert roles.matchup(league_x, lc, pool, main_pool, "r:step-50", 0.5) == roles.Matchup(pool, "hard", 0.0)
    assert roles.matchup(main_x, lc, pool, main_pool, "r:step-50", 0.5) == roles.Matchup(["r:step-50"], "even", 0.0)
    # Beaten by main's latest almost always: main's past snapshots, those at its level first.
    assert roles.matchup(main_x, lc, pool, main_pool, "r:step-50", 0.05) == roles.Matchup(main_pool, "var", 0.0)
    assert roles.matchup(main, lc, [], [], "r:step-0", 0.5).self_play == 1.0  # an empty pool: self-play


def _game(a: str, b: str, r0: float, uid: str, owner: str | None = None) -> GameResult:
    return GameResult(players=(a, b), returns=(r0, -r0), length=9, kind="training", game="tic_tac_toe", uid=uid,
                      match_id=owner)


def test_win_rates_belong_to_the_agent_that_learned_from_the_game(tmp_path):
    """The same pair of players in main's game and in the exploiter's: match_id tells them apart."""
    ledger = Ledger(tmp_path / "league.sqlite")
    ledger.record_many(
        [_game("r:step-100", f"r/{ME}:step-20", 1.0, f"m{i}") for i in range(10)]  # main beats the member
        + [_game(f"r/{ME}:step-30", "r:step-100", 1.0 if i < 8 else -1.0, f"x{i}", ME) for i in range(10)]
        + [_game(f"r/{ME}:step-5", "r:step-50", -1.0, f"old{i}", ME) for i in range(10)]  # an older generation
        + [_game(f"r/{ME}:step-30", f"r/{ME}:step-30", 1.0, "self", ME)])
    games_ = pfsp.recent(ledger)
    main_view = pfsp.win_rates(games_, [(f"r/{ME}:step-20", None)], decay=1.0)[(f"r/{ME}:step-20", None)]
    assert main_view == {"x": pytest.approx(10.5 / 11), "games": 10}
    mine = pfsp.win_rates(games_, [("r:step-100", None), ("r:step-50", None)], 1.0, agent=ME)
    assert mine[("r:step-100", None)] == {"x": pytest.approx(8.5 / 11), "games": 10}
    assert mine[("r:step-50", None)]["games"] == 10
    assert pfsp.overall(games_, ME, 1.0) == {"x": pytest.approx(8.5 / 21), "games": 20}
    # Only the games of its weights since a step (its last join or fresh start) count.
    assert pfsp.overall(games_, ME, 1.0, since=21) == {"x": pytest.approx(8.5 / 11), "games": 10}
    assert pfsp.overall(games_, "main", 1.0, only=lambda p: agent_of(p) == ME)["games"] == 10


def test_pool_of_several_agents(tmp_path):
    run = tmp_path / "r"
    pool = Pool(run, cap=3)
    for step in range(0, 60, 10):
        pool.add(step)
        pool.add(step + 5, ME)
    # Each agent is thinned on its own: main's history is not squeezed out by exploiters'.
    assert pool.steps == pool.steps_of("main") and len(pool.steps) == 3 and pool.steps[0] == 0
    assert pool.steps_of(ME)[0] == 5 and pool.steps_of(ME)[-1] == 55 and len(pool.steps_of(ME)) == 3
    assert pool.newest == 50 and pool.newest_of(ME) == 55
    assert pool.specs()[-2:] == ["r:step-50", f"r/{ME}:step-55"]  # the order they joined
    assert pool.specs(ME) == [f"r/{ME}:step-{s}" for s in pool.steps_of(ME)]
    assert spec(run, 55, ME) == f"r/{ME}:step-55" and step_of(f"r/{ME}:step-55@sims=4") == 55
    assert agent_of(f"r/{ME}:step-55@sims=4") == ME and agent_of("r:step-5") == "main"
    assert snapshot_file(run, f"r/{ME}:step-55") == run / "agents" / ME / "snapshots" / "step-0000055.pt"
    assert snapshot_file(run, "r:step-50") == checkpoint.snapshot_path(run, 50)
    assert snapshot_file(run, "other:step-50") is None and snapshot_file(run, "random") is None
    # Pools written before agents existed read as main's.
    rundir.write_json(run / "pool.json", {"members": [{"step": 0, "added": 1.0}, {"step": 7, "added": 2.0}]})
    assert Pool(run, cap=3).specs() == ["r:step-0", "r:step-7"]


def test_learner_reset_gives_fresh_repeatable_weights_and_forgets_old_games(tmp_path, run_cli):
    config = cfg.resolve("tic_tac_toe", {"network": {"channels": 8, "blocks": 1, "hidden": 16}})
    spec_ = games.load("tic_tac_toe")
    a = Learner(spec_, config, tmp_path / "a", seed=11)
    b = Learner(spec_, config, tmp_path / "b", seed=11)
    first = [{k: v.clone() for k, v in m.state_dict().items()} for m in a.models]
    a.step = b.step = 40
    a.reset()
    b.reset()
    fresh = [m.state_dict() for m in a.models]
    assert not run_cli.same_weights(first, fresh) and run_cli.same_weights(fresh, [m.state_dict() for m in b.models])
    assert a.step == 41 and a.since == 41 and a.resets == 1 and a.samples == 0
    assert not a.optimizers[0].state  # a fresh optimizer too
    assert not a.ready()  # no games of the fresh weights yet
    a.extra_state = {"joins": 1}
    a.publish()
    c = Learner(spec_, config, tmp_path / "a", seed=11)
    assert c.resume() and (c.step, c.since, c.resets, c.extra_state) == (41, 41, 1, {"joins": 1})
    assert checkpoint.load_file(tmp_path / "a" / STATE_FILE)["role"] == {"joins": 1}  # the key runs written before have


def test_exploiters_are_refused_for_mmd_games():
    with pytest.raises(ConfigError) as e:
        cfg.resolve("kuhn_poker", {"league": {"main_exploiters": 1}})
    assert "mmd" in str(e.value) and "set both to 0" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="league_exploiters"):
        cfg.resolve("leduc_poker", {"league": {"league_exploiters": 2}})
    for bad, words in (({"exploiter_win_rate": 1.5}, "[0, 1]"), ({"exploiter_reset": -0.1}, "[0, 1]"),
                       ({"exploiter_steps": 0}, "positive"), ({"main_exploiters": -1}, "negative")):
        with pytest.raises(ConfigError, match=words.replace("[", r"\[").replace("]", r"\]")):
            cfg.resolve("tic_tac_toe", {"league": bad})
    assert cfg.resolve("tic_tac_toe", {"league": {"main_exploiters": 1}}).league.main_exploiters == 1


def test_cli_refuses_exploiters_on_an_mmd_game_in_one_line(tmp_path, run_cli):
    path = tmp_path / "x.toml"
    path.write_text("[league]\nmain_exploiters = 1\n")
    result = run_cli.arena(tmp_path, "league", "run", "kuhn_poker", "--config", str(path), "--no-live")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "set both to 0" in lines[0], result.stderr
    assert not (tmp_path / "kuhn_poker").exists()


# ---- runs ----------------------------------------------------------------------------------------

def test_inline_run_with_exploiters_joins_rates_and_resumes(tmp_path, monkeypatch, run_cli):
    config = exploiter_config(run_cli, tmp_path)
    run_dir = tmp_path / "r"
    first = run_cli.final_json(run_cli.ok(run_cli.league_run(tmp_path, "r", "--actors", "0", "--steps", "40", "--seed", "3", config=config)))
    assert first["step"] == 40
    pool = first["pool"]
    # Both exploiters reached the step limit (20) and joined; the main exploiter then started afresh.
    assert f"r/{ME}:step-20" in pool and f"r/{LE}:step-20" in pool
    me_state, le_state = learner_state(run_dir, ME), learner_state(run_dir, LE)
    assert me_state["resets"] == me_state["role"]["joins"] >= 1 and me_state["since"] > 0
    assert le_state["role"]["joins"] >= 1
    assert 21 in agent_steps(run_dir, ME) or me_state["step"] == 21  # the fresh weights' own snapshot

    ledger = Ledger.of_run(run_dir, create=False)
    owners: dict[str | None, list] = {}
    for _, g in ledger.games(kinds=("training",)):
        owners.setdefault(g.match_id, []).append(g.players)
    for players in owners[ME]:  # the main exploiter plays main's snapshots only
        assert sorted(agent_of(p) for p in players) == ["main", ME], players
    for players in owners[LE]:  # the league exploiter plays the pool
        assert LE in [agent_of(p) for p in players] and all(step_of(p) is not None for p in players), players
    assert any(agent_of(p) != LE for players in owners[LE] for p in players)
    assert_ledger_matches_store(run_dir)

    # Any command takes the exploiters' specs.
    versus = json.loads(run_cli.ok(run_cli.arena(tmp_path, "ladder", "--players", f"r/{LE}:step-20@sims=4", "random", "--game",
                                 "tic_tac_toe", "--games", "2", "--json")).stdout)
    assert len(versus["players"]) == 2
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    assert isinstance(load_bot(f"r/{ME}:step-20", games.load("tic_tac_toe")), NeuralBot)
    assert isinstance(load_bot(f"r/{ME}", games.load("tic_tac_toe")), NeuralBot)  # its latest
    for bad, error, words in (("r/main-exploiter-5:step-20", BotError, f"its agents are {LE}, {ME}"),
                              (f"r/{ME}:step-19", BotError, "no snapshot at step 19"),
                              ("r/nobody", BotError, f"no agent 'nobody': its agents are {LE}, {ME}")):
        with pytest.raises(error, match=words) as e:
            load_bot(bad, games.load("tic_tac_toe"))
        assert "\n" not in str(e.value)

    status = json.loads(run_cli.ok(run_cli.arena(tmp_path, "league", "status", "r", "--json")).stdout)
    rows = {r["agent"]: r for r in status["agents"]}
    assert rows[ME]["role"] == roles.MAIN_EXPLOITER and rows[ME]["target"] == "main"
    assert rows[ME]["joined"] == me_state["role"]["joins"] and rows[ME]["resets"] == me_state["resets"]
    assert rows[LE]["members"] >= 1 and 0.0 <= rows[LE]["win_rate"] <= 1.0
    shown = run_cli.ok(run_cli.arena(tmp_path, "league", "status", "r")).stdout
    assert "learning agents" in shown and ME in shown and LE in shown

    # Resume: every agent goes on from its own step, weights, optimizer and join record (a freshly
    # reset exploiter may still be gathering its first games: the sum of steps must grow; in 20 of
    # main's steps they may not, depending on how many games the seed's numerics give them).
    before = {a: (learner_state(run_dir, a), set(agent_steps(run_dir, a))) for a in (ME, LE)}
    second = run_cli.ok(run_cli.league_run(tmp_path, "r", "--actors", "0", "--steps", "40", config=config))
    assert run_cli.final_json(second)["step"] == 80
    for agent, (old, old_snapshots) in before.items():
        new = learner_state(run_dir, agent)
        assert new["step"] >= old["step"] and new["since"] >= old["since"] and new["resets"] >= old["resets"]
        assert new["role"]["joins"] >= old["role"]["joins"]
        assert all(s > old["step"] for s in set(agent_steps(run_dir, agent)) - old_snapshots)  # nothing redone
    assert sum(learner_state(run_dir, a)["step"] for a in (ME, LE)) > sum(old["step"] for old, _ in before.values())
    assert_ledger_matches_store(run_dir)
    # Each exploiter's TensorBoard curves: a folder and tag prefix of its own, on its own steps (a
    # fresh start moves on by a step), across the resume.
    for agent in (ME, LE):
        curves = run_cli.read_curves(run_dir / "tensorboard" / agent)
        assert {f"{agent}/loss/policy", f"{agent}/policy/entropy", f"{agent}/replay/fill"} <= curves.keys()
        assert all(tag.startswith(agent + "/") for tag in curves)
        trained = [e.step for e in curves[f"{agent}/loss/policy"]]
        assert trained == sorted(set(trained)) and trained[-1] <= learner_state(run_dir, agent)["step"], trained
    # Main meets the exploiters' pool snapshots through PFSP, and the evaluator rates them.
    assert any(agent_of(p) in (ME, LE) for _, g in ledger.games(kinds=("training",)) if g.match_id is None
               for p in g.players)
    rated = {p for _, g in ledger.games(kinds=("rating",)) for p in g.players}
    assert {f"r/{ME}:step-20", f"r/{LE}:step-20"} <= rated
    ladder = json.loads(run_cli.ok(run_cli.arena(tmp_path, "ladder", "r", "--json")).stdout)
    assert {f"r/{ME}:step-20", f"r/{LE}:step-20"} <= {row["player"] for row in ladder["players"]}


def test_inline_run_with_exploiters_repeats_from_its_seed(tmp_path, run_cli):
    config = exploiter_config(run_cli, tmp_path)
    for run in ("a", "b"):
        run_cli.ok(run_cli.league_run(tmp_path, run, "--actors", "0", "--steps", "30", "--seed", "4", config=config))
    for agent in (ME, LE):
        steps = agent_steps(tmp_path / "a", agent)
        assert steps == agent_steps(tmp_path / "b", agent) and steps[-1] > 0
        for step in steps:
            a, b = (checkpoint.load_snapshot(snapshot_file(tmp_path / run, f"{run}/{agent}:step-{step}")).weights
                    for run in ("a", "b"))
            assert run_cli.same_weights(a, b), (agent, step)
    # Each agent has weights of its own from the start.
    league = LeagueRun(rundir.load_config(tmp_path / "a"), tmp_path / "c")
    first = [[m.state_dict() for m in t.learner.models] for t in league.agents]
    assert run_cli.same_weights(first[0], run_cli.snapshot_weights(tmp_path / "a", 0))
    assert not run_cli.same_weights(first[0], first[1]) and not run_cli.same_weights(first[1], first[2])


def test_kill_9_with_exploiter_actors_then_resume(tmp_path, run_cli):
    """Actor processes for main and each exploiter; kill -9 of all of them, then every agent
    continues from its state and the ledger holds every stored game once."""
    config = exploiter_config(run_cli, tmp_path, extra="evaluator = false\n")
    run_dir = tmp_path / "k"

    def ready(d) -> bool:
        return all((checkpoint.latest_snapshot(rundir.agent_dir(d, a)) or (0,))[0] > 0 for a in (ME, LE)) \
            and all(list_segments(rundir.agent_dir(d, a) / "trajectories") for a in (ME, LE))
    run_cli.kill_9_when(tmp_path, "tic_tac_toe", config, "k", ready)
    seen = {a: learner_state(run_dir, a)["step"] for a in (ME, LE)}
    assert all(seen.values())
    result = run_cli.ok(run_cli.league_run(tmp_path, "k", "--actors", "1", "--steps", "5", config=config, timeout=150))
    assert "resuming run 'k'" in result.stderr
    for agent, step in seen.items():
        assert learner_state(run_dir, agent)["step"] >= step
        assert not list((rundir.agent_dir(run_dir, agent) / "trajectories").glob("*.tmp"))
    info = inspect(rundir.agent_dir(run_dir, ME) / "trajectories")
    assert info["games"] > 0 and all(w.startswith("actor-") for w in info["writers"])
    assert_ledger_matches_store(run_dir)
