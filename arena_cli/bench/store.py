"""`arena bench store`: the trajectory store's write rate and the replay window's sampling time."""
from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from engine.data import (COMPRESSION, COMPRESSION_LEVEL, POLICY_DTYPE, ReplayWindow, SegmentWriter, StoreMeta,
                         go9_bench_meta, list_segments, synthetic_game)


def bench_store() -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        return {"bench": "store", **bench_write(tmp + "/w"), "sample": bench_sample(tmp + "/s")}


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
