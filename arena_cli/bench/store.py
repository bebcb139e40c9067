"""`arena bench store`: the trajectory store's write rate and the replay window's sampling time."""
from __future__ import annotations

import tempfile

from engine.data import store


def bench_store() -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        return {"bench": "store", **store.bench_write(tmp + "/w"), "sample": store.bench_sample(tmp + "/s")}
