"""The learning-rate schedule of a session with a budget."""
from __future__ import annotations

import math
import time

import pytest
import torch

from engine.train import Budget, annealed_scale
from engine.train.schedule import set_learning_rate


def test_the_rate_holds_then_falls_by_a_cosine_to_zero():
    assert annealed_scale(0.0, 0.3) == annealed_scale(0.7, 0.3) == 1.0
    assert annealed_scale(0.85, 0.3) == pytest.approx(0.5)
    assert annealed_scale(0.7 + 0.3 * 0.25, 0.3) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert annealed_scale(1.0, 0.3) == pytest.approx(0.0) and annealed_scale(2.0, 0.3) == pytest.approx(0.0)
    falling = [annealed_scale(f / 100, 0.3) for f in range(70, 101)]
    assert all(a > b for a, b in zip(falling, falling[1:]))
    assert all(annealed_scale(f / 10, 0.0) == 1.0 for f in range(11))  # anneal 0: constant


def test_the_budget_spent_is_the_larger_of_time_and_steps():
    assert Budget(None, None, 5).fraction(1_000) == 0.0  # no budget: never anneals
    assert Budget(None, 20, 40).fraction(50) == pytest.approx(0.5)  # steps count from the session's first
    assert Budget(None, 20, 40).fraction(90) == 1.0
    started = Budget(10.0, None, 0, start=time.monotonic() - 5.0)
    assert 0.5 <= started.fraction(0) < 0.6
    assert Budget(10.0, 100, 0, start=time.monotonic() - 5.0).fraction(80) == pytest.approx(0.8)


def test_set_learning_rate_reaches_every_group():
    model = torch.nn.Linear(3, 2)
    opts = [torch.optim.AdamW([model.weight], lr=1.0), torch.optim.AdamW([model.bias], lr=2.0)]
    set_learning_rate(opts, 0.25)
    assert [g["lr"] for o in opts for g in o.param_groups] == [0.25, 0.25]
