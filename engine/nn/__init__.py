"""Networks and their use: building them (ResNet, MLP), batched inference, snapshot files, ONNX export."""
from engine.nn.checkpoint import (CheckpointError, Snapshot, SnapshotDamaged, latest_readable, latest_snapshot,
                                  list_snapshots, load_snapshot, save_snapshot, snapshot_path)
from engine.nn.export import ExportError, OnnxExport, export_snapshot, onnx_bytes, onnx_session
from engine.nn.inference import Evaluator, NetworkStreams, RoutedEvaluator, low_precision
from engine.nn.networks import Heads, build, default_device, has_aux_heads, score_bins

__all__ = ["CheckpointError", "Evaluator", "ExportError", "Heads", "NetworkStreams", "OnnxExport", "RoutedEvaluator", "Snapshot",
           "SnapshotDamaged", "build", "default_device", "export_snapshot", "has_aux_heads", "latest_readable", "latest_snapshot",
           "list_snapshots", "load_snapshot",
           "low_precision", "onnx_bytes", "onnx_session", "save_snapshot", "score_bins", "snapshot_path"]
