"""engine.train.selfplay and engine.train.alphazero: real games from the actor, through the HDF5 store, into training."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import games
from engine.nn import checkpoint
from engine import config as cfg
from engine.nn.inference import Evaluator
from engine.train.alphazero import STATE_FILE, Learner, augment
from engine.nn.networks import build
from engine.train.actor import store_meta
from engine.train.selfplay import SelfPlayActor, pick_action, play_games
from engine.data import Batch, Trajectory, SegmentWriter, StoreError, read_segment

TINY = {
    "network": {"channels": 16, "blocks": 1, "hidden": 32},
    "search": {"simulations": 8},
    "selfplay": {"concurrent_games": 16, "flush_games": 8},
    "train": {"min_positions": 64, "batch_size": 32, "snapshot_every": 10},
}


def tiny_config(game: str = "tic_tac_toe", **sections) -> cfg.RunConfig:
    values = copy.deepcopy(TINY)
    for key, value in sections.items():
        if isinstance(value, dict):
            values.setdefault(key, {}).update(value)
        else:
            values[key] = value
    return cfg.resolve(game, values)


def make_actor(config: cfg.RunConfig, seed: int = 0) -> SelfPlayActor:
    spec = games.load(config.game)
    torch.manual_seed(seed)
    net = build(config.network, spec.encoder.shape, spec.num_actions)
    return SelfPlayActor(spec, Evaluator([net], torch.device("cpu")), config, np.random.default_rng(seed))


def write_store(directory: Path, spec, records: list[Trajectory], writer: str = "test") -> None:
    with SegmentWriter(directory, writer, store_meta(spec), max_games=16, max_seconds=float("inf")) as w:
        for r in records:
            w.add(r)


@pytest.fixture(scope="module")
def ttt_games() -> list[Trajectory]:
    """40 real tic_tac_toe self-play games (about 300 positions) from an untrained network."""
    return play_games(make_actor(tiny_config(), seed=1), 40)


# ---- self-play ---------------------------------------------------------------------------------

def replay_checks(spec, record: Trajectory) -> None:
    """Replaying a record's actions from the start reproduces its obs, legal masks, movers and result."""
    t = len(record)
    assert record.obs.shape == (t, *spec.encoder.shape) and record.obs.dtype == spec.encoder.dtype
    for name in ("legal", "policy"):
        assert getattr(record, name).shape == (t, spec.num_actions)
    for name in ("action", "player", "target", "root_value"):
        assert getattr(record, name).shape == (t,)
    state = spec.game.new_initial_state()
    for i in range(t):
        assert not state.is_terminal()
        assert np.array_equal(record.obs[i], spec.encoder.encode(state))
        assert np.array_equal(record.legal[i], np.asarray(state.legal_actions_mask(), bool))
        assert record.player[i] == state.current_player()
        assert record.legal[i, record.action[i]]
        state.apply_action(int(record.action[i]))
    assert state.is_terminal()
    assert np.array_equal(record.returns, np.asarray(state.returns(), np.float32))


def test_actor_plays_complete_consistent_games(ttt_games):
    spec = games.load("tic_tac_toe")
    assert len(ttt_games) >= 40  # play_games stops at the first move that reaches the count
    assert len({r.game_id for r in ttt_games}) == len(ttt_games)
    for r in ttt_games:
        assert 5 <= len(r) <= 9
        replay_checks(spec, r)
        assert set(r.returns.tolist()) in ({1.0, -1.0}, {0.0})
        assert r.returns.sum() == 0
        assert r.target.all()  # full_search_fraction = 1: every position is a policy target
        assert np.allclose(r.policy.sum(1), 1.0, atol=1e-5)
        assert (r.policy[~r.legal] == 0).all()
        assert (np.abs(r.root_value) <= 1.0 + 1e-5).all()
        assert list(r.player) == [i % 2 for i in range(len(r))]
    # Untrained self-play still produces both results for each seat over 40 games.
    outcomes = {tuple(r.returns.tolist()) for r in ttt_games}
    assert (1.0, -1.0) in outcomes and (-1.0, 1.0) in outcomes


def test_after_the_temperature_moves_the_most_visited_move_is_played(ttt_games):
    temperature_moves = tiny_config().selfplay.temperature_moves
    late = 0
    for r in ttt_games:
        for i in range(temperature_moves, len(r)):
            late += 1
            assert r.policy[i, r.action[i]] == r.policy[i].max()
    assert late > 50


def test_actor_on_connect_four_with_playout_cap_randomization():
    config = tiny_config("connect_four", search={"simulations": 12},
                         selfplay={"concurrent_games": 8, "full_search_fraction": 0.5, "fast_simulations": 3})
    actor = make_actor(config, seed=2)
    records = play_games(actor, 3)
    spec = games.load("connect_four")
    assert len(records) >= 3
    targets = np.concatenate([r.target for r in records])
    assert targets.any() and not targets.all()  # about half the searches are full ones
    for r in records:
        replay_checks(spec, r)
        assert np.allclose(r.policy[r.target].sum(1), 1.0, atol=1e-5)
        assert (r.policy[~r.legal] == 0).all()
    assert actor.stats.games == len(records)
    assert actor.stats.positions == sum(len(r) for r in records)


def test_actor_records_survive_the_store(ttt_games, tmp_path):
    spec = games.load("tic_tac_toe")
    write_store(tmp_path, spec, ttt_games[:10])
    back = [r for p in sorted(tmp_path.glob("traj-*.h5")) for r in read_segment(p).records()]
    assert [r.game_id for r in back] == [r.game_id for r in ttt_games[:10]]
    for a, b in zip(ttt_games[:10], back):
        assert np.array_equal(a.obs, b.obs) and np.array_equal(a.action, b.action)
        assert np.allclose(a.policy, b.policy, atol=1e-3)


def test_pick_action():
    rng = np.random.default_rng(0)
    visits = np.array([0.0, 3.0, 10.0, 0.0])
    assert all(pick_action(visits, 0.0, rng) == 2 for _ in range(20))
    picks = [pick_action(visits, 1.0, rng) for _ in range(2000)]
    assert set(picks) == {1, 2}
    assert 0.15 < picks.count(1) / 2000 < 0.31  # 3/13 = 0.23
    tie = np.array([5.0, 0.0, 5.0])
    assert {pick_action(tie, 0.0, rng) for _ in range(100)} == {0, 2}


# ---- augmentation ------------------------------------------------------------------------------

def _batch(records: list[Trajectory], rows: int = 256) -> Batch:
    obs = np.concatenate([r.obs for r in records])[:rows].astype(np.float32)
    legal = np.concatenate([r.legal for r in records])[:rows]
    policy = np.concatenate([r.policy for r in records])[:rows]
    player = np.concatenate([r.player for r in records])[:rows]
    value = np.where(player == 0, 1.0, -1.0).astype(np.float32)
    return Batch(obs=obs, legal=legal, policy=policy, value=value, root_value=value * 0.5, player=player)


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_augment_keeps_obs_policy_and_legal_together(name, ttt_games):
    spec = games.load(name)
    if name == "tic_tac_toe":
        records = ttt_games
    else:
        records = play_games(make_actor(tiny_config(name, search={"simulations": 4}), seed=4), 16)
    batch = _batch(records)
    out = augment(batch, spec.symmetries, np.random.default_rng(0))
    assert out.obs.shape == batch.obs.shape and out.policy.shape == batch.policy.shape
    assert np.array_equal(out.value, batch.value) and np.array_equal(out.player, batch.player)
    assert np.array_equal(out.root_value, batch.root_value)
    used = set()
    for i in range(len(batch.obs)):
        # The transformed policy's best action is legal in the transformed mask...
        assert out.legal[i, int(out.policy[i].argmax())]
        assert (out.policy[i][~out.legal[i]] == 0).all()
        assert out.policy[i].sum() == pytest.approx(batch.policy[i].sum(), abs=1e-5)
        # ...the transformed legal mask is the empty cells of the transformed board...
        if name == "tic_tac_toe":  # plane 0: empty cells; an action per cell
            legal_from_board = out.obs[i, 0].ravel() > 0
        else:  # plane 2: empty cells; a column is legal while it has one
            legal_from_board = out.obs[i, 2].max(0) > 0
        assert np.array_equal(out.legal[i], legal_from_board)
        # ...and obs, legal and policy all went through one and the same symmetry.
        match = [k for k, s in enumerate(spec.symmetries)
                 if np.array_equal(out.obs[i], s.obs(batch.obs[i]))
                 and np.array_equal(out.legal[i], batch.legal[i][s.perm])
                 and np.array_equal(out.policy[i], batch.policy[i][s.perm])]
        assert match, f"row {i} is no symmetry of its input"
        used.add(match[0])
    assert len(used) == len(spec.symmetries)  # every symmetry drawn over 256 rows
    assert not np.array_equal(out.obs, batch.obs)


def test_augment_does_not_touch_its_input(ttt_games):
    spec = games.load("tic_tac_toe")
    batch = _batch(ttt_games, 64)
    before = copy.deepcopy(batch)
    augment(batch, spec.symmetries, np.random.default_rng(1))
    for f in dataclasses.fields(Batch):
        assert np.array_equal(getattr(batch, f.name), getattr(before, f.name))


def test_augment_with_identity_only_is_a_no_op(ttt_games):
    spec = games.load("tic_tac_toe")
    batch = _batch(ttt_games, 32)
    assert augment(batch, spec.symmetries[:1], np.random.default_rng(0)) is batch


# ---- learner -----------------------------------------------------------------------------------

def _entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * torch.log(p.clamp_min(1e-12))).sum(1)


def _full_loss(learner: Learner) -> float:
    """Policy KL + value MSE over every stored position: eval mode, no augmentation.

    KL rather than cross-entropy: the targets of 8-simulation searches are broad, and their
    entropy is a floor that the cross-entropy can never go below.
    """
    window = learner.window
    idx = window.candidates()
    obs = torch.from_numpy(window._obs[idx].astype(np.float32))
    legal = torch.from_numpy(window._legal[idx])
    target = torch.from_numpy(window._policy[idx].astype(np.float32))
    z = torch.from_numpy(window._value[idx])
    model = learner.models[0].eval()
    with torch.no_grad():
        logits, value = model(obs)
    logits = logits.masked_fill(~legal, -1e9)
    policy = (-(target * F.log_softmax(logits, 1)).sum(1) - _entropy(target)).mean()
    return float(policy + F.mse_loss(value, z))


def _loss_floor(learner: Learner) -> float:
    """The least _full_loss any network can reach: a position seen in several games has several
    targets, and the best one can do is predict their mean (policy KL to it, value variance)."""
    window = learner.window
    idx = window.candidates()
    obs = window._obs[idx]
    policy = window._policy[idx].astype(np.float64)
    z = window._value[idx].astype(np.float64)
    groups: dict[bytes, list[int]] = {}
    for i, o in enumerate(obs):
        groups.setdefault(o.tobytes(), []).append(i)
    total = 0.0
    for rows in groups.values():
        mean = policy[rows].mean(0)
        for i in rows:
            p = policy[i]
            nz = p > 0
            total += float((p[nz] * np.log(p[nz] / mean[nz])).sum())
        total += float(((z[rows] - z[rows].mean()) ** 2).sum())
    return total / len(idx)


def test_learner_overfits_a_fixed_dataset(ttt_games, tmp_path):
    """~300 positions, 100 steps: the loss above what is reachable at all falls by more than half.

    Augmentation is switched off here (identity symmetry only) because it multiplies the dataset
    by 8; the next test trains with it.
    """
    spec = dataclasses.replace(games.load("tic_tac_toe"), symmetries=games.load("tic_tac_toe").symmetries[:1])
    write_store(tmp_path / "trajectories", spec, ttt_games)
    config = tiny_config(train={"batch_size": 64, "learning_rate": 3e-3, "max_reuse": 100.0})
    learner = Learner(spec, config, tmp_path)
    assert learner.refresh() == sum(len(r) for r in ttt_games)
    assert learner.ready()
    floor = _loss_floor(learner)
    before = _full_loss(learner) - floor
    losses = [learner.train_step() for _ in range(100)]
    after = _full_loss(learner) - floor
    assert learner.step == 100 and learner.samples == 100 * 64
    assert all(np.isfinite(v) for step in losses for v in step.values())
    assert before > 0.3
    assert after < 0.5 * before, (floor, before, after)
    # The training losses themselves (sampled batches, cross-entropy) fall as well.
    first = np.mean([l["policy"] + l["value"] for l in losses[:10]])
    last = np.mean([l["policy"] + l["value"] for l in losses[-10:]])
    assert last < first - 0.2, (first, last)


def test_learner_with_augmentation_still_learns(ttt_games, tmp_path):
    spec = games.load("tic_tac_toe")
    assert len(spec.symmetries) == 8
    write_store(tmp_path / "trajectories", spec, ttt_games)
    learner = Learner(spec, tiny_config(train={"batch_size": 64, "learning_rate": 3e-3, "max_reuse": 100.0}),
                      tmp_path)
    learner.refresh()
    before = _full_loss(learner)
    for _ in range(100):
        learner.train_step()
    assert _full_loss(learner) < before - 0.1


def test_learner_waits_for_data_and_respects_the_reuse_cap(ttt_games, tmp_path):
    spec = games.load("tic_tac_toe")
    config = tiny_config(train={"min_positions": 100, "batch_size": 32, "max_reuse": 1.0})
    learner = Learner(spec, config, tmp_path)
    assert learner.refresh() == 0 and not learner.ready()
    write_store(tmp_path / "trajectories", spec, ttt_games[:5], writer="a")  # < 100 positions
    learner.refresh()
    assert learner.window.positions < 100 and not learner.ready()
    write_store(tmp_path / "trajectories", spec, ttt_games[5:], writer="b")
    learner.refresh()
    n = learner.window.positions_loaded
    assert n >= 100 and learner.ready()
    steps = 0
    while learner.ready():
        learner.train_step()
        steps += 1
    assert steps == -(-n // 32)  # samples may reach max_reuse x positions, then the learner waits


def test_publish_and_resume(ttt_games, tmp_path):
    spec = games.load("tic_tac_toe")
    write_store(tmp_path / "trajectories", spec, ttt_games)
    config = tiny_config()
    learner = Learner(spec, config, tmp_path)
    learner.refresh()
    for _ in range(3):
        learner.train_step()
    path = learner.publish()
    assert path == checkpoint.snapshot_path(tmp_path, 3) and path.exists()
    assert (tmp_path / STATE_FILE).exists()
    snap = checkpoint.load_snapshot(path, spec.game_string)
    assert snap.step == 3 and len(snap.weights) == 1
    again = Learner(spec, config, tmp_path)
    assert again.resume()
    assert again.step == 3 and again.samples == learner.samples
    for a, b in zip(learner.models[0].state_dict().values(), again.models[0].state_dict().values()):
        assert torch.equal(a, b)
    # The optimizer state came back too: the next step is the same in both learners.
    again.rng = copy.deepcopy(learner.rng)
    again.refresh()
    learner.train_step()
    again.train_step()
    for a, b in zip(learner.models[0].parameters(), again.models[0].parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_a_resumed_learner_keeps_its_reuse_credit(ttt_games, tmp_path):
    """The window holds fewer positions than were stored; the cap still counts all of them."""
    spec = games.load("tic_tac_toe")
    config = tiny_config(train={"min_positions": 64, "batch_size": 32, "max_reuse": 1.0, "window": 100})
    learner = Learner(spec, config, tmp_path)
    write_store(tmp_path / "trajectories", spec, ttt_games[:5], writer="a")
    learner.refresh()
    write_store(tmp_path / "trajectories", spec, ttt_games[5:], writer="b")
    learner.refresh()  # all of it passes through the window of 100
    total = learner.window.positions_loaded
    assert total > 240 and learner.window.positions == 100
    while learner.samples <= 200:  # past two windows' worth, at least a batch short of the cap
        learner.train_step()
    assert learner.ready() and learner.samples + 32 <= total
    learner.publish()
    again = Learner(spec, config, tmp_path)
    assert again.resume()
    again.refresh()
    assert again.window.positions_loaded <= 200 < again.samples  # only the newest window came back
    assert again.ready()  # the unused reuse of the stored positions carries over
    while again.ready():
        again.train_step()
    assert total <= again.samples < total + 32


def test_fresh_learner_does_not_resume(tmp_path):
    learner = Learner(games.load("tic_tac_toe"), tiny_config(), tmp_path)
    assert not learner.resume() and learner.step == 0


# ---- per-player networks -----------------------------------------------------------------------

def test_per_player_networks_train_each_on_its_own_seat(ttt_games, tmp_path):
    """Seat 0 wins every game of this dataset, so z = +1 on seat 0's positions and -1 on seat 1's.

    A network that only ever sees its own seat learns a constant: seat 0's net says +1 even for
    seat 1's positions, and seat 1's net says -1 even for seat 0's. A net fed both seats would tell
    them apart by the to-move plane instead.
    """
    spec = games.load("tic_tac_toe")
    records = [dataclasses.replace(r, returns=np.array([1.0, -1.0], np.float32)) for r in ttt_games]
    write_store(tmp_path / "trajectories", spec, records)
    config = tiny_config(networks="per_player", train={"batch_size": 64, "learning_rate": 3e-3,
                                                       "max_reuse": 100.0})
    learner = Learner(spec, config, tmp_path)
    assert len(learner.models) == 2
    learner.refresh()
    for _ in range(60):
        learner.train_step()
    assert learner.samples == 60 * 64 * 2  # one batch per seat per step
    window = learner.window
    evaluator = Evaluator(learner.models, torch.device("cpu"))
    obs_all, player_all = window._obs[:window.positions], window._player[:window.positions]
    legal_all = window._legal[:window.positions]
    means = {}
    for seat, model in enumerate(learner.models):
        model.eval()
        with torch.no_grad():
            _, values = model(torch.from_numpy(obs_all.astype(np.float32)))
        for on in (0, 1):
            means[seat, on] = float(values[torch.from_numpy(player_all == on)].mean())
    assert means[0, 0] > 0.5 and means[0, 1] > 0.5, means
    assert means[1, 1] < -0.5 and means[1, 0] < -0.5, means
    # The evaluator routes each position to its own seat's network.
    _, routed = evaluator.evaluate(obs_all.astype(np.float32), legal_all, player_all)
    assert (routed[player_all == 0] > 0).mean() > 0.9 and (routed[player_all == 1] < 0).mean() > 0.9
    path = learner.publish()
    assert len(checkpoint.load_snapshot(path).weights) == 2


def test_per_player_refuses_a_seat_without_positions(ttt_games, tmp_path):
    spec = games.load("tic_tac_toe")
    records = [dataclasses.replace(r, target=r.player == 0) for r in ttt_games]  # seat 1: no targets
    write_store(tmp_path / "trajectories", spec, records)
    learner = Learner(spec, tiny_config(networks="per_player"), tmp_path)
    learner.refresh()
    with pytest.raises(StoreError, match="seat 1"):
        learner.train_step()


def test_gumbel_selfplay_records_improved_policies():
    spec = games.load("tic_tac_toe")
    config = cfg.default_config("tic_tac_toe")
    config.search = dataclasses.replace(config.search, root="gumbel", simulations=16)
    config.selfplay.concurrent_games = 8
    torch.manual_seed(0)
    evaluator = Evaluator([build(config.network, spec.encoder.shape, spec.num_actions)])
    actor = SelfPlayActor(spec, evaluator, config, np.random.default_rng(0))
    records = play_games(actor, 8)
    assert len(records) >= 8
    for r in records:
        assert np.allclose(r.policy.sum(1), 1.0, atol=1e-5)
        assert (r.policy[~r.legal] == 0).all()
        assert r.legal[np.arange(len(r)), r.action].all()


def test_an_actor_starts_with_an_eighth_of_its_games_and_takes_on_more_as_games_end() -> None:
    actor = make_actor(tiny_config(selfplay={"concurrent_games": 256}))
    finished: list[Trajectory] = []
    actor.step(finished.append)
    assert actor.stats.moves == 32
    assert [len(g.action) for g in actor.games[:32]] == [1] * 32
    assert all(not g.action for g in actor.games[32:])  # the rest have not moved yet
    while len(finished) < 8:
        actor.step(finished.append)
    assert actor.active == min(256, 32 + 2 * len(finished))
    while actor.active < 256:
        actor.step(finished.append)
    moves = actor.stats.moves
    actor.step(finished.append)
    assert actor.stats.moves - moves == 256  # one move in every game


# ---- resignation -------------------------------------------------------------------------------

def first_hopeless(record: Trajectory, threshold: float, moves: int) -> tuple[int | None, dict[int, int]]:
    """The rule replayed on a record's stored root values: the first player with `moves` values in a row
    below `threshold` (None if none), and each player's run of low values at the end of the record."""
    low = {0: 0, 1: 0}
    for player, value in zip(record.player.tolist(), record.root_value.tolist()):
        low[player] = low[player] + 1 if value < threshold else 0
        if low[player] >= moves:
            return player, low
    return None, low


def replayed(spec, record: Trajectory):
    """The state a record's moves reach, checking its positions on the way."""
    state = spec.game.new_initial_state()
    for i in range(len(record)):
        assert record.player[i] == state.current_player() and record.legal[i, record.action[i]]
        assert np.array_equal(record.obs[i], spec.encoder.encode(state))
        state.apply_action(int(record.action[i]))
    assert record.plies == len(state.history()) == len(record)
    return state


def resign_config(no_resign_fraction: float) -> cfg.RunConfig:
    # The untrained network values its positions around 0: at 0 players resign often, but not always.
    return tiny_config(selfplay={"resign_threshold": 0.0, "resign_moves": 2,
                                 "no_resign_fraction": no_resign_fraction})


def test_selfplay_resigns_below_the_threshold_and_stores_the_game_up_to_there(tmp_path):
    spec = games.load("tic_tac_toe")
    actor = make_actor(resign_config(0.0), seed=3)
    records = play_games(actor, 30)
    resigned = 0
    for r in records:
        state = replayed(spec, r)
        # No player had two low values in a row among the moves played: else it would have resigned there.
        nobody, low = first_hopeless(r, 0.0, 2)
        assert nobody is None
        if state.is_terminal():
            assert np.array_equal(r.returns, state.returns())
            continue
        resigned += 1
        loser = state.current_player()  # it resigned instead of moving: its last own value was low, as this one
        assert low[loser] == 1
        assert r.returns.tolist() == [-1.0 if p == loser else 1.0 for p in range(2)]
    assert actor.stats.resigned == resigned and 0 < resigned < len(records)
    assert actor.stats.would_resign == actor.stats.false_resigns == 0  # every game could resign
    write_store(tmp_path, spec, records)  # a resigned game is a normal trajectory in the store
    back = [r for p in sorted(tmp_path.glob("traj-*.h5")) for r in read_segment(p).records()]
    assert [(r.game_id, r.returns.tolist(), len(r)) for r in back] == \
        [(r.game_id, r.returns.tolist(), len(r)) for r in records]


def test_games_that_may_not_resign_play_out_and_count_false_resignations():
    spec = games.load("tic_tac_toe")
    actor = make_actor(resign_config(1.0), seed=3)
    records = play_games(actor, 30)
    would = false = 0
    for r in records:
        state = replayed(spec, r)
        assert state.is_terminal() and np.array_equal(r.returns, state.returns())
        player, _ = first_hopeless(r, 0.0, 2)
        if player is not None:
            would += 1
            false += int(r.returns[player] >= 0)  # it would have given up a game it won or drew
    assert actor.stats.resigned == 0
    assert actor.stats.would_resign == would > 0 and actor.stats.false_resigns == false
    assert 0 < false < would  # with an untrained network, some of them at least are false


def test_resignation_is_off_by_default_and_refused_where_it_means_nothing():
    assert cfg.resolve("tic_tac_toe").selfplay.resign_threshold == -1.0
    assert cfg.resolve("go9").selfplay.resign_threshold == -0.9
    with pytest.raises(cfg.ConfigError, match="kuhn_poker has no resignation.*set it to -1"):
        cfg.resolve("kuhn_poker", {"selfplay": {"resign_threshold": -0.9}})
    with pytest.raises(cfg.ConfigError, match=r"must lie in \[-1, 1\] \(-1: never resign\)"):
        cfg.resolve("go9", {"selfplay": {"resign_threshold": -1.5}})
