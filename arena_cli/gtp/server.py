"""One GTP session: the board, the player, the clock; `GTPServer.handle(line)` answers one command."""
from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import IO

import numpy as np
import pyspiel

import games
from arena_cli.gtp import analyze
from arena_cli.gtp.clock import Clock, timed_search
from arena_cli.gtp.position import MAX_SIZE, PositionCommands
from arena_cli.gtp.protocol import (
    PROTOCOL_VERSION,
    CommandError,
    cap,
    clean,
    color,
    nargs,
    number,
)
from engine import rundir
from engine.errors import ArenaError
from engine.nn import load_snapshot
from engine.players import (
    BotError,
    NeuralBot,
    go_params,
    is_neural,
    load_bot,
    load_neural,
    ownership_of,
    parse_spec,
    resolve_snapshot,
)
from engine.search import Resignation
from games import goboard, territory
from games.notation import NotationError, go_action, go_vertex

STATUSES = ("alive", "dead", "seki")


class _NoInput:
    """The controller's side when none is wired in (a server driven line by line): a command is always waiting."""

    def pending(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> bool:
        return True


class GTPServer(PositionCommands):
    """One GTP session: the board, the player, the clock; `handle(line)` answers one command.

    `out` and `incoming` serve the streaming commands (lz-analyze), which write their info lines as
    they go and search until `incoming` holds the controller's next command.
    """

    COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
                "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score", "final_status_list",
                "fixed_handicap", "place_free_handicap", "set_free_handicap", "loadsgf", "printsgf",
                "time_settings", "time_left", "quit")
    ANALYSIS = ("lz-analyze", "lz-genmove_analyze")  # snapshots only: the other players have no tree to show

    def __init__(self, spec: str, game: str | None = None, seed: int = 0, out: IO[str] | None = None,
                 incoming: analyze.Input | None = None, resign: Resignation | None = None) -> None:
        """`resign`: when a snapshot answers `resign` (default: below -0.9 on three own moves)."""
        self.spec, self.seed = spec, seed
        self.resign = resign or Resignation()
        self.out = out or sys.stdout
        self.incoming = incoming or _NoInput()
        self.trained_size: int | None = None
        self._neural = None
        default = "go9"
        if is_neural(spec):
            # The snapshot's own game names the one board size its network reads.
            snap = load_snapshot(resolve_snapshot(parse_spec(spec)[0]))
            own = games.load(snap.game)
            self.trained_size = go_params(own.game, "arena gtp")[0]
            self._neural = load_neural(spec, own)  # (evaluator, search, seed)
            default = snap.game
        first = games.load(game or default)
        size, komi = go_params(first.game, "arena gtp")
        if self.trained_size is not None and size != self.trained_size:
            raise BotError(f"{spec} was trained on {self.trained_size}x{self.trained_size}, not {size}x{size}: "
                           f"serve it with --game go(board_size={self.trained_size},komi={komi:g})")
        self.size, self.komi = size, komi
        self.commands = self.COMMANDS + (self.ANALYSIS if self._neural is not None else ())
        self.clock = Clock()
        self._bots: dict[tuple[int, float, int], pyspiel.Bot] = {}
        self._analyst_of: tuple[tuple[int, float, int], NeuralBot] | None = None  # one at a time: it is large
        self._bot_moves: list[int] | None = None
        self._ident, self._begun = "", False  # the command being answered; whether its response has started
        self._clear()
        bot = self._bot()  # a spec that names no player fails now, not at the first genmove
        if self._neural is not None:
            # A first search loads the compiled tree kernels and traces the network (0.6 s and
            # more): pay it now, not on the clock of the first genmove.
            bot.think(self.state, min(8, bot.search_config.simulations))  # no more than its tree holds
            bot.restart_at(self.state)

    # -- board --

    def _game_spec(self) -> games.GameSpec:
        return games.load(goboard.game_string(self.size, self.komi, self.setup))

    def _clear(self) -> None:
        self.setup = 0  # leading actions that place setup stones (handicap, an SGF's AB/AW: games.goboard)
        self.state = self._game_spec().game.new_initial_state()
        self.inserted: list[bool] = []  # per action: a pass we put in for a colour playing twice
        self.ours: set[int] = set()  # colours we were asked to move for (the SGF's player names)
        self._bot_moves = None
        self.resign.reset()

    def _replay(self, actions: list[int]) -> None:
        """A fresh state of the current game (size, komi, setup moves) with `actions` played."""
        state = self._game_spec().game.new_initial_state()
        for a in actions:
            state.apply_action(a)
        self.state = state
        self._bot_moves = None

    def _key(self) -> tuple[int, float, int]:
        return self.size, self.komi, self.setup

    def _bot(self) -> pyspiel.Bot:
        key = self._key()
        if key not in self._bots:
            spec = self._game_spec()
            if self._neural is not None:
                evaluator, search, seed = self._neural
                self._bots[key] = NeuralBot(spec, evaluator, search, seed + self.seed, name=self.spec)
            else:
                self._bots[key] = load_bot(self.spec, spec, self.seed)
        return self._bots[key]

    def _analyst(self, state: pyspiel.State) -> NeuralBot:
        """The snapshot with a tree of its own for lz-analyze, large enough to keep growing: the same
        tree again for the same position, a fresh one for another (a tree carried over from an earlier
        position would fill up with what the moves since left behind). PUCT: Gumbel's root restarts
        every search."""
        key = self._key()
        if self._analyst_of is None or self._analyst_of[0] != key:
            self._analyst_of = None  # free the old tree before the new one takes its memory
            spec = self._game_spec()
            evaluator, search, seed = self._neural
            search = dataclasses.replace(search, reuse_tree=True, root="puct")
            bot = NeuralBot(spec, evaluator, search, seed + self.seed, name=self.spec,
                            capacity=analyze.tree_capacity(spec.num_actions, search.simulations))
            self._analyst_of = key, bot
        bot = self._analyst_of[1]
        if bot.mcts.root_state(0) is None or bot.mcts.root_state(0).history() != state.history():
            bot.restart_at(state)
            bot.think(state, 1)  # the fresh tree, its root expanded
        return bot

    def _to_move(self, player: int, state: pyspiel.State | None = None) -> None:
        """GTP lets a colour move twice (setting up a position); OpenSpiel alternates: pass between."""
        state = state or self.state
        if state.is_terminal():
            raise CommandError("game is over")
        if state.current_player() != player:
            history = state.history()
            if history and history[-1] == self.size * self.size:
                raise CommandError("cannot move twice in a row after a pass: it would end the game")
            state.apply_action(self.size * self.size)
            if state is self.state:
                self.inserted.append(True)

    def _vertex(self, text: str) -> int:
        try:
            return go_action(text, self.size)
        except NotationError:
            raise CommandError(f"invalid coordinate {cap(text, 40)!r}") from None

    # -- dispatch --

    def handle(self, line: str) -> tuple[str, bool]:
        """The full response to one command line ('' for a line with no command) and whether to quit.
        A streaming command has written its first lines to `out` already; this is the rest."""
        line = clean(line)
        if not line:
            return "", False
        words = line.split()
        ident = ""
        if words[0].isdigit():
            ident = words.pop(0)
        if not words:
            return f"?{ident} syntax error: no command\n\n", False
        name, args = words[0], words[1:]
        method = getattr(self, f"cmd_{name.replace('-', '_')}", None) if name in self.commands else None
        if method is None:
            return f"?{ident} unknown command\n\n", False
        self._ident, self._begun = ident, False
        try:
            result = method(args)
        except Exception as exc:  # noqa: BLE001 - whatever a command meets, the engine answers and goes on
            if self._begun:  # a streaming response has started: end it
                return "\n", False
            if isinstance(exc, (CommandError, ArenaError)):
                message = str(exc)
            elif isinstance(exc, (ValueError, pyspiel.SpielError)):  # e.g. a gtp: player behind us that failed
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            else:
                message = f"internal error: {type(exc).__name__}: {exc}"
            return f"?{ident} {cap(message)}\n\n", False
        if self._begun:
            return (result + "\n" if result else "") + "\n", False
        result = "\n".join(ln for ln in f"={ident} {result}".rstrip(" ").splitlines() if ln.strip())
        return result + "\n\n", name == "quit"

    def _begin(self) -> None:
        """Start a streaming response: `=` now, its lines as they come, the blank line at its end."""
        self._write(f"={self._ident}\n")
        self._begun = True

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    # -- commands: the protocol --

    def cmd_protocol_version(self, args: list[str]) -> str:
        return PROTOCOL_VERSION

    def cmd_name(self, args: list[str]) -> str:
        return "Arena"

    def cmd_version(self, args: list[str]) -> str:
        return f"{rundir.arena_version()} ({self.spec})"

    def cmd_known_command(self, args: list[str]) -> str:
        nargs(args, 1)
        return "true" if args[0] in self.commands else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        return "\n".join(self.commands)

    def cmd_quit(self, args: list[str]) -> str:
        return ""

    # -- commands: the board --

    def cmd_boardsize(self, args: list[str]) -> str:
        nargs(args, 1)
        size = number(args[0], int)
        if not 2 <= size <= MAX_SIZE or self.trained_size is not None and size != self.trained_size:
            raise CommandError("unacceptable size")
        self.size = size
        self._clear()
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self._clear()
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        nargs(args, 1)
        komi = number(args[0])
        if komi != self.komi:
            self.komi = komi
            self._replay(self.state.history())  # same moves, a game with the new komi
        return ""

    def cmd_play(self, args: list[str]) -> str:
        nargs(args, 2)
        player = color(args[0])
        action = self._vertex(args[1])
        before = (self.state.history(), list(self.inserted))
        self._to_move(player)
        if action not in self.state.legal_actions():
            self._replay(before[0])  # take back a pass _to_move may have put in
            self.inserted = before[1]
            raise CommandError("illegal move")
        self.state.apply_action(action)
        self.inserted.append(False)
        return ""

    def cmd_genmove(self, args: list[str]) -> str:
        nargs(args, 1)
        player = color(args[0])
        self._to_move(player)
        return self._genmove(player)

    def _genmove(self, player: int, report: Callable[[], None] | None = None, every: float = 1.0) -> str:
        """The move played for `player`, or `resign` (the position stays, and the controller ends the game)."""
        started = time.monotonic()
        action = self._think(player, report, every)
        self.clock.spend(player, time.monotonic() - started)
        if self._neural is not None and self.resign.hopeless(player, self._bot().mcts.root_value(0)):
            if self.inserted and self.inserted[-1]:  # the pass _to_move put in for this move goes with it
                inserted = self.inserted[:-1]
                self._replay(self.state.history()[:-1])
                self.inserted = inserted
            return "resign"
        self.state.apply_action(action)
        self.inserted.append(False)
        self.ours.add(player)
        return go_vertex(action, self.size)

    def cmd_undo(self, args: list[str]) -> str:
        history, inserted = self.state.history(), list(self.inserted)
        if len(history) <= self.setup:  # setup stones (handicap) go with clear_board only
            raise CommandError("cannot undo")
        history.pop()
        inserted.pop()
        while inserted and inserted[-1]:  # a pass we put in belongs to the move we take back
            history.pop()
            inserted.pop()
        self._replay(history)
        self.inserted = inserted
        return ""

    def cmd_showboard(self, args: list[str]) -> str:
        lines = [ln for ln in str(self.state).splitlines() if ln.strip()]
        return "\n" + "\n".join(lines)

    # -- commands: scoring --

    def cmd_final_score(self, args: list[str]) -> str:
        """Area with the dead stones off (games.territory), e.g. `B+3.5`: what GUIs and GNU Go show.
        OpenSpiel's Tromp–Taylor count of the board as it stands may differ; it decides our games."""
        return self._territory().result

    def cmd_final_status_list(self, args: list[str]) -> str:
        """The chains that are `alive`, `dead` or in `seki` (games.territory), one a line."""
        nargs(args, 1)
        status = args[0].lower()
        if status not in STATUSES:
            raise CommandError(f"syntax error: status must be one of {', '.join(STATUSES)}")
        chains = self._territory().chains(status)
        return "\n".join(" ".join(go_vertex(p, self.size) for p in chain) for chain in chains)

    def _territory(self) -> territory.Territory:
        """The position judged by the served player's ownership map (a network's ownership head),
        else by random playouts, seeded by the session: the same answer for the same position."""
        return territory.of_state(self.state, ownership_of(self._bot(), self.state), seed=self.seed)

    # -- commands: time --

    def cmd_time_settings(self, args: list[str]) -> str:
        nargs(args, 3)
        main, byo = number(args[0]), number(args[1])
        stones = number(args[2], int)
        if main < 0 or byo < 0 or stones < 0:
            raise CommandError("syntax error: times and stones must not be negative")
        self.clock.settings(main, byo, stones)
        return ""

    def cmd_time_left(self, args: list[str]) -> str:
        nargs(args, 3)
        player = color(args[0])
        seconds, stones = number(args[1]), number(args[2], int)
        self.clock.left[player] = (max(seconds, 0.0), max(stones, 0))
        return ""

    # -- commands: analysis (snapshots) --

    def cmd_lz_analyze(self, args: list[str]) -> str:
        """Search until the next command, an info line every interval (arena_cli.gtp.analyze)."""
        request = analyze.parse_request(args)
        state = self.state.clone()
        if request.player is not None and not state.is_terminal():
            self._to_move(request.player, state)  # as if the other colour passed, as `play` would
        bot = self._analyst(state)
        self._begin()
        analyze.analyse(bot, state, self.size, request, self._write, self.incoming)
        return ""

    def cmd_lz_genmove_analyze(self, args: list[str]) -> str:
        """genmove with info lines while it thinks, then `play MOVE`."""
        request = analyze.parse_request(args)
        player = self.state.current_player() if request.player is None else request.player
        self._to_move(player)
        self._begin()
        bot = self._bot()

        def report() -> None:
            line = analyze.info_line(bot, self.size, request)
            if line:
                self._write(line + "\n")

        return f"play {self._genmove(player, report, max(request.interval, analyze.CHUNK_SECONDS))}"

    # -- thinking --

    def _think(self, player: int, report: Callable[[], None] | None = None, every: float = 1.0) -> int:
        bot = self._bot()
        state = self.state
        if self._neural is not None:
            moves_left = int((np.asarray(goboard.board(state)) == goboard.EMPTY).sum()) // 2 + 10
            return timed_search(bot, state, self.clock.budget(player, moves_left), report, every)
        # Other bots: tell them the moves since their last, or start them afresh after an undo.
        history = state.history()
        known = self._bot_moves
        if known is None or history[:len(known)] != known:
            bot.restart_at(state)
        else:
            replay = self._game_spec().game.new_initial_state()
            for i, action in enumerate(history):
                if i >= len(known):
                    bot.inform_action(replay, replay.current_player(), action)
                replay.apply_action(action)
        action = int(bot.step(state))
        self._bot_moves = history + [action]
        return action
