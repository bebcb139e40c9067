"""Terminal play: the interactive session behind `arena play`, and `play()`, which sets it up.

`arena play GAME --vs SPEC`: a person at the terminal against a bot (`--as` picks the seat); in a
game of n players, n - 1 `--vs` (or one, for every other seat) seat the bots around the person, and
n `--vs` play each other while the terminal watches (a pause of `--delay` seconds a move); `--vs
human`: people share the terminal. Moves are typed in the game's notation (games/notation.py);
`undo`, `hint`, `help` and `quit` work at any prompt. A neural bot shows its search after each move
(top moves, visits, values). In a game won or lost (Go, connect four, ...) a person may type
`resign`, and a neural bot resigns when its search sees its position lost for three moves running
(`--resign-threshold`, engine/search/resign.py); so does a GTP engine that answers `resign`. Chance
(cards, dice) is drawn from the session's seeded generator and recorded with the moves. Every game
is saved as JSON (and SGF for Go).

Hidden information stays hidden from a lone person at the terminal: poker shows their own cards
only, phantom Go and dark hex their own view of the board, and a bot's moves in those two are not
named; everything shows once the game is over (and always to a watcher, and in replays). A bot's
action probabilities in such games are shown after each move to a watcher, and to a player only at
the end, since they hint at the bot's cards.

A finished Go game ends with the board judged for dead stones (games.territory: a network's ownership
map when a bot offers one, else random playouts): each colour's area drawn, and that count next to
the result OpenSpiel's Tromp–Taylor gives the board as it stands, which is the one that decides the
game. Both go into the saved game (SGF: TB/TW, the dead stones marked, a comment).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyspiel
import torch
from rich.console import Console
from rich.markup import escape

import arena_cli.play.saved_games as records
import games
from arena_cli.play.prompt import line_editing
from arena_cli.play.search_view import last_search, policy_line, search_table, search_view
from arena_cli.play.seating import HUMAN, PlayConfig, PlayError, seat_specs
from engine.players import GTPBot, MinimaxBot, NeuralBot, load_bot, ownership_of
from engine.search import Resignation
from games import territory
from games.notation import (NotationError, describe, either, family, format_action, hidden_moves, parse_action,
                            player_name, view_rows)
from games.render import render
from games.render import territory as territory_panel

QUIT, UNDO, HINT, HELP, RESIGN = ("quit", "exit"), ("undo",), ("hint",), ("help", "?"), ("resign",)


def _reads_true_state(bot: pyspiel.Bot) -> bool:
    """Bots that search the true state, hidden cards and stones included: their hints would tell them."""
    return isinstance(bot, (pyspiel.MCTSBot, MinimaxBot, NeuralBot, GTPBot))


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
        self.bots: list[pyspiel.Bot | None] = [None if p == HUMAN else load_bot(p, self.spec, seed=self.seed + seat)
                                               for seat, p in enumerate(self.players)]
        self.state = self.spec.game.new_initial_state()
        self.humans = {seat for seat, bot in enumerate(self.bots) if bot is None}
        self.hidden = not self.spec.perfect_information
        self.last_viewer = min(self.humans) if self.humans else None
        self.dirty = True  # the state changed since it was last shown
        self.refused = 0  # a bot's refused tries this turn (phantom Go, dark hex)
        self.policies: list[tuple[int, pyspiel.State, list]] = []  # bots' policies, for the end of the game
        self.quit = False
        self.resign = Resignation(self.config.resign_threshold)
        self.resigned: int | None = None  # the seat that resigned

    def name(self, seat: int) -> str:
        """The seat's name for console markup (specs escaped: a path may hold brackets)."""
        return escape(self.label(seat))

    def label(self, seat: int) -> str:
        who = "you" if seat in self.humans and len(self.humans) == 1 else self.players[seat]
        return f"{player_name(self.spec, seat)} ({who})"

    @property
    def viewer(self) -> int | None:
        """Whose view to draw in a game with hidden information: the lone person; with several people,
        the one to move (or who moved last); None when only bots play (a watcher sees everything)."""
        if not self.hidden or not self.humans:
            return None
        if len(self.humans) == 1:
            return self.last_viewer
        if self.state.current_player() in self.humans:
            self.last_viewer = self.state.current_player()
        return self.last_viewer

    def show(self) -> None:
        over = self.state.is_terminal()
        what = "showdown" if over and family(self.spec) == "poker" else f"move {len(self.state.history())}"
        title = f"{self.spec.name} · {what}"
        self.console.print(render(self.spec, self.state, self.viewer, title,
                                  names=[self.label(s) for s in range(self.spec.num_players)]))
        self.dirty = False

    # -- the loop --

    def run(self) -> records.SavedGame | None:
        """Play to the end or until quit; returns the saved record (None when nothing was played)."""
        seats = " vs ".join(self.name(s) for s in range(self.spec.num_players))
        self.console.print(f"[bold]{escape(self.spec.name)}[/]: {seats}. Moves: {describe(self.spec)}."
                           + (" Type help for commands." if self.humans else ""))
        if self.hidden and self.humans:
            self.console.print("You see only your own cards, dice or stones until the game is over."
                               if len(self.humans) == 1 else
                               "Each of you sees only your own side at your turn: look away when it is not yours.")
        for bot in self.bots:
            if bot is not None:
                bot.restart_at(self.state)
        try:
            while not self.state.is_terminal() and not self.quit and self.resigned is None:
                if self.state.is_chance_node():  # cards and dice: from the seeded generator, recorded
                    outcomes, probs = zip(*self.state.chance_outcomes())
                    self._apply(int(self.rng.choice(outcomes, p=probs)))
                    self.dirty = True
                elif self.state.current_player() in self.humans:
                    if self.dirty:
                        self.show()
                    self._human_turn()
                else:
                    self._bot_turn()
        except KeyboardInterrupt:  # Ctrl-C while a bot thinks or the watcher waits
            self.quit = True
        if self.state.is_terminal() and self.dirty:
            self.show()  # the final position; in hidden-information games everything, now it is over
        self.console.print()
        return self._finish()

    def _apply(self, action: int) -> None:
        player = self.state.current_player()
        for seat, bot in enumerate(self.bots):
            if bot is not None and seat != player and player >= 0:
                bot.inform_action(self.state, player, action)
        self.state.apply_action(action)

    def _refused(self, player: int, action: int) -> bool:
        """Whether the move just played was refused (phantom Go, dark hex: it hit an unseen stone)."""
        return (hidden_moves(self.spec) and not self.state.is_terminal() and self.state.current_player() == player
                and format_action(self.spec, self.state, action) != "pass")

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
        elif command in RESIGN:
            if self.spec.resignable:
                self.resigned = seat
            else:
                self.console.print(f"no resigning in {escape(self.spec.name)}: only two-player games are won or "
                                   "lost by it; type quit to stop here")
        else:
            try:
                action = parse_action(self.spec, self.state, text)
            except NotationError as exc:
                self.console.print(f"[red]{escape(str(exc))}[/] (help lists what you can type)")
                return
            self._apply(action)
            self.dirty = True
            if self._refused(seat, action):
                self.console.print(f"[red]{escape(self._refusal(seat, action))}[/]")

    def _refusal(self, seat: int, action: int) -> str:
        """Why the game refused a move the player could not know was illegal."""
        move = format_action(self.spec, self.state, action)
        rows = view_rows(self.state.observation_string(seat))  # the point as the player now sees it
        size = len(rows[0]) if rows else 0
        row, col = divmod(action, size) if size else (0, 0)
        if family(self.spec) == "phantom_go":
            row = len(rows) - 1 - row
        cell = rows[row][col].lower() if rows and 0 <= row < len(rows) and 0 <= col < size else ""
        if cell and cell not in ("+", ".", "xo"[seat]):  # Black/x moves first in both games
            return f"{move} is occupied by an unseen stone (now shown on your board): move again"
        return f"{move} is illegal on the true board (unseen stones make it suicide or ko): move again"

    def _bot_turn(self) -> None:
        seat = self.state.current_player()
        bot = self.bots[seat]
        before = self.state.clone()
        start = time.perf_counter()
        policy = None
        if self.hidden and not isinstance(bot, NeuralBot) and bot.provides_policy():
            policy, action = bot.step_with_policy(self.state)
        else:
            action = bot.step(self.state)
        seconds = time.perf_counter() - start
        if self._bot_resigns(seat, bot):
            self.resigned = seat
            self.console.print(f"{self.name(seat)} resigns ({seconds:.2f} s)")
            if isinstance(bot, NeuralBot):
                view = search_view(self.spec, before, last_search(bot))
                self.console.print(search_table(view, f"{self.players[seat]} thought:"))
            return
        move = format_action(self.spec, before, action)
        self._apply(action)
        refused = self._refused(seat, action)
        watched = not self.humans
        if hidden_moves(self.spec) and not watched:  # the stone is not the person's to see
            self.refused += refused
            if not refused:
                tries = (f" (after {self.refused} refused tr{'y' if self.refused == 1 else 'ies'}: it hit your "
                         "stones, so it knows where they are)") if self.refused else ""
                done = "passes" if move == "pass" else "has moved"  # a pass is announced to both players
                self.console.print(f"{self.name(seat)} {done}{tries}" + ("" if move == "pass" else
                                                                        "; its stone is hidden from you"))
                self.refused = 0
        elif refused:
            self.console.print(f"{self.name(seat)} tries [bold]{escape(move)}[/]: an unseen stone is there, "
                               "it moves again")
        elif family(self.spec) in ("poker", "liars_dice"):
            self.console.print(f"{self.name(seat)}: [bold]{escape(move)}[/] ({seconds:.2f} s)")
        else:
            self.console.print(f"{self.name(seat)} plays [bold]{escape(move)}[/] ({seconds:.2f} s)")
        if isinstance(bot, NeuralBot):
            view = search_view(self.spec, before, last_search(bot))
            self.console.print(search_table(view, f"{self.players[seat]} thought:"))
        if policy is not None:
            if watched:  # a watcher sees every card: the policy gives nothing away
                line = policy_line(self.spec, before, policy)
                if line:
                    self.console.print(escape(f"  {self.players[seat]}'s policy: {line}"), style="dim")
            else:  # it hints at the bot's cards: kept for the end of the game
                self.policies.append((seat, before, policy))
        self.dirty = True
        if watched:
            self.show()
            if not self.state.is_terminal():
                time.sleep(max(self.config.delay, 0.0))

    def _bot_resigns(self, seat: int, bot: pyspiel.Bot) -> bool:
        """A GTP engine that answered `resign`; a neural bot whose search found its position hopeless again."""
        if not self.spec.resignable:
            return False
        if isinstance(bot, GTPBot):
            return bot.resigned
        return isinstance(bot, NeuralBot) and self.resign.hopeless(seat, last_search(bot)["value"])

    # -- commands --

    def _help(self) -> None:
        self.console.print(
            f"Type a move: {describe(self.spec)}.\n"
            "  undo  take back your last move (and the replies to it)\n"
            "  hint  ask the bot what it would play here\n"
            + ("  resign  give up: the game ends, lost\n" if self.spec.resignable else "") +
            "  help  this list\n"
            "  quit  stop here (Ctrl-D and Ctrl-C too); the game so far is saved")
        if self.state.is_terminal():
            return
        kind = family(self.spec)
        if kind in ("poker", "liars_dice", "other"):
            legal = [format_action(self.spec, self.state, a) for a in self.state.legal_actions()]
            if kind == "liars_dice" and len(legal) > 6:
                bids = [m for m in legal if m != "liar"]
                legal = [f"bids {bids[0]} to {bids[-1]}"] + (["liar"] if "liar" in legal else [])
            self.console.print("legal now: " + escape(either(legal)))

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
        problem = self._undo_problem(history, cut) if self.hidden else None
        if problem:
            self.console.print(f"cannot undo: {problem}")
            return
        self.state = self.spec.game.new_initial_state()
        for action in history[:cut]:
            self.state.apply_action(action)
        for bot in self.bots:
            if bot is not None:
                bot.restart_at(self.state)
        self.refused = 0
        self.console.print(f"took back {len(history) - cut} move(s)")
        self.show()

    def _undo_problem(self, history: list[int], cut: int) -> str | None:
        """Why taking back to `cut` would keep hidden information the player has since seen, or None."""
        replay = self.spec.game.new_initial_state()
        for action in history[:cut]:
            replay.apply_action(action)
        for action in history[cut:]:
            player = replay.current_player()
            if replay.is_chance_node():
                return "cards or dice were dealt since your move, and you have seen them"
            replay.apply_action(action)
            if player in self.humans and hidden_moves(self.spec) and replay.current_player() == player \
                    and not replay.is_terminal() and format_action(self.spec, replay, action) != "pass":
                return "your refused move showed you an unseen stone"
        return None

    def _hint(self) -> None:
        bot = next((b for b in self.bots if b is not None), None)
        if bot is None:
            self.console.print("no bot in this game to ask: hints come from the --vs bot")
            return
        who = escape(self.players[self.bots.index(bot)])
        if self.hidden and _reads_true_state(bot):
            self.console.print(f"no hint from {who}: it searches the true state, so its hint would give away "
                               "hidden cards or stones")
            return
        if isinstance(bot, NeuralBot):
            view = search_view(self.spec, self.state, bot.think(self.state))
            best = view.moves[0]
            self.console.print(search_table(view, f"hint: {best[0]} ({best[1]} of {view.visits} visits, "
                                                  f"win estimate {view.win:.0f}% for you)"))
        elif self.hidden and bot.provides_policy():
            policy, action = bot.step_with_policy(self.state.clone())
            line = policy_line(self.spec, self.state, policy)
            self.console.print(f"hint from {who}: [bold]{escape(format_action(self.spec, self.state, action))}[/]"
                               + (escape(f" (its policy: {line})") if line else ""))
        else:
            action = bot.step(self.state.clone())
            self.console.print(f"hint from {who}: "
                               f"[bold]{escape(format_action(self.spec, self.state, action))}[/]")

    # -- the end --

    def _finish(self) -> records.SavedGame | None:
        judged = None
        if self.resigned is not None:
            self.console.print(f"[bold]game over: {self._resigned_verdict()}[/]")
        elif self.state.is_terminal():
            self.console.print(f"[bold]game over: {self._verdict()}[/]")
            if family(self.spec) == "go":
                judged = self._count()
            shown = [(seat, state, line) for seat, state, policy in self.policies
                     if (line := policy_line(self.spec, state, policy))]
            if shown:
                self.console.print("the bots' policies, now the cards are known:")
                for seat, state, line in shown:
                    self.console.print(escape(f"  {self.label(seat)} at move {len(state.history())}: {line}"),
                                       style="dim")
        elif not self.state.history():
            self.console.print("quit before any move; nothing saved")
            return None
        else:
            self.console.print("game left unfinished")
        record = records.record_of(self.spec, self.state, self.players, self.seed, judged=judged,
                                   resigned=self.resigned)
        paths = records.save(record, self.config.save)
        self.console.print("saved " + escape(", ".join(str(p) for p in paths)))
        return record

    def _count(self) -> territory.Territory:
        """The final Go position judged for dead stones and drawn, its count beside the official one."""
        maps = (ownership_of(bot, self.state) for bot in self.bots if bot is not None)
        judged = territory.of_state(self.state, next((m for m in maps if m is not None), None), seed=self.seed)
        self.console.print(territory_panel(self.state, judged, f"{self.spec.name} · the count"))
        official = records.result_string(self.spec, self.state)
        self.console.print(f"with dead stones removed (estimated from {judged.source}): [bold]{judged.result}[/]; "
                           f"the game is decided by OpenSpiel's Tromp–Taylor count of the board as it stands, "
                           f"every stone alive: [bold]{official}[/]")
        return judged

    def _resigned_verdict(self) -> str:
        winner = 1 - self.resigned  # resignable games have two players
        if len(self.humans) == 1:
            outcome = "you win" if winner in self.humans else "you lose"
        else:
            outcome = f"{self.name(winner)} wins"
        result = records.result_string(self.spec, self.state, self.resigned)
        return f"{self.name(self.resigned)} resigns: {outcome}, {result}"

    def _verdict(self) -> str:
        returns = self.state.returns()
        result = records.result_string(self.spec, self.state)
        scores = f"returns {', '.join(f'{r:+g}' for r in returns)}"
        chips = family(self.spec) == "poker"
        if chips and len(self.humans) == 1:
            mine = returns[next(iter(self.humans))]
            amount = f"{abs(mine):g} chip{'' if abs(mine) == 1 else 's'}"
            outcome = f"you win {amount}" if mine > 0 else f"you lose {amount}" if mine < 0 else "you break even"
            return f"{outcome} ({scores})"
        if max(returns) == min(returns):
            return f"draw ({result})"
        best = max(returns)
        winners = [s for s, r in enumerate(returns) if r == best]
        if len(self.humans) == 1:
            outcome = "you win" if next(iter(self.humans)) in winners else "you lose"
        else:
            outcome = " and ".join(self.name(w) for w in winners) + (" wins" if len(winners) == 1 else " win")
        if chips:  # poker is played for chips, not for a win
            return f"{outcome} {best:g} chip{'' if best == 1 else 's'} ({scores})"
        return f"{outcome}, {result} ({scores})"


def play(config: PlayConfig, console: Console | None = None) -> records.SavedGame | None:
    """Set up and run one game at the terminal (the `arena play` command)."""
    spec = games.load(config.game)
    _playable(spec)
    if config.delay < 0 or (config.seed is not None and config.seed < 0):
        raise PlayError("--delay and --seed must not be negative")
    if not -1.0 <= config.resign_threshold <= 1.0:
        raise PlayError(f"--resign-threshold {config.resign_threshold:g} must lie in [-1, 1] (-1: never resign)")
    line_editing()
    torch.set_num_threads(config.threads)
    seed_rng = np.random.default_rng(config.seed)
    session = Session(spec, seat_specs(config, seed_rng, spec.num_players), config, console or Console(highlight=False))
    return session.run()


def _playable(spec: games.GameSpec) -> None:
    """Refuses the games `arena play` cannot serve: simultaneous moves, one player."""
    info = spec.game.get_type()
    if info.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise PlayError(f"{spec.name} has simultaneous moves: arena play serves only turn-based games")
    if spec.num_players < 2:
        raise PlayError(f"{spec.name} has {spec.num_players} player: arena play needs two or more")
