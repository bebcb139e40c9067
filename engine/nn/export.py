"""ONNX export of a snapshot's network, to serve it outside Arena (onnxruntime, TensorRT, a browser).

The file holds the network alone: input `observation` (float32 [batch, *encoder shape], the batch
axis dynamic), outputs `policy_logits` [batch, num_actions] and `value` [batch]. Masking illegal
actions, softmax and search stay with the caller, as they do for engine.nn.Evaluator's callers. A
JSON sidecar beside it (same name, `.json`) says what the tensors mean: game, encoder, which weights,
step, versions. torch's own exporter writes it (torch.export-based, torch's default since 2.9; the
TorchScript one is deprecated), and onnxruntime runs the result on real positions of the game before
anything is written, so a file that disagrees with torch is never kept.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import games
from engine import rundir
from engine.errors import ArenaError
from engine.nn.checkpoint import Snapshot

INSTALL = "pip install -e '.[onnx]'"
INPUT = "observation"
OUTPUTS = ("policy_logits", "value")
TOLERANCE = 1e-4  # largest |onnxruntime - torch| accepted on the check's positions
CHECK_POSITIONS = 16
FORMAT = "arena-onnx"
VERSION = 1


class ExportError(ArenaError):
    """An export that cannot be made: a missing package, a snapshot or path it cannot use; one line."""


def require_onnx() -> None:
    """Refuse in one line unless torch's exporter (onnx, onnxscript) and onnxruntime import."""
    missing = []
    for name in ("onnx", "onnxscript", "onnxruntime"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ExportError(f"ONNX export needs {', '.join(missing)}, not installed here: {INSTALL}")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter logs each pass and warns of torchvision ops it skips: none of it is for the user."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def onnx_bytes(model: nn.Module, obs_shape: tuple[int, ...], metadata: dict[str, str] | None = None) -> bytes:
    """`model` as a serialized float32 ONNX model with the named input and outputs, any batch size;
    `metadata` goes into the model's own metadata_props, so the file describes itself too."""
    require_onnx()
    # A contiguous float32 copy on the CPU: learners keep theirs channels-last, perhaps on a GPU.
    model = copy.deepcopy(model).to("cpu", torch.float32, memory_format=torch.contiguous_format).eval()
    example = torch.zeros(2, *obs_shape)  # batch 2: an example of 1 lets the exporter fix the batch at 1
    with _quiet():
        program = torch.onnx.export(model, (example,), input_names=[INPUT], output_names=list(OUTPUTS),
                                    dynamic_shapes=({0: torch.export.Dim("batch")},), dynamo=True, verbose=False)
    proto = program.model_proto
    for key, value in (metadata or {}).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto.SerializeToString()


def onnx_session(model: bytes | Path, threads: int):
    """An onnxruntime CPU session on `threads` intra-op threads (one inter-op thread: the networks
    are one chain of layers, nothing runs beside it)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # idle pool threads would spin for the next call, taking cores the other processes need
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def differences(model: nn.Module, onnx_model: bytes, x: np.ndarray) -> dict[str, float]:
    """Largest |onnxruntime - torch| of each output on positions `x` (float32 [batch, *shape])."""
    with torch.inference_mode():
        want = [t.numpy() for t in model.eval()(torch.from_numpy(x))]
    got = onnx_session(onnx_model, torch.get_num_threads()).run(list(OUTPUTS), {INPUT: x})
    return {name: float(np.max(np.abs(g - w))) for name, g, w in zip(OUTPUTS, got, want)}


@dataclass
class OnnxExport:
    """The sidecar beside an exported network (FILE with `.json`): what its tensors mean, and whence."""

    game: str  # OpenSpiel game string
    learner: str | None  # "alphazero" or "mmd": what trained the weights
    encoder: str  # games.load(game).encoder.name
    inputs: dict[str, dict[str, Any]]  # name -> shape, dtype, meaning
    outputs: dict[str, dict[str, Any]]
    num_actions: int
    network: dict[str, Any]  # engine.config.NetworkConfig
    networks: str  # "shared", or "per_player": this file is one seat's network
    seat: int | None
    weights: str  # "current", or "output" (MMD's magnet: the policy Arena's bots play)
    step: int
    snapshot: str
    onnx: str  # the model file's name, beside this one
    opset: int
    arena_version: str
    torch_version: str
    check: dict[str, Any]  # onnxruntime against torch on real positions of the game
    format: str = FORMAT
    version: int = VERSION


def _meanings(learner: str | None, weights: str, num_actions: int) -> tuple[str, str]:
    """What policy_logits and value are, in the words of the code that trained them."""
    policy = (f"unnormalised log-probabilities over all {num_actions} distinct actions, illegal ones "
              "included: set illegal entries to -inf (state.legal_actions_mask()), then softmax")
    if learner == "mmd":
        if weights == "output":
            policy += "; the output policy (MMD's magnet), what Arena's bots play: sample from it"
        return policy, ("untrained: MMD fits the policy alone (its critic stays in the run's learner.pt); "
                        "ignore it")
    value = ("the final return the player to move expects, in [-1, 1] (tanh): the learner's target is "
             "that player's game result, mixed with the root search value by train.q_mix")
    return policy + "; the prior of Arena's PUCT search (its argmax plays without search)", value


def _writable(path: Path) -> None:
    """Refuse now, before the export's seconds, a path whose folder cannot take a new file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}: choose a writable path") from None


def export_snapshot(snapshot: Snapshot, path: Path, seat: int | None = None) -> OnnxExport:
    """Write the network Arena's bots play of `snapshot` (one seat's, of per-player networks) to
    `path` as ONNX and its sidecar to `path` with `.json`, each atomically; return the sidecar."""
    path = Path(path)
    if path.suffix == ".json":
        raise ExportError(f"{path} would be overwritten by the JSON sidecar: name the model file *.onnx")
    require_onnx()
    count = len(snapshot.weights)
    if count > 1 and seat is None:
        raise ExportError(f"the snapshot holds one network per seat (networks = \"per_player\"): "
                          f"pass --seat 0..{count - 1}")
    if count == 1 and seat is not None:
        raise ExportError("--seat picks one of per-player networks; this snapshot has one shared network: drop --seat")
    if seat is not None and not 0 <= seat < count:
        raise ExportError(f"--seat {seat} is out of range: the snapshot holds {count} network(s), "
                          f"seats 0..{count - 1}")
    try:
        spec = games.load(snapshot.game).for_input(snapshot.obs_shape)
    except games.GameError:
        raise ExportError(f"the snapshot reads {snapshot.obs_shape}, this Arena encodes {snapshot.game} as "
                          f"{games.load(snapshot.game).encoder.shape}: export it with the Arena version that "
                          "trained it") from None
    encoding = "games.load(game)" + (".with_liberties(True)" if snapshot.network.liberties else "") + ".encoder"
    _writable(path)
    weights = "output" if snapshot.output else "current"
    model = snapshot.build_models("cpu", output=True)[seat or 0]  # output=True: what bots play
    version = rundir.arena_version()
    data = onnx_bytes(model, snapshot.obs_shape, {"game": snapshot.game, "encoder": spec.encoder.name,
                                                  "step": str(snapshot.step), "arena_version": version})
    x = games.random_positions(spec, CHECK_POSITIONS)[0].astype(np.float32)
    diffs = differences(model, data, x)
    if max(diffs.values()) > TOLERANCE:
        worst = max(diffs, key=diffs.get)
        raise ExportError(f"onnxruntime's {worst} differs from torch's by {diffs[worst]:.2g} (> {TOLERANCE}) on "
                          f"real positions: the file was not written; report this with `pip list | grep -i onnx`")
    import onnx

    policy, value = _meanings(spec.learner, weights, snapshot.num_actions)
    batch: list[Any] = ["batch"]
    info = OnnxExport(
        game=snapshot.game, learner=spec.learner, encoder=spec.encoder.name,
        inputs={INPUT: {"shape": batch + list(snapshot.obs_shape), "dtype": "float32",
                        "meaning": f"the position as the player to move sees it: {encoding}"
                                   f".encode(state) (numpy {np.dtype(spec.encoder.dtype).name}), cast to float32"}},
        outputs={"policy_logits": {"shape": batch + [snapshot.num_actions], "dtype": "float32", "meaning": policy},
                 "value": {"shape": batch, "dtype": "float32", "meaning": value}},
        num_actions=snapshot.num_actions, network=dataclasses.asdict(snapshot.network),
        networks="per_player" if count > 1 else "shared", seat=seat, weights=weights, step=snapshot.step,
        snapshot=str(snapshot.path) if snapshot.path else "", onnx=path.name,
        opset=max(o.version for o in onnx.load_from_string(data).opset_import if o.domain in ("", "ai.onnx")),
        arena_version=version, torch_version=torch.__version__,
        check={"positions": len(x), "tolerance": TOLERANCE, "max_abs_difference": diffs})
    if seat is not None:
        info.inputs[INPUT]["meaning"] += f"; this is seat {seat}'s network: feed it positions where player {seat} moves"
    try:
        rundir.atomic_write(path, lambda f: f.write(data))
        rundir.write_json(path.with_suffix(".json"), dataclasses.asdict(info))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}: choose a writable path") from None
    return info
