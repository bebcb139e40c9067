"""Live view of a running league (rich), and the same panel rendered once for `arena league status`.

Everything shown comes from the runner's status dict (status.json for another terminal): progress
and throughput, the share of games resigned and the false-resign rate (when games may resign),
losses, the ladder's top ten, the PFSP opponent weights and win rates, the learning agents when the
league has exploiters (role, step, win rate against their target, joins, resets), the Ray
cluster's nodes with --ray (actors and games a minute per node, restarts), ledger counts and disk used.
"""
from __future__ import annotations

import time
from typing import Any

from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from league.pfsp import entries

TOP = 10


def _fmt_seconds(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def panel(run: str, game: str, status: dict[str, Any]) -> Group:
    parts = [Columns([_progress(run, game, status), *_league(status)])]
    for table in (_agents(status), _cluster(status)):
        if table is not None:
            parts.append(table)
    ladder = _ladder(status)
    if ladder is not None:
        parts.append(ladder)
    return Group(*parts)


def _ladder(status: dict[str, Any]) -> Table | None:
    rows = status.get("ladder") or []
    if not rows:
        return None
    table = Table(title=f"ladder (rating games), top {TOP}", caption=status.get("ladder_note", ""))
    for col in ("#", "player", "Elo", "±", "games", "score%"):
        table.add_column(col, justify="left" if col == "player" else "right")
    for r in rows[:TOP]:
        table.add_row(str(r["rank"]), r["player"], f"{r['elo']:.0f}", f"{r['error']:.0f}", str(r["games"]),
                      f"{r['score']:.1f}")
    return table


def _agents(status: dict[str, Any]) -> Table | None:
    rows = status.get("agents") or []
    if len(rows) < 2:  # main alone: the progress panel says it all
        return None
    table = Table(title="learning agents", caption="win: recent games against the target (vs) since the "
                  "last join · pool: snapshots in the pool")
    for col in ("agent", "step", "vs", "win", "games", "joins", "resets", "pool"):
        table.add_column(col, justify="left" if col in ("agent", "vs") else "right")
    for r in rows:
        table.add_row(r["agent"], f"{r['step']:,}", r["target"], f"{r['win_rate']:.2f}", str(r["games"]),
                      str(r["joined"]), str(r["resets"]), str(r["members"]))
    return table


def _cluster(status: dict[str, Any]) -> Table | None:
    """With --ray: each node's actors and games a minute."""
    cluster = status.get("cluster") or {}
    if not cluster.get("nodes"):
        return None
    table = Table(title=f"Ray cluster ({cluster.get('address')})",
                  caption=f"{cluster.get('restarts', 0)} actor restarts · the run directory stays on this machine")
    for col in ("node", "actors", "games/min"):
        table.add_column(col, justify="left" if col == "node" else "right")
    for node, row in sorted(cluster["nodes"].items()):
        table.add_row(node, str(row["actors"]), f"{row['games_per_minute']:,.0f}")
    return table


def _league(status: dict[str, Any]) -> list[Table]:
    mm = status.get("matchmaking") or {}
    opponents = entries(mm)
    if not opponents:
        return []
    table = Table(title=f"PFSP opponents (self-play {mm.get('self_play', 0):.0%} of games)")
    for col in ("pool member", "weight", "main's win rate", "games"):
        table.add_column(col, justify="left" if col == "pool member" else "right")
    for o in opponents[-TOP:]:
        name = o["player"] if o.get("seat") is None else f"{o['player']} (seat {o['seat']})"
        table.add_row(name, f"{o['weight']:.2f}", f"{o['x']:.2f}", str(o["games"]))
    return [table]


def _progress(run: str, game: str, status: dict[str, Any]) -> Table:
    table = Table(title=f"arena league · {run} · {game}", show_header=False, expand=False)
    table.add_column(style="bold cyan")
    table.add_column(justify="right")
    losses = status.get("losses") or {}
    nash = status.get("nash_conv") or {}
    if "critic" in losses:  # the mmd learner
        loss_row = ("loss critic / policy / KL",
                    f"{losses['critic']:.4f} / {losses['policy']:.3f} / {losses['kl']:.4f}")
    else:
        loss_row = ("loss policy / value", f"{losses.get('policy', float('nan')):.3f} / "
                    f"{losses.get('value', float('nan')):.3f}" if losses else "waiting for data")
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
        loss_row,
        ("latest snapshot", status.get("snapshot", "-")),
        ("pool", f"{len(status.get('pool') or [])} snapshots"),
        ("ledger games", ", ".join(f"{k} {v:,}" for k, v in sorted((status.get("ledger") or {}).items())) or "-"),
        ("disk used", _size(status.get("disk_bytes", 0))),
    ]
    if nash:
        iterate = f" (current weights {nash['iterate_nash_conv']:.4f})" if "iterate_nash_conv" in nash else ""
        rows.insert(9, ("NashConv", f"{nash['nash_conv']:.4f}{iterate} at step {nash['step']:,}"))
    if "resigned_share" in status:
        rows.insert(4, ("resigned", _resigned(status)))
    for k, v in rows:
        table.add_row(k, v)
    return table


def _resigned(status: dict[str, Any]) -> str:
    """`12% of games · false resigns 6% (of 17 played out)`: the games that could not resign, in
    which a player would have, tell how often resigning gives up a game that was not lost."""
    rate, would = status.get("false_resign_rate"), status.get("would_resign", 0)
    false = f"{rate:.0%} (of {would:,} played out)" if rate is not None else "- (none played out yet)"
    return f"{status['resigned_share']:.0%} of games · false resigns {false}"


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
