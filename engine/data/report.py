"""`arena data inspect`: a summary of a trajectory store or one segment, from headers and games tables.

:func:`inspect` returns the figures as a dict (``--json``); :func:`describe` renders them as text.
No position arrays are read, so inspecting a large store is cheap.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from engine.data.reader import list_segments, meta_from_attrs, open_segment
from engine.data.schema import SegmentDamaged, StoreError, StoreMeta
from engine.files import QUARANTINE


def inspect(path: str | Path) -> dict[str, Any]:
    """Summary of a segment file or a trajectories directory (reads no position arrays)."""
    path = Path(path)
    if path.is_dir():
        files = list_segments(path)
        if not files:
            raise StoreError(f"{path}: no trajectory segments (traj-*.h5) here; point at a run's trajectories/ dir")
    else:
        files = [path]  # a missing path fails in open_segment with the same one-line error
    meta: StoreMeta | None = None
    writers: set[str] = set()
    lengths, returns, finished = [], [], []
    versions: set[int] = set()
    scored = 0  # games with the auxiliary heads' targets
    damaged: list[str] = []
    for p in list(files):
        try:
            f = open_segment(p)
        except SegmentDamaged:
            if not path.is_dir():
                raise
            damaged.append(p.name)  # a store is still worth a summary; inspecting moves nothing
            files.remove(p)
            continue
        with f:
            m = meta_from_attrs(f.attrs)
            if meta is None:
                meta = m
            else:
                meta.check_compatible(m, p)
            writers.add(str(f.attrs["writer"]))
            versions.add(int(f.attrs["schema_version"]))
            g = f["games"]
            if "score" in g:
                scored += int(np.count_nonzero(~np.isnan(g["score"][()])))
            lengths.append(g["length"][()])
            returns.append(g["returns"][()])
            finished.append(g["finished_at"][()])
    if meta is None:
        raise StoreError(f"{path}: every segment here is damaged; `arena league repair RUN` moves them aside")
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
        "schema_version": max(versions),  # the newest of its segments'
        "schema_versions": sorted(versions),
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
        "games_with_targets": scored,  # Go games with final owners and margin (schema 2)
        "writers": sorted(writers),
        "first_game_at": float(fin.min()) if has else None,
        "last_game_at": float(fin.max()) if has else None,
        "bytes": int(sum(p.stat().st_size for p in files)),
        "damaged": damaged,  # unreadable segments left out of the figures
        "quarantined": len(list((path / QUARANTINE).glob("traj-*"))) if path.is_dir() else 0,
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
        f"  schema version  {', '.join(map(str, i['schema_versions']))}",
        f"  game            {i['game_string']}",
        f"  observation     {shape} {i['obs_dtype']} · {i['num_actions']} actions · "
        f"{i['num_players']} players · encoder {i['encoder']}",
        f"  segments        {i['segments']} ({i['bytes'] / 2**20:.1f} MiB; writers: {', '.join(i['writers'])})",
        f"  games           {i['games']:,}",
        f"  positions       {i['positions']:,} (game length mean {i['mean_length']:.1f}, "
        f"min {i['min_length']}, max {i['max_length']})",
        f"  time span       {span}",
    ]
    if i["games_with_targets"]:
        lines.append(f"  aux targets     {i['games_with_targets']:,} games with final owners and margin")
    for s, o in enumerate(i["outcomes"]):
        label = "  outcomes        " if s == 0 else " " * 18
        lines.append(f"{label}seat {s}: {o['wins']} W / {o['draws']} D / {o['losses']} L")
    if i["damaged"] or i["quarantined"]:
        lines.append(f"  left out        {len(i['damaged'])} damaged ({', '.join(i['damaged']) or '-'}; "
                     f"`arena league repair RUN` moves them aside), {i['quarantined']} in {QUARANTINE}/")
    return "\n".join(lines)
