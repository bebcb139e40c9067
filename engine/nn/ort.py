"""onnxruntime as the Evaluator's float32 CPU backend.

Where a CPU computes in float32 (no AMX or AVX512_BF16; and single positions everywhere),
onnxruntime runs Arena's networks faster than torch's traced calls (docs/benchmarks.md). A call
is exported with TorchScript's exporter, a third of a second for connect_four's network where
torch.export's takes seconds, and again at each new snapshot: the `onnx` package, needed to write
new weights into an exported graph, takes longer to import than an export takes. Without
onnxruntime (`pip install -e '.[onnx]'`), or where an export fails or disagrees with torch, the
Evaluator keeps its TorchScript calls.
"""
from __future__ import annotations

import importlib.util
import io
import warnings

import torch
from torch import nn

from engine.nn.export import onnx_session

INPUTS = ("x", "legal")
OUTPUTS = ("priors", "values")
TOLERANCE = 1e-4  # largest |onnxruntime - torch| on the first batch accepted


def available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


class OrtCall:
    """A `_Call` (engine.nn.inference) run by onnxruntime: the same tensors in and out.

    `reload` exports the module's current weights into a new session; the Evaluator calls it after
    copying a snapshot's weights into the module, where a traced torch call would see them at once.
    """

    def __init__(self, call: nn.Module, x: torch.Tensor, legal: torch.Tensor, threads: int) -> None:
        self._call, self._threads = call, threads
        self._example = x[:2].clone(), legal[:2].clone()
        self.reload()

    @classmethod
    def of(cls, call: nn.Module, x: torch.Tensor, legal: torch.Tensor) -> OrtCall | None:
        """`call` in onnxruntime, checked against torch on (x, legal); None where it cannot be."""
        try:
            with torch.inference_mode(False), torch.no_grad():
                ort_call = cls(call, x, legal, torch.get_num_threads())
                want = call(x, legal)
            got = ort_call(x, legal)
        except Exception:  # noqa: BLE001 - an exporter or runtime that cannot take this network: torch runs it
            return None
        worst = max(float((g - w).abs().max()) for g, w in zip(got, want)) if len(x) else 0.0
        return ort_call if worst <= TOLERANCE else None

    def reload(self) -> None:
        buffer = io.BytesIO()
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(self._call, self._example, buffer, input_names=list(INPUTS),
                              output_names=list(OUTPUTS),
                              dynamic_axes={name: {0: "batch"} for name in INPUTS + OUTPUTS}, dynamo=False)
        self._session = onnx_session(buffer.getvalue(), self._threads)

    def __call__(self, x: torch.Tensor, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        priors, values = self._session.run(list(OUTPUTS), {"x": x.numpy(), "legal": legal.numpy()})
        return torch.from_numpy(priors), torch.from_numpy(values)
