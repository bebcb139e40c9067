"""`arena bench onnx`: onnxruntime against torch on the CPU, for the preset's network as `arena export`
writes it (untrained weights: speed does not depend on them), or a snapshot's (`--run SPEC`: trained
weights, whose int8 error is the one that matters; an untrained network's outputs are too flat to show it).

Each runner gets the same real encoded positions and the same thread count, is warmed up first,
and is timed in turns with the others, `repeats` windows each; the figure is the median window, so
a shared host's drift hits all runners alike and one busy moment does not decide. Runners:
- torch: the network module, float32, eager, as it is exported;
- onnxruntime: the exported file in a CPU session;
- arena_evaluator: what Arena's search calls outside the league's actors (engine.nn.Evaluator: batch
  norm folded, traced, bfloat16 for batches where the CPU has AMX or AVX512_BF16; it also masks and
  softmaxes the policy). The actors' own run float32 calls in onnxruntime (engine/nn/ort.py);
- onnxruntime_int8: the exported file quantized by onnxruntime's static quantization (int8 weights per
  channel, uint8 activations, calibrated on positions of the game), the lever for CPUs without fast
  bfloat16. `int8_error` compares it with the float32 file on other positions: the largest change of
  a legal move's probability and of the value, and how often the most likely move stays the same.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

import games
from arena_cli.bench.search import host
from engine.config import default_config
from engine.nn import Evaluator, build, onnx_bytes, onnx_session
from engine.nn.ort import agreement, quantize_int8


def _rate(run: Callable[[], object], batch: int, seconds: float) -> float:
    """Positions/s of `run` (one call on `batch` positions) over at least `seconds`."""
    calls, start = 0, time.perf_counter()
    while True:
        run()
        calls += 1
        now = time.perf_counter()
        if now - start >= seconds:
            return calls * batch / (now - start)


def _policy(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    z = np.where(legal, logits, -np.inf)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def int8_error(f32, int8, x: np.ndarray, legal: np.ndarray) -> dict:
    """How far the int8 session's outputs are from the float32 one's on positions `x`."""
    (l32, v32), (l8, v8) = (s.run(None, {"observation": x}) for s in (f32, int8))
    return agreement((_policy(l32, legal), v32), (_policy(l8, legal), v8))


def bench_onnx(game: str, batches: tuple[int, ...] = (1, 64), seconds: float = 1.0, repeats: int = 5,
               warmup: float = 1.0, snapshot: str | None = None) -> dict:
    """Positions/s of each runner at each batch size: the median of `repeats` windows of `seconds`.
    `snapshot`: a snapshot spec (engine.players.snapshot_file) whose first network is measured instead."""
    source = None  # the snapshot file measured, if any
    if snapshot:
        from engine.nn import load_snapshot
        from engine.players import snapshot_file
        snap = load_snapshot(snapshot_file(snapshot))
        spec, network, source = games.load(snap.game), snap.network, str(snap.path)
        model = snap.build_models("cpu")[0].eval()
    else:
        spec = games.load(game)
        config = default_config(spec.name)
        torch.manual_seed(config.seed)
        network = config.network
        model = build(network, spec.encoder.shape, spec.num_actions).eval()
    threads = torch.get_num_threads()
    exported = onnx_bytes(model, spec.encoder.shape)
    session = onnx_session(exported, threads)
    evaluator = Evaluator([model], torch.device("cpu"))
    x, legal = games.random_positions(spec, max(batches))
    x = x.astype(np.float32)
    # calibrated on one set of positions, its error measured on another
    calibrate = games.random_positions(spec, 256, seed=1, max_plies=30)[0].astype(np.float32)
    held_x, held_legal = games.random_positions(spec, 256, seed=2, max_plies=30)
    feeds = ({"observation": b} for b in np.array_split(calibrate, 4))
    int8 = onnx_session(quantize_int8(exported, feeds), threads)
    result: dict = {"bench": "onnx", "game": spec.name, "network": vars(network), "repeats": repeats,
                    "seconds": seconds, "snapshot": source, **host(),
                    "int8_error": int8_error(session, int8, held_x.astype(np.float32), held_legal)}
    for batch in batches:
        xb, lb = np.ascontiguousarray(x[:batch]), np.ascontiguousarray(legal[:batch])
        runners: dict[str, Callable[[], object]] = {  # each bound to this batch's arrays
            "torch": lambda xb=xb: model(torch.from_numpy(xb)),
            "onnxruntime": lambda xb=xb: session.run(None, {"observation": xb}),
            "onnxruntime_int8": lambda xb=xb: int8.run(None, {"observation": xb}),
            "arena_evaluator": lambda xb=xb, lb=lb: evaluator.evaluate(xb, lb),
        }
        runs: dict[str, list[float]] = {name: [] for name in runners}
        with torch.inference_mode():
            for run in runners.values():
                _rate(run, batch, warmup)
            for _ in range(repeats):
                for name, run in runners.items():
                    runs[name].append(_rate(run, batch, seconds))
        rates = {name: statistics.median(r) for name, r in runs.items()}
        result[f"batch_{batch}"] = {**{f"{name}_positions_per_second": round(rate, 1) for name, rate in rates.items()},
                                    "onnxruntime_vs_torch": round(rates["onnxruntime"] / rates["torch"], 3),
                                    "int8_vs_onnxruntime": round(rates["onnxruntime_int8"] / rates["onnxruntime"], 3),
                                    "runs": {name: [round(r, 1) for r in rs] for name, rs in runs.items()}}
    return result
