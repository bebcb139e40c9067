"""A full disk (issue 21): every writer of a run stops with one DiskFullError line naming its
directory, leaves what it wrote before whole, and the same command resumes once space is freed.

The disk is a real small tmpfs where this process may mount one (root with mount rights); elsewhere
(CI containers without them) the OS error is injected under the same directory: Python writes there
raise ENOSPC after a partial write, and SQLite connections there get a page cap, which SQLite
reports exactly as a full disk ("database or disk is full").
"""
from __future__ import annotations

import builtins
import errno
import os
import queue
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from arena_cli.cli import main as arena
from engine import rundir
from engine.data import SegmentWriter, StoreMeta, Trajectory, list_segments, read_segment
from engine.errors import DISK_FULL_EXIT, DiskFullError
from engine.nn import checkpoint
from league.ledger import GameResult, Ledger

META = StoreMeta(game_string="tiny()", obs_shape=(64,), obs_dtype="float32", num_actions=4, num_players=2,
                 encoder="test")
def game(n: int, length: int = 6) -> Trajectory:
    rng = np.random.default_rng(n)  # random obs: gzip cannot shrink the segment to nothing
    return Trajectory(obs=rng.random((length, 64), dtype=np.float32), legal=np.ones((length, 4), bool),
                      policy=np.full((length, 4), 0.25, np.float32), action=np.zeros(length, np.int32),
                      player=(np.arange(length) % 2).astype(np.int8), target=np.ones(length, bool),
                      root_value=np.zeros(length, np.float32), returns=np.array([1.0, -1.0], np.float32),
                      participants=["a", "b"], game_id=f"g{n}", learner_step=0)


class TmpfsDisk:
    """A 16 MB tmpfs: `fill()` writes a ballast file until the disk refuses, `free()` deletes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ballast = path / "ballast"

    def fill(self) -> None:
        chunk = b"\0" * (64 << 10)
        with open(self.ballast, "ab", buffering=0) as f:
            for size in (64 << 10, 4 << 10, 512, 1):
                try:
                    while True:
                        f.write(chunk[:size])
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    def free(self) -> None:
        self.ballast.unlink()


class _FullFile:
    """A file under the injected full disk: a write stores half its bytes, then raises ENOSPC."""

    def __init__(self, file) -> None:
        self._file = file

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        if len(data) > 1:
            self._file.write(data[:len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str):
        return getattr(self._file, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()

    def __iter__(self):
        return iter(self._file)


class InjectedDisk:
    """The same directory contract where no tmpfs can be mounted: while full, files opened for
    writing under `path` (open, os.fdopen) fail their writes with ENOSPC and SQLite databases there
    are capped at their current size. This thread only: other threads (TensorBoard's) write freely."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path.resolve()
        self.full = False
        self._thread = threading.get_ident()
        real_open, real_fdopen, real_connect = builtins.open, os.fdopen, sqlite3.connect

        def under(name) -> bool:
            try:
                return self.full and threading.get_ident() == self._thread and Path(name).resolve().is_relative_to(self.path)
            except (TypeError, OSError):
                return False

        def writes(mode: str) -> bool:
            return any(c in mode for c in "wax+")

        def fake_open(file, mode="r", *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            return _FullFile(f) if writes(mode) and not isinstance(file, int) and under(file) else f

        def fake_fdopen(fd, mode="r", *args, **kwargs):
            f = real_fdopen(fd, mode, *args, **kwargs)
            return _FullFile(f) if writes(mode) and under(os.readlink(f"/proc/self/fd/{fd}")) else f

        def fake_connect(database, *args, **kwargs):
            db = real_connect(database, *args, **kwargs)
            if under(database):
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
            return db

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(os, "fdopen", fake_fdopen)
        monkeypatch.setattr(sqlite3, "connect", fake_connect)

    def fill(self) -> None:
        self.full = True

    def free(self) -> None:
        self.full = False


def _mount_tmpfs(path: Path) -> bool:
    if os.environ.get("ARENA_TEST_DISK") == "inject" or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "disk"
    path.mkdir()
    if _mount_tmpfs(path):
        yield TmpfsDisk(path)
        subprocess.run(["umount", "-l", str(path)], check=False)
    else:
        yield InjectedDisk(path, monkeypatch)


def no_tmp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob("*.tmp")], sorted(folder.rglob("*"))


def one_disk_full_line(exc: pytest.ExceptionInfo, directory: Path) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"disk full writing {directory} (needs about ")
    assert message.endswith("free space, then run the same command to resume")


def test_segment_writer_on_a_full_disk_keeps_its_segments_and_pending_games(disk) -> None:
    folder = disk.path / "trajectories"
    writer = SegmentWriter(folder, "w", META, max_games=100)
    for n in range(4):
        writer.add(game(n))
    first = writer.flush()
    for n in range(4, 8):
        writer.add(game(n))
    disk.fill()
    with pytest.raises(DiskFullError) as exc:
        writer.flush()
    one_disk_full_line(exc, folder)
    no_tmp_files(folder)
    assert list_segments(folder) == [first] and list(read_segment(first).games["game_id"]) == ["g0", "g1", "g2", "g3"]
    assert writer.pending_games == 4  # nothing lost that was not yet written
    disk.free()
    second = writer.flush()
    assert [len(read_segment(p).games["game_id"]) for p in list_segments(folder)] == [4, 4] and second.exists()


def test_snapshot_and_jsonl_on_a_full_disk_leave_the_old_files_whole(disk) -> None:
    import torch

    snap = disk.path / "snapshots" / "step-0000001.pt"
    checkpoint.atomic_save({"w": torch.arange(1000)}, snap)
    log = disk.path / "metrics.jsonl"
    rundir.append_jsonl(log, {"step": 1})
    disk.fill()
    with pytest.raises(DiskFullError) as exc:
        checkpoint.atomic_save({"w": torch.zeros(300_000)}, snap)  # about 1.2 MB: the line says so
    one_disk_full_line(exc, snap.parent)
    assert "needs about 2 MB more" in str(exc.value)
    with pytest.raises(DiskFullError):
        rundir.write_json(disk.path / "status.json", {"step": 2})
    with pytest.raises(DiskFullError):
        rundir.append_jsonl(log, {"step": 2, "pad": "x" * 10_000})
    no_tmp_files(disk.path)
    assert torch.equal(checkpoint.load_file(snap)["w"], torch.arange(1000))
    assert log.read_text() == '{"step": 1}\n' and not (disk.path / "status.json").exists()
    disk.free()
    rundir.append_jsonl(log, {"step": 3})
    assert rundir.read_jsonl(log) == [{"step": 1}, {"step": 3}]


def test_ledger_on_a_full_disk_rolls_back_and_stays_sound(disk) -> None:
    def batch(first: int) -> list[GameResult]:
        return [GameResult((f"p{i}-" + "x" * 200, "random"), (1.0, -1.0), 9, "training", "g", uid=f"u{i}")
                for i in range(first, first + 300)]

    with Ledger(disk.path / "league.sqlite") as ledger:
        assert ledger.record_many(batch(0)) == 300
    disk.fill()
    with pytest.raises(DiskFullError) as exc:
        with Ledger(disk.path / "league.sqlite") as ledger:
            ledger.record_many(batch(300))
    one_disk_full_line(exc, disk.path)
    disk.free()
    with Ledger(disk.path / "league.sqlite") as ledger:
        assert ledger.total() == 300
        assert ledger._db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert ledger.record_many(batch(300)) == 300


def test_an_actor_process_on_a_full_disk_hands_its_line_to_the_runner_and_exits(disk, monkeypatch, tiny_run_config) -> None:
    """actor_main in this process (a real child would run the same): its line on the queue, exit 28."""
    from league.run.actor_process import actor_main
    from league.run.session import LeagueRun

    monkeypatch.setenv("ARENA_HOME", str(disk.path))
    (disk.path / "tiny.toml").write_text(tiny_run_config())
    assert arena(["league", "run", "tic_tac_toe", "--config", str(disk.path / "tiny.toml"), "--run", "r",
                  "--steps", "1", "--actors", "0", "--no-live"]) == 0
    run_dir = disk.path / "r"
    disk.fill()
    stop, reports = threading.Event(), queue.Queue()
    reports.close = reports.join_thread = lambda: None  # a thread queue stands in for the process queue
    with pytest.raises(SystemExit) as exit_:
        actor_main(str(run_dir), 0, 1, stop, reports)
    assert exit_.value.code == DISK_FULL_EXIT
    lines = [r["disk_full"] for _, r in list(reports.queue) if "disk_full" in r]
    assert len(lines) == 1 and lines[0].startswith(f"disk full writing {run_dir}")
    # The runner turns that line into the run's own error rather than restarting the actor.
    runner = LeagueRun.__new__(LeagueRun)
    handed = queue.Queue()
    handed.put((0, {"disk_full": lines[0]}))
    with pytest.raises(DiskFullError, match="^disk full writing"):
        runner._read_stats(handed)


def test_a_run_on_a_full_disk_stops_with_one_line_and_the_same_command_resumes(disk, monkeypatch, capsys,
                                                                             tiny_run_config) -> None:
    monkeypatch.setenv("ARENA_HOME", str(disk.path))
    (disk.path / "tiny.toml").write_text(tiny_run_config())
    command = ["league", "run", "tic_tac_toe", "--config", str(disk.path / "tiny.toml"), "--run", "r",
               "--steps", "2", "--actors", "0", "--no-live"]
    assert arena(command) == 0
    run_dir = disk.path / "r"
    before = checkpoint.latest_snapshot(run_dir)[0]
    capsys.readouterr()
    disk.fill()
    assert arena(command) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("arena: error:")]
    assert len(errors) == 1 and errors[0].startswith(f"arena: error: disk full writing {disk.path}"), err
    assert "Traceback" not in err
    disk.free()
    # Everything written before the disk filled is whole.
    no_tmp_files(run_dir)
    for _, path in checkpoint.list_snapshots(run_dir):
        checkpoint.load_snapshot(path, "tic_tac_toe")
    for path in list_segments(run_dir / "trajectories"):
        read_segment(path)
    with Ledger.of_run(run_dir, create=False) as ledger:
        assert ledger._db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert rundir.read_json(run_dir / "status.json") is not None
    # The same command resumes and goes on.
    assert arena(command) == 0
    assert checkpoint.latest_snapshot(run_dir)[0] >= before + 2
