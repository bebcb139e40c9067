"""KataGo's auxiliary targets on Go: owners and margins from finished self-play games, through the HDF5
store (schema 2; version 1 still read), the replay window and augmentation, into the ownership and
score heads (engine/nn/networks.py) and their losses (engine/train/alphazero.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import games
from engine import config as cfg
from engine.data import (
    SCHEMA_VERSION,
    Batch,
    ReplayWindow,
    SegmentWriter,
    Trajectory,
    read_segment,
)
from engine.errors import ArenaError
from engine.nn import Evaluator, build, checkpoint, has_aux_heads, score_bins
from engine.train.actor import store_meta
from engine.train.alphazero import Learner, augment, aux_losses, score_target
from engine.train.selfplay import SelfPlayActor, play_games
from games import goboard

TINY = {"network": {"channels": 16, "blocks": 1, "hidden": 32}, "search": {"simulations": 2},
        "selfplay": {"concurrent_games": 4, "flush_games": 8},
        "train": {"min_positions": 16, "batch_size": 32, "learning_rate": 3e-3, "max_reuse": 1000.0}}


def tiny_config(**network) -> cfg.RunConfig:
    values = {k: dict(v) for k, v in TINY.items()}
    values["network"].update(network)
    return cfg.resolve("go9", values)


@pytest.fixture(scope="module")
def go9() -> games.GameSpec:
    return games.load("go9")


@pytest.fixture(scope="module")
def go9_games(go9) -> list[Trajectory]:
    """Six real go9 self-play games of an untrained network (short: it passes early)."""
    config = tiny_config()
    torch.manual_seed(0)
    net = build(config.network, go9.encoder.shape, go9.num_actions, go9.has_ownership)
    actor = SelfPlayActor(go9, Evaluator([net]), config, np.random.default_rng(0))
    return play_games(actor, 6)


def write_store(directory: Path, spec, records: list[Trajectory]) -> Path:
    with SegmentWriter(directory, "test", store_meta(spec), max_games=64, max_seconds=float("inf")) as w:
        for r in records:
            w.add(r)
    return next(directory.glob("traj-*.h5"))


def final_state(spec, record: Trajectory):
    state = spec.game.new_initial_state()
    for action in record.action:
        state.apply_action(int(action))
    return state


# ---- targets through the store -----------------------------------------------------------------

def test_selfplay_games_carry_their_owners_and_margin_through_the_store(go9, go9_games, tmp_path):
    for record in go9_games:
        owner, margin = goboard.final_ownership(final_state(go9, record))
        assert np.array_equal(record.ownership, owner) and record.score == margin
    assert any((r.ownership == 1).any() and (r.ownership == -1).any() for r in go9_games)
    path = write_store(tmp_path, go9, go9_games)
    with h5py.File(path) as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION == 2
        assert f["games/ownership"].shape == (6, 81) and f["games/ownership"].dtype == np.int8
    back = read_segment(path).records()
    for before, after in zip(go9_games, back):
        assert np.array_equal(after.ownership, before.ownership) and after.score == pytest.approx(before.score)
    # The window serves them from the side of the player to move.
    window = ReplayWindow(tmp_path, store_meta(go9), 1000)
    window.refresh()
    batch = window.rows(np.arange(window.positions))
    owners = np.concatenate([np.repeat(r.ownership[None], len(r), 0) for r in go9_games])
    margins = np.concatenate([np.full(len(r), r.score, np.float32) for r in go9_games])
    side = np.where(batch.player == 0, 1, -1)
    assert batch.aux.all() and batch.ownership.dtype == np.float32 and batch.ownership.shape == owners.shape
    assert np.array_equal(batch.ownership, owners * side[:, None])
    assert np.allclose(batch.score, margins * side)


def test_games_without_targets_are_marked_missing(go9, go9_games, tmp_path):
    unfinished = dataclasses.replace(go9_games[0], ownership=None, score=None)  # e.g. resigned
    write_store(tmp_path, go9, [unfinished, go9_games[1]])
    first, second = read_segment(next(tmp_path.glob("traj-*.h5"))).records()
    assert first.ownership is None and first.score is None and second.score == go9_games[1].score
    window = ReplayWindow(tmp_path, store_meta(go9), 1000)
    window.refresh()
    batch = window.rows(np.arange(window.positions))
    n = len(unfinished)
    assert not batch.aux[:n].any() and batch.aux[n:].all()
    assert not batch.ownership[:n].any() and not batch.score[:n].any()
    with pytest.raises(ValueError, match="ownership shape"):
        write_store(tmp_path / "bad", go9, [dataclasses.replace(go9_games[0], ownership=np.zeros(80, np.int8))])


def test_a_version_1_file_is_still_read(go9, go9_games, tmp_path):
    path = write_store(tmp_path, go9, go9_games[:2])
    with h5py.File(path, "a") as f:  # what version 1 wrote: the same, without the targets
        f.attrs["schema_version"] = 1
        del f["games/ownership"], f["games/score"]
    records = read_segment(path).records()
    assert [len(r) for r in records] == [len(r) for r in go9_games[:2]]
    assert all(r.ownership is None and r.score is None for r in records)
    window = ReplayWindow(tmp_path, store_meta(go9), 1000)
    window.refresh()
    batch = window.sample(8, np.random.default_rng(0))
    assert batch.ownership is None and batch.score is None and batch.aux is None


# ---- augmentation ------------------------------------------------------------------------------

def test_symmetries_keep_ownership_on_the_stones_it_belongs_to(go9, go9_games):
    """The final positions, encoded: every stone of the mover (plane 0) owned +1, of the other side
    (plane 1) owned -1, under whichever symmetry each row drew."""
    record = max(go9_games, key=lambda r: len(set(goboard.board(final_state(go9, r)).tolist())))
    state = final_state(go9, record)  # a final board with stones of both colours
    obs = go9.encoder.encode(state).astype(np.float32)
    black_to_move = obs[2 * go9.encoder.history, 0, 0] == 1
    owner = record.ownership.astype(np.float32) * (1 if black_to_move else -1)
    n = 64
    batch = Batch(obs=np.repeat(obs[None], n, 0), legal=np.ones((n, 82), bool), policy=np.ones((n, 82), np.float32),
                  value=np.zeros(n, np.float32), root_value=np.zeros(n, np.float32), player=np.zeros(n, np.int8),
                  ownership=np.repeat(owner[None], n, 0), score=np.zeros(n, np.float32), aux=np.ones(n, bool))
    out = augment(batch, go9.symmetries, np.random.default_rng(0))
    moved = 0
    for i in range(n):
        mine, theirs = out.obs[i, 0].ravel() > 0, out.obs[i, 1].ravel() > 0
        assert mine.any() and theirs.any()
        assert (out.ownership[i, mine] == 1).all() and (out.ownership[i, theirs] == -1).all()
        moved += not np.array_equal(out.ownership[i], owner)
    assert moved > n // 2  # most rows drew a symmetry that moves this position


# ---- heads and losses --------------------------------------------------------------------------

def test_score_targets_put_the_margin_in_its_bins():
    bins = score_bins(81)
    assert len(bins) == 2 * (81 + 20) and bins[0] == -100.5
    target = score_target(torch.tensor([3.5, -4.0, 500.0]), bins)
    assert torch.allclose(target.sum(1), torch.ones(3))
    assert target[0, bins == 3.5].item() == 1.0
    assert target[1, bins == -4.5].item() == 0.5 and target[1, bins == -3.5].item() == 0.5
    assert target[2, -1].item() == 1.0
    assert torch.allclose(target @ bins, torch.tensor([3.5, -4.0, 100.5]))


def test_heads_only_on_go_and_only_when_asked(go9):
    config = tiny_config().network
    assert has_aux_heads(build(config, go9.encoder.shape, go9.num_actions, go9.has_ownership))
    assert not has_aux_heads(build(dataclasses.replace(config, aux_heads=False), go9.encoder.shape, go9.num_actions,
                                   go9.has_ownership))
    c4 = games.load("connect_four")
    assert not c4.has_ownership
    assert not has_aux_heads(build(config, c4.encoder.shape, c4.num_actions, c4.has_ownership))


def test_search_sees_the_same_network_with_or_without_heads(go9, go9_games):
    config = tiny_config().network
    with_heads = build(config, go9.encoder.shape, go9.num_actions, ownership=True)
    without = build(dataclasses.replace(config, aux_heads=False), go9.encoder.shape, go9.num_actions, ownership=True)
    without.load_state_dict(with_heads.state_dict(), strict=False)  # the same trunk, policy and value
    x, legal = go9_games[0].obs[:4].astype(np.float32), go9_games[0].legal[:4]
    a, b = Evaluator([with_heads]), Evaluator([without])
    for mine, theirs in zip(a.evaluate(x, legal), b.evaluate(x, legal)):
        assert np.array_equal(mine, theirs)
    # The inference copies (folded, traced) leave the heads out: without a score utility they cost search nothing.
    folded = a._folded[0][torch.float32, 0.0].net.state_dict()
    assert folded.keys() == b._folded[0][torch.float32, 0.0].net.state_dict().keys()


def aux_loss_of(learner: Learner, batch: Batch) -> float:
    model = learner.models[0].eval()
    with torch.no_grad():
        ownership, _ = aux_losses(model.heads(torch.from_numpy(batch.obs)), batch, torch.device("cpu"))
    model.train()
    return float(ownership)


def test_the_learner_fits_ownership_and_score(go9, go9_games, tmp_path):
    spec = dataclasses.replace(go9, symmetries=go9.symmetries[:1])  # a fixed dataset: no augmentation
    write_store(tmp_path / "trajectories", spec, go9_games)
    learner = Learner(spec, tiny_config(), tmp_path)
    learner.refresh()
    fixed = learner.window.rows(learner.window.candidates())
    before = aux_loss_of(learner, fixed)
    losses = [learner.train_step() for _ in range(30)]
    after = aux_loss_of(learner, fixed)
    assert all(np.isfinite([step["ownership"], step["score"]]).all() for step in losses)
    assert after < 0.85 * before, (before, after)
    assert np.mean([s["score"] for s in losses[-5:]]) < np.mean([s["score"] for s in losses[:5]])
    # Published with its heads: the snapshot's networks answer for owners and expected score.
    snap = checkpoint.load_snapshot(learner.publish())
    assert snap.network.aux_heads
    owners, score = Evaluator(snap.build_models()).ownership(fixed.obs[:3])
    with torch.no_grad():
        heads = learner.models[0].eval().heads(torch.from_numpy(fixed.obs[:3]))
    assert owners.shape == (3, 81) and np.allclose(owners, torch.tanh(heads.ownership).numpy(), atol=1e-5)
    expected = torch.softmax(heads.score, 1) @ score_bins(81)
    assert score.shape == (3,) and np.allclose(score, expected.numpy(), atol=1e-3)


def test_without_heads_the_learner_and_old_snapshots_go_on(go9, go9_games, tmp_path):
    write_store(tmp_path / "trajectories", go9, go9_games)
    learner = Learner(go9, tiny_config(aux_heads=False), tmp_path)
    learner.refresh()
    assert set(learner.train_step()) == {"policy", "value", "entropy", "learning_rate"}
    # A snapshot written before the heads existed: no aux_heads key in its network config.
    path = learner.publish()
    data = torch.load(path, weights_only=True)
    del data["network"]["aux_heads"]
    torch.save(data, path)
    snap = checkpoint.load_snapshot(path, go9.game_string)
    assert not snap.network.aux_heads
    evaluator = Evaluator(snap.build_models())
    priors, values = evaluator.evaluate(go9_games[0].obs[:2].astype(np.float32), go9_games[0].legal[:2])
    assert priors.shape == (2, 82) and np.allclose(priors.sum(1), 1)
    with pytest.raises(ArenaError, match="no ownership and score heads"):
        evaluator.ownership(go9_games[0].obs[:2])
    # A run config written before: its [network] table has no aux_heads, which meant none.
    values = cfg.to_dict(tiny_config())
    del values["network"]["aux_heads"]
    assert not cfg.from_dict(values).network.aux_heads
