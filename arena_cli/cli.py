"""The `arena` command: the parser built from the subcommands (arena_cli/commands/, one module each)
and `main`, which runs one. No logic of its own: commands print over games/, engine/ and league/.

Every error meant for a user derives from `ArenaError` and is printed here as one line (exit status 2)."""
from __future__ import annotations

import argparse
import sys

from arena_cli.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arena", description="Self-play league engine for OpenSpiel games.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from games.errors import ArenaError  # after parsing: `arena --help` loads no OpenSpiel
    try:
        args.func(args)
    except ArenaError as exc:
        print(f"arena: error: {exc}", file=sys.stderr)
        return 2
    return 0
