"""`arena play` (a game at the terminal against bots, between bots, or among people) and `arena replay`
(step through a saved game)."""
from __future__ import annotations

import argparse
import signal


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("play",
                              help="play a game in the terminal against a bot, watch two bots, or play a friend")
    p.add_argument("game", help="preset or OpenSpiel game string (turn-based: board games, poker, liar's dice, ...)")
    p.add_argument("--vs", action="append", required=True, metavar="SPEC",
                   help="an opponent (a player spec, or human), once per other seat or once for all of them; "
                   "one per seat: watch them play each other")
    p.add_argument("--as", dest="seat", metavar="SEAT",
                   help="your seat: first, second, third, ... (or 1, 2, 3, ...), black/white (first/second), "
                   "random (default first)")
    p.add_argument("--delay", type=float, default=0.5, help="seconds between moves when bots play each other")
    p.add_argument("--save", metavar="PATH", help="where to save the game: a .json/.sgf file or a directory "
                   "(default ./games/; ./saved-games/ inside Arena's source tree)")
    p.add_argument("--seed", type=int, help="random seed of the bots (default: fresh each game)")
    p.add_argument("--resign-threshold", type=float, metavar="VALUE",
                   help="a snapshot bot resigns once its search values its position below this (-1 lost .. +1 "
                   "won) on 3 own moves running (default -0.9; -1: never resign); you resign by typing resign")
    p.set_defaults(func=cmd_play)
    p = subparsers.add_parser("replay", help="step through a game saved by `arena play` (JSON) or an SGF file")
    p.add_argument("file")
    p.add_argument("--all", action="store_true", help="print every position, no prompts")
    p.set_defaults(func=cmd_replay)


def cmd_play(args: argparse.Namespace) -> None:
    from arena_cli.play import PlayConfig, play
    from engine.search.resign import THRESHOLD
    # Ctrl-C must reach the game even when started from a process that ignores SIGINT (inherited).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    play(PlayConfig(game=args.game, vs=args.vs, seat=args.seat, delay=args.delay, save=args.save, seed=args.seed,
                    resign_threshold=THRESHOLD if args.resign_threshold is None else args.resign_threshold))


def cmd_replay(args: argparse.Namespace) -> None:
    from arena_cli.play import replay
    signal.signal(signal.SIGINT, signal.default_int_handler)
    replay(args.file, show_all=args.all)
