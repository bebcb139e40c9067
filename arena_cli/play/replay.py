"""`arena replay`: step through a saved game (JSON from `arena play`, or SGF), every position shown in
full, hidden cards, dice and stones included, since the game is over."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

import arena_cli.play.saved_games as records
from arena_cli.play.prompt import line_editing
from games.notation import player_name
from games.render import render


def replay(path: str | Path, show_all: bool = False, console: Console | None = None,
           read: Callable[[str], str] = input) -> None:
    """Step through a saved game: Enter next, b back, q quit; `show_all` prints every position."""
    console = console or Console(highlight=False)
    record = records.load(path)
    spec, states = records.replay_states(record, str(path))
    n = len(states) - 1
    console.print(f"[bold]{escape(spec.name)}[/]: " + " vs ".join(
        escape(f"{player_name(spec, s)} ({p})") for s, p in enumerate(record.players))
        + escape(f" · {n} moves · result {record.result}" + (f" · {record.date}" if record.date else "")))
    if not spec.perfect_information:
        console.print("This replay shows everything, hidden cards, dice and stones included: the game is over. "
                      "Deals and rolls count as moves.", style="dim")

    names = [f"{player_name(spec, s)} ({p})" for s, p in enumerate(record.players)]

    def show(i: int) -> None:
        console.print(render(spec, states[i], title=f"{spec.name} · move {i} of {n}", names=names))

    if show_all:
        try:
            for i in range(n + 1):
                show(i)
        except KeyboardInterrupt:  # a long game piped to a pager, cut short
            return
        console.print(f"result {escape(record.result)}")
        return
    if read is input:
        line_editing()
    i, shown = 0, None
    while True:
        if i != shown:
            show(i)
            shown = i
        try:
            key = read("Enter next · b back · q quit > ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            break
        if key in ("q", "quit", "exit"):
            break
        if key in ("b", "back"):
            i = max(i - 1, 0)
        elif key == "":
            if i == n:
                console.print(f"end of game: result {escape(record.result)}")
                break
            i += 1
        else:
            console.print("Enter: next move · b: back · q: quit")
