"""The trajectory store: HDF5 segments of finished games (schema, writer, reader), the learner's
replay window over them, and `arena data inspect`'s report."""
from engine.data.store import (Batch, Trajectory, ReplayWindow, SegmentWriter, StoreError, StoreMeta, describe,
                               inspect, list_segments, read_segment, synthetic_game)

__all__ = ["Batch", "Trajectory", "ReplayWindow", "SegmentWriter", "StoreError", "StoreMeta", "describe",
           "inspect", "list_segments", "read_segment", "synthetic_game"]
