"""`arena gtp SPEC`: serve a player as a Go Text Protocol engine on stdin/stdout."""
from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gtp",
                              help="serve a player as a GTP engine on stdin/stdout (Go: Sabaki, GoGui, twogtp)")
    p.add_argument("spec", help="player spec: a Go snapshot (<run>, path.pt), mcts:N, random, ...")
    p.add_argument("--game", help="Go game to start with (default: the snapshot's game, else go9)")
    p.set_defaults(func=cmd_gtp)


def cmd_gtp(args: argparse.Namespace) -> None:
    from arena_cli.gtp import serve
    serve(args.spec, args.game)
