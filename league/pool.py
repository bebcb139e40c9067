"""The snapshot pool: which past snapshots the main agent plays and the evaluator rates.

The pool is a list of (agent, learner step) in `<run>/pool.json` (written atomically), in the order
they joined. Main's snapshots join on a cadence (every `league.pool_every` learner steps) or, with
`league.gate = true`, when the current policy passes an SPRT against main's newest member
(league.rater runs the gate); exploiters' snapshots join by their own rule (league/roles.py).
Past the size cap each agent's members are thinned on a log scale of its steps: the member whose
removal leaves the smallest gap in log(step) goes, so recent history stays dense and old history
keeps sparse coverage; an agent's first member (the anchor of its history) and newest are never
removed. Snapshot files that are neither pool members nor among an agent's newest few are deleted,
so disk stays bounded.

Specs: main's snapshots are `<run>:step-K`, another agent's `<run>/<agent>:step-K`; the grammar is
engine/players/spec.py's (`snapshot_spec`, `step_of`, `agent_of`).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine import rundir
from engine.nn import checkpoint
from engine.players import agent_of, snapshot_spec, step_of
from engine.rundir import MAIN

POOL_FILE = "pool.json"
KEEP_RECENT = 3  # newest snapshot files always kept, whatever the pool holds (actors may be loading them)


@dataclass
class Member:
    step: int
    added: float = field(default_factory=time.time)
    agent: str = MAIN  # pools written before exploiters existed hold main's snapshots only


def spec(run_dir: Path, step: int, agent: str = MAIN) -> str:
    """The player spec of this run's snapshot, as the ledger and ladders name it."""
    return snapshot_spec(Path(run_dir).name, step, agent)


def snapshot_file(run_dir: Path, player: str) -> Path | None:
    """The file of one of this run's snapshot specs (main's or another agent's); None for other players."""
    step = step_of(player)
    name = Path(run_dir).name
    if step is None or not player.startswith((name + ":", name + "/")):
        return None
    return checkpoint.snapshot_path(rundir.agent_dir(run_dir, agent_of(player)), step)


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
        """Main's members."""
        return self.steps_of(MAIN)

    def steps_of(self, agent: str) -> list[int]:
        return sorted(m.step for m in self.members if m.agent == agent)

    def specs(self, agent: str | None = None) -> list[str]:
        """Members in the order they joined; only one agent's with `agent`."""
        return [spec(self.run_dir, m.step, m.agent) for m in self.members if agent in (None, m.agent)]

    @property
    def newest(self) -> int | None:
        """Main's newest member (the pool cadence and the gate go by it)."""
        return self.newest_of(MAIN)

    def newest_of(self, agent: str) -> int | None:
        steps = self.steps_of(agent)
        return steps[-1] if steps else None

    def add(self, step: int, agent: str = MAIN) -> list[int]:
        """Add an agent's snapshot, thin that agent's members past the cap, save; returns the steps removed."""
        if step in self.steps_of(agent):
            return []
        self.members.append(Member(step, agent=agent))
        removed = []
        mine = sorted((m for m in self.members if m.agent == agent), key=lambda m: m.step)
        while len(mine) > max(self.cap, 2):
            gone = mine.pop(_thinnest([m.step for m in mine]))
            self.members.remove(gone)
            removed.append(gone.step)
        self.save()
        return removed

    def drop_missing(self) -> list[str]:
        """Forget (and save) the members whose snapshot file is gone, moved to quarantine as unreadable
        or deleted by hand: a later snapshot of the same step would stand in for them unseen. Their specs."""
        gone = [m for m in self.members
                if not checkpoint.snapshot_path(rundir.agent_dir(self.run_dir, m.agent), m.step).exists()]
        if gone:
            self.members = [m for m in self.members if m not in gone]
            self.save()
        return [spec(self.run_dir, m.step, m.agent) for m in gone]

    def prune_files(self, keep_newer: bool = False, agent: str = MAIN) -> list[Path]:
        """Delete an agent's snapshot files outside the pool, except the newest few (and, with
        `keep_newer`, all newer than its newest member: gate candidates); returns what was deleted."""
        snaps = checkpoint.list_snapshots(rundir.agent_dir(self.run_dir, agent))
        keep = set(self.steps_of(agent)) | {s for s, _ in snaps[-KEEP_RECENT:]}
        newest = self.newest_of(agent) if self.newest_of(agent) is not None else -1
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
