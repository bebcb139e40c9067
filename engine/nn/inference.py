"""Batched network evaluation for search: numpy positions in, masked priors and values out.

One `Evaluator` wraps either a shared network or one network per seat; with per-seat networks each
position goes to the network of its player to move, still one forward pass per network per batch.
Inference runs on copies with batch norm folded into the convolutions (one pass over the data
fewer); `load` refreshes them whenever new weights arrive. Where the hardware multiplies bfloat16
natively (CPUs with AMX or AVX512_BF16, CUDA GPUs that support it), batches of two or more run on a
bfloat16 copy, 2-3x faster there; one position at a time stays float32, which is faster there. In
the league's actor processes float32 calls run in onnxruntime where it is installed (engine/nn/ort.py). `NetworkStreams`
runs network calls on worker threads, one torch thread each, for searches that keep several calls
in flight. Figures: docs/benchmarks.md. `ownership` reads a Go network's auxiliary heads (owners and
expected score), untraced and in float32: for scoring a position now and then. Search reads the
score head through `score_utility` (search.score_utility): KataGo's static score utility mixed into the value.
"""
from __future__ import annotations

import copy
import math
import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from torch import nn
from torch.fx.experimental.optimization import fuse

from engine.errors import ArenaError
from engine.nn import ort
from engine.nn.networks import SCORE_EXTRA, has_aux_heads, score_bins


def low_precision(device: torch.device) -> torch.dtype | None:
    """bfloat16 where `device` multiplies it natively, else None (emulated bfloat16 is slower)."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        # AVX512_BF16 (AMD Zen 4, Intel Cooper Lake) has bfloat16 dot products too: half AMX's gain
        # over float32, still ~2x on the go9 and connect_four networks (docs/benchmarks.md)
        capabilities = getattr(torch.cpu, "get_capabilities", dict)()
        native = capabilities.get("amx_bf16", False) or capabilities.get("avx512_bf16", False)
        if native and not _onednn_below_bf16():
            return torch.bfloat16
    return None


# oneDNN's instruction sets without bfloat16 dot products. ONEDNN_MAX_CPU_ISA caps the ISA that
# torch's convolutions use: capped to one of these, bfloat16 would run emulated. It is also how
# an AMX or AVX-512 host is made to compute as an AVX2-only one, to measure for such hosts.
_ONEDNN_ISAS_WITHOUT_BF16 = {"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI"}


def _onednn_below_bf16() -> bool:
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    return cap.strip().upper() in _ONEDNN_ISAS_WITHOUT_BF16


def score_utility_table(points: int) -> torch.Tensor:
    """KataGo's static score utility of each score bin (networks.score_bins): (2/π)·atan(margin / √points),
    in (-1, 1), saturating: a few points matter while the game is close, a rout's last points hardly."""
    return torch.atan(score_bins(points) / math.sqrt(points)) * (2 / math.pi)


class _ScoreHeads(nn.Module):
    """A network with the auxiliary heads as a score-utility search calls it: policy logits, value and
    score logits from one trunk pass (the ownership head, a 1x1 convolution, comes along unused)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    @staticmethod
    def points(net: nn.Module) -> int:
        """The board's points, read off the score head's 2 * (points + SCORE_EXTRA) bins."""
        return net.score_head[-1].out_features // 2 - SCORE_EXTRA

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        heads = self.net.heads(x)
        return heads.policy, heads.value, heads.score


class _Call(nn.Module):
    """One network call as search makes it: encoded positions and legal masks in, float32 priors
    (softmax over legal actions) and values out, with the input cast to the network's precision.
    With a score utility λ = `factor` (`net` then a `_ScoreHeads`), the value is
    (v + λ·E[score utility]) / (1 + λ), still in [-1, 1]: a won game still prefers the line that
    keeps its margin (takes dead stones off rather than passing them away)."""

    def __init__(self, net: nn.Module, dtype: torch.dtype, factor: float = 0.0, points: int = 0) -> None:
        super().__init__()
        self.net, self.dtype, self.factor = net, dtype, float(factor)
        # a plain attribute, not a buffer: it stays float32 when the network is cast to bfloat16
        self.utility = score_utility_table(points).to(next(net.parameters()).device) if factor else None

    def forward(self, x: torch.Tensor, legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.to(self.dtype)
        if x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.finish(self.net(x), legal)

    def finish(self, out: Sequence[torch.Tensor], legal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Priors and values from the network's outputs (the part onnxruntime's calls leave to torch)."""
        logits, values = out[0], out[1].float()
        if self.utility is not None:
            expected = torch.softmax(out[2].float(), dim=-1) @ self.utility
            values = (values + self.factor * expected) / (1 + self.factor)
        logits = logits.float().masked_fill(~legal, float("-inf"))
        return torch.softmax(logits, dim=-1), values


def _trace(call: _Call, x: torch.Tensor, legal: torch.Tensor) -> Callable:
    """TorchScript trace of `call`, or `call` itself where tracing fails. Recent torch marks
    torch.jit deprecated in favour of torch.compile/torch.export, which need a C++ toolchain and
    tens of seconds per network here; a trace takes milliseconds and is redone at every new snapshot."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.trace(call, (x, legal), check_trace=False)
    except Exception:  # noqa: BLE001 - a network TorchScript cannot trace runs eagerly
        return call


class Evaluator:
    def __init__(self, models: Sequence[nn.Module], device: torch.device | None = None,
                 onnxruntime: bool = False, int8: bool = False) -> None:
        """`onnxruntime`: run float32 CPU calls there (engine/nn/ort.py), for processes that live long
        enough to earn its start-up (importing the exporter takes ~2 s): the league's actors. `int8`:
        every call there, quantized to int8 where that stays close to float32 (selfplay.int8)."""
        self.device = device or next(models[0].parameters()).device
        self.onnxruntime = (onnxruntime or int8) and self.device.type == "cpu" and ort.available()
        self.int8 = int8 and self.onnxruntime
        self.models = [m.to(self.device).eval() for m in models]
        self.obs_shape: tuple[int, ...] | None = getattr(models[0], "obs_shape", None)  # None: any module
        self._aux_heads = all(has_aux_heads(m) for m in self.models)  # fixed by the architecture: asked per call
        self.low_precision = low_precision(self.device)
        # search.score_utility, set by the search built on this evaluator (engine.search.BatchedMCTS);
        # read only where every network has the score head
        self.score_utility = 0.0
        self._lock = threading.Lock()
        self._fold_all()
        self.calls = 0
        self.positions = 0

    def _precision(self, batch: int) -> torch.dtype:
        """Single positions run in float32 (faster one at a time); batches in low precision if any.
        int8 quantizes the float32 network, for every call."""
        return torch.float32 if batch == 1 or self.int8 else self.low_precision or torch.float32

    def _fold_all(self) -> None:
        dtypes = {self._precision(1), self._precision(2)}
        # per seat: (precision, score utility) -> call; those with a utility are made at first use
        self._folded = [{(d, 0.0): self._as_call(self._fold(m), d) for d in dtypes} for m in self.models]
        self._traced: dict[tuple, Callable] = {}  # (seat, precision, utility, input dtype) -> call

    @staticmethod
    def _fold(model: nn.Module) -> nn.Module:
        """A copy of `model` with batch norm folded into the convolutions."""
        try:
            return fuse(copy.deepcopy(model))
        except Exception:  # a module torch.fx cannot trace runs unfused
            return copy.deepcopy(model)

    @staticmethod
    def _as_call(folded: nn.Module, dtype: torch.dtype, factor: float = 0.0, points: int = 0) -> _Call:
        # NHWC (channels-last) convolutions run faster on CPU, batched and one position at a time
        return _Call(folded.to(dtype=dtype, memory_format=torch.channels_last), dtype, factor, points)

    def _call(self, seat: int, x: torch.Tensor, legal: torch.Tensor) -> Callable:
        """The call for this batch, traced by TorchScript at its first use: a traced call runs in C++
        without taking the GIL back between layers, so network streams keep running while the
        search's own thread runs Python."""
        precision = self._precision(len(x))
        utility = self.score_utility if self.score_utility and self.has_aux_heads else 0.0
        key = (seat, precision, utility, x.dtype)
        call = self._traced.get(key)
        if call is None:
            with self._lock, torch.no_grad():
                call = self._traced.get(key)
                if call is None:
                    folded = self._folded[seat]
                    if (precision, utility) not in folded:
                        model = self.models[seat]
                        with torch.inference_mode(False):  # weights `load` can still copy into
                            folded[precision, utility] = self._as_call(
                                self._fold(_ScoreHeads(model)), precision, utility, _ScoreHeads.points(model))
                    call = self._traced[key] = self._compile(folded[precision, utility], precision, x, legal)
        return call

    def _compile(self, call: _Call, precision: torch.dtype, x: torch.Tensor, legal: torch.Tensor) -> Callable:
        """onnxruntime's session of `call` for float32 where asked for (faster there: engine/nn/ort.py),
        else its TorchScript trace."""
        if self.onnxruntime and precision == torch.float32:
            with torch.inference_mode(False):  # the exporter traces: inference tensors cannot take part
                session = ort.OrtCall.of(call, x.clone(), legal.clone(), self.int8)
            if session is not None:
                return session
        return _trace(call, x, legal)

    def load(self, weights: Sequence[dict]) -> None:
        """New weights for every network (a fresh snapshot), folded again for inference.

        The folded weights are copied into the existing folded copies in place: their traced calls
        share those tensors, so they run the new weights without being traced again (actors poll
        for weights every few seconds, and tracing both precisions takes a tenth of a second).
        """
        for model, state, calls in zip(self.models, weights, self._folded):
            model.load_state_dict(state)
            folded = {u: self._fold(_ScoreHeads(model) if u else model).state_dict() for _, u in calls}
            for (_, utility), call in calls.items():  # copy_ casts to each call's precision and layout
                call.net.load_state_dict(folded[utility])
        for call in self._traced.values():
            if isinstance(call, ort.OrtCall):  # sessions hold copies of the weights: new ones
                call.reload()

    def warm(self, x: np.ndarray, legal: np.ndarray) -> None:
        """Trace every call ahead of use (one position and a batch, each seat) from one encoded
        position `x` and its legal mask: a first call traces, tens of ms and more on a busy machine,
        which a move under a clock or a timed benchmark should not pay."""
        for batch in (1, 2):
            for seat in range(len(self.models)):
                self._forward(seat, np.repeat(x[None], batch, 0), np.repeat(legal[None], batch, 0))

    @property
    def int8_checks(self) -> list[dict]:
        """int8 against float32 at each onnxruntime call's last quantization, and whether int8 runs."""
        return [{**c.check, "int8": c.quantized} for c in self._traced.values()
                if isinstance(c, ort.OrtCall) and c.check]

    @property
    def per_player(self) -> bool:
        return len(self.models) > 1

    @torch.inference_mode()
    def _forward(self, seat: int, x: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xt = torch.from_numpy(np.ascontiguousarray(x)).to(self.device, non_blocking=True)
        mask = torch.from_numpy(np.ascontiguousarray(legal)).to(self.device, non_blocking=True)
        priors, values = self._call(seat, xt, mask)(xt, mask)
        return priors.cpu().numpy(), values.cpu().numpy()

    def evaluate(self, x: np.ndarray, legal: np.ndarray, players: np.ndarray | None = None,
                 trees: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Priors [B, A] over legal actions and values [B] for the player to move at each position."""
        self.calls += 1
        self.positions += len(x)
        if not self.per_player:
            return self._forward(0, x, legal)
        priors = np.zeros(legal.shape, np.float32)
        values = np.zeros(len(x), np.float32)
        for seat in range(len(self.models)):
            rows = np.flatnonzero(players == seat)
            if len(rows):
                priors[rows], values[rows] = self._forward(seat, x[rows], legal[rows])
        return priors, values

    @torch.inference_mode()
    def flops(self, x: np.ndarray, legal: np.ndarray, players: np.ndarray | None = None,
              trees: np.ndarray | None = None) -> float:
        """Floating-point operations of the network call on positions `x` (counted on the torch
        module: onnxruntime's calls are invisible to torch's counter)."""
        from torch.utils.flop_counter import FlopCounterMode

        seat = int(players[0]) if self.per_player and players is not None and len(players) else 0
        call = self._folded[seat][torch.float32, 0.0]
        with FlopCounterMode(display=False) as counter:
            call(torch.from_numpy(np.ascontiguousarray(x)).to(self.device),
                 torch.from_numpy(np.ascontiguousarray(legal)).to(self.device))
        return float(counter.get_total_flops())

    @property
    def has_aux_heads(self) -> bool:
        """Whether every network has ownership and score heads (`ownership` answers)."""
        return self._aux_heads

    @torch.inference_mode()
    def ownership(self, x: np.ndarray, players: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Each point's expected final owner [B, H*W] in [-1, 1] and the expected final margin [B] of
        encoded positions `x`, both from the side of the player to move (+1: the mover's; Black's
        side is the negation where White is to move). `players` routes per-seat networks."""
        if not self.has_aux_heads:
            raise ArenaError("this network has no ownership and score heads: use a Go snapshot trained with "
                             "network.aux_heads = true (snapshots from before them have none)")
        owners: np.ndarray | None = None
        score = np.zeros(len(x), np.float32)
        for seat, model in enumerate(self.models):
            rows = np.flatnonzero(players == seat) if self.per_player else np.arange(len(x))
            if not len(rows):
                continue
            xt = torch.from_numpy(np.ascontiguousarray(x[rows], np.float32)).to(self.device)
            heads = model.heads(xt.contiguous(memory_format=torch.channels_last))
            if owners is None:
                owners = np.zeros((len(x), heads.ownership.shape[1]), np.float32)
            owners[rows] = torch.tanh(heads.ownership).float().cpu().numpy()
            bins = score_bins(heads.ownership.shape[1]).to(self.device)
            score[rows] = (torch.softmax(heads.score.float(), 1) @ bins).cpu().numpy()
        if owners is None:  # an empty batch
            owners = np.zeros((0, 0), np.float32)
        return owners, score


class RoutedEvaluator:
    """Each search tree's positions go to the evaluator its game is routed to.

    One BatchedMCTS then serves games against different opponents: one forward pass per distinct
    opponent per batch instead of one search per opponent.
    """

    def __init__(self, num_trees: int) -> None:
        self.route = np.full(num_trees, -1, np.int64)  # tree -> key in `evaluators`; -1: none
        self.score_utility = 0.0  # passed on to every evaluator (Evaluator.score_utility)
        self.evaluators: dict[int, Evaluator] = {}

    def evaluate(self, x: np.ndarray, legal: np.ndarray, players: np.ndarray | None = None,
                 trees: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        routes = self.route[trees]
        for evaluator in self.evaluators.values():
            evaluator.score_utility = self.score_utility
        priors = np.zeros(legal.shape, np.float32)
        values = np.zeros(len(x), np.float32)
        for key in np.unique(routes).tolist():
            rows = np.flatnonzero(routes == key)
            sub = None if players is None else players[rows]
            priors[rows], values[rows] = self.evaluators[key].evaluate(x[rows], legal[rows], sub)
        return priors, values

    def flops(self, x: np.ndarray, legal: np.ndarray, players: np.ndarray | None = None,
              trees: np.ndarray | None = None) -> float:
        """Evaluator.flops of the evaluator the first tree's game is routed to."""
        return self.evaluators[int(self.route[trees[0]])].flops(x, legal, players, trees)


class NetworkStreams:
    """Worker threads for network calls; with more than one, each runs torch on a single thread.

    On a small CPU, forward passes side by side on one thread each beat one pass on all threads,
    since the threads of one pass wait for each other at every layer. The main thread keeps its own torch thread count.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="network")
        # A forward pass takes the GIL back between layers; while the search's own thread runs
        # Python, a stream waits the switch interval (5 ms by default) for it each time.
        sys.setswitchinterval(min(sys.getswitchinterval(), 1e-4))
        if count > 1:
            self._pin_to_one_thread()

    def _pin_to_one_thread(self) -> None:
        # torch copies its process-wide thread count into a thread at that thread's first parallel
        # op; every worker takes 1 then, while the main thread waits, and the count is put back.
        threads = torch.get_num_threads()
        ready = threading.Barrier(self.count + 1)

        def pin() -> None:
            torch.set_num_threads(1)
            torch.ones(1 << 16).add_(1)  # a parallel op: fixes this thread's count
            ready.wait()

        for _ in range(self.count):
            self._pool.submit(pin)
        ready.wait()
        torch.set_num_threads(threads)

    def submit(self, fn: Callable, *args) -> Future:
        return self._pool.submit(fn, *args)
