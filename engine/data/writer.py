"""Writing a trajectory store: each actor's SegmentWriter, its atomic segment files and their recovery.

Each actor owns one :class:`SegmentWriter`, which buffers finished games in memory and writes them
out as a whole segment ``traj-<writer>-<seq:06d>.h5``. A segment is written under ``<name>.tmp``,
fsynced, then renamed into place and the directory fsynced, so a ``kill -9`` at any moment leaves
only whole segments behind (plus perhaps a stray ``.tmp``, which readers ignore and the next writer
of that name deletes). A game is "flushed" once its segment has been renamed, and every flushed
game survives. One writer per file, trivially, so readers never see a half-written file.

The segment is built in memory and written with plain writes: HDF5 reports some failed writes
only as warnings while it closes a file (a full disk would leave a torn file that looks whole), and
a plain write raises. A full disk raises DiskFullError and removes the ``.tmp``; the games stay
pending.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np
from engine.data.reader import quarantine_segment, read_meta
from engine.data.schema import (CHUNK_BYTES, COMPRESSION, COMPRESSION_LEVEL, FORMAT, POLICY_DTYPE, SCHEMA_VERSION,
                                SEGMENT_RE, WRITER_RE, SegmentDamaged, StoreError, StoreMeta, Trajectory)
from engine.errors import writing
from engine.files import QUARANTINE, fsync_path


def _chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    row_bytes = max(1, itemsize * int(np.prod(shape[1:], dtype=np.int64)))
    rows = max(1, min(shape[0], CHUNK_BYTES // row_bytes))
    return (rows, *shape[1:])


class SegmentWriter:
    """Buffers one actor's finished games and writes them as atomic segment files.

    A segment is written when ``max_games`` games are pending, when ``max_seconds`` have passed
    since the first pending game (checked on ``add`` and ``flush_if_due``), and on ``close``.
    """

    def __init__(
        self,
        directory: str | Path,
        writer: str,
        meta: StoreMeta,
        max_games: int = 64,
        max_seconds: float = 30.0,
    ) -> None:
        if not WRITER_RE.match(writer):
            raise ValueError(f"writer name {writer!r} must match {WRITER_RE.pattern}")
        if max_games < 1:
            raise ValueError("max_games must be >= 1")
        self.directory = Path(directory)
        self.writer = writer
        self.meta = meta
        self.max_games = max_games
        self.max_seconds = max_seconds
        self.directory.mkdir(parents=True, exist_ok=True)
        self._pending: list[tuple[Trajectory, float]] = []
        self._first_pending_at: float | None = None
        self._closed = False
        self.games_written = 0
        self.positions_written = 0
        self.segments_written = 0
        self._seq = self._recover()

    def _recover(self) -> int:
        """Delete our stray .tmp files (a killed predecessor's) and return the next seq."""
        last = -1
        existing: list[Path] = []
        for p in self.directory.iterdir():
            tmp = p.name.endswith(".tmp")
            m = SEGMENT_RE.match(p.name.removesuffix(".tmp"))
            if m is None:
                continue
            if tmp:
                if m["writer"] == self.writer:  # other writers' .tmp may be live: leave them be
                    p.unlink(missing_ok=True)
                continue
            existing.append(p)
            if m["writer"] == self.writer:
                last = max(last, int(m["seq"]))
        # Quarantined names count too: a reused name would look already read to a running learner.
        for p in (self.directory / QUARANTINE).glob(f"traj-{self.writer}-*.h5*"):
            m = SEGMENT_RE.match(p.name.split(".h5")[0] + ".h5")
            if m is not None and m["writer"] == self.writer:
                last = max(last, int(m["seq"]))
        # Refuse early to mix games into another game's store, rather than failing the learner later.
        for p in existing:
            try:
                meta = read_meta(p)[0]
            except SegmentDamaged as e:
                quarantine_segment(p, e)
                continue
            except StoreError:
                if p.exists():
                    raise
                continue  # moved to quarantine by another process meanwhile
            self.meta.check_compatible(meta, p)
            break
        return last + 1

    # -- context manager
    def __enter__(self) -> SegmentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending_games(self) -> int:
        return len(self._pending)

    def add(self, record: Trajectory) -> Path | None:
        """Queue a finished game; returns the segment path if this call wrote one."""
        if self._closed:
            raise RuntimeError("SegmentWriter is closed")
        self._pending.append((self._validate(record), time.time()))
        if self._first_pending_at is None:
            self._first_pending_at = time.monotonic()
        return self.flush_if_due()

    def flush_if_due(self) -> Path | None:
        """Write the pending games if the size or age limit is reached (actors may poll this)."""
        if not self._pending:
            return None
        age = time.monotonic() - (self._first_pending_at or 0.0)
        if len(self._pending) >= self.max_games or age >= self.max_seconds:
            return self.flush()
        return None

    def flush(self) -> Path | None:
        """Write all pending games as one segment now; returns its path (None if nothing pending)."""
        if not self._pending:
            return None
        name = f"traj-{self.writer}-{self._seq:06d}.h5"
        final = self.directory / name
        tmp = self.directory / (name + ".tmp")
        games = [g for g, _ in self._pending]
        finished = [t for _, t in self._pending]
        image = self._image(games, finished)
        with writing(self.directory, len(image)):
            try:
                with open(tmp, "wb") as f:
                    f.write(image)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, final)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            fsync_path(self.directory)  # make the rename itself durable
        self._seq += 1
        self.segments_written += 1
        self.games_written += len(games)
        self.positions_written += sum(len(g) for g in games)
        self._pending.clear()
        self._first_pending_at = None
        return final

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True

    def _validate(self, r: Trajectory) -> Trajectory:
        m = self.meta
        t = len(r.action)
        if t < 1:
            raise ValueError(f"game {r.game_id}: has no positions")
        obs = np.asarray(r.obs)
        if obs.shape != (t, *m.obs_shape):
            raise ValueError(f"game {r.game_id}: obs shape {obs.shape} != {(t, *m.obs_shape)}")
        if not np.can_cast(obs.dtype, m.obs_dtype, "same_kind"):
            raise ValueError(f"game {r.game_id}: obs dtype {obs.dtype} can't be stored as {m.obs_dtype}")
        for name in ("legal", "policy"):
            a = np.asarray(getattr(r, name))
            if a.shape != (t, m.num_actions):
                raise ValueError(f"game {r.game_id}: {name} shape {a.shape} != {(t, m.num_actions)}")
        for name in ("player", "target", "root_value"):
            a = np.asarray(getattr(r, name))
            if a.shape != (t,):
                raise ValueError(f"game {r.game_id}: {name} shape {a.shape} != {(t,)}")
        if np.shape(r.returns) != (m.num_players,):
            raise ValueError(f"game {r.game_id}: returns shape {np.shape(r.returns)} != {(m.num_players,)}")
        if len(r.participants) != m.num_players:
            raise ValueError(f"game {r.game_id}: {len(r.participants)} participants for {m.num_players} seats")
        if (r.ownership is None) != (r.score is None):
            raise ValueError(f"game {r.game_id}: ownership and score come together or not at all")
        points = int(np.prod(m.obs_shape[-2:])) if len(m.obs_shape) == 3 else 0
        if r.ownership is not None and np.shape(r.ownership) != (points,):
            raise ValueError(f"game {r.game_id}: ownership shape {np.shape(r.ownership)} != {(points,)} "
                             "(one owner per point of the board)")
        # Copy into canonical dtypes now: the actor may reuse its buffers after add() returns.
        return Trajectory(
            obs=obs.astype(m.obs_dtype, copy=True),
            legal=np.array(r.legal, dtype=bool),
            policy=np.array(r.policy, dtype=POLICY_DTYPE),  # stored precision, converted once
            action=np.array(r.action, dtype=np.int32),
            player=np.array(r.player, dtype=np.int8),
            target=np.array(r.target, dtype=bool),
            root_value=np.array(r.root_value, dtype=np.float32),
            returns=np.array(r.returns, dtype=np.float32),
            participants=[str(p) for p in r.participants],
            game_id=str(r.game_id),
            learner_step=int(r.learner_step),
            ownership=None if r.ownership is None else np.array(r.ownership, dtype=np.int8),
            score=None if r.score is None else float(r.score),
        )

    def _image(self, games: list[Trajectory], finished: list[float]) -> bytes:
        """The segment file's bytes."""
        buffer = io.BytesIO()
        self._write(buffer, games, finished)
        return buffer.getvalue()

    def _write(self, path: Path | io.BytesIO, games: list[Trajectory], finished: list[float]) -> None:
        lengths = np.array([len(g) for g in games], dtype=np.int32)
        starts = np.zeros(len(games), dtype=np.int64)
        starts[1:] = np.cumsum(lengths[:-1])
        positions = {
            "obs": np.concatenate([g.obs for g in games]),
            "legal": np.concatenate([g.legal for g in games]),
            "policy": np.concatenate([g.policy for g in games]),
            "action": np.concatenate([g.action for g in games]),
            "player": np.concatenate([g.player for g in games]),
            "target": np.concatenate([g.target for g in games]),
            "root_value": np.concatenate([g.root_value for g in games]),
            "game": np.repeat(np.arange(len(games), dtype=np.int32), lengths),
        }
        str_dt = h5py.string_dtype()
        with h5py.File(path, "w") as f:
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["format"] = FORMAT
            for k, v in asdict(self.meta).items():
                f.attrs[k] = np.array(v, dtype=np.int64) if k == "obs_shape" else v
            f.attrs["writer"] = self.writer
            f.attrs["created"] = time.time()
            pg = f.create_group("positions")
            for k, a in positions.items():
                pg.create_dataset(
                    k, data=a, chunks=_chunks(a.shape, a.itemsize), compression=COMPRESSION,
                    compression_opts=COMPRESSION_LEVEL,
                )
            gg = f.create_group("games")
            gg.create_dataset("game_id", data=np.array([g.game_id for g in games], dtype=object), dtype=str_dt)
            gg.create_dataset("start", data=starts)
            gg.create_dataset("length", data=lengths)
            gg.create_dataset("returns", data=np.stack([g.returns for g in games]))
            gg.create_dataset(
                "participants",
                data=np.array([json.dumps(g.participants) for g in games], dtype=object),
                dtype=str_dt,
            )
            gg.create_dataset("learner_step", data=np.array([g.learner_step for g in games], dtype=np.int64))
            gg.create_dataset("finished_at", data=np.array(finished, dtype=np.float64))
            owned = [g for g in games if g.ownership is not None]
            if owned:  # games without targets: zeros and NaN
                points = len(owned[0].ownership)
                gg.create_dataset("ownership", data=np.stack([np.zeros(points, np.int8) if g.ownership is None
                                                              else g.ownership for g in games]))
                gg.create_dataset("score", data=np.array([np.nan if g.score is None else g.score for g in games],
                                                         dtype=np.float32))
