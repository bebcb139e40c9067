"""The learner's replay window: the newest positions of a trajectory store, held in RAM.

An in-RAM ring buffer of the newest positions across all segments, refreshed incrementally and
sampled with index arrays (no per-sample Python).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from engine.data.reader import list_segments, quarantine_segment, read_segment, read_size
from engine.data.schema import POLICY_DTYPE, SegmentDamaged, StoreError, StoreMeta

T = TypeVar("T")


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
    # Auxiliary targets (Go), seen from the player to move; None when the window holds none at all.
    ownership: np.ndarray | None = None  # [B, H*W] float32 owner of each point: +1 the mover's, -1 the other's
    score: np.ndarray | None = None  # [B] float32 the mover's final margin
    aux: np.ndarray | None = None  # [B] bool: the row's game has them (else its ownership and score are 0)


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
        # Auxiliary targets from Black's side, allocated with the first segment that has them.
        self._ownership: np.ndarray | None = None  # [capacity, H*W] int8
        self._score = np.full(capacity, np.nan, dtype=np.float32)  # Black's margin; NaN: the game has none
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
                n = self._readable(p, self.segment_positions)
                if n is None:
                    continue
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
            added += self._readable(p, lambda q: self._load(q, skip)) or 0
        if added:
            self._candidates.clear()
        return added

    def _readable(self, path: Path, read: Callable[[Path], T]) -> T | None:
        """`read(path)`, or None when the segment is damaged (moved to quarantine, with a warning)
        or gone meanwhile (another process quarantined it): one bad file must not stop a run."""
        try:
            return read(path)
        except SegmentDamaged as e:
            quarantine_segment(path, e)
        except StoreError:
            if path.exists():
                raise
        return None

    def segment_positions(self, path: Path) -> int:
        """Positions in a segment file (read from its header; the file must match this store)."""
        meta, positions = read_size(path)
        self.meta.check_compatible(meta, path)
        return positions

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
            "_score": seg.games["score"][pos["game"][lo:]] if "score" in seg.games else np.full(n - lo, np.nan),
        }
        if "ownership" in seg.games:
            if self._ownership is None:
                self._ownership = np.zeros((self.capacity, seg.games["ownership"].shape[1]), np.int8)
            src["_ownership"] = seg.games["ownership"][pos["game"][lo:]]
        elif self._ownership is not None:
            src["_ownership"] = np.zeros((n - lo, self._ownership.shape[1]), np.int8)
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
        player = self._player[rows]
        aux: dict[str, np.ndarray] = {}
        if self._ownership is not None:
            score = self._score[rows]
            has = ~np.isnan(score)
            side = np.where(player == 0, 1.0, -1.0).astype(np.float32) * has  # Black is player 0
            aux = {"ownership": self._ownership[rows] * side[:, None], "score": np.nan_to_num(score) * side,
                   "aux": has}
        return Batch(
            obs=self._obs[rows].astype(np.float32),
            legal=self._legal[rows],
            policy=self._policy[rows].astype(np.float32),
            value=self._value[rows],
            root_value=self._root_value[rows],
            player=player,
            action=self._action[rows],
            learner_step=self._step[rows],
            **aux,
        )
