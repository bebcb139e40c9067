"""Shared test setup.

Torch's default of one intra-op thread per core makes the tiny network calls of these tests up to
100x slower when another process keeps a core busy (the threads spin waiting for each other), so
the tests run torch single-threaded, as `arena league run` does by default (config `threads = 1`).
"""

import pyspiel
import pytest
import torch

from games.notation import parse_action

torch.set_num_threads(1)


def _play(spec, moves: list[str]) -> pyspiel.State:
    state = spec.game.new_initial_state()
    for move in moves:
        state.apply_action(parse_action(spec, state, move))
    return state


@pytest.fixture
def play():
    """A game's state after moves written as players write them (`play(spec, ["b2", "a1"])`)."""
    return _play


_TINY_RUN = """\
[network]
channels = 8
blocks = 1
hidden = 16

[selfplay]
concurrent_games = 8
flush_games = 8

[train]
min_positions = 32
batch_size = 16
snapshot_every = 1

[league]
evaluator = false
"""


def _tiny_run_config(learner: str = "alphazero") -> str:
    """A league run config of one-step size: a snapshot a learner step, no evaluator."""
    extra = "[search]\nsimulations = 4\n\n" if learner == "alphazero" else "[mmd]\npositions_per_update = 32\n\n"
    return extra + _TINY_RUN


@pytest.fixture(scope="session")
def tiny_run_config():
    """`tiny_run_config(learner)`: TOML text of a tiny run (`alphazero` gets [search], `mmd` [mmd])."""
    return _tiny_run_config
