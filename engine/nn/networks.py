"""Policy-value networks: a residual tower for board tensors, an MLP for flat ones.

Both map an encoded position to (policy logits over all distinct actions, value in [-1, 1] for the
player to move). Illegal actions are masked by the caller (engine/nn/inference.py).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from engine.config import ConfigError, NetworkConfig


def default_device() -> torch.device:
    """CUDA when there is one, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class ResNet(nn.Module):
    """AlphaZero's tower: conv stem, residual blocks, 1x1-conv policy and value heads."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int, config: NetworkConfig) -> None:
        super().__init__()
        c_in, h, w = obs_shape
        ch = config.channels
        self.stem = nn.Sequential(nn.Conv2d(c_in, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU())
        self.tower = nn.Sequential(*[ResidualBlock(ch) for _ in range(config.blocks)])
        self.policy_head = nn.Sequential(
            nn.Conv2d(ch, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * h * w, num_actions))
        self.value_head = nn.Sequential(
            nn.Conv2d(ch, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
            nn.Linear(h * w, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.tower(self.stem(x))
        return self.policy_head(z), torch.tanh(self.value_head(z)).squeeze(-1)


class MLP(nn.Module):
    """A plain fully connected trunk with policy and value heads, for flat observation tensors."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int, config: NetworkConfig) -> None:
        super().__init__()
        width = config.hidden
        layers: list[nn.Module] = [nn.Flatten()]
        d_in = math.prod(obs_shape)
        for _ in range(config.layers):
            layers += [nn.Linear(d_in, width), nn.ReLU()]
            d_in = width
        self.trunk = nn.Sequential(*layers)
        self.policy_head = nn.Linear(width, num_actions)
        self.value_head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.trunk(x)
        return self.policy_head(z), torch.tanh(self.value_head(z)).squeeze(-1)


def build(config: NetworkConfig, obs_shape: tuple[int, ...], num_actions: int) -> nn.Module:
    """The network a config names, for a game's encoder shape and action count."""
    if config.kind == "resnet":
        if len(obs_shape) != 3:
            raise ConfigError(f"network.kind = \"resnet\" needs a board tensor, this game's is flat {obs_shape}: "
                              "use network.kind = \"mlp\"")
        return ResNet(obs_shape, num_actions, config)
    if config.kind == "mlp":
        return MLP(obs_shape, num_actions, config)
    raise ConfigError(f"unknown network.kind {config.kind!r}: use \"resnet\" or \"mlp\"")
