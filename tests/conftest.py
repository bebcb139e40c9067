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


# ---- property-based tests (hypothesis) ------------------------------------------------------------
# "default" keeps `make test` short; "long" is the fuzzing run of scripts/fuzz.sh (10,000 cases an
# input kind). HYPOTHESIS_PROFILE picks one; FUZZ_CASE_SECONDS bounds one case, so a hang fails.
import os  # noqa: E402
import signal  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("default", max_examples=30, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("long", max_examples=10_000, deadline=None, suppress_health_check=_QUIET,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


class CaseTimeout(BaseException):
    """One fuzz case ran past FUZZ_CASE_SECONDS: a hang. A BaseException, so that the catch-alls
    under test (the GTP server answers any Exception) cannot swallow it."""


@contextmanager
def _case_time_limit(seconds: float | None = None) -> Iterator[None]:
    seconds = float(os.environ.get("FUZZ_CASE_SECONDS", "30")) if seconds is None else seconds

    def alarm(signum, frame) -> None:
        raise CaseTimeout(f"one case ran over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def case_time_limit() -> Callable[..., contextmanager]:
    """`with case_time_limit(): ...` fails one fuzz case that runs over FUZZ_CASE_SECONDS (a hang)
    with CaseTimeout; session-scoped, so that @given tests may take it."""
    return _case_time_limit
