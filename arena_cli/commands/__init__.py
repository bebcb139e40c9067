"""The `arena` subcommands, one module a command or command group (named after it). Each module has
`add_parser(subparsers)`, which declares the command's flags and sets its handler; handlers import what
they need when they run, so `arena --help` loads neither torch nor OpenSpiel. Adding a command is one
module here plus its entry in COMMANDS, the order `arena --help` lists them in."""
from arena_cli.commands import bench, data, export, games, gtp, ladder, league, play

COMMANDS = (games, league, ladder, data, export, bench, play, gtp)

__all__ = ["COMMANDS"]
