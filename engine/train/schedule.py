"""The learning-rate schedule of a session with a budget (`--minutes` or `--steps`): full rate, then
a cosine fall to zero over the budget's last `train.anneal` fraction, so the last snapshot is the
settled end of training rather than wherever a noisy step left the weights (SGDR's cosine; "Budgeted
Training", Li et al. 2020)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch


def annealed_scale(fraction: float, anneal: float) -> float:
    """The learning rate's factor at `fraction` (0..1) of the budget spent: 1 until the last
    `anneal` of it, then a cosine down to 0 at the end."""
    if anneal <= 0 or fraction <= 1 - anneal:
        return 1.0
    x = min((fraction - (1 - anneal)) / anneal, 1.0)
    return 0.5 * (1 + math.cos(math.pi * x))


@dataclass
class Budget:
    """A session's budget: wall-clock seconds and/or learner steps from where it started (None:
    unbounded); the fraction spent is the larger of the two."""

    seconds: float | None
    steps: int | None
    first_step: int
    start: float = field(default_factory=time.monotonic)

    def fraction(self, step: int) -> float:
        spent = 0.0
        if self.seconds:
            spent = (time.monotonic() - self.start) / self.seconds
        if self.steps:
            spent = max(spent, (step - self.first_step) / self.steps)
        return min(spent, 1.0)


def set_learning_rate(optimizers: list[torch.optim.Optimizer], rate: float) -> None:
    """Set every parameter group's rate. Called before every step, even at full rate: a resumed
    optimizer's state carries the last session's (perhaps annealed) rate, not the config's."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = rate
