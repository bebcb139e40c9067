"""`arena league repair RUN`: check a run's files and fix what can be fixed, so the run resumes.

Checks, in order: the config (it loads, its game is known), every agent's trajectory segments (each
read whole; a damaged one goes to `trajectories/quarantine/`), snapshots and learner state (each
loaded; a damaged one goes to `quarantine/`), the ledger (SQLite's `integrity_check`; a damaged one
is moved aside to `league.sqlite.damaged-<time>` and rebuilt from the store: every training game
in the segments becomes its row again, through the recorder's `reconcile`; rating games were never
in the store and are lost), and the pool (members whose snapshot file is gone are dropped).

A run's readers quarantine what they trip over as they go (engine/data/reader.py,
engine/nn/checkpoint.py); this is the whole-run pass, and the only way to rebuild a ledger.
Idempotent: a second repair finds nothing to do.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import games
from engine import files, rundir
from engine.data import SegmentDamaged, check_segment, list_segments, quarantine_segment
from engine.data.reader import segment_games
from engine.errors import ArenaError
from engine.nn import checkpoint
from engine.files import QUARANTINE
from engine.rundir import LEARNER_STATE, MAIN
from engine.train import learner_kind
from league.ledger import FILENAME, Ledger, LedgerError
from league.pool import POOL_FILE, Pool
from league.run.recorder import reconcile

RUNNING_SECONDS = 30.0  # a status.json this fresh that says running: a live session owns the files


class RepairError(ArenaError):
    """A run that repair cannot make usable, or must not touch now; one line naming the fix."""


@dataclass
class Check:
    """One part of a run: what was looked at, what was fixed, what could not be recovered."""
    name: str
    checked: str = ""
    fixed: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    usable: bool = True  # the run can resume as far as this part goes

    @property
    def status(self) -> str:
        return "FAILED" if not self.usable else "fixed" if self.fixed else "ok"


@dataclass
class Report:
    run: str
    checks: list[Check] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return all(c.usable for c in self.checks)

    @property
    def changed(self) -> bool:
        return any(c.fixed for c in self.checks)

    def as_dict(self) -> dict:
        return {"run": self.run, "usable": self.usable, "changed": self.changed,
                "checks": [{**asdict(c), "status": c.status} for c in self.checks]}

    def lines(self) -> list[str]:
        out = [f"repair of run '{self.run}'"]
        for c in self.checks:
            out.append(f"  {c.name:<10} {c.status:<6} {c.checked}")
            out += [f"  {'':<10} fixed  {f}" for f in c.fixed]
            out += [f"  {'':<10} lost   {x}" for x in c.lost]
        if not self.usable:
            out.append("the run is not usable: see FAILED above")
        elif self.changed:
            out.append(f"the run is usable again: `arena league run --run {self.run}` resumes it")
        else:
            out.append("nothing to do: every file of the run reads")
        return out


def repair(run_dir: Path) -> Report:
    """Check the run in `run_dir` and fix what can be fixed (see the module doc)."""
    run_dir = Path(run_dir)
    _refuse_live(run_dir)
    report = Report(run_dir.name)
    config_check = Check("config")
    report.checks.append(config_check)
    try:
        config = rundir.load_config(run_dir)
        spec = games.load(config.game)
        kind = learner_kind(spec.learner)
    except Exception as e:  # a config that does not load names no game: nothing below can be checked
        config_check.usable = False
        config_check.checked = f"{run_dir / 'config.toml'}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        config_check.lost.append("fix or restore config.toml by hand, then repair again")
        return report
    config_check.checked = f"{config.game} ({spec.learner})"
    homes = {agent: rundir.agent_dir(run_dir, agent) for agent in [MAIN, *rundir.agent_names(run_dir)]}
    report.checks.append(_segments(homes))
    report.checks.append(_snapshots(homes, spec.game_string))
    report.checks.append(_ledger(run_dir, homes, spec.game_string, kind.self_play))
    report.checks.append(_pool(run_dir, config.league.pool_size))
    return report


def _refuse_live(run_dir: Path) -> None:
    """Moving files under a running session would lose its writes: refuse while one runs."""
    try:
        status = rundir.read_json(run_dir / "status.json") or {}
    except ValueError:  # a torn status file says nothing about a live session
        return
    if status.get("running") and time.time() - float(status.get("updated", 0)) < RUNNING_SECONDS:
        raise RepairError(f"run '{run_dir.name}' is running: stop it (Ctrl-C) and repair it then")


def _rel(path: Path, run_dir: Path) -> str:
    return str(path.relative_to(run_dir))


def _segments(homes: dict[str, Path]) -> Check:
    check = Check("segments")
    run_dir = homes[MAIN]
    count = total = 0
    for home in homes.values():
        for path in list_segments(home / "trajectories"):
            try:
                total += check_segment(path)
                count += 1
            except SegmentDamaged as e:
                lost = segment_games(path)
                if quarantine_segment(path, e, warn=False) is not None:
                    check.fixed.append(f"{_rel(path, run_dir)} unreadable ({e.problem}): moved to {QUARANTINE}/")
                    check.lost.append(f"{'an unknown number of' if lost is None else lost} games of "
                                      f"{_rel(path, run_dir)}")
    aside = sum(len(list((h / "trajectories" / QUARANTINE).glob("traj-*"))) for h in homes.values())
    check.checked = f"{count} readable, {total} games" + (f"; {aside} in {QUARANTINE}/" if aside else "")
    return check


def _snapshots(homes: dict[str, Path], game: str) -> Check:
    check = Check("snapshots")
    run_dir = homes[MAIN]
    count = 0
    for home in homes.values():
        for _, path in checkpoint.list_snapshots(home):
            try:
                checkpoint.load_snapshot(path, game)
                count += 1
            except checkpoint.SnapshotDamaged as e:
                if files.quarantine(path, e.problem, warn=False) is not None:
                    check.fixed.append(f"{_rel(path, run_dir)} unreadable ({e.problem}): moved to {QUARANTINE}/")
            except checkpoint.CheckpointError as e:  # whole but foreign: the user's to sort out
                check.lost.append(str(e))
        state = home / LEARNER_STATE
        if state.exists():
            try:
                checkpoint.load_file(state)
            except checkpoint.SnapshotDamaged as e:
                if files.quarantine(state, e.problem, warn=False) is not None:
                    newest = checkpoint.latest_snapshot(home)
                    frm = f"snapshot step-{newest[0]}" if newest else "fresh weights"
                    check.fixed.append(f"{_rel(state, run_dir)} unreadable ({e.problem}): moved to {QUARANTINE}/; "
                                       f"the learner resumes from {frm}")
                    check.lost.append(f"the optimizer state of {_rel(state, run_dir)}")
    check.checked = f"{count} readable" + (" + learner state" if (run_dir / LEARNER_STATE).exists() else "")
    return check


def _ledger(run_dir: Path, homes: dict[str, Path], game: str, self_play: bool) -> Check:
    check = Check("ledger")
    path = run_dir / FILENAME
    problem = _ledger_problem(path)
    if problem is None:
        with Ledger(path, create=False) as ledger:
            counts = ledger.counts()
        check.checked = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no games yet"
        return check
    if problem == "missing" and not any(list_segments(h / "trajectories") for h in homes.values()):
        check.checked = "none yet (no games stored)"
        return check
    check.checked = problem
    had = _old_counts(path) if path.exists() else None
    # Rebuilt beside it and renamed into place: a kill mid-rebuild leaves the damaged file where it
    # was and a stray temp file, which the next repair replaces.
    tmp = run_dir / (FILENAME + ".rebuild.tmp")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    games_read = 0
    with Ledger(tmp) as ledger:
        for agent, home in homes.items():
            games_read += reconcile(home, ledger, game, self_play, agent, every=True)[1]
        counts = ledger.counts()
    files.fsync_path(tmp)
    rebuilt = counts.get("training", 0)
    if path.exists():
        aside = run_dir / f"{FILENAME}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        for suffix in ("", "-wal", "-shm"):  # a WAL belongs to its file: replayed into the new one it would corrupt it
            if Path(f"{path}{suffix}").exists():
                os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        check.fixed.append(f"{FILENAME} damaged ({problem}): moved to {aside.name}")
    os.replace(tmp, path)
    files.fsync_path(run_dir)
    check.fixed.append(f"{FILENAME} rebuilt from the store: {rebuilt} training games of {games_read} stored")
    if problem == "missing":
        check.lost.append("rating and gating games, if there were any (never in the store)")
    elif had is None:
        check.lost.append("rating and gating games (never in the store): how many is unknown, the old file's "
                          "count does not read")
    else:
        for kind in ("rating", "gating"):
            if had.get(kind):
                check.lost.append(f"{had[kind]} {kind} games (never in the store)")
        if had.get("training", 0) > rebuilt:
            check.lost.append(f"{had['training'] - rebuilt} training games whose segments are gone")
    return check


def _ledger_problem(path: Path) -> str | None:
    """What is wrong with the ledger file (None: nothing); a missing one with games stored is rebuilt."""
    if not path.exists():
        return "missing"
    try:
        db = sqlite3.connect(path)
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        return str(e)
    if rows != [("ok",)]:
        return "; ".join(str(r[0]) for r in rows[:3])
    try:
        Ledger(path, create=False).close()
    except LedgerError as e:
        if "newer than this Arena" in str(e):  # whole, just not ours to read: rebuilding would lose its ratings
            raise RepairError(str(e)) from None
        return str(e).split(": ", 1)[-1]
    return None


def _old_counts(path: Path) -> dict[str, int] | None:
    """Games per kind as the damaged file still tells them, if it does."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return dict(db.execute("SELECT kind, count(*) FROM games GROUP BY kind").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return None


def _pool(run_dir: Path, cap: int) -> Check:
    check = Check("pool")
    try:
        pool = Pool(run_dir, cap)
    except (ValueError, TypeError) as e:  # pool.json torn or foreign: membership starts again
        if files.quarantine(run_dir / POOL_FILE, str(e), warn=False) is not None:
            check.fixed.append(f"{POOL_FILE} unreadable: moved to {QUARANTINE}/; the next snapshot founds the pool again")
            check.lost.append("the pool's members (their snapshot files stay)")
        pool = Pool(run_dir, cap)
    gone = pool.drop_missing()
    if gone:
        check.fixed.append(f"dropped {len(gone)} members whose snapshot file is gone: {', '.join(gone)}")
    check.checked = f"{len(pool.members)} members"
    return check
