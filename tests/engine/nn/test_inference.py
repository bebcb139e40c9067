"""Evaluator: folded (and traced, and on AMX or AVX512_BF16 CPUs bfloat16) inference copies agree with the trained
modules and follow new weights; single positions stay float32."""
import sys

import numpy as np
import torch

import games
from engine.config import default_config
from engine.nn import ort
from engine.nn.inference import Evaluator, NetworkStreams
from engine.nn.networks import build
from games import random_positions


def _batch(spec, n: int, seed: int):
    return random_positions(spec, n, seed, max_plies=8)


def _reference(model, x, legal):
    with torch.inference_mode():
        logits, values = model(torch.from_numpy(x.astype(np.float32)))
        logits = logits.masked_fill(~torch.from_numpy(legal), float("-inf"))
        return torch.softmax(logits, -1).numpy(), values.numpy()


def _train_bn(model, spec, seed):
    """Move batch-norm statistics off their defaults, so folding them is really exercised."""
    model.train()
    x, _ = _batch(spec, 64, seed)
    with torch.no_grad():
        for _ in range(3):
            model(torch.from_numpy(x.astype(np.float32)) * 3 + 1)
    model.eval()


def test_folded_network_matches_the_module_and_follows_loaded_weights():
    spec = games.load("connect_four")
    config = default_config("connect_four")
    torch.manual_seed(0)
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    _train_bn(model, spec, 1)
    evaluator = Evaluator([model], torch.device("cpu"))
    # bfloat16 keeps 8 bits of mantissa: batched answers agree to about 1e-3 of a probability
    tol = 1e-5 if evaluator.low_precision is None else 3e-3
    x, legal = _batch(spec, 32, 2)
    priors, values = evaluator.evaluate(x, legal)
    ref_p, ref_v = _reference(model, x, legal)
    np.testing.assert_allclose(priors, ref_p, atol=tol)
    np.testing.assert_allclose(values, ref_v, atol=tol)
    assert np.allclose(priors.sum(1), 1.0, atol=1e-5) and (priors[~legal] == 0).all()
    one_p, one_v = evaluator.evaluate(x[:1], legal[:1])  # one position: float32 whatever the hardware
    np.testing.assert_allclose(one_p, ref_p[:1], atol=1e-5)
    np.testing.assert_allclose(one_v, ref_v[:1], atol=1e-5)

    torch.manual_seed(5)
    other = build(config.network, spec.encoder.shape, spec.num_actions)
    _train_bn(other, spec, 3)
    traced = dict(evaluator._traced)
    evaluator.load([other.state_dict()])
    priors2, values2 = evaluator.evaluate(x, legal)
    ref_p2, ref_v2 = _reference(other, x, legal)
    assert max(np.abs(values2 - values).max(), np.abs(priors2 - priors).max()) > 3 * tol  # really new weights
    np.testing.assert_allclose(priors2, ref_p2, atol=tol)
    np.testing.assert_allclose(values2, ref_v2, atol=tol)
    one_p2, one_v2 = evaluator.evaluate(x[:1], legal[:1])
    np.testing.assert_allclose(one_p2, ref_p2[:1], atol=1e-5)
    np.testing.assert_allclose(one_v2, ref_v2[:1], atol=1e-5)
    # The new weights ran through the calls traced before: a snapshot costs no new trace.
    assert traced and all(evaluator._traced[k] is call for k, call in traced.items())


def test_float32_calls_run_in_onnxruntime_and_follow_new_weights():
    """Asked for (the league's actors), float32 calls on the CPU (single positions everywhere, batches
    without native bfloat16) run in onnxruntime, with the module's answers before and after a
    snapshot's new weights; other evaluators stay with torch."""
    assert ort.available(), "onnxruntime is in the test extra: make test installs it"
    spec = games.load("connect_four")
    config = default_config("connect_four")
    torch.manual_seed(1)
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    _train_bn(model, spec, 4)
    x, legal = _batch(spec, 16, 6)
    evaluator = Evaluator([model], torch.device("cpu"), onnxruntime=True)
    one_p, one_v = evaluator.evaluate(x[:1], legal[:1])
    ref_p, ref_v = _reference(model, x, legal)
    np.testing.assert_allclose(one_p, ref_p[:1], atol=1e-5)
    np.testing.assert_allclose(one_v, ref_v[:1], atol=1e-5)
    plain = Evaluator([model], torch.device("cpu"))
    plain.evaluate(x[:1], legal[:1])
    assert plain._traced and not any(isinstance(c, ort.OrtCall) for c in plain._traced.values())
    calls = [c for k, c in evaluator._traced.items() if k[1] == torch.float32]
    assert calls and all(isinstance(c, ort.OrtCall) for c in calls)
    if evaluator.low_precision is None:  # batches run float32 too: the same session, any batch size
        np.testing.assert_allclose(evaluator.evaluate(x, legal)[0], ref_p, atol=1e-5)

    other = build(config.network, spec.encoder.shape, spec.num_actions)
    _train_bn(other, spec, 7)
    evaluator.load([other.state_dict()])
    ref_p2, ref_v2 = _reference(other, x, legal)
    two_p, two_v = evaluator.evaluate(x[:1], legal[:1])
    assert abs(ref_v2[0] - ref_v[0]) > 1e-3  # really different weights
    np.testing.assert_allclose(two_p, ref_p2[:1], atol=1e-5)
    np.testing.assert_allclose(two_v, ref_v2[:1], atol=1e-5)
    assert [c for k, c in evaluator._traced.items() if k[1] == torch.float32] == calls  # the same calls, reloaded


def test_network_streams_run_torch_on_one_thread_each():
    """Worker streams take one torch thread each; the caller's thread count is left as it was."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        streams = NetworkStreams(2)
        counts = [streams.submit(lambda: (torch.ones(1 << 17).add_(1), torch.get_num_threads())[1]).result()
                  for _ in range(4)]
        assert counts == [1, 1, 1, 1]
        assert torch.get_num_threads() == 2
        assert sys.getswitchinterval() <= 1e-4  # streams get the GIL back between layers quickly
    finally:
        torch.set_num_threads(before)


def test_onednn_capped_below_bfloat16_computes_in_float32(monkeypatch):
    """ONEDNN_MAX_CPU_ISA=AVX2 makes an AVX-512 or AMX host compute as an AVX2-only one (how figures
    for such hosts are measured here): bfloat16 would be emulated there, so batches stay float32."""
    from engine.nn.inference import low_precision

    cpu = torch.device("cpu")
    native = low_precision(cpu)
    for cap in ("AVX2", "avx512_core", "AVX2_VNNI"):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        assert low_precision(cpu) is None
    for cap in ("ALL", "AVX512_CORE_BF16", "AVX512_CORE_AMX"):  # caps that keep bfloat16 where the CPU has it
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        assert low_precision(cpu) == native
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    spec = games.load("connect_four")
    torch.manual_seed(0)
    model = build(default_config("connect_four").network, spec.encoder.shape, spec.num_actions)
    _train_bn(model, spec, 1)
    evaluator = Evaluator([model], cpu)
    assert evaluator.low_precision is None
    x, legal = _batch(spec, 32, 2)
    priors, values = evaluator.evaluate(x, legal)
    ref_p, ref_v = _reference(model, x, legal)
    np.testing.assert_allclose(priors, ref_p, atol=1e-5)  # float32's agreement, not bfloat16's 3e-3
    np.testing.assert_allclose(values, ref_v, atol=1e-5)


def test_int8_calls_calibrate_on_recent_positions_and_keep_float32_where_int8_strays(monkeypatch):
    """selfplay.int8: every call runs in onnxruntime, float32 until 2 * CALIBRATION positions have been
    evaluated, then the network quantized on half of them and checked against float32 on the rest; it
    is used only where that check passes, and quantized again for each snapshot's new weights."""
    spec = games.load("connect_four")
    config = default_config("connect_four")
    torch.manual_seed(2)
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    _train_bn(model, spec, 5)
    batches = [random_positions(spec, 64, seed, max_plies=30) for seed in range(2 * ort.CALIBRATION // 64 + 1)]

    def run(evaluator):
        return [evaluator.evaluate(x, legal) for x, legal in batches]

    monkeypatch.setattr(ort, "INT8_VALUE", 0.0)  # no int8 network is that exact: float32 is kept
    strict = Evaluator([model], torch.device("cpu"), int8=True)
    assert strict.int8 and strict._precision(64) == torch.float32  # the float32 network, even where bfloat16 runs
    for (x, legal), (p, v) in zip(batches, run(strict)):
        ref_p, ref_v = _reference(model, x, legal)
        np.testing.assert_allclose(p, ref_p, atol=1e-5)
        np.testing.assert_allclose(v, ref_v, atol=1e-5)
    [check] = strict.int8_checks
    assert not check["int8"] and check["positions"] == ort.CALIBRATION and check["value_mean_abs"] > 0

    monkeypatch.setattr(ort, "INT8_VALUE", 1.0)
    monkeypatch.setattr(ort, "INT8_TOP_MOVE", 0.0)
    loose = Evaluator([model], torch.device("cpu"), int8=True)
    results = run(loose)
    [check] = loose.int8_checks
    assert check["int8"]
    x, legal = batches[-1]  # evaluated after the quantization
    ref_p, ref_v = _reference(model, x, legal)
    p, v = results[-1]
    assert 0 < np.abs(v - ref_v).max() < 0.3 and np.abs(p - ref_p).max() < 0.3  # int8: close, not exact
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)
    assert (p[~legal] == 0).all()

    other = build(config.network, spec.encoder.shape, spec.num_actions)
    _train_bn(other, spec, 9)
    loose.load([other.state_dict()])  # a new snapshot: quantized again, from the positions seen
    [check2] = loose.int8_checks
    assert check2["int8"] and check2 != check
    p2, v2 = loose.evaluate(x, legal)
    ref_p2, ref_v2 = _reference(other, x, legal)
    assert np.abs(v2 - ref_v2).mean() < np.abs(v2 - ref_v).mean()  # the new weights, not the old
