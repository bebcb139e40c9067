"""Live view of a running league (rich), and the same panel rendered once for `arena league status`."""
from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table


def _fmt_seconds(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def panel(run: str, game: str, status: dict[str, Any]) -> Table:
    table = Table(title=f"arena league · {run} · {game}", show_header=False, expand=False)
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    losses = status.get("losses") or {}
    rows = [
        ("state", "running" if status.get("running") and time.time() - status.get("updated", 0) < 15
         else "not running"),
        ("elapsed (this session)", _fmt_seconds(status.get("elapsed", 0))),
        ("actors", f"{status.get('actors_alive', 0)} alive, {status.get('restarts', 0)} restarts"),
        ("games (this session)", f"{status.get('games', 0):,}"),
        ("games / min", f"{status.get('games_per_minute', 0):,.1f}"),
        ("simulations / s", f"{status.get('simulations_per_second', 0):,.0f}"),
        ("positions stored", f"{status.get('stored_positions', 0):,} in {status.get('stored_games', 0):,} games"),
        ("learner step", f"{status.get('step', 0):,}"),
        ("loss policy / value", f"{losses.get('policy', float('nan')):.3f} / {losses.get('value', float('nan')):.3f}"
         if losses else "waiting for data"),
        ("latest snapshot", status.get("snapshot", "-")),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


class LiveView:
    """Callable refreshed by the runner's loop; redraws at most a few times a second."""

    def __init__(self, run: str, game: str, console: Console | None = None) -> None:
        self.run, self.game = run, game
        self.console = console or Console()
        self.live = Live(console=self.console, refresh_per_second=4, transient=False)
        self.last = 0.0

    def __enter__(self) -> "LiveView":
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if now - self.last < 0.25:
            return
        self.last = now
        self.live.update(panel(self.run, self.game, progress.as_dict()))
