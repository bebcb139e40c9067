"""Batched network evaluation for search: numpy positions in, masked priors and values out.

One `Evaluator` wraps either a shared network or one network per seat; with per-seat networks each
position goes to the network of its player to move, still one forward pass per network per batch.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class Evaluator:
    def __init__(self, models: Sequence[nn.Module], device: torch.device | None = None) -> None:
        self.device = device or next(models[0].parameters()).device
        self.models = [m.to(self.device).eval() for m in models]
        self.calls = 0
        self.positions = 0

    @property
    def per_player(self) -> bool:
        return len(self.models) > 1

    @torch.inference_mode()
    def _forward(self, model: nn.Module, x: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device, non_blocking=True)
        logits, values = model(xt)
        mask = torch.from_numpy(legal).to(self.device)
        logits = logits.masked_fill(~mask, float("-inf"))
        priors = torch.softmax(logits, dim=-1)
        return priors.float().cpu().numpy(), values.float().cpu().numpy()

    def evaluate(self, x: np.ndarray, legal: np.ndarray, players: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Priors [B, A] over legal actions and values [B] for the player to move at each position."""
        self.calls += 1
        self.positions += len(x)
        if not self.per_player:
            return self._forward(self.models[0], x, legal)
        priors = np.zeros(legal.shape, np.float32)
        values = np.zeros(len(x), np.float32)
        for seat, model in enumerate(self.models):
            rows = np.flatnonzero(players == seat)
            if len(rows):
                priors[rows], values[rows] = self._forward(model, x[rows], legal[rows])
        return priors, values
