"""`arena bench`: throughput figures as JSON (search, self-play, learner, store, ratings, ladders of
results files, onnx) and a kill -9 soak of a league run (soak), one module a subject. Figures go to
docs/benchmarks.md with their command, date and host."""
from arena_cli.bench.cluster import bench_selfplay_ray
from arena_cli.bench.onnx_runtime import bench_onnx
from arena_cli.bench.ratings import bench_ladder, bench_ratings, write_results_file
from arena_cli.bench.search import bench_learner, bench_mcts, bench_selfplay, host, machine_search_rate
from arena_cli.bench.soak import bench_soak
from arena_cli.bench.store import bench_store

__all__ = ["bench_ladder", "bench_learner", "bench_mcts", "bench_onnx", "bench_ratings", "bench_selfplay", "host",
           "bench_selfplay_ray", "bench_soak", "bench_store", "machine_search_rate", "write_results_file"]
