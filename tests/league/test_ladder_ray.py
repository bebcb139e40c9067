"""`arena ladder --players ... --ray`: a round robin's tables as Ray tasks on a real local cluster (a
head and a worker node, one CPU each). Snapshots travel by value, so a table plays the same games as
here and the ledger holds the same records in the same order."""
from __future__ import annotations

import itertools

import pytest
import torch

import games
from engine import config as cfg
from engine import rundir
from engine.errors import BotError
from engine.nn import checkpoint, networks
from league.ladder import round_robin
from league.ledger import Ledger

# One worker runs every test that starts Ray (`make test` runs pytest-xdist with --dist loadgroup):
# two clusters on one machine would share its CPUs, and `ray stop --force` ends every cluster here.
pytestmark = pytest.mark.xdist_group("ray")

TINY = cfg.NetworkConfig(channels=8, blocks=1, hidden=16)


def snapshot(path, step: int, seed: int) -> None:
    spec = games.load("tic_tac_toe")
    torch.manual_seed(seed)
    model = networks.build(TINY, tuple(spec.encoder.shape), spec.num_actions)
    checkpoint.save_snapshot(path, spec.game_string, TINY, tuple(spec.encoder.shape), spec.num_actions, step, [model])


def records(ledger: Ledger) -> list[tuple[str, str, float]]:
    """The games as the rating fit reads them, in ledger order: first seat, second seat, its score."""
    data = ledger.rating_input(kinds=("rating",))
    return [(data.players[a], data.players[b], s) for a, b, s in zip(data.a.tolist(), data.b.tolist(),
                                                                      data.score.tolist())]


def test_tables_on_a_cluster_play_the_games_they_play_here(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "runs"))
    run_dir = tmp_path / "runs" / "r"
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(cfg.resolve("tic_tac_toe", {})))
    snapshot(checkpoint.snapshot_path(run_dir, 7), 7, seed=0)
    snapshot(tmp_path / "other.pt", 0, seed=1)
    spec = games.load("tic_tac_toe")
    players = ["random", "mcts:4", "r:step-7@sims=4", f"{tmp_path / 'other.pt'}@sims=2"]
    here, there = Ledger(tmp_path / "here.sqlite"), Ledger(tmp_path / "there.sqlite")
    seen = []
    assert round_robin(spec, players, 2, here, seed=3, opening_plies=1) == 12
    assert round_robin(spec, players, 2, there, seed=3, opening_plies=1, ray="auto",
                       progress=lambda table, result: seen.append(table)) == 12
    assert sorted(seen) == sorted(itertools.combinations(players, 2))
    assert len(records(here)) == 12 and records(there) == records(here)
    assert {p for a, b, _ in records(there) for p in (a, b)} == set(players)  # named as given, not as shipped


def test_a_snapshot_that_does_not_exist_fails_before_joining_a_cluster(tmp_path):
    with pytest.raises(BotError, match="not found"):
        round_robin(games.load("tic_tac_toe"), ["random", f"{tmp_path / 'none.pt'}"], 2,
                    Ledger(tmp_path / "x.sqlite"), ray="auto")
