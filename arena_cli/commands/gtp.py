"""`arena gtp SPEC`: serve a player as a Go Text Protocol engine on stdin/stdout."""
from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gtp",
                              help="serve a player as a GTP engine on stdin/stdout (Go: Sabaki, GoGui, twogtp)")
    p.add_argument("spec", help="player spec: a Go snapshot (<run>, path.pt), mcts:N, random, ...")
    p.add_argument("--game", help="Go game to start with (default: the snapshot's game, else go9)")
    p.add_argument("--resign-threshold", type=float, metavar="VALUE",
                   help="a snapshot answers genmove with `resign` once its search values its position below "
                   "this (-1 lost .. +1 won) on 3 own moves running (default -0.9; -1: never resign)")
    p.set_defaults(func=cmd_gtp)


def cmd_gtp(args: argparse.Namespace) -> None:
    from arena_cli.gtp import serve
    from engine.errors import ArenaError
    from engine.search import Resignation
    threshold = args.resign_threshold
    if threshold is not None and not -1.0 <= threshold <= 1.0:
        raise ArenaError(f"--resign-threshold {threshold:g} must lie in [-1, 1] (-1: never resign)")
    serve(args.spec, args.game, resign=Resignation() if threshold is None else Resignation(threshold))
