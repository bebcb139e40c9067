"""Terminal play: the interactive session behind `arena play`, and the step-through of `arena replay`.

`arena play GAME --vs SPEC`: a person at the terminal against a bot (`--as` picks the seat);
two `--vs`: the two play each other while the terminal watches (a pause of `--delay` seconds a
move); `--vs human`: two people share the terminal. Moves are typed in the game's notation
(games/notation.py); `undo`, `hint`, `help` and `quit` work at any prompt. A neural bot shows its
search after each move (top moves, visits, values). Every game is saved as JSON (and SGF for Go).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyspiel
import torch
from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

import games
from engine.bots import NeuralBot, load_bot
from games.notation import NotationError, describe, format_action, parse_action, player_name
from games.render import render
from league import record as records

HUMAN = "human"
SEATS = ("first", "second", "black", "white", "random")
QUIT, UNDO, HINT, HELP = ("quit", "exit"), ("undo",), ("hint",), ("help", "?")


class PlayError(ValueError):
    """A play command that cannot start (seats, players, game); one line naming the fix."""


@dataclass
class PlayConfig:
    game: str
    vs: list[str]  # one spec: you against it; two: they play each other (first --vs first)
    seat: str | None = None  # --as: first/second/black/white/random (with one --vs)
    delay: float = 0.5  # seconds between moves when no human plays
    save: str | None = None  # where the record goes (default ./games/)
    seed: int | None = None  # None: a fresh seed each game, recorded in the saved game
    # One torch thread: a network call of 8 leaves gains little from more, and torch's spinning
    # threads make a move 10-50x slower whenever another process holds a core (go9: 0.17 s a move
    # at 100 simulations on 1 thread, 1.4 s median and 12 s worst on 2, with a neighbour busy).
    threads: int = 1


def seat_specs(config: PlayConfig, rng: np.random.Generator) -> list[str]:
    """The player spec of each seat, HUMAN where a person plays."""
    if config.seat is not None and config.seat not in SEATS:
        raise PlayError(f"--as {config.seat!r}: choose one of {', '.join(SEATS)}")
    if len(config.vs) == 1:
        opponent = config.vs[0]
        # black/white are the first/second seat in every game (Black moves first in Go).
        seat = {"first": 0, "black": 0, "second": 1, "white": 1, None: 0}.get(config.seat)
        if seat is None:
            seat = int(rng.integers(2))
        specs = [opponent, opponent]
        specs[seat] = HUMAN
        return specs
    if len(config.vs) == 2:
        if config.seat is not None:
            raise PlayError("--as places you against one --vs; with two --vs the first plays first")
        return list(config.vs)
    raise PlayError("give one --vs SPEC (you against it) or two (they play each other, you watch)")


def _playable(spec) -> None:
    info = spec.game.get_type()
    if spec.num_players != 2 or info.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise PlayError(f"{spec.name} is not a two-player turn-based game: arena play serves only those")


# ---- what a neural bot thinks ---------------------------------------------------------------------


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


# ---- the session ----------------------------------------------------------------------------------


@dataclass
class Session:
    """One game at the terminal. `read` is `input` (swapped for scripted input in tests of the logic)."""

    spec: games.GameSpec
    players: list[str]
    config: PlayConfig
    console: Console = field(default_factory=lambda: Console(highlight=False))
    read: Callable[[str], str] = input

    def __post_init__(self) -> None:
        self.seed = self.config.seed if self.config.seed is not None else secrets.randbelow(2**31)
        self.rng = np.random.default_rng(self.seed)
        self.bots: list[pyspiel.Bot | None] = [
            None if p == HUMAN else load_bot(p, self.spec, seed=self.seed + seat) for seat, p in enumerate(self.players)]
        self.state = self.spec.game.new_initial_state()
        self.humans = {seat for seat, bot in enumerate(self.bots) if bot is None}
        # In hidden-information games a lone human sees only their own view.
        self.viewer = next(iter(self.humans)) if len(self.humans) == 1 else None
        self.quit = False

    def name(self, seat: int) -> str:
        """The seat's name for console markup (specs escaped: a path may hold brackets)."""
        who = "you" if seat in self.humans and len(self.humans) == 1 else self.players[seat]
        return escape(f"{player_name(self.spec, seat)} ({who})")

    def show(self) -> None:
        title = f"{self.spec.name} · move {len(self.state.history())}"
        self.console.print(render(self.spec, self.state, self.viewer, title))

    # -- the loop --

    def run(self) -> records.GameRecord | None:
        """Play to the end or until quit; returns the saved record (None when nothing was played)."""
        seats = " vs ".join(self.name(s) for s in range(2))
        self.console.print(f"[bold]{escape(self.spec.name)}[/]: {seats}. Moves: {describe(self.spec)}."
                           + (" Type help for commands." if self.humans else ""))
        for bot in self.bots:
            if bot is not None:
                bot.restart_at(self.state)
        try:
            self.show()
            while not self.state.is_terminal() and not self.quit:
                if self.state.is_chance_node():
                    outcomes, probs = zip(*self.state.chance_outcomes())
                    self._apply(int(self.rng.choice(outcomes, p=probs)))
                elif self.state.current_player() in self.humans:
                    self._human_turn()
                else:
                    self._bot_turn()
        except KeyboardInterrupt:  # Ctrl-C while a bot thinks or the watcher waits
            self.quit = True
        self.console.print()
        return self._finish()

    def _apply(self, action: int) -> None:
        player = self.state.current_player()
        for seat, bot in enumerate(self.bots):
            if bot is not None and seat != player and player >= 0:
                bot.inform_action(self.state, player, action)
        self.state.apply_action(action)

    def _human_turn(self) -> None:
        seat = self.state.current_player()
        try:
            text = self.read(f"{self.name(seat)} > ").strip()
        except (EOFError, KeyboardInterrupt):
            self.quit = True
            return
        command = text.lower()
        if not text:
            return
        if command in QUIT:
            self.quit = True
        elif command in HELP:
            self._help()
        elif command in UNDO:
            self._undo()
        elif command in HINT:
            self._hint()
        else:
            try:
                action = parse_action(self.spec, self.state, text)
            except NotationError as exc:
                self.console.print(f"[red]{escape(str(exc))}[/] (help lists what you can type)")
                return
            self._apply(action)
            if self.state.is_terminal() or self.state.current_player() in self.humans:
                self.show()  # the final board, or the next person's; a bot shows the board after its move

    def _bot_turn(self) -> None:
        seat = self.state.current_player()
        bot = self.bots[seat]
        before = self.state.clone()
        start = time.perf_counter()
        action = bot.step(self.state)
        seconds = time.perf_counter() - start
        self.console.print(f"{self.name(seat)} plays [bold]{escape(format_action(self.spec, before, action))}[/] "
                           f"({seconds:.2f} s)")
        if isinstance(bot, NeuralBot):
            view = search_view(self.spec, before, last_search(bot))
            self.console.print(search_table(view, f"{self.players[seat]} thought:"))
        self._apply(action)
        self.show()
        if not self.humans and not self.state.is_terminal():
            time.sleep(max(self.config.delay, 0.0))

    # -- commands --

    def _help(self) -> None:
        self.console.print(
            f"Type a move: {describe(self.spec)}.\n"
            "  undo  take back your last move (and the reply to it)\n"
            "  hint  ask the bot what it would play here\n"
            "  help  this list\n"
            "  quit  stop here (Ctrl-D and Ctrl-C too); the game so far is saved")
        if not self.state.is_terminal() and describe(self.spec).startswith("the move's name"):
            legal = self.state.legal_actions()
            names = [format_action(self.spec, self.state, a) for a in legal]
            self.console.print("legal now: " + escape(", ".join(names)))

    def _undo(self) -> None:
        """Back to before the last human move, dropping the replies that followed it."""
        history = self.state.history()
        replay = self.spec.game.new_initial_state()
        cut = None
        for i, action in enumerate(history):
            if replay.current_player() in self.humans:
                cut = i
            replay.apply_action(action)
        if cut is None:
            self.console.print("nothing to undo: you have not moved yet")
            return
        self.state = self.spec.game.new_initial_state()
        for action in history[:cut]:
            self.state.apply_action(action)
        for bot in self.bots:
            if bot is not None:
                bot.restart_at(self.state)
        self.console.print(f"took back {len(history) - cut} move(s)")
        self.show()

    def _hint(self) -> None:
        bot = next((b for b in self.bots if b is not None), None)
        if bot is None:
            self.console.print("no bot in this game to ask: hints come from the --vs bot")
            return
        if isinstance(bot, NeuralBot):
            view = search_view(self.spec, self.state, bot.think(self.state))
            best = view.moves[0]
            self.console.print(search_table(view, f"hint: {best[0]} ({best[1]} of {view.visits} visits, "
                                                  f"win estimate {view.win:.0f}% for you)"))
        else:
            action = bot.step(self.state.clone())
            self.console.print(f"hint from {escape(self.players[self.bots.index(bot)])}: "
                               f"[bold]{escape(format_action(self.spec, self.state, action))}[/]")

    # -- the end --

    def _finish(self) -> records.GameRecord | None:
        if self.state.is_terminal():
            self.console.print(f"[bold]game over: {self._verdict()}[/]")
        elif not self.state.history():
            self.console.print("quit before any move; nothing saved")
            return None
        else:
            self.console.print("game left unfinished")
        record = records.record_of(self.spec, self.state, self.players, self.seed)
        paths = records.save(record, self.config.save)
        self.console.print("saved " + escape(", ".join(str(p) for p in paths)))
        return record

    def _verdict(self) -> str:
        returns = self.state.returns()
        result = records.result_string(self.spec, self.state)
        if returns[0] == returns[1]:
            return f"draw ({result})"
        winner = int(np.argmax(returns))
        if len(self.humans) == 1:
            outcome = "you win" if winner in self.humans else "you lose"
        else:
            outcome = f"{self.name(winner)} wins"
        return f"{outcome}, {result} (returns {', '.join(f'{r:+g}' for r in returns)})"


def play(config: PlayConfig, console: Console | None = None) -> records.GameRecord | None:
    """Set up and run one game at the terminal (the `arena play` command)."""
    spec = games.load(config.game)
    _playable(spec)
    if config.delay < 0 or (config.seed is not None and config.seed < 0):
        raise PlayError("--delay and --seed must not be negative")
    _line_editing()
    torch.set_num_threads(config.threads)
    seed_rng = np.random.default_rng(config.seed)
    session = Session(spec, seat_specs(config, seed_rng), config, console or Console(highlight=False))
    return session.run()


def _line_editing() -> None:
    """Arrow keys and history at the prompt, where Python has readline."""
    try:
        import readline  # noqa: F401  (importing it is what turns it on for input())
    except ImportError:
        pass


# ---- replay ---------------------------------------------------------------------------------------


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

    def show(i: int) -> None:
        console.print(render(spec, states[i], title=f"{spec.name} · move {i} of {n}"))

    if show_all:
        try:
            for i in range(n + 1):
                show(i)
        except KeyboardInterrupt:  # a long game piped to a pager, cut short
            return
        console.print(f"result {escape(record.result)}")
        return
    if read is input:
        _line_editing()
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
