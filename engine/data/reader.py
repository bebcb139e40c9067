"""Reading a trajectory store: listing its segments and reading one segment's header or arrays.

Readers see only renamed segments (``traj-*.h5``), never a writer's ``.tmp``, so every file they
open is whole; one that still fails the format or schema check raises a one-line StoreError, one
whose bytes cannot be read (a disk error, a partial copy) a SegmentDamaged, which the run's readers
answer with `quarantine_segment`: the file goes to ``trajectories/quarantine/`` and the run goes on.
Listing never looks inside that folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from engine import files
from engine.data.schema import (FORMAT, POSITION_FIELDS, READABLE_VERSIONS, SCHEMA_VERSION, SEGMENT_RE, SegmentDamaged, StoreError,
                                StoreMeta, Trajectory)


@dataclass
class Segment:
    """The contents of one segment file, as numpy arrays."""

    path: Path
    meta: StoreMeta
    writer: str
    created: float
    positions: dict[str, np.ndarray]  # obs, legal, policy, action, player, target, root_value, game
    # game_id, start, length, returns, participants, learner_step, finished_at; ownership and score
    # where the segment holds them (schema 2, some game finished by the rules)
    games: dict[str, Any]

    @property
    def num_games(self) -> int:
        return len(self.games["game_id"])

    @property
    def num_positions(self) -> int:
        return len(self.positions["action"])

    def records(self) -> list[Trajectory]:
        """Split the segment back into Trajectories (policy comes back as float32)."""
        if self.num_positions != int(self.games["length"].sum()):
            raise ValueError("records() needs a whole segment; read it without a row slice")
        out = []
        pos, g = self.positions, self.games
        for i in range(self.num_games):
            s = slice(int(g["start"][i]), int(g["start"][i]) + int(g["length"][i]))
            aux = "score" in g and not np.isnan(g["score"][i])
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
                    ownership=g["ownership"][i] if aux else None,
                    score=float(g["score"][i]) if aux else None,
                )
            )
        return out


def list_segments(directory: str | Path) -> list[Path]:
    """Final (renamed) segment files in ``directory``, oldest first (by mtime, then name); its
    ``quarantine/`` folder is not looked into."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = []
    for p in d.iterdir():
        if SEGMENT_RE.match(p.name):
            try:
                found.append((p.stat().st_mtime_ns, p.name, p))
            except FileNotFoundError:  # deleted between listing and stat
                continue
    return [p for _, _, p in sorted(found)]


def open_segment(path: Path) -> h5py.File:
    """Open a segment for reading after checking its format and schema version (the caller closes it)."""
    if not path.exists():
        raise StoreError(f"{path}: no such file or directory; give a run's trajectories/ dir or a traj-*.h5 segment")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise SegmentDamaged(f"{path}: not an HDF5 file (truncated or overwritten?); point at an Arena trajectory "
                             "segment (traj-*.h5), or `arena league repair RUN` moves a run's aside",
                             "not an HDF5 file: truncated or overwritten") from None
    try:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT:
            raise StoreError(f"{path}: not an Arena trajectory file (format={fmt!r}); point at a traj-*.h5 segment")
        version = int(f.attrs.get("schema_version", -1))
        if version not in READABLE_VERSIONS:
            raise StoreError(
                f"{path}: trajectory schema version {version}, this Arena reads versions "
                f"{READABLE_VERSIONS[0]} to {SCHEMA_VERSION}; "
                "use the Arena release that wrote it or regenerate the games"
            )
    except BaseException:
        f.close()
        raise
    return f


def meta_from_attrs(attrs: h5py.AttributeManager) -> StoreMeta:
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


@contextmanager
def _damaged_as_store_error(path: Path) -> Iterator[None]:
    """A segment that passed the format check but lacks an attribute or dataset, or whose chunks do
    not decompress, is damaged."""
    try:
        yield
    except StoreError:
        raise
    except (KeyError, ValueError, OSError, RuntimeError) as e:
        raise SegmentDamaged(f"{path}: damaged Arena trajectory file ({e}); `arena league repair RUN` moves a "
                             "run's aside, or delete it", f"damaged: {e}") from None


def read_meta(path: str | Path) -> tuple[StoreMeta, str, float]:
    """(meta, writer, created) of one segment, checking its format and schema version."""
    path = Path(path)
    with open_segment(path) as f, _damaged_as_store_error(path):
        return meta_from_attrs(f.attrs), str(f.attrs["writer"]), float(f.attrs["created"])


def read_size(path: str | Path) -> tuple[StoreMeta, int]:
    """(meta, positions) of one segment, from its header alone."""
    path = Path(path)
    with open_segment(path) as f, _damaged_as_store_error(path):
        return meta_from_attrs(f.attrs), int(f["positions/action"].shape[0])


def _read_games(f: h5py.File) -> dict[str, Any]:
    g = f["games"]
    aux = {k: g[k][()] for k in ("ownership", "score") if k in g}
    return aux | {
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
    with open_segment(path) as f, _damaged_as_store_error(path):
        sel = rows if rows is not None else slice(None)
        return Segment(
            path=path,
            meta=meta_from_attrs(f.attrs),
            writer=str(f.attrs["writer"]),
            created=float(f.attrs["created"]),
            positions={k: f["positions"][k][sel] for k in POSITION_FIELDS},
            games=_read_games(f),
        )


def check_segment(path: str | Path) -> int:
    """Read a whole segment, every chunk decompressed, as a repair checks it; its game count.
    SegmentDamaged when any of it cannot be read."""
    return read_segment(path).num_games


def segment_games(path: Path) -> int | None:
    """How many games a segment holds, if its games table still reads (None: lost with the file)."""
    try:
        with h5py.File(path, "r") as f:
            return len(f["games/game_id"])
    except Exception:  # unreadable down to its games table
        return None


def quarantine_segment(path: Path, error: SegmentDamaged, warn: bool = True) -> Path | None:
    """Move a damaged segment into its store's quarantine/ folder with a one-line warning naming the
    games lost (when its games table still reads); None when another reader moved it first."""
    lost = segment_games(path)
    return files.quarantine(path, error.problem, f"games lost: {'unknown' if lost is None else lost}; "
                             "the run goes on", warn)
