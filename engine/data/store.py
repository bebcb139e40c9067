"""Trajectory store: the only channel between actors and the learner.

A store is a directory (a run's ``trajectories/``) of HDF5 *segment* files. Each actor owns one
:class:`SegmentWriter`, which buffers finished games in memory and writes them out as a whole
segment ``traj-<writer>-<seq:06d>.h5``. A segment is written under ``<name>.tmp``, fsynced, then
renamed into place and the directory fsynced, so a ``kill -9`` at any moment leaves only whole
segments behind (plus perhaps a stray ``.tmp``, which readers ignore and the next writer of that
name deletes). A game is "flushed" once its segment has been renamed, and every flushed game
survives. One writer per file, trivially, so readers never see a half-written file.

The learner reads through a :class:`ReplayWindow`: an in-RAM ring buffer of the newest positions
across all segments, refreshed incrementally and sampled with index arrays (no per-sample Python).

Schema version 1, per segment file:

* file attributes: ``schema_version``, ``format="arena-trajectories"``, the :class:`StoreMeta`
  fields, ``writer``, ``created`` (unix time);
* group ``positions`` (one row per position, chunked along axis 0, gzip-1 compressed): ``obs``,
  ``legal`` (bool), ``policy`` (float16), ``action`` (int32), ``player`` (int8), ``target`` (bool),
  ``root_value`` (float32), ``game`` (int32 index of the row's game within the file);
* group ``games`` (one row per game): ``game_id`` (str), ``start`` (int64 first row), ``length``
  (int32), ``returns`` ([G, P] float32), ``participants`` (JSON list of player specs),
  ``learner_step`` (int64), ``finished_at`` (float64 unix time).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from engine.errors import ArenaError

SCHEMA_VERSION = 1
FORMAT = "arena-trajectories"

# gzip level 1, measured against lzf on go9-like planes (bench_write): as fast to write, files half
# the size, and readable by any HDF5 tool (lzf is an h5py-only filter). Policy as float16 halves the
# widest float array at ~1e-3 relative precision, ample for a visit distribution used as a target.
COMPRESSION = "gzip"
COMPRESSION_LEVEL = 1
POLICY_DTYPE = np.float16
CHUNK_BYTES = 1 << 18  # ~256 KiB chunks: measured a little faster than 1-4 MiB, same ratio

_SEGMENT_RE = re.compile(r"^traj-(?P<writer>[A-Za-z0-9_.\-]+)-(?P<seq>\d{6,})\.h5$")
_WRITER_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_OBS_DTYPES = ("uint8", "float32")


class StoreError(ArenaError):
    """A trajectory file or directory that cannot be used; the message is one line naming the fix."""


# ----------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class StoreMeta:
    """What every segment of one store agrees on; written as file attributes of each segment."""

    game_string: str
    obs_shape: tuple[int, ...]
    obs_dtype: str  # 'uint8' or 'float32'
    num_actions: int
    num_players: int
    encoder: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "obs_shape", tuple(int(d) for d in self.obs_shape))
        if self.obs_dtype not in _OBS_DTYPES:
            raise ValueError(f"obs_dtype must be one of {_OBS_DTYPES}, not {self.obs_dtype!r}")

    def check_compatible(self, other: StoreMeta, where: str | Path) -> None:
        """Raise StoreError if ``other`` (read from ``where``) holds data this meta can't use."""
        if other.game_string != self.game_string:
            raise StoreError(
                f"{where}: holds games of {other.game_string!r}, not {self.game_string!r}; "
                f"point at the trajectories of a {self.game_string!r} run or start a fresh run directory"
            )
        mine = (self.obs_shape, self.obs_dtype, self.num_actions, self.num_players, self.encoder)
        theirs = (other.obs_shape, other.obs_dtype, other.num_actions, other.num_players, other.encoder)
        if mine != theirs:
            raise StoreError(
                f"{where}: encoded as {theirs} (shape, dtype, actions, players, encoder), expected "
                f"{mine}; use a fresh run directory after changing the encoder"
            )


@dataclass
class Trajectory:
    """One finished game, as an actor hands it to the store."""

    obs: np.ndarray  # [T, *obs_shape] obs_dtype — encoder output at each position
    legal: np.ndarray  # [T, A] bool legal-action mask
    policy: np.ndarray  # [T, A] float32 search policy; all-zero rows allowed where target is False
    action: np.ndarray  # [T] int32 action played
    player: np.ndarray  # [T] int8 player to move
    target: np.ndarray  # [T] bool: the position is a policy training target
    root_value: np.ndarray  # [T] float32 search value at the root, player-to-move perspective
    returns: np.ndarray  # [P] float32 final returns
    participants: list[str]  # player spec per seat
    game_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    learner_step: int = 0  # weights version the actor used
    plies: int = 0  # moves in the whole game, both sides (the ledger's length; not stored here)

    def __len__(self) -> int:
        return int(len(self.action))


@dataclass
class Segment:
    """The contents of one segment file, as numpy arrays."""

    path: Path
    meta: StoreMeta
    writer: str
    created: float
    positions: dict[str, np.ndarray]  # obs, legal, policy, action, player, target, root_value, game
    games: dict[str, Any]  # game_id, start, length, returns, participants, learner_step, finished_at

    @property
    def num_games(self) -> int:
        return len(self.games["game_id"])

    @property
    def num_positions(self) -> int:
        return len(self.positions["action"])

    def records(self) -> list[Trajectory]:
        """Split the segment back into GameRecords (policy comes back as float32)."""
        if self.num_positions != int(self.games["length"].sum()):
            raise ValueError("records() needs a whole segment; read it without a row slice")
        out = []
        pos, g = self.positions, self.games
        for i in range(self.num_games):
            s = slice(int(g["start"][i]), int(g["start"][i]) + int(g["length"][i]))
            out.append(
                Trajectory(
                    obs=pos["obs"][s],
                    legal=pos["legal"][s],
                    policy=pos["policy"][s].astype(np.float32),
                    action=pos["action"][s],
                    player=pos["player"][s],
                    target=pos["target"][s],
                    root_value=pos["root_value"][s],
                    returns=g["returns"][i],
                    participants=list(g["participants"][i]),
                    game_id=g["game_id"][i],
                    learner_step=int(g["learner_step"][i]),
                )
            )
        return out


# ------------------------------------------------------------------------------------------ writer


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        if not _WRITER_RE.match(writer):
            raise ValueError(f"writer name {writer!r} must match {_WRITER_RE.pattern}")
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
        existing: Path | None = None
        for p in self.directory.iterdir():
            tmp = p.name.endswith(".tmp")
            m = _SEGMENT_RE.match(p.name.removesuffix(".tmp"))
            if m is None:
                continue
            if tmp:
                if m["writer"] == self.writer:  # other writers' .tmp may be live: leave them be
                    p.unlink(missing_ok=True)
                continue
            existing = p
            if m["writer"] == self.writer:
                last = max(last, int(m["seq"]))
        # Refuse early to mix games into another game's store, rather than failing the learner later.
        if existing is not None:
            self.meta.check_compatible(read_meta(existing)[0], existing)
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
        self._write(tmp, games, finished)
        fd = os.open(tmp, os.O_RDONLY)  # h5py offers no fsync; do it on the closed file
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        _fsync_dir(self.directory)  # make the rename itself durable
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
        )

    def _write(self, path: Path, games: list[Trajectory], finished: list[float]) -> None:
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


# ------------------------------------------------------------------------------------------ reading


def list_segments(directory: str | Path) -> list[Path]:
    """Final (renamed) segment files in ``directory``, oldest first (by mtime, then name)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = []
    for p in d.iterdir():
        if _SEGMENT_RE.match(p.name):
            try:
                found.append((p.stat().st_mtime_ns, p.name, p))
            except FileNotFoundError:  # deleted between listing and stat
                continue
    return [p for _, _, p in sorted(found)]


def _no_such(path: Path) -> StoreError:
    return StoreError(f"{path}: no such file or directory; give a run's trajectories/ dir or a traj-*.h5 segment")


def _open(path: Path) -> h5py.File:
    if not path.exists():
        raise _no_such(path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise StoreError(f"{path}: not an HDF5 file; point at an Arena trajectory segment (traj-*.h5)") from None
    try:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT:
            raise StoreError(f"{path}: not an Arena trajectory file (format={fmt!r}); point at a traj-*.h5 segment")
        version = int(f.attrs.get("schema_version", -1))
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: trajectory schema version {version}, this Arena reads version {SCHEMA_VERSION}; "
                "use the Arena release that wrote it or regenerate the games"
            )
    except BaseException:
        f.close()
        raise
    return f


def _meta_from_attrs(attrs: h5py.AttributeManager) -> StoreMeta:
    def s(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    return StoreMeta(
        game_string=s(attrs["game_string"]),
        obs_shape=tuple(int(d) for d in np.atleast_1d(attrs["obs_shape"])),
        obs_dtype=s(attrs["obs_dtype"]),
        num_actions=int(attrs["num_actions"]),
        num_players=int(attrs["num_players"]),
        encoder=s(attrs["encoder"]),
    )


def read_meta(path: str | Path) -> tuple[StoreMeta, str, float]:
    """(meta, writer, created) of one segment, checking its format and schema version."""
    path = Path(path)
    with _open(path) as f:
        try:
            return _meta_from_attrs(f.attrs), str(f.attrs["writer"]), float(f.attrs["created"])
        except (KeyError, ValueError) as e:
            raise StoreError(f"{path}: damaged Arena trajectory file ({e}); delete it or regenerate the games") from None


def _read_games(f: h5py.File) -> dict[str, Any]:
    g = f["games"]
    return {
        "game_id": list(g["game_id"].asstr()[()]),
        "start": g["start"][()],
        "length": g["length"][()],
        "returns": g["returns"][()],
        "participants": [json.loads(p) for p in g["participants"].asstr()[()]],
        "learner_step": g["learner_step"][()],
        "finished_at": g["finished_at"][()],
    }


def read_segment(path: str | Path, rows: slice | None = None) -> Segment:
    """Read one segment (all positions, or the given row slice of them) and its games table."""
    path = Path(path)
    with _open(path) as f:
        try:
            meta = _meta_from_attrs(f.attrs)
            sel = rows if rows is not None else slice(None)
            positions = {k: ds[sel] for k, ds in f["positions"].items()}
            return Segment(
                path=path,
                meta=meta,
                writer=str(f.attrs["writer"]),
                created=float(f.attrs["created"]),
                positions=positions,
                games=_read_games(f),
            )
        except (KeyError, ValueError) as e:
            raise StoreError(f"{path}: damaged Arena trajectory file ({e}); delete it or regenerate the games") from None


# ------------------------------------------------------------------------------------ replay window


@dataclass
class Batch:
    """A training batch; ``value`` is the game's final return for the player to move (z)."""

    obs: np.ndarray  # [B, *obs_shape] float32
    legal: np.ndarray  # [B, A] bool
    policy: np.ndarray  # [B, A] float32
    value: np.ndarray  # [B] float32
    root_value: np.ndarray  # [B] float32
    player: np.ndarray  # [B] int8
    action: np.ndarray | None = None  # [B] int32, the action played
    learner_step: np.ndarray | None = None  # [B] weights version that played it


class ReplayWindow:
    """The newest ``capacity`` positions of a store, held in preallocated ring-buffer arrays."""

    def __init__(self, directory: str | Path, meta: StoreMeta, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.directory = Path(directory)
        self.meta = meta
        self.capacity = capacity
        a = meta.num_actions
        self._obs = np.zeros((capacity, *meta.obs_shape), dtype=meta.obs_dtype)
        self._legal = np.zeros((capacity, a), dtype=bool)
        self._policy = np.zeros((capacity, a), dtype=POLICY_DTYPE)  # as stored; cast per batch
        self._value = np.zeros(capacity, dtype=np.float32)
        self._root_value = np.zeros(capacity, dtype=np.float32)
        self._player = np.zeros(capacity, dtype=np.int8)
        self._action = np.zeros(capacity, dtype=np.int32)
        self._step = np.full(capacity, -1, dtype=np.int64)  # learner_step of the row's game
        self._target = np.zeros(capacity, dtype=bool)  # False on empty rows: they're never sampled
        self._next = 0  # ring write position
        self.positions = 0  # rows currently held (<= capacity)
        self.positions_loaded = 0  # all rows ever loaded
        self.games_seen = 0
        self.segments_seen = 0
        self._seen: set[str] = set()
        self._started = False
        self._candidates: dict = {}  # index caches (per seat; played_by's), reset when rows load

    def refresh(self) -> int:
        """Load segments not seen yet; returns the number of new positions."""
        segments = [p for p in list_segments(self.directory) if p.name not in self._seen]
        if not segments:
            return 0
        if not self._started:
            # A resumed learner wants the newest window, not the whole history: walk back from the
            # newest segment until capacity is covered and mark the older ones seen unread.
            chosen: list[tuple[Path, int]] = []
            need = self.capacity
            for p in reversed(segments):
                if need <= 0:
                    break
                n = self.segment_positions(p)
                chosen.append((p, max(0, n - need)))  # skip the rows that would be evicted anyway
                need -= n
            self._seen.update(p.name for p in segments)
            plan = list(reversed(chosen))
        else:
            plan = [(p, 0) for p in segments]
        self._started = True
        added = 0
        for p, skip in plan:
            self._seen.add(p.name)
            added += self._load(p, skip)
        if added:
            self._candidates.clear()
        return added

    def segment_positions(self, path: Path) -> int:
        """Positions in a segment file (read from its header; the file must match this store)."""
        with _open(path) as f:
            self.meta.check_compatible(_meta_from_attrs(f.attrs), path)
            return int(f["positions/action"].shape[0])

    def _load(self, path: Path, skip: int = 0) -> int:
        seg = read_segment(path, rows=slice(skip, None))
        self.meta.check_compatible(seg.meta, path)
        pos = seg.positions
        n = len(pos["action"])
        # z for each row: its game's final return, seen from the player to move.
        value = seg.games["returns"][pos["game"], pos["player"].astype(np.intp)]
        lo = max(0, n - self.capacity)  # rows beyond capacity would be overwritten at once
        src = {
            "_obs": pos["obs"][lo:],
            "_legal": pos["legal"][lo:],
            "_policy": pos["policy"][lo:],
            "_value": value[lo:],
            "_root_value": pos["root_value"][lo:],
            "_player": pos["player"][lo:],
            "_action": pos["action"][lo:],
            "_step": seg.games["learner_step"][pos["game"][lo:]],
            "_target": pos["target"][lo:],
        }
        m = n - lo
        head = min(m, self.capacity - self._next)  # rows until the ring wraps
        for name, a in src.items():
            buf = getattr(self, name)
            buf[self._next : self._next + head] = a[:head]
            buf[: m - head] = a[head:]
        self._next = (self._next + m) % self.capacity
        self.positions = min(self.capacity, self.positions + m)
        self.positions_loaded += m
        self.games_seen += len(np.unique(pos["game"][lo:]))
        self.segments_seen += 1
        return m

    def has_read(self, path: Path) -> bool:
        """Whether this window has taken (or deliberately skipped) the segment."""
        return path.name in self._seen

    def candidates(self, seat: int | None = None) -> np.ndarray:
        """Row indices eligible for sampling (target, and player == seat if given); cached."""
        idx = self._candidates.get(seat)
        if idx is None:
            mask = self._target if seat is None else self._target & (self._player == seat)
            idx = self._candidates[seat] = np.flatnonzero(mask)
        return idx

    def played_by(self, step: int, seat: int | None = None) -> np.ndarray:
        """Row indices of positions played with the weights of learner step `step` or later
        (on-policy learners train on these only), optionally one seat's only."""
        key = ("played_by", step, seat)
        idx = self._candidates.get(key)
        if idx is None:  # learners ask before every step; the answer changes only when rows load
            idx = self._candidates[key] = np.flatnonzero(
                (self._step >= step) & self._target & (True if seat is None else self._player == seat))
        return idx

    def sample(self, batch_size: int, rng: np.random.Generator, seat: int | None = None,
               rows: np.ndarray | None = None) -> Batch:
        """Uniform sample (with replacement) of target positions, optionally one seat's only, or of
        the given candidate `rows`."""
        cand = self.candidates(seat) if rows is None else rows
        if len(cand) == 0:
            who = "" if seat is None else f" for seat {seat}"
            raise StoreError(
                f"{self.directory}: no training positions{who} in the window yet; let actors write games and call refresh()"
            )
        return self.rows(cand[rng.integers(0, len(cand), size=batch_size)])

    def rows(self, rows: np.ndarray) -> Batch:
        return Batch(
            obs=self._obs[rows].astype(np.float32),
            legal=self._legal[rows],
            policy=self._policy[rows].astype(np.float32),
            value=self._value[rows],
            root_value=self._root_value[rows],
            player=self._player[rows],
            action=self._action[rows],
            learner_step=self._step[rows],
        )


# ------------------------------------------------------------------------------------------ inspect


def inspect(path: str | Path) -> dict[str, Any]:
    """Summary of a segment file or a trajectories directory (reads no position arrays)."""
    path = Path(path)
    if path.is_dir():
        files = list_segments(path)
        if not files:
            raise StoreError(f"{path}: no trajectory segments (traj-*.h5) here; point at a run's trajectories/ dir")
    elif path.exists():
        files = [path]
    else:
        raise _no_such(path)
    meta: StoreMeta | None = None
    writers: set[str] = set()
    lengths, returns, finished = [], [], []
    for p in files:
        with _open(p) as f:
            m = _meta_from_attrs(f.attrs)
            if meta is None:
                meta = m
            else:
                meta.check_compatible(m, p)
            writers.add(str(f.attrs["writer"]))
            g = f["games"]
            lengths.append(g["length"][()])
            returns.append(g["returns"][()])
            finished.append(g["finished_at"][()])
    assert meta is not None
    length = np.concatenate(lengths)
    ret = np.concatenate(returns).reshape(-1, meta.num_players)
    fin = np.concatenate(finished)
    outcomes = [
        {
            "wins": int((ret[:, s] > 0).sum()),
            "draws": int((ret[:, s] == 0).sum()),
            "losses": int((ret[:, s] < 0).sum()),
        }
        for s in range(meta.num_players)
    ]
    has = len(length) > 0
    return {
        "path": str(path),
        "schema_version": SCHEMA_VERSION,
        "game_string": meta.game_string,
        "obs_shape": list(meta.obs_shape),
        "obs_dtype": meta.obs_dtype,
        "num_actions": meta.num_actions,
        "num_players": meta.num_players,
        "encoder": meta.encoder,
        "segments": len(files),
        "games": int(len(length)),
        "positions": int(length.sum()),
        "mean_length": float(length.mean()) if has else 0.0,
        "min_length": int(length.min()) if has else 0,
        "max_length": int(length.max()) if has else 0,
        "outcomes": outcomes,
        "writers": sorted(writers),
        "first_game_at": float(fin.min()) if has else None,
        "last_game_at": float(fin.max()) if has else None,
        "bytes": int(sum(p.stat().st_size for p in files)),
    }


def _fmt_time(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _fmt_duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def describe(path: str | Path) -> str:
    """Human-readable rendering of :func:`inspect` (what ``arena data inspect`` prints)."""
    i = inspect(path)
    shape = "×".join(str(d) for d in i["obs_shape"])
    span = "-"
    if i["first_game_at"] is not None:
        span = (
            f"{_fmt_time(i['first_game_at'])} → {_fmt_time(i['last_game_at'])} "
            f"({_fmt_duration(i['last_game_at'] - i['first_game_at'])})"
        )
    lines = [
        f"Arena trajectories  {i['path']}",
        f"  schema version  {i['schema_version']}",
        f"  game            {i['game_string']}",
        f"  observation     {shape} {i['obs_dtype']} · {i['num_actions']} actions · "
        f"{i['num_players']} players · encoder {i['encoder']}",
        f"  segments        {i['segments']} ({i['bytes'] / 2**20:.1f} MiB; writers: {', '.join(i['writers'])})",
        f"  games           {i['games']:,}",
        f"  positions       {i['positions']:,} (game length mean {i['mean_length']:.1f}, "
        f"min {i['min_length']}, max {i['max_length']})",
        f"  time span       {span}",
    ]
    for s, o in enumerate(i["outcomes"]):
        label = "  outcomes        " if s == 0 else " " * 18
        lines.append(f"{label}seat {s}: {o['wins']} W / {o['draws']} D / {o['losses']} L")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- bench


def go9_bench_meta() -> StoreMeta:
    """A go9-shaped meta for benchmarks: 18 binary planes of 9×9, 82 actions."""
    return StoreMeta(
        game_string="go(board_size=9,komi=7.5)",
        obs_shape=(18, 9, 9),
        obs_dtype="uint8",
        num_actions=82,
        num_players=2,
        encoder="bench-synthetic",
    )


def _go_like_planes(t: int, rng: np.random.Generator) -> np.ndarray:
    """AlphaGo-Zero-style planes for a random 9×9 game: 8 steps of history per colour, to-play, ones."""
    stones = np.zeros((t + 8, 2, 81), dtype=np.uint8)  # 8 leading empty boards stand for "before move 0"
    for i in range(t):
        board = stones[i + 7].copy()
        empty = np.flatnonzero(board.sum(axis=0) == 0)
        if len(empty):
            board[i % 2, rng.choice(empty)] = 1
        if rng.random() < 0.05:  # an occasional capture clears a few stones
            board[:, rng.integers(0, 81, 3)] = 0
        stones[i + 8] = board
    obs = np.zeros((t, 18, 81), dtype=np.uint8)
    for k in range(8):
        hist = stones[8 - k : 8 - k + t]  # board k moves ago, for every position
        obs[:, k] = hist[:, 0]
        obs[:, 8 + k] = hist[:, 1]
    obs[:, 16] = (np.arange(t) % 2)[:, None]
    obs[:, 17] = 1
    return obs.reshape(t, 18, 9, 9)


def synthetic_game(meta: StoreMeta, rng: np.random.Generator, length: int | None = None) -> Trajectory:
    """A random game shaped like real self-play: sparse binary planes, peaked visit policies."""
    t = int(length if length is not None else np.clip(rng.normal(80, 15), 20, 160))
    a, p = meta.num_actions, meta.num_players
    if meta.obs_shape == (18, 9, 9) and meta.obs_dtype == "uint8":
        obs = _go_like_planes(t, rng)
    elif meta.obs_dtype == "uint8":
        obs = (rng.random((t, *meta.obs_shape)) < 0.15).astype(np.uint8)
    else:
        obs = rng.standard_normal((t, *meta.obs_shape)).astype(np.float32)
    legal = rng.random((t, a)) < 0.7
    legal[:, -1] = True  # e.g. pass is always legal, so no row is empty
    # Visit counts concentrate on a handful of moves, like a few hundred simulations would.
    visits = rng.gamma(0.3, size=(t, a)) * legal
    policy = (visits / visits.sum(axis=1, keepdims=True)).astype(np.float32)
    action = np.array([rng.choice(np.flatnonzero(row)) for row in legal], dtype=np.int32)
    player = (np.arange(t) % p).astype(np.int8)
    outcome = rng.choice([-1.0, 1.0])
    returns = np.array([outcome if s == 0 else -outcome for s in range(p)], dtype=np.float32)
    return Trajectory(
        obs=obs,
        legal=legal,
        policy=policy,
        action=action,
        player=player,
        target=rng.random(t) < 0.9,
        root_value=rng.uniform(-1, 1, t).astype(np.float32),
        returns=returns,
        participants=["bench:step-0"] * p,
        learner_step=0,
    )


def bench_write(
    directory: str | Path,
    meta: StoreMeta | None = None,
    positions: int = 200_000,
    max_games: int = 64,
    seed: int = 0,
) -> dict[str, Any]:
    """Write ``positions`` synthetic positions through a SegmentWriter; report positions/s."""
    meta = meta or go9_bench_meta()
    rng = np.random.default_rng(seed)
    # Generate a pool of games up front and cycle through it: only the store is timed.
    pool = [synthetic_game(meta, rng) for _ in range(min(64, max(1, positions // 60)))]
    writer_name = f"bench{uuid.uuid4().hex[:8]}"
    written = games = 0
    t0 = time.perf_counter()
    with SegmentWriter(directory, writer_name, meta, max_games=max_games, max_seconds=1e9) as w:
        while written < positions:
            g = pool[games % len(pool)]
            w.add(g)
            written += len(g)
            games += 1
    seconds = time.perf_counter() - t0
    files = [p for p in list_segments(directory) if p.name.startswith(f"traj-{writer_name}-")]
    nbytes = sum(p.stat().st_size for p in files)
    return {
        "positions": written,
        "games": games,
        "segments": len(files),
        "seconds": round(seconds, 4),
        "positions_per_s": round(written / seconds, 1),
        "bytes": nbytes,
        "bytes_per_position": round(nbytes / written, 1),
        "compression": f"{COMPRESSION}-{COMPRESSION_LEVEL}",
        "policy_dtype": np.dtype(POLICY_DTYPE).name,
        "obs_shape": list(meta.obs_shape),
        "obs_dtype": meta.obs_dtype,
    }


def bench_sample(
    directory: str | Path | None = None,
    meta: StoreMeta | None = None,
    capacity: int = 200_000,
    batch_size: int = 256,
    iterations: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Time ReplayWindow.refresh and sample over a store (filled synthetically if empty)."""
    meta = meta or go9_bench_meta()
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        d = Path(directory) if directory is not None else Path(tmp)
        if not list_segments(d):
            bench_write(d, meta, positions=capacity, seed=seed)
        window = ReplayWindow(d, meta, capacity)
        t0 = time.perf_counter()
        loaded = window.refresh()
        refresh_s = time.perf_counter() - t0
        rng = np.random.default_rng(seed)
        window.sample(batch_size, rng)  # first call builds the candidate index
        times = np.empty(iterations)
        for i in range(iterations):
            t = time.perf_counter()
            window.sample(batch_size, rng)
            times[i] = time.perf_counter() - t
    ms = times * 1e3
    return {
        "positions": window.positions,
        "refresh_seconds": round(refresh_s, 4),
        "refresh_positions_per_s": round(loaded / refresh_s, 1) if refresh_s > 0 else None,
        "batch_size": batch_size,
        "iterations": iterations,
        "sample_ms_mean": round(float(ms.mean()), 4),
        "sample_ms_p50": round(float(np.percentile(ms, 50)), 4),
        "sample_ms_p99": round(float(np.percentile(ms, 99)), 4),
    }
