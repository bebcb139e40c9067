"""onnxruntime as the Evaluator's float32 CPU backend.

Where a CPU computes in float32 (no AMX or AVX512_BF16; and single positions everywhere),
onnxruntime runs Arena's networks faster than torch's traced calls (docs/benchmarks.md). A call
is exported with TorchScript's exporter, a third of a second for connect_four's network where
torch.export's takes seconds, and again at each new snapshot: the `onnx` package, needed to write
new weights into an exported graph, takes longer to import than an export takes. Without
onnxruntime (`pip install -e '.[onnx]'`), or where an export fails or disagrees with torch, the
Evaluator keeps its TorchScript calls.

With `int8`, a call runs the network quantized by onnxruntime's static quantization (int8 weights
per channel, uint8 activations; 1.4-2.6x float32 there, docs/benchmarks.md), the lever for CPUs
without fast bfloat16. Its ranges are calibrated on positions the call has just evaluated, again
at each new snapshot, and the quantized network is used only where it agrees with float32 on
other recent positions (INT8_TOP_MOVE, INT8_VALUE); until then, and wherever it does not, float32.
"""
from __future__ import annotations

import importlib.util
import io
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.nn.export import onnx_session

TOLERANCE = 1e-4  # largest |onnxruntime - torch| on the first batch accepted
CALIBRATION = 256  # recent positions int8's ranges are calibrated on, and as many more it is checked on
# int8 is used for a snapshot only where, on the check's positions, its most likely move is float32's
# in this share of them and its value moves by at most this on average (trained connect_four: 0.99, 0.012)
INT8_TOP_MOVE = 0.9
INT8_VALUE = 0.05


def available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def quantize_int8(model: bytes, feeds: Iterable[dict[str, np.ndarray]]) -> bytes:
    """`model` (a serialized float32 network) with int8 weights per channel and uint8 activations, their
    ranges calibrated on `feeds` (input name -> float32 batch), in QDQ form that onnxruntime fuses into
    integer kernels."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(feeds)

        def get_next(self) -> dict | None:
            return next(self.feeds, None)

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src, pre, out = (Path(tmp) / n for n in ("f32.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(model)
        # onnx's own shape inference: onnxruntime's symbolic one fails on the global-pooling Concat
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        return out.read_bytes()


def agreement(want: tuple[np.ndarray, np.ndarray], got: tuple[np.ndarray, np.ndarray]) -> dict:
    """How far priors and values `got` are from `want` (float32's): the largest change of a move's
    probability and of the value, the mean change of the value, how often the likeliest move stays."""
    (p32, v32), (p8, v8) = want, got
    return {"positions": len(v32), "policy_max_abs": round(float(np.abs(p8 - p32).max()), 4),
            "value_max_abs": round(float(np.abs(v8 - v32).max()), 4),
            "value_mean_abs": round(float(np.abs(v8 - v32).mean()), 4),
            "top_move_agreement": round(float((p8.argmax(1) == p32.argmax(1)).mean()), 4)}


class OrtCall:
    """A `_Call` (engine.nn.inference) run by onnxruntime: the same tensors in and out. onnxruntime
    runs the call's network; masking, softmax and the score utility stay with the `_Call` (`finish`),
    so the float32 and int8 sessions run the same graph.

    `reload` exports the module's current weights into a new session; the Evaluator calls it after
    copying a snapshot's weights into the module, where a traced torch call would see them at once.
    """

    def __init__(self, call: nn.Module, x: torch.Tensor, threads: int, int8: bool = False) -> None:
        self._call, self._threads, self._int8 = call, threads, int8
        self._example = x[:2].float().clone()
        # int8: the last 2 * CALIBRATION positions evaluated, and their legal masks (a ring)
        self._seen: tuple[np.ndarray, np.ndarray] | None = None
        self._filled = 0
        self.quantized = False  # this snapshot's network runs in int8
        self.check: dict | None = None  # int8 against float32 at the last quantization
        self.reload()

    @classmethod
    def of(cls, call: nn.Module, x: torch.Tensor, legal: torch.Tensor, int8: bool = False) -> OrtCall | None:
        """`call` in onnxruntime, checked against torch on (x, legal); None where it cannot be."""
        try:
            with torch.inference_mode(False), torch.no_grad():
                ort_call = cls(call, x, torch.get_num_threads(), int8)
                want = call(x, legal)
            got = ort_call._run(ort_call._session, x.numpy().astype(np.float32, copy=False), legal.numpy())
        except Exception:  # noqa: BLE001 - an exporter or runtime that cannot take this network: torch runs it
            return None
        worst = max(float((g - w).abs().max()) for g, w in zip(got, want)) if len(x) else 0.0
        return ort_call if worst <= TOLERANCE else None

    def _export(self) -> bytes:
        buffer = io.BytesIO()
        outputs = [f"out{i}" for i in range(3 if self._call.utility is not None else 2)]
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(self._call.net, (self._example.contiguous(memory_format=torch.channels_last)
                                               if self._example.dim() == 4 else self._example,),
                              buffer, input_names=["x"], output_names=outputs,
                              dynamic_axes={name: {0: "batch"} for name in ["x", *outputs]}, dynamo=False)
        return buffer.getvalue()

    def reload(self) -> None:
        self._float32 = self._export()
        self._session = onnx_session(self._float32, self._threads)
        self.quantized = False
        if self._filled >= 2 * CALIBRATION:
            self._quantize()

    def _quantize(self) -> None:
        """int8 for the current weights, calibrated on every other recent position and checked on
        the rest; float32 stays where int8 strays too far from it."""
        x, legal = self._seen
        calibrate, held = x[0::2], (x[1::2], legal[1::2])
        feeds = ({"x": b} for b in np.array_split(calibrate, max(1, len(calibrate) // 64)))
        try:
            session = onnx_session(quantize_int8(self._float32, feeds), self._threads)
        except Exception:  # noqa: BLE001 - a graph the quantizer cannot take: float32 runs it
            self.check = None
            return
        results = [tuple(t.numpy() for t in self._run(s, *held)) for s in (self._session, session)]
        self.check = agreement(*results)
        if self.check["top_move_agreement"] >= INT8_TOP_MOVE and self.check["value_mean_abs"] <= INT8_VALUE:
            self._session, self.quantized = session, True

    def _remember(self, x: np.ndarray, legal: np.ndarray) -> None:
        """Keep the positions of a batch for int8's next calibration; once the ring first fills, quantize."""
        size = 2 * CALIBRATION
        if self._seen is None:
            self._seen = np.zeros((size, *x.shape[1:]), np.float32), np.zeros((size, *legal.shape[1:]), bool)
        rows = min(len(x), size)
        at = (self._filled + np.arange(rows)) % size
        self._seen[0][at], self._seen[1][at] = x[:rows], legal[:rows]
        self._filled += rows
        if self._filled >= size and self._filled - rows < size:
            self._quantize()

    def _run(self, session, x: np.ndarray, legal: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        out = session.run(None, {"x": x})
        return self._call.finish([torch.from_numpy(o) for o in out], torch.from_numpy(legal))

    def __call__(self, x: torch.Tensor, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xn, ln = x.numpy().astype(np.float32, copy=False), legal.numpy()
        if self._int8 and len(xn) > 1:
            self._remember(xn, ln)
        return self._run(self._session, xn, ln)
