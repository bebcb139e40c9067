"""Arena's front-ends: the `arena` command, terminal play and replay, saved games, the live dashboard,
the GTP server and the benchmarks. They talk to people and other programs; nothing below imports them."""
from arena_cli.cli import main

__all__ = ["main"]
