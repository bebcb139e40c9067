"""`arena data inspect`: the schema, games, positions and outcomes of trajectory files."""
from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="trajectory files").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("inspect", help="schema, games, positions and outcomes of an HDF5 file or directory")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_data_inspect)


def cmd_data_inspect(args: argparse.Namespace) -> None:
    from engine.data import describe, inspect
    if args.json:
        print(json.dumps(inspect(args.path), indent=1, default=str))
    else:
        print(describe(args.path))
