"""Networks and their use: building them (ResNet, MLP), batched inference, snapshot files."""
from engine.nn.checkpoint import (CheckpointError, Snapshot, latest_snapshot, list_snapshots, load_snapshot,
                                  save_snapshot, snapshot_path)
from engine.nn.inference import Evaluator, NetworkStreams, RoutedEvaluator, low_precision
from engine.nn.networks import build, default_device

__all__ = ["CheckpointError", "Evaluator", "NetworkStreams", "RoutedEvaluator", "Snapshot", "build",
           "default_device", "latest_snapshot", "list_snapshots", "load_snapshot", "low_precision",
           "save_snapshot", "snapshot_path"]
