"""PFSP matchmaking: the weighting functions, win rates read from a real ledger, and actors that
play pool members (only the learning side's positions stored, opponents named per seat)."""
import numpy as np
import pytest
import torch

import games
from engine.nn import checkpoint
from engine import rundir
from engine.config import LeagueConfig
from engine.nn.inference import Evaluator
from engine.nn.networks import build
from engine.train.selfplay import SelfPlayActor
from league import pfsp
from league.ledger import GameResult, Ledger
from engine import config as cfg
from league.pool import Pool


def tiny_config() -> cfg.RunConfig:
    return cfg.resolve("tic_tac_toe", {"network": {"channels": 16, "blocks": 1, "hidden": 32},
                                       "search": {"simulations": 8}, "selfplay": {"concurrent_games": 16}})


def test_weights_follow_the_pfsp_curves():
    x = np.array([0.1, 0.5, 0.9])
    hard = pfsp.weights(x, "hard", 2.0)
    assert hard[0] > hard[1] > hard[2] and hard.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(hard, (1 - x) ** 2 / ((1 - x) ** 2).sum())
    var = pfsp.weights(x, "var")
    assert var[1] > var[0] == pytest.approx(var[2])
    np.testing.assert_allclose(pfsp.weights(x, "even"), [1 / 3] * 3)
    # Main beats everyone outright: no zero-probability deadlock, games spread evenly.
    np.testing.assert_allclose(pfsp.weights(np.ones(4), "hard"), [0.25] * 4)


def _game(a: str, b: str, r0: float, uid: str) -> GameResult:
    return GameResult(players=(a, b), returns=(r0, -r0), length=9, kind="training", game="tic_tac_toe", uid=uid)


def test_win_rates_come_from_training_games_with_main_as_the_newer_snapshot(tmp_path):
    ledger = Ledger(tmp_path / "league.sqlite")
    games_ = []
    for i in range(30):  # main (step 500) beats step-0 always, from either seat
        games_.append(_game("r:step-500", "r:step-0", 1.0, f"a{i}") if i % 2 else _game("r:step-0", "r:step-500", -1.0, f"a{i}"))
    for i in range(30):  # and loses to step-400 three times in four
        games_.append(_game("r:step-400", "r:step-510", 1.0 if i % 4 else -1.0, f"b{i}"))
    games_.append(_game("r:step-510", "r:step-510", 1.0, "self"))  # self-play: no information
    games_.append(GameResult(players=("r:step-0", "random"), returns=(1, -1), length=5, kind="rating",
                             game="tic_tac_toe", uid="rated"))  # rating games are not the matchmaker's
    ledger.record_many(games_)
    rates = pfsp.win_rates(ledger, [("r:step-0", None), ("r:step-400", None), ("r:step-450", None)], decay=1.0)
    assert rates[("r:step-0", None)]["games"] == 30 and rates[("r:step-0", None)]["x"] == pytest.approx(30.5 / 31)
    assert rates[("r:step-400", None)]["games"] == 30
    assert rates[("r:step-400", None)]["x"] == pytest.approx((8 + 0.5) / 31)
    assert rates[("r:step-450", None)] == {"x": 0.5, "games": 0}
    # Per seat (per-player networks): step-0 sat in seat 0 in the even games, seat 1 in the odd.
    by_seat = pfsp.win_rates(ledger, [("r:step-0", 0), ("r:step-0", 1), ("r:step-400", 1)], decay=1.0)
    assert by_seat[("r:step-0", 0)]["games"] == by_seat[("r:step-0", 1)]["games"] == 15
    assert by_seat[("r:step-400", 1)]["games"] == 0  # step-400 only ever took seat 0
    # Decay: the newest game weighs 1, the one before 0.5, ... (main won games i = 0, 4, ..., 28).
    w = 0.5 ** np.arange(30)
    main_won = np.array([i % 4 == 0 for i in range(29, -1, -1)], float)
    recent = pfsp.win_rates(ledger, [("r:step-400", None)], decay=0.5)[("r:step-400", None)]["x"]
    assert recent == pytest.approx(((w * main_won).sum() + 0.5) / (w.sum() + 1))


def _run_with_pool(tmp_path, steps=(0, 10)):
    config = tiny_config()
    spec = games.load(config.game)
    run_dir = tmp_path / "r"
    for step in steps:
        torch.manual_seed(step)
        net = build(config.network, spec.encoder.shape, spec.num_actions)
        checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, step), spec.game_string, config.network,
                                 spec.encoder.shape, spec.num_actions, step, [net])
        Pool(run_dir, 8).add(step)
    return config, spec, run_dir


def test_actor_plays_pool_members_and_stores_only_its_own_positions(tmp_path):
    config, spec, run_dir = _run_with_pool(tmp_path)
    league = LeagueConfig(self_play=0.0, opponents_per_actor=2)
    pfsp.publish(run_dir, league, Ledger.of_run(run_dir))
    rng = np.random.default_rng(0)
    source = pfsp.PoolOpponents(run_dir, spec.game_string, league, rng)
    source.refresh()
    assert set(source.active) == {("r:step-0", None), ("r:step-10", None)}
    torch.manual_seed(99)
    main = Evaluator([build(config.network, spec.encoder.shape, spec.num_actions)])
    actor = SelfPlayActor(spec, main, config, rng, participant="r:step-20", opponents=source)
    done = []
    while len(done) < 40:
        actor.step(done.append)
    seats_seen = set()
    for record in done:
        assert "r:step-20" in record.participants
        opponent_seat = 1 - record.participants.index("r:step-20")
        assert record.participants[opponent_seat] in {"r:step-0", "r:step-10"}
        seats_seen.add(opponent_seat)
        # Only main's positions: every stored position has main to move, and there are about half.
        assert (record.player != opponent_seat).all()
        assert len(record) in {record.plies // 2, (record.plies + 1) // 2}
    assert seats_seen == {0, 1}


def test_self_play_share_and_no_pool(tmp_path):
    config, spec, run_dir = _run_with_pool(tmp_path, steps=())
    league = LeagueConfig(self_play=0.25)
    table = pfsp.publish(run_dir, league, Ledger.of_run(run_dir))
    assert table == {"self_play": 1.0, "opponents": []}  # nothing in the pool: self-play only
    config, spec, run_dir = _run_with_pool(tmp_path / "b")
    pfsp.publish(run_dir, league, Ledger.of_run(run_dir))
    source = pfsp.PoolOpponents(run_dir, spec.game_string, league, np.random.default_rng(1))
    source.refresh()
    picks = [source.pick(np.random.default_rng(i)) for i in range(400)]
    assert 0.17 < picks.count(None) / len(picks) < 0.33
    assert rundir.read_json(run_dir / pfsp.MATCHMAKING_FILE)["self_play"] == 0.25


def test_per_seat_pools_put_the_opponent_in_its_seat(tmp_path):
    config, spec, run_dir = _run_with_pool(tmp_path)
    league = LeagueConfig(self_play=0.0)
    table = pfsp.publish(run_dir, league, Ledger.of_run(run_dir), seats=2)
    assert {(o["player"], o["seat"]) for o in table["opponents"]} == {
        ("r:step-0", 0), ("r:step-0", 1), ("r:step-10", 0), ("r:step-10", 1)}
    rng = np.random.default_rng(0)
    source = pfsp.PoolOpponents(run_dir, spec.game_string, league, rng)
    source.refresh()
    only_seat_1 = {o: w for o, w in source.active.items() if o[1] == 1}
    source.active = only_seat_1
    torch.manual_seed(99)
    main = Evaluator([build(config.network, spec.encoder.shape, spec.num_actions)])
    actor = SelfPlayActor(spec, main, config, rng, participant="r:step-20", opponents=source)
    done = []
    while len(done) < 20:
        actor.step(done.append)
    assert all(r.participants[0] == "r:step-20" and r.participants[1] != "r:step-20" for r in done)
