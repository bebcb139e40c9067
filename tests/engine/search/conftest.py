"""Shared helpers of the search tests, as fixtures."""
import pytest
import torch

from engine.config import NetworkConfig
from engine.nn import Evaluator, build


def tiny_evaluator(spec, seed: int = 0) -> Evaluator:
    torch.manual_seed(seed)
    kind = "resnet" if len(spec.encoder.shape) == 3 else "mlp"
    net = build(NetworkConfig(kind=kind, channels=8, blocks=1, hidden=16, layers=1), spec.encoder.shape,
                spec.num_actions)
    return Evaluator([net], torch.device("cpu"))


@pytest.fixture
def make_evaluator():
    """A small untrained network's evaluator for a game spec (resnet for boards, MLP for vectors)."""
    return tiny_evaluator
