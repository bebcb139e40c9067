"""engine/nn/networks.py: KataGo's global-pooling blocks (network.global_pool): where they sit,
that they see the whole board, and that inference (folded, traced, channels-last, bfloat16) and old
snapshots handle them."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import games
from engine.config import default_config
from engine.nn import checkpoint
from engine.nn.inference import Evaluator
from engine.nn.networks import (
    GlobalPoolBlock,
    ResidualBlock,
    build,
    pool_channels,
    pooled_blocks,
)


def _go9_net(global_pool: bool, seed: int = 0):
    spec = games.load("go9")
    network = dataclasses.replace(default_config("go9").network, global_pool=global_pool)
    torch.manual_seed(seed)
    return spec, network, build(network, spec.encoder.shape, spec.num_actions)


def test_pooling_blocks_sit_every_third_block_with_katago_widths():
    assert pooled_blocks(6) == {2, 5} and pooled_blocks(10) == {2, 5, 8} and pooled_blocks(2) == {1}
    assert [pool_channels(c) for c in (16, 32, 64, 96, 128, 256)] == [8, 16, 32, 32, 32, 64]
    _, _, net = _go9_net(True)
    assert [type(b) for b in net.tower] == [ResidualBlock] * 2 + [GlobalPoolBlock] + [ResidualBlock] * 2 + [GlobalPoolBlock]
    _, _, plain = _go9_net(False)
    assert all(type(b) is ResidualBlock for b in plain.tower)


@pytest.mark.parametrize("block_cls", [ResidualBlock, GlobalPoolBlock])
def test_one_pooling_block_sees_the_whole_board(block_cls):
    """A stone in one corner moves a pooling block's output in the far corner; two 3x3 convs alone
    reach two points away."""
    torch.manual_seed(0)
    block = (GlobalPoolBlock(8, 81) if block_cls is GlobalPoolBlock else ResidualBlock(8)).eval()
    x = torch.rand(1, 8, 9, 9)
    moved = x.clone()
    moved[0, :, 8, 8] += 1.0
    with torch.no_grad():
        change = (block(moved) - block(x))[0, :, 0, 0].abs().max().item()
    assert (change > 1e-4) == (block_cls is GlobalPoolBlock)


def test_folded_traced_inference_matches_the_module():
    """Batch norm folds into both of a pooling block's convolutions (none is left), and the
    evaluator's traced channels-last calls (bfloat16 where native) agree with the module."""
    spec, _, model = _go9_net(True)
    x, legal = games.random_positions(spec, 32, 1)
    model.train()  # move the batch-norm statistics off their defaults, so folding is exercised
    with torch.no_grad():
        for _ in range(3):
            model(torch.from_numpy(x.astype(np.float32)) * 3 + 1)
    model.eval()
    folded = Evaluator._fold(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    evaluator = Evaluator([model], torch.device("cpu"))
    with torch.inference_mode():
        logits, values = model(torch.from_numpy(x.astype(np.float32)))
    ref_p = torch.softmax(logits.masked_fill(~torch.from_numpy(legal), float("-inf")), -1).numpy()
    tol = 1e-5 if evaluator.low_precision is None else 3e-3
    for rows, atol in ((slice(0, 1), 1e-5), (slice(None), tol)):  # one position runs in float32
        priors, v = evaluator.evaluate(x[rows], legal[rows])
        np.testing.assert_allclose(priors, ref_p[rows], atol=atol)
        np.testing.assert_allclose(v, values.numpy()[rows], atol=atol)
    assert evaluator._traced and all(isinstance(c, torch.jit.ScriptModule) for c in evaluator._traced.values())


def test_bfloat16_autocast_and_channels_last_training_step():
    """The learner's forward (channels-last, bfloat16 autocast) runs and sends gradients into the pooling path."""
    spec, _, model = _go9_net(True)
    model = model.to(memory_format=torch.channels_last).train()
    x = torch.from_numpy(games.random_positions(spec, 8, 2)[0].astype(np.float32))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, value = model(x.contiguous(memory_format=torch.channels_last))
    (logits.float().logsumexp(1).mean() + value.float().mean()).backward()
    grad = model.tower[2].linear_g.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_old_snapshot_without_the_key_loads_without_pooling(tmp_path):
    spec, network, model = _go9_net(False)
    path = tmp_path / "step-0000001.pt"
    checkpoint.save_snapshot(path, spec.game_string, network, tuple(spec.encoder.shape), spec.num_actions, 1, [model])
    data = torch.load(path, weights_only=True)
    del data["network"]["global_pool"]  # as snapshots saved before the option were
    torch.save(data, path)
    snap = checkpoint.load_snapshot(path)
    assert snap.network.global_pool is False
    assert all(type(b) is ResidualBlock for b in snap.build_models()[0].tower)
