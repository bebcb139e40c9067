"""Policy-value networks: a residual tower for board tensors, an MLP for flat ones.

Both map an encoded position to (policy logits over all distinct actions, value in [-1, 1] for the
player to move). Illegal actions are masked by the caller (engine/nn/inference.py).

A ResNet for a game whose finished positions give every point an owner (Go) also carries KataGo's
auxiliary heads, trained alongside and read only by `heads` (one trunk pass for all): ownership (each
point's final owner, tanh, from the mover's side) and score belief (a distribution over the mover's
final margin in half-point bins). `forward` never runs them, so search, tracing and ONNX export see
the same policy-value network as without them.
"""
from __future__ import annotations

import math
from typing import NamedTuple

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


SCORE_EXTRA = 20  # score bins reach this far beyond a margin of the whole board (room for komi)


def pool_channels(channels: int) -> int:
    """Channels a global-pooling block pools: KataGo's sizes (8 of 16, 16 of 32, 32 of 64 to 128,
    64 of 256): half the width, at most 32, or a quarter of it on wide towers."""
    return max(1, min(channels // 2, max(32, channels // 4)))


class GlobalPoolBlock(ResidualBlock):
    """KataGo's global-pooling residual block: beside conv1, a conv of `pool_channels` channels
    (BN, ReLU) is pooled over the board (mean, mean scaled by (sqrt(area) - 14) / 10, max), and a
    linear map of the pooled vector adds a bias to each of conv1's channels before its ReLU. The
    whole board then steers every point: whose move matters, how big the fight is, ko threats.
    """

    def __init__(self, channels: int, area: int) -> None:
        super().__init__(channels)
        pooled = pool_channels(channels)
        self.conv_g = nn.Conv2d(channels, pooled, 3, padding=1, bias=False)
        self.bn_g = nn.BatchNorm2d(pooled)
        self.linear_g = nn.Linear(3 * pooled, channels, bias=False)
        # KataGo's board-size term: a constant here (one board size a network), kept so the pooled
        # vector is laid out as KataGo's; a Python float, so torch.fx, tracing and ONNX see a constant.
        self.size_scale = (math.sqrt(area) - 14.0) / 10.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = F.relu(self.bn_g(self.conv_g(x)))
        # pooled over the board as [batch, points, channels] in float32: a channels-last bfloat16
        # mean or max over (H, W) runs 9x slower on CPU
        points = g.permute(0, 2, 3, 1).reshape(g.shape[0], -1, g.shape[1]).float()
        mean = points.mean(dim=1)
        pooled = torch.cat([mean, mean * self.size_scale, points.amax(dim=1)], dim=1).to(g.dtype)
        bias = self.linear_g(pooled)[:, :, None, None]
        y = F.relu(self.bn1(self.conv1(x)) + bias)
        return F.relu(x + self.bn2(self.conv2(y)))


def pooled_blocks(blocks: int) -> set[int]:
    """Which blocks of a tower pool (network.global_pool): every third, from the third, as KataGo
    spreads them through its towers; a tower of fewer blocks pools in its last."""
    return {i for i in range(2, blocks, 3)} or {blocks - 1}


def tower(config: NetworkConfig, area: int) -> nn.Sequential:
    """The residual blocks of `config`, global-pooling ones among them if it asks for them."""
    pooled = pooled_blocks(config.blocks) if config.global_pool else set()
    return nn.Sequential(*[GlobalPoolBlock(config.channels, area) if i in pooled else ResidualBlock(config.channels)
                           for i in range(config.blocks)])


def score_bins(points: int) -> torch.Tensor:
    """The margins the score head's bins stand for: every half-integer within the whole board's
    points plus SCORE_EXTRA either way (an integer margin is half in each bin beside it)."""
    reach = points + SCORE_EXTRA
    return torch.arange(-reach, reach, dtype=torch.float32) + 0.5


class Heads(NamedTuple):
    """Every head's output from one trunk pass (ResNet.heads)."""

    policy: torch.Tensor  # [B, A] logits
    value: torch.Tensor  # [B] in [-1, 1]
    ownership: torch.Tensor  # [B, H*W] before tanh: tanh gives each point's owner, +1 the mover's
    score: torch.Tensor  # [B, len(score_bins)] logits of the mover's final margin


class ResNet(nn.Module):
    """AlphaZero's tower: conv stem, residual blocks, 1x1-conv policy and value heads; with `ownership`
    (a Go board) and `config.aux_heads`, KataGo's ownership and score heads too."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int, config: NetworkConfig,
                 ownership: bool = False) -> None:
        super().__init__()
        c_in, h, w = obs_shape
        self.obs_shape = tuple(obs_shape)  # the positions it reads (GameSpec.for_input picks their encoder)
        ch = config.channels
        self.stem = nn.Sequential(nn.Conv2d(c_in, ch, 3, padding=1, bias=False), nn.BatchNorm2d(ch), nn.ReLU())
        self.tower = tower(config, h * w)
        self.policy_head = nn.Sequential(
            nn.Conv2d(ch, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * h * w, num_actions))
        self.value_head = nn.Sequential(
            nn.Conv2d(ch, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
            nn.Linear(h * w, config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1))
        self.ownership_head: nn.Module | None = None
        self.score_head: nn.Module | None = None
        if ownership and config.aux_heads:
            self.ownership_head = nn.Sequential(nn.Conv2d(ch, 1, 1), nn.Flatten())
            self.score_head = nn.Sequential(
                nn.Conv2d(ch, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
                nn.Linear(h * w, config.hidden), nn.ReLU(), nn.Linear(config.hidden, len(score_bins(h * w))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.tower(self.stem(x))
        return self.policy_head(z), torch.tanh(self.value_head(z)).squeeze(-1)

    @property
    def has_aux_heads(self) -> bool:
        return self.ownership_head is not None

    def heads(self, x: torch.Tensor) -> Heads:
        """Policy, value, ownership and score from one trunk pass (the learner's call)."""
        if self.ownership_head is None or self.score_head is None:
            raise ValueError("this network has no ownership and score heads")
        z = self.tower(self.stem(x))
        return Heads(self.policy_head(z), torch.tanh(self.value_head(z)).squeeze(-1), self.ownership_head(z),
                     self.score_head(z))


class MLP(nn.Module):
    """A plain fully connected trunk with policy and value heads, for flat observation tensors."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int, config: NetworkConfig) -> None:
        super().__init__()
        width = config.hidden
        self.obs_shape = tuple(obs_shape)
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


def has_aux_heads(model: nn.Module) -> bool:
    """Whether `model` has ownership and score heads (`model.heads`)."""
    return isinstance(model, ResNet) and model.has_aux_heads


def build(config: NetworkConfig, obs_shape: tuple[int, ...], num_actions: int, ownership: bool = False) -> nn.Module:
    """The network a config names, for a game's encoder shape and action count; `ownership`: the
    game's finished positions give its points owners (GameSpec.has_ownership), so a resnet gets the
    auxiliary heads where `config.aux_heads` asks for them."""
    if config.kind == "resnet":
        if len(obs_shape) != 3:
            raise ConfigError(f"network.kind = \"resnet\" needs a board tensor, this game's is flat {obs_shape}: "
                              "use network.kind = \"mlp\"")
        return ResNet(obs_shape, num_actions, config, ownership)
    if config.kind == "mlp":
        return MLP(obs_shape, num_actions, config)
    raise ConfigError(f"unknown network.kind {config.kind!r}: use \"resnet\" or \"mlp\"")
