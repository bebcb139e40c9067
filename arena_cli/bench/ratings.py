"""`arena bench ratings`: the rating fit's speed, accuracy and interval coverage on synthetic games."""
from __future__ import annotations

from league.ratings.fit import bench_ratings as _bench_ratings


def bench_ratings() -> dict:
    return {"bench": "ratings", **_bench_ratings()}
