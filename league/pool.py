"""The snapshot pool: which past snapshots the main agent plays and the evaluator rates.

The pool is a list of learner steps in `<run>/pool.json` (written atomically). Snapshots join on a
cadence (every `league.pool_every` learner steps) or, with `league.gate = true`, when the current
policy passes an SPRT against the newest member (league.evaluator runs the gate). Past the size cap
the pool is thinned on a log scale of steps: the member whose removal leaves the smallest gap in
log(step) goes, so recent history stays dense and old history keeps sparse coverage; the first
member (the anchor of the run's history) and the newest are never removed. Snapshot files that are
neither pool members nor among the newest few are deleted, so disk stays bounded.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine import checkpoint, rundir

POOL_FILE = "pool.json"
KEEP_RECENT = 3  # newest snapshot files always kept, whatever the pool holds (actors may be loading them)


@dataclass
class Member:
    step: int
    added: float = field(default_factory=time.time)


def spec(run_dir: Path, step: int) -> str:
    """The player spec of a run's snapshot, as the ledger and ladders name it."""
    return f"{Path(run_dir).name}:step-{step}"


def step_of(player: str) -> int | None:
    """The learner step in a `<run>:step-K` spec (options after @ ignored), or None for other players."""
    head = player.split("@", 1)[0]
    _, sep, tail = head.rpartition(":step-")
    return int(tail) if sep and tail.isdigit() else None


class Pool:
    def __init__(self, run_dir: Path, cap: int) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / POOL_FILE
        self.cap = cap
        self.members: list[Member] = []
        self.load()

    def load(self) -> "Pool":
        """Re-read the file (another process may have added members)."""
        data = rundir.read_json(self.path) if self.path.exists() else None
        self.members = [Member(**m) for m in (data or {}).get("members", [])]
        return self

    def save(self) -> None:
        rundir.write_json(self.path, {"members": [asdict(m) for m in self.members], "cap": self.cap})

    @property
    def steps(self) -> list[int]:
        return [m.step for m in self.members]

    def specs(self) -> list[str]:
        return [spec(self.run_dir, m.step) for m in self.members]

    @property
    def newest(self) -> int | None:
        return self.members[-1].step if self.members else None

    def add(self, step: int) -> list[int]:
        """Add a snapshot (kept in step order), thin past the cap, save; returns the steps removed."""
        if step in self.steps:
            return []
        self.members.append(Member(step))
        self.members.sort(key=lambda m: m.step)
        removed = []
        while len(self.members) > max(self.cap, 2):
            removed.append(self.members.pop(_thinnest(self.steps)).step)
        self.save()
        return removed

    def prune_files(self, keep_newer: bool = False) -> list[Path]:
        """Delete snapshot files outside the pool, except the newest few (and, with `keep_newer`, all
        newer than the pool's newest member: gate candidates); returns what was deleted."""
        snaps = checkpoint.list_snapshots(self.run_dir)
        keep = set(self.steps) | {s for s, _ in snaps[-KEEP_RECENT:]}
        newest = self.newest if self.newest is not None else -1
        deleted = []
        for step, path in snaps:
            if step not in keep and not (keep_newer and step > newest):
                path.unlink(missing_ok=True)
                deleted.append(path)
        return deleted


def _thinnest(steps: list[int]) -> int:
    """Index of the interior member whose removal opens the smallest gap in log(1 + step)."""
    logs = [math.log1p(s) for s in steps]
    gaps = [(logs[i + 1] - logs[i - 1], i) for i in range(1, len(steps) - 1)]
    return min(gaps)[1]
