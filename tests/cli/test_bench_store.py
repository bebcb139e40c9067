"""`arena bench store`: the store's write and sampling benchmarks report JSON-able figures."""
from __future__ import annotations

import json
from pathlib import Path

from arena_cli.bench.store import bench_sample, bench_write


def test_benches_return_json_able_dicts(tmp_path: Path) -> None:
    w = bench_write(tmp_path, positions=3000)
    assert w["positions"] >= 3000 and w["positions_per_s"] > 0
    s = bench_sample(tmp_path, capacity=2000, iterations=20)
    assert s["positions"] == 2000 and s["sample_ms_mean"] > 0
    json.dumps([w, s])
