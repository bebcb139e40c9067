"""Snapshot pool: cadence membership, log-scale thinning that keeps the first member, file pruning."""
import math

import torch

from engine.nn import checkpoint
from engine.config import NetworkConfig
from engine.players import step_of
from league.pool import KEEP_RECENT, Pool, spec


def _snapshot(run_dir, step):
    checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, step), "tic_tac_toe", NetworkConfig(), (3, 3, 3), 9,
                             step, [torch.nn.Linear(1, 1)])


def test_specs_and_steps_round_trip(tmp_path):
    run = tmp_path / "myrun"
    assert spec(run, 250) == "myrun:step-250"
    assert step_of("myrun:step-250") == 250 and step_of("myrun:step-250@sims=800") == 250
    assert step_of("random") is None and step_of("mcts:1000") is None and step_of("x:latest") is None


def test_thinning_keeps_first_and_newest_and_spreads_on_a_log_scale(tmp_path):
    pool = Pool(tmp_path, cap=6)
    removed = []
    for step in range(0, 5001, 100):
        removed += pool.add(step)
    steps = pool.steps
    assert len(steps) == 6 and steps[0] == 0 and steps[-1] == 5000
    assert len(removed) == 51 - 6
    gaps = [math.log1p(b) - math.log1p(a) for a, b in zip(steps[1:], steps[2:])]
    # Log-spaced: no interior gap is more than a few times another (uniform spacing would be 1:20).
    assert max(gaps) / min(gaps) < 4, steps
    # The file is the record: another process sees the same pool.
    assert Pool(tmp_path, cap=6).steps == steps
    assert pool.add(5000) == [] and pool.steps == steps  # adding a member twice changes nothing


def test_prune_files_keeps_members_and_newest(tmp_path):
    for step in range(0, 100, 10):
        _snapshot(tmp_path, step)
    pool = Pool(tmp_path, cap=4)
    for step in (0, 30, 50):
        pool.add(step)
    deleted = {p.name for p in pool.prune_files()}
    left = [s for s, _ in checkpoint.list_snapshots(tmp_path)]
    assert left == sorted({0, 30, 50} | set(range(100 - 10 * KEEP_RECENT, 100, 10)))
    assert "step-0000010.pt" in deleted
    # With a gate, snapshots newer than the newest member are candidates: kept.
    for step in range(100, 200, 10):
        _snapshot(tmp_path, step)
    pool.prune_files(keep_newer=True)
    left = {s for s, _ in checkpoint.list_snapshots(tmp_path)}
    assert left == {0, 30, 50} | set(range(70, 200, 10))
    pool.prune_files()
    assert {s for s, _ in checkpoint.list_snapshots(tmp_path)} == {0, 30, 50, 170, 180, 190}
