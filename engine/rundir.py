"""The run directory contract: `checkpoints/<run>/` holds everything a run needs.

Layout: `config.toml` (resolved config), `snapshots/step-*.pt`, `learner.pt`, `trajectories/*.h5`,
`metrics.jsonl`, `status.json`, `tensorboard/<agent>/` (league/run/curves.py). The root is `checkpoints/` under the working directory, or
`$ARENA_HOME` when set. The main agent lives in the run directory itself; each other learning agent
has the same layout of its own under `agents/<name>/`: an agent is whatever has a directory there.
A file found unreadable (a torn copy, a disk error) is moved into `quarantine/` beside it, never
deleted (engine/files.py).
"""
from __future__ import annotations

import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import re
import signal
import tempfile
import threading
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from engine import config as cfg
from engine.errors import ArenaError, writing


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAIN = "main"  # the run's own learning agent
AGENTS = "agents"  # home of the other agents' directories
LEARNER_STATE = "learner.pt"  # every learner's saved state (engine/train), beside its snapshots/


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


def agent_homes(run_dir: Path) -> list[Path]:
    """Every agent's directory, main's (the run's own) first."""
    return [agent_dir(run_dir, a) for a in (MAIN, *agent_names(run_dir))]


def name_process(name: str) -> None:
    """Name this process as `ps`, `top` and `arena bench soak` show it (Linux's comm, 15 bytes): a run's
    processes are spawned interpreters whose command lines are all alike. A no-op elsewhere."""
    try:
        Path("/proc/self/comm").write_text(name[:15])
    except OSError:
        pass


def spawner_pid() -> int:
    """The pid of the process that started this one with multiprocessing (its own pid when none did).
    A child that reads os.getppid() late gets init's pid when its parent died while it was still
    importing, and would then outlive the session it serves."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid is not None else os.getppid()


def load_config(run_dir: Path) -> cfg.RunConfig:
    return cfg.from_dict(cfg.read_toml(run_dir / "config.toml"))


class _Recording:
    """The temp file as `write` sees it, keeping the first OSError: torch.save reports a failed
    write as a RuntimeError of its own, and the disk-full errno lives on only here."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.file.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


class _Counter:
    """A sink that only counts bytes: how much a write needed, measured when the disk refused it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass


def _measure(write: Callable[[BinaryIO], None]) -> int:
    counter = _Counter()
    try:
        write(counter)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - only the message's estimate is at stake
        pass
    return counter.size


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM that arrive during a write take effect after it: raised inside torch.save,
    an interrupt breaks its zip writer, whose RuntimeError then hides the KeyboardInterrupt."""
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in signals}
    if threading.current_thread() is not threading.main_thread() or None in previous.values():
        yield  # only the main thread may set handlers; None: a handler Python did not install
        return
    caught: list[int] = []
    for s in signals:
        signal.signal(s, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])  # now, to the handler that was there before


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """`write` into a temp file beside `path`, fsync, then rename over `path`: all or nothing.
    A full disk removes the temp file and raises DiskFullError (the old `path` is untouched)."""
    with _interrupts_held(), writing(path.parent, lambda: _measure(write)):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                out = _Recording(f)
                try:
                    write(out)  # type: ignore[arg-type]
                except Exception as exc:
                    if out.error is not None and out.error is not exc:
                        raise out.error from exc
                    raise
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
    """One line per record; a line torn by a kill is skipped by readers. A full disk cuts the
    file back to its last whole line (so the next record starts a line of its own) and raises
    DiskFullError."""
    line = (json.dumps(data) + "\n").encode()
    # Unbuffered, so nothing is left to flush at close after a failure cut the file back.
    with writing(path.parent, len(line)), open(path, "ab", buffering=0) as f:
        size = f.seek(0, os.SEEK_END)
        try:
            rest = memoryview(line)
            while rest:
                rest = rest[f.write(rest):]
        except OSError:
            f.truncate(size)
            raise


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
