"""Arena's front-ends: the `arena` command (cli.py, one module a subcommand under commands/), terminal
play, replay and saved games (play/), the live dashboard, the GTP server and the benchmarks (bench/).
They talk to people and other programs; nothing below imports them."""
from arena_cli.cli import main

__all__ = ["main"]
