"""Networks and their use: building them (ResNet, MLP), batched inference, snapshot files, ONNX export."""
from engine.nn.checkpoint import (CheckpointError, Snapshot, SnapshotDamaged, latest_readable, latest_snapshot,
                                  list_snapshots, load_snapshot, save_snapshot, snapshot_path)
from engine.nn.export import ExportError, OnnxExport, export_snapshot, onnx_bytes, onnx_session
from engine.nn.inference import Evaluator, NetworkStreams, RoutedEvaluator, low_precision
from engine.nn.networks import build, default_device

__all__ = ["CheckpointError", "Evaluator", "ExportError", "NetworkStreams", "OnnxExport", "RoutedEvaluator", "Snapshot",
           "SnapshotDamaged", "build", "default_device", "export_snapshot", "latest_readable", "latest_snapshot",
           "list_snapshots", "load_snapshot",
           "low_precision", "onnx_bytes", "onnx_session", "save_snapshot", "snapshot_path"]
