"""Errors shared across engine's packages; every user-facing error derives from `ArenaError`."""
from __future__ import annotations

import contextlib
import errno
import math
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from games.errors import ArenaError

__all__ = ["ArenaError", "BotError", "DISK_FULL_EXIT", "DiskFullError", "exit_disk_full", "is_disk_full", "writing"]

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_MB = 1 << 20
# SQLite's codes for no room: SQLITE_FULL, and SQLITE_IOERR_SHMSIZE (no room to create or grow the
# WAL index file when a WAL database is opened on a full disk; SQLite says only "disk I/O error").
_SQLITE_FULL = {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE}
# A child process (actor, evaluator) that found the disk full exits with this status, after putting
# (key, {"disk_full": its line}) on its queue: the runner then stops the run with that line, and
# does not restart the child into the same full disk.
DISK_FULL_EXIT = 28


class BotError(ArenaError):
    """A player spec that names no player, or a player that cannot play this game; one line."""


class DiskFullError(ArenaError):
    """A write that found its disk (or quota) full; one line naming the directory and the space it needs.

    Built from its message alone (see `of`), so it pickles: actor processes hand it to the runner."""

    @classmethod
    def of(cls, directory: str | Path, needs: int = 0) -> DiskFullError:
        """The error for `directory`, whose failed write needed about `needs` bytes."""
        free = _free_bytes(Path(directory))
        shown = "?" if free is None else str(free // _MB)
        return cls(f"disk full writing {directory} (needs about {max(1, math.ceil(needs / _MB))} MB more; "
                   f"free space shows {shown} MB): free space, then run the same command to resume")


def _free_bytes(path: Path) -> int | None:
    for folder in (path, *path.parents):  # the directory itself may not exist yet
        with contextlib.suppress(OSError):
            return shutil.disk_usage(folder).free
    return None


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from or during, says the disk or quota is full:
    OSError ENOSPC / EDQUOT (h5py and torch keep the errno) or SQLite's no room (_SQLITE_FULL)."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.OperationalError) and (
                getattr(exc, "sqlite_errorcode", None) in _SQLITE_FULL or "disk is full" in str(exc)):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


@contextlib.contextmanager
def writing(directory: str | Path, needs: int | Callable[[], int] = 0) -> Iterator[None]:
    """Turn a full disk met inside the block into DiskFullError for `directory`; `needs` is the
    write's size in bytes (or a function measuring it, called only when the disk is full)."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        raise DiskFullError.of(directory, needs() if callable(needs) else needs) from exc


def exit_disk_full(report, key: int, exc: DiskFullError) -> None:
    """End a child process on a full disk: its line to the runner's queue `report`, then DISK_FULL_EXIT."""
    if report is not None:
        report.put((key, {"disk_full": str(exc)}))
        report.close()
        report.join_thread()  # the line is in the pipe before the process ends
    sys.exit(DISK_FULL_EXIT)
