"""The trajectory store's on-disk schema and records: what a segment file holds and how it is named.

A store is a directory (a run's ``trajectories/``) of HDF5 *segment* files named
``traj-<writer>-<seq:06d>.h5``. Schema version 2, per segment file:

* file attributes: ``schema_version``, ``format="arena-trajectories"``, the :class:`StoreMeta`
  fields, ``writer``, ``created`` (unix time);
* group ``positions`` (one row per position, chunked along axis 0, gzip-1 compressed): ``obs``,
  ``legal`` (bool), ``policy`` (float16), ``action`` (int32), ``player`` (int8), ``target`` (bool),
  ``root_value`` (float32), ``game`` (int32 index of the row's game within the file);
* group ``games`` (one row per game): ``game_id`` (str), ``start`` (int64 first row), ``length``
  (int32), ``returns`` ([G, P] float32), ``participants`` (JSON list of player specs),
  ``learner_step`` (int64), ``finished_at`` (float64 unix time); and, in segments where some game
  has them (Go games that reached their end), the targets of a network's auxiliary heads:
  ``ownership`` ([G, H*W] int8, each point's Tromp–Taylor owner from Black's side: +1 Black, -1
  White, 0 neutral) and ``score`` ([G] float32, Black's final margin less komi); a game without
  them (not finished by the rules, e.g. resigned) has score NaN and ownership zeros.

Version 1 is version 2 without ``ownership`` and ``score``; both are read.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from engine.errors import ArenaError

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
FORMAT = "arena-trajectories"

# gzip-1 writes as fast as lzf on go9-like planes with files half the size, and any HDF5 tool reads
# it (lzf is an h5py-only filter). Policy as float16 halves the widest float array at ~1e-3 relative
# precision, ample for a visit distribution used as a target.
COMPRESSION = "gzip"
COMPRESSION_LEVEL = 1
POLICY_DTYPE = np.float16
CHUNK_BYTES = 1 << 18  # ~256 KiB chunks: a little faster than 1-4 MiB, same ratio

# The datasets of group ``positions``: a segment lacking one is damaged.
POSITION_FIELDS = ("obs", "legal", "policy", "action", "player", "target", "root_value", "game")
SEGMENT_RE = re.compile(r"^traj-(?P<writer>[A-Za-z0-9_.\-]+)-(?P<seq>\d{6,})\.h5$")
WRITER_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
OBS_DTYPES = ("uint8", "float32")


class StoreError(ArenaError):
    """A trajectory file or directory that cannot be used; the message is one line naming the fix."""


class SegmentDamaged(StoreError):
    """A segment whose bytes cannot be read (torn, truncated, overwritten): unlike a segment of another
    game or schema, one that a run moves to quarantine and goes on without. `problem`: a few words."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


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
        if self.obs_dtype not in OBS_DTYPES:
            raise ValueError(f"obs_dtype must be one of {OBS_DTYPES}, not {self.obs_dtype!r}")

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
    # Targets of the auxiliary heads, where the game reached its end by the rules (Go), else None:
    ownership: np.ndarray | None = None  # [H*W] int8 owner of each point, Black's side (+1 Black's)
    score: float | None = None  # Black's final margin, area difference less komi

    def __len__(self) -> int:
        return int(len(self.action))
