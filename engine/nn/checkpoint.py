"""Snapshots and learner state on disk: atomic writes, `weights_only` loads, game checks.

A snapshot (`snapshots/step-000200.pt`) is what a user may be handed: the network weights plus the
game, network config, step and format version (and, from learners that keep one apart from their
current weights, the output policy's weights: bots play those), all plain tensors and strings (no
pickle needed to read it back: it loads with `torch.load(weights_only=True)`). The learner's own state (optimizer,
step, sample counters) lives beside it in `learner.pt` so a resumed run continues exactly.
"""
from __future__ import annotations

import dataclasses
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

import games
from engine import files, rundir
from engine.config import NetworkConfig, network_from_dict
from engine.nn.networks import build, has_aux_heads
from engine.errors import ArenaError

FORMAT = "arena-snapshot"
VERSION = 1
_STEP_FILE = re.compile(r"step-(\d+)\.pt$")


class CheckpointError(ArenaError):
    """A snapshot that cannot be used here; the message is one line naming the fix."""


class SnapshotDamaged(CheckpointError):
    """A file whose bytes do not load (torn, truncated, overwritten), as opposed to a whole snapshot of
    another game or format: a run moves it to quarantine and falls back to an older one."""

    def __init__(self, message: str, problem: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.problem, self.path = problem, path


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temp file in the same directory, fsync, then rename over `path`."""
    rundir.atomic_write(path, lambda f: torch.save(obj, f))


def load_file(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"snapshot {path} not found: check the path or the run name") from None
    except MemoryError:
        raise
    except Exception as exc:  # a torn or foreign file
        raise SnapshotDamaged(f"{path} is not a readable Arena snapshot ({type(exc).__name__}): pick another "
                              "snapshot of the run (`arena league repair RUN` moves it aside)",
                              f"truncated or overwritten: {type(exc).__name__}", Path(path)) from None


@dataclass
class Snapshot:
    game: str  # OpenSpiel game string
    network: NetworkConfig
    obs_shape: tuple[int, ...]
    num_actions: int
    step: int
    weights: list[dict[str, torch.Tensor]]  # one per network: 1 shared, or one per seat
    path: Path | None = None
    # The output policy, where the learner keeps one apart from its current weights (mmd: its
    # magnet, an average of recent iterates). Actors go on playing `weights`; bots play this.
    output: list[dict[str, torch.Tensor]] | None = None

    def build_models(self, device: torch.device | str = "cpu", output: bool = False) -> list[nn.Module]:
        """The networks of the current weights, or with `output` of the output policy where there is one."""
        models = []
        for state in (self.output if output and self.output else self.weights):
            # The weights say whether the network has the auxiliary heads: a Snapshot made in memory
            # carries its config's wish for them, which only Go's resnets fulfil.
            heads = any(key.startswith("ownership_head.") for key in state)
            network = dataclasses.replace(self.network, aux_heads=heads)
            model = build(network, self.obs_shape, self.num_actions, ownership=heads)
            model.load_state_dict(state)
            models.append(model.to(device).eval())
        return models


def state_dicts(models: list[nn.Module]) -> list[dict[str, torch.Tensor]]:
    """The models' weights as CPU tensors, ready to save."""
    return [{k: v.detach().cpu() for k, v in m.state_dict().items()} for m in models]


def save_snapshot(path: Path, game: str, network: NetworkConfig, obs_shape: tuple[int, ...], num_actions: int,
                  step: int, models: list[nn.Module], output: list[nn.Module] | None = None) -> None:
    # Recorded as built: a config asks for the heads, but only Go's resnets have them.
    network = dataclasses.replace(network, aux_heads=has_aux_heads(models[0]))
    data = {"format": FORMAT, "version": VERSION, "game": game, "network": dataclasses.asdict(network),
            "obs_shape": list(obs_shape), "num_actions": num_actions, "step": step, "created": time.time(),
            "weights": state_dicts(models)}
    if output is not None:
        data["output"] = state_dicts(output)
    atomic_save(data, path)


def load_snapshot(path: Path, game: str | None = None) -> Snapshot:
    """Read a snapshot; refuse one of another format version or, when `game` is given, another game."""
    data = load_file(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an Arena snapshot: give a step-*.pt file from checkpoints/<run>/snapshots")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path} has snapshot format {data.get('version')}, this Arena reads {VERSION}: "
                              "upgrade Arena or re-export the snapshot")
    if game is not None and data["game"] != game and not _same_game(data["game"], game):
        raise CheckpointError(f"snapshot {path} was trained on '{data['game']}', not '{game}': "
                              f"use a snapshot of {game}, or play {data['game']}")
    return Snapshot(game=data["game"], network=network_from_dict(data["network"]), obs_shape=tuple(data["obs_shape"]),
                    num_actions=int(data["num_actions"]), step=int(data["step"]), weights=list(data["weights"]),
                    path=Path(path), output=list(data["output"]) if "output" in data else None)


def _same_game(trained: str, given: str) -> bool:
    """Two spellings of one game (`go(board_size=9)` and go9's string): every parameter compared."""
    try:
        return games.same_game(trained, given)
    except games.GameError:  # a game this Arena cannot load is not the one given
        return False


def snapshot_path(run_dir: Path, step: int) -> Path:
    return run_dir / "snapshots" / f"step-{step:07d}.pt"


def list_snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every snapshot of a run, oldest first; temp files are ignored."""
    folder = run_dir / "snapshots"
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_FILE.search(p.name))]
    return sorted(found)


def latest_snapshot(run_dir: Path) -> tuple[int, Path] | None:
    snaps = list_snapshots(run_dir)
    return snaps[-1] if snaps else None


def latest_readable(run_dir: Path, game: str | None = None, above: int = -1) -> Snapshot | None:
    """The newest snapshot of `run_dir` newer than step `above` that loads; damaged newer ones are
    moved to quarantine on the way (one warning each), and one deleted meanwhile (pool pruning) is
    passed over. None when there is none. A snapshot of another game still raises."""
    for step, path in reversed(list_snapshots(run_dir)):
        if step <= above:
            return None
        try:
            return load_snapshot(path, game)
        except SnapshotDamaged as exc:
            files.quarantine(path, exc.problem, "falling back to an older snapshot")
        except CheckpointError:
            if path.exists():
                raise
    return None


def load_learner_state(path: Path, game: str) -> dict[str, Any] | Snapshot | None:
    """A learner's saved state (`learner.pt`); when it is damaged it goes to quarantine, and when it
    is missing beside snapshots (quarantined by `arena league repair`, deleted), the newest snapshot
    that loads stands in for it (its weights, a fresh optimizer): a Snapshot. None for a fresh
    learner: neither a state nor a snapshot."""
    if not path.exists():
        snap = latest_readable(path.parent, game)
        if snap is not None:
            print(f"warning: no learner state ({path}): the learner resumes from snapshot step-{snap.step} with a "
                  "fresh optimizer", file=sys.stderr, flush=True)
        return snap
    try:
        return load_file(path)
    except SnapshotDamaged as exc:
        snap = latest_readable(path.parent, game)
        files.quarantine(path, exc.problem, f"the learner resumes from snapshot step-{snap.step} with a fresh "
                          "optimizer" if snap else "the learner starts afresh (no snapshot reads either)")
        return snap
