"""The run directory contract: `checkpoints/<run>/` holds everything a run needs.

Layout: `config.toml` (resolved config), `snapshots/step-*.pt`, `learner.pt`, `trajectories/*.h5`,
`metrics.jsonl`, `status.json`, `tensorboard/<agent>/` (league/run/curves.py). The root is `checkpoints/` under the working directory, or
`$ARENA_HOME` when set. The main agent lives in the run directory itself; each other learning agent
has the same layout of its own under `agents/<name>/`: an agent is whatever has a directory there.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

from engine import config as cfg
from engine.errors import ArenaError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAIN = "main"  # the run's own learning agent
AGENTS = "agents"  # home of the other agents' directories


class RunError(ArenaError):
    """A missing or unusable run; one line naming the fix."""


def arena_version() -> str:
    """The installed Arena's version, as files and peers are stamped with it; "unknown" when the
    code runs from a checkout that pip never installed."""
    try:
        return importlib.metadata.version("arena")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def root() -> Path:
    return Path(os.environ.get("ARENA_HOME", "checkpoints"))


def run_path(name: str) -> Path:
    if not _NAME.fullmatch(name):  # not match: its $ also matches before a final newline
        raise RunError(f"run name {name!r} is not valid: use letters, digits, '_', '-' and '.' "
                       "(another agent of a run: RUN/AGENT)")
    return root() / name


def existing_run(name: str) -> Path:
    path = run_path(name)
    if not (path / "config.toml").is_file():
        known = sorted(p.parent.name for p in root().glob("*/config.toml"))
        hint = f" (runs here: {', '.join(known)})" if known else ""
        raise RunError(f"no run named '{name}' in {root()}{hint}: start it with `arena league run GAME --run {name}`")
    return path


def agent_dir(run_dir: Path, agent: str = MAIN) -> Path:
    """Where an agent keeps its snapshots, learner state and trajectories."""
    return Path(run_dir) if agent == MAIN else Path(run_dir) / AGENTS / agent


def agent_names(run_dir: Path) -> list[str]:
    """The run's agents other than main that have a directory, sorted."""
    folder = Path(run_dir) / AGENTS
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def load_config(run_dir: Path) -> cfg.RunConfig:
    return cfg.from_dict(cfg.read_toml(run_dir / "config.toml"))


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """`write` into a temp file beside `path`, fsync, then rename over `path`: all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode()))


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=1))


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file written by write_json; None when absent (writes are atomic, so never torn)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


def append_jsonl(path: Path, data: dict[str, Any]) -> None:
    """One line per record; a line torn by a kill is skipped by readers."""
    with open(path, "a") as f:
        f.write(json.dumps(data) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows
