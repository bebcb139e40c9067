"""`arena bench onnx`: onnxruntime against torch on the CPU, for the preset's network as `arena export`
writes it (untrained weights: speed does not depend on them).

Each runner gets the same real encoded positions and the same thread count, is warmed up first,
and is timed in turns with the others, `repeats` windows each; the figure is the median window, so
a shared host's drift hits all runners alike and one busy moment does not decide. Runners:
- torch: the network module, float32, eager, as it is exported;
- onnxruntime: the exported file in a CPU session;
- arena_evaluator: what Arena's search calls outside the league's actors (engine.nn.Evaluator: batch
  norm folded, traced, bfloat16 for batches where the CPU has AMX or AVX512_BF16; it also masks and
  softmaxes the policy). The actors' own run float32 calls in onnxruntime (engine/nn/ort.py).
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


def _rate(run: Callable[[], object], batch: int, seconds: float) -> float:
    """Positions/s of `run` (one call on `batch` positions) over at least `seconds`."""
    calls, start = 0, time.perf_counter()
    while True:
        run()
        calls += 1
        now = time.perf_counter()
        if now - start >= seconds:
            return calls * batch / (now - start)


def bench_onnx(game: str, batches: tuple[int, ...] = (1, 64), seconds: float = 1.0, repeats: int = 5,
               warmup: float = 1.0) -> dict:
    """Positions/s of each runner at each batch size: the median of `repeats` windows of `seconds`."""
    spec = games.load(game)
    config = default_config(spec.name)
    torch.manual_seed(config.seed)
    model = build(config.network, spec.encoder.shape, spec.num_actions).eval()
    threads = torch.get_num_threads()
    session = onnx_session(onnx_bytes(model, spec.encoder.shape), threads)
    evaluator = Evaluator([model], torch.device("cpu"))
    x, legal = games.random_positions(spec, max(batches))
    x = x.astype(np.float32)
    result: dict = {"bench": "onnx", "game": spec.name, "network": vars(config.network), "repeats": repeats,
                    "seconds": seconds, **host()}
    for batch in batches:
        xb, lb = np.ascontiguousarray(x[:batch]), np.ascontiguousarray(legal[:batch])
        runners: dict[str, Callable[[], object]] = {  # each bound to this batch's arrays
            "torch": lambda xb=xb: model(torch.from_numpy(xb)),
            "onnxruntime": lambda xb=xb: session.run(None, {"observation": xb}),
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
                                    "runs": {name: [round(r, 1) for r in rs] for name, rs in runs.items()}}
    return result
