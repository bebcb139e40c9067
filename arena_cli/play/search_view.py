"""What a bot thought, for people: the top moves of a neural bot's search (visits, values, priors) and
the most likely actions of a bot's policy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyspiel
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine.players import NeuralBot
from games.notation import format_action


@dataclass
class SearchView:
    """A search's root, for people: the most visited moves, their values, the position's value."""

    moves: list[tuple[str, int, float, float]]  # (move, visits, value for the mover, prior), best first
    visits: int
    value: float  # root value for the player to move, in [-1, 1]

    @property
    def win(self) -> float:
        """The value as a winning chance (draws count half)."""
        return 50.0 * (self.value + 1.0)


def search_view(spec, state: pyspiel.State, stats: dict, top: int = 5) -> SearchView:
    visits, q, prior = stats["visits"], stats["q"], stats["prior"]
    order = [int(a) for a in np.argsort(-visits, kind="stable") if visits[a] > 0][:top]
    moves = [(format_action(spec, state, a), int(visits[a]), float(q[a]), float(prior[a])) for a in order]
    return SearchView(moves, int(visits.sum()), float(stats["value"]))


def last_search(bot: NeuralBot) -> dict:
    """The root statistics of a neural bot's last search (its tree stays rooted there until its next move)."""
    mcts = bot.mcts
    return {"visits": mcts.visit_counts(0), "q": mcts.q_values(0), "prior": mcts.P[0, mcts.root[0]].copy(),
            "value": mcts.root_value(0)}


def search_table(view: SearchView, title: str) -> Group:
    """The heading, a table of the top moves (value: the mover's, -1 loss .. +1 win) and the position's value."""
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
    for col in ("move", "visits", "value", "prior"):
        table.add_column(col, justify="left" if col == "move" else "right")
    for move, visits, q, p in view.moves:
        table.add_row(move, str(visits), f"{q:+.2f}", f"{p:.2f}")
    summary = f"position value {view.value:+.2f} (win estimate {view.win:.0f}%) after {view.visits} visits"
    return Group(Text(title), table, Text(summary, style="dim"))


def policy_line(spec, state: pyspiel.State, policy: list[tuple[int, float]], top: int = 5) -> str | None:
    """`raise 62% · call 30% · fold 8%`, the most likely first; None for a uniform policy (it says nothing)."""
    probs = [(int(a), float(p)) for a, p in policy if p > 0]
    if not probs or max(p for _, p in probs) - min(p for _, p in probs) < 1e-6 and len(probs) == len(
            state.legal_actions()):
        return None
    probs.sort(key=lambda ap: -ap[1])
    shown = " · ".join(f"{format_action(spec, state, a)} {p:.0%}" for a, p in probs[:top])
    return shown + (f" · {len(probs) - top} more" if len(probs) > top else "")
