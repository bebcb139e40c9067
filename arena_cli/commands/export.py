"""`arena export SPEC --onnx FILE`: a snapshot's network as ONNX, with a JSON sidecar saying what its
tensors mean (engine/nn/export.py)."""
from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export", help="write a snapshot's network as ONNX (plus a JSON sidecar)")
    p.add_argument("spec", help="a snapshot: <run>, <run>:latest, <run>:step-K, <run>/<agent>, path/to/snapshot.pt")
    # Required, not positional: one flag a format leaves room for others beside ONNX.
    p.add_argument("--onnx", required=True, metavar="FILE",
                   help="the ONNX file to write; its sidecar goes to FILE with .json")
    p.add_argument("--seat", type=int, help="which seat's network, for snapshots with one per seat (per_player)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> None:
    from pathlib import Path

    from engine.nn import export_snapshot, load_snapshot
    from engine.players import snapshot_file

    path = Path(args.onnx)
    info = export_snapshot(load_snapshot(snapshot_file(args.spec)), path, args.seat)
    worst = max(info.check["max_abs_difference"].values())
    tensors = {**info.inputs, **info.outputs}
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB) and {path.with_suffix('.json')}: {info.game} "
          f"step {info.step}, observation {_dims(tensors['observation'])} -> policy_logits "
          f"{_dims(tensors['policy_logits'])}, value {_dims(tensors['value'])}; onnxruntime agrees "
          f"with torch to {worst:.1g} on {info.check['positions']} positions")


def _dims(tensor: dict) -> str:
    return "[" + ", ".join(map(str, tensor["shape"])) + "]"
