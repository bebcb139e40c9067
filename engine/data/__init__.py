"""The trajectory store: HDF5 segments of finished games (schema, writer, reader), the learner's
replay window over them, `arena data inspect`'s report, and synthetic games for benchmarks and tests."""
from engine.data.reader import Segment, check_segment, list_segments, quarantine_segment, read_meta, read_segment
from engine.data.report import describe, inspect
from engine.data.schema import (COMPRESSION, COMPRESSION_LEVEL, POLICY_DTYPE, SCHEMA_VERSION, SegmentDamaged, StoreError,
                               StoreMeta, Trajectory)
from engine.data.synthetic import go9_bench_meta, synthetic_game
from engine.data.window import Batch, ReplayWindow
from engine.data.writer import SegmentWriter

__all__ = ["COMPRESSION", "COMPRESSION_LEVEL", "POLICY_DTYPE", "SCHEMA_VERSION", "Batch", "ReplayWindow",
           "Segment", "SegmentDamaged", "SegmentWriter", "StoreError", "StoreMeta", "Trajectory", "check_segment",
           "describe", "go9_bench_meta", "inspect", "list_segments", "quarantine_segment", "read_meta", "read_segment",
           "synthetic_game"]
