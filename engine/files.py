"""Files that must survive a crash or a disk error: a durable rename, and moving an unreadable file
aside into `quarantine/` beside it (`trajectories/quarantine/`, `snapshots/quarantine/`,
`<run>/quarantine/` for `learner.pt`) instead of failing the run or deleting it.

Below engine.rundir and engine.data alike (both use it), so it imports nothing of Arena's.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

QUARANTINE = "quarantine"  # unreadable files, moved aside: nothing that lists a folder looks inside


def fsync_path(path: Path) -> None:
    """fsync a closed file or a directory (a directory's fsync makes a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def quarantine(path: Path, problem: str, then: str = "the run goes on", warn: bool = True) -> Path | None:
    """Move an unreadable file into `quarantine/` beside it and say so in one line on stderr (unless
    `warn` is False: a repair reports it in its own table); None when it is gone already (another
    process moved it first, so the line is printed once). Moved, not deleted: a disk error may be
    salvageable, and the user decides."""
    path = Path(path)
    folder = path.parent / QUARANTINE
    folder.mkdir(exist_ok=True)
    dest, n = folder / path.name, 1
    while dest.exists():  # a reused name (a writer's sequence restarts after its newest went)
        dest, n = folder / f"{path.name}.{n}", n + 1
    try:
        os.rename(path, dest)
    except FileNotFoundError:
        return None
    fsync_path(path.parent)  # the move survives a crash, so the file is not found unreadable again
    if warn:
        print(f"warning: {path} is unreadable ({problem}): moved to {folder}/; {then}", file=sys.stderr,
              flush=True)
    return dest
