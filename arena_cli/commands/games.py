"""`arena games`: the game presets and which learner serves each."""
from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("games", help="list game presets and which learner serves them")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_games)


def cmd_games(args: argparse.Namespace) -> None:
    import games
    from rich.console import Console
    from rich.table import Table

    rows = []
    for preset in games.presets():
        spec = games.load(preset.name)
        rows.append({"preset": preset.name, "game": spec.game_string, "players": spec.num_players,
                     "information": "perfect" if spec.perfect_information else "imperfect",
                     "learner": spec.learner or f"none ({spec.learner_problem})", "description": preset.description})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    table = Table(title="Arena game presets (any OpenSpiel game string is accepted too)")
    for col in ("preset", "game", "players", "information", "learner", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("preset", "game", "players", "information", "learner", "description")))
    Console().print(table)
