"""The GTP server: `arena gtp SPEC` speaks the Go Text Protocol (version 2) on stdin/stdout.

Any player spec (a snapshot, `mcts:N`, `random`, even another `gtp:` engine) can be served, so
Sabaki, GoGui or gogui-twogtp can play our bots. A snapshot serves only the board size it was trained
on (other sizes: `? unacceptable size`); komi may change. With time_settings/time_left a snapshot's
search stops when the move's share of the clock is spent (its `@sims` is the most it searches); other
specs play at their fixed strength.

Scoring (`final_score`): Tromp–Taylor area scoring of the current position with komi, the rule
OpenSpiel's Go uses to decide its returns (stones plus empty regions that touch one colour only; no
dead-stone removal), e.g. `B+3.5`. An engine that removes dead stones (GNU Go) agrees whenever the
game was played out until no dead stones are left: as a `gtp:` player GNU Go wants `--chinese-rules
--capture-all-dead`, or it passes with its opponent's dead stones on the board, which OpenSpiel then
counts as alive.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyspiel
import torch

import games
from engine import rundir
from engine.nn import load_snapshot
from engine.players import (BotError, NeuralBot, final_score, go_params, is_neural, load_bot, load_neural, parse_spec,
                            resolve_snapshot)
from games import goboard
from games.notation import NotationError, go_action, go_vertex

PROTOCOL_VERSION = "2"
MAX_SIZE = 19  # OpenSpiel's Go board stops at 19x19
COLORS = {"b": 0, "black": 0, "w": 1, "white": 1}


@dataclass
class Clock:
    """GTP time control (time_settings, time_left) and the time a move may take under it."""

    main: float = 0.0
    byo_time: float = 0.0
    byo_stones: int = 0
    active: bool = False  # no time_settings yet: no limit
    left: dict[int, tuple[float, int]] = field(default_factory=dict)  # player -> (seconds, stones)

    def settings(self, main: float, byo_time: float, byo_stones: int) -> None:
        self.main, self.byo_time, self.byo_stones = main, byo_time, byo_stones
        # GTP: byo-yomi time with zero stones means no time limit at all.
        self.active = not (byo_time > 0 and byo_stones == 0)
        self.left = {}

    def _remaining(self, player: int) -> tuple[float, int]:
        if player in self.left:
            return self.left[player]
        return (self.main, 0) if self.main > 0 else (self.byo_time, self.byo_stones)

    def budget(self, player: int, moves_left: int) -> float | None:
        """Seconds for this move, or None for no limit; leaves a margin for the answer to travel."""
        if not self.active:
            return None
        seconds, stones = self._remaining(player)
        if stones > 0:  # in byo-yomi: this period's time shared among its stones
            share = seconds / stones
        else:  # main time over the moves still to come, plus one byo-yomi stone's share after it
            share = seconds / max(moves_left, 1)
            if self.byo_stones > 0:
                share += self.byo_time / self.byo_stones
        return max(0.0, 0.7 * share - 0.05)

    def spend(self, player: int, seconds: float) -> None:
        """Our own bookkeeping between time_left commands (controllers send those when they like)."""
        if not self.active:
            return
        left, stones = self._remaining(player)
        left -= seconds
        if stones > 0:
            stones -= 1
            if stones == 0:  # a byo-yomi period completed in time starts afresh
                left, stones = self.byo_time, self.byo_stones
        elif left <= 0 and self.byo_stones > 0:
            left, stones = self.byo_time, self.byo_stones
        self.left[player] = (max(left, 0.0), stones)


class CommandError(Exception):
    """A command that fails; answered `? message`."""


class GTPServer:
    """One GTP session: the board, the player, the clock; `handle(line)` answers one command."""

    COMMANDS = ("protocol_version", "name", "version", "known_command", "list_commands", "boardsize",
                "clear_board", "komi", "play", "genmove", "undo", "showboard", "final_score",
                "time_settings", "time_left", "quit")

    def __init__(self, spec: str, game: str | None = None, seed: int = 0) -> None:
        self.spec, self.seed = spec, seed
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
        self.clock = Clock()
        self._bots: dict[tuple[int, float], pyspiel.Bot] = {}
        self._bot_moves: list[int] | None = None
        self._clear()
        bot = self._bot()  # a spec that names no player fails now, not at the first genmove
        if self._neural is not None:
            # A first search loads the compiled tree kernels and traces the network (0.6 s and
            # more): pay it now, not on the clock of the first genmove.
            bot.think(self.state, 8)
            bot.restart_at(self.state)

    # -- board --

    def _game_spec(self) -> games.GameSpec:
        return games.load(f"go(board_size={self.size},komi={self.komi!r})")

    def _clear(self) -> None:
        self.state = self._game_spec().game.new_initial_state()
        self.inserted: list[bool] = []  # per action: a pass we put in for a colour playing twice
        self._bot_moves = None

    def _replay(self, actions: list[int]) -> None:
        """A fresh state of the current game (size, komi) with `actions` played."""
        state = self._game_spec().game.new_initial_state()
        for a in actions:
            state.apply_action(a)
        self.state = state
        self._bot_moves = None

    def _bot(self) -> pyspiel.Bot:
        key = (self.size, self.komi)
        if key not in self._bots:
            spec = self._game_spec()
            if self._neural is not None:
                evaluator, search, seed = self._neural
                self._bots[key] = NeuralBot(spec, evaluator, search, seed + self.seed, name=self.spec)
            else:
                self._bots[key] = load_bot(self.spec, spec, self.seed)
        return self._bots[key]

    def _to_move(self, player: int) -> None:
        """GTP lets a colour move twice (setting up a position); OpenSpiel alternates: pass between."""
        if self.state.is_terminal():
            raise CommandError("game is over")
        if self.state.current_player() != player:
            history = self.state.history()
            if history and history[-1] == self.size * self.size:
                raise CommandError("cannot move twice in a row after a pass: it would end the game")
            self.state.apply_action(self.size * self.size)
            self.inserted.append(True)

    # -- commands --

    def handle(self, line: str) -> tuple[str, bool]:
        """The full response to one command line ('' for a line with no command) and whether to quit."""
        line = "".join(ch for ch in line if ch in "\t\n" or ord(ch) >= 32 and ord(ch) != 127)
        line = line.split("#", 1)[0].replace("\t", " ").strip()
        if not line:
            return "", False
        words = line.split()
        ident = ""
        if words[0].isdigit():
            ident = words.pop(0)
        if not words:
            return f"?{ident} syntax error: no command\n\n", False
        name, args = words[0], words[1:]
        method = getattr(self, f"cmd_{name}", None) if name in self.COMMANDS else None
        if method is None:
            return f"?{ident} unknown command\n\n", False
        try:
            result = method(args)
        except CommandError as exc:
            return f"?{ident} {exc}\n\n", False
        except (ValueError, pyspiel.SpielError) as exc:  # e.g. a gtp: player behind us that failed
            return f"?{ident} {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}\n\n", False
        return f"={ident} {result}".rstrip(" ") + "\n\n", name == "quit"

    @staticmethod
    def _nargs(args: list[str], n: int) -> None:
        if len(args) != n:
            raise CommandError(f"syntax error: expected {n} argument{'s' if n != 1 else ''}")

    @staticmethod
    def _number(text: str, kind: type = float):
        try:
            return kind(text)
        except ValueError:
            raise CommandError(f"syntax error: {text!r} is not {'an integer' if kind is int else 'a number'}") from None

    def _player(self, text: str) -> int:
        if text.lower() not in COLORS:
            raise CommandError(f"invalid color {text!r}")
        return COLORS[text.lower()]

    def cmd_protocol_version(self, args: list[str]) -> str:
        return PROTOCOL_VERSION

    def cmd_name(self, args: list[str]) -> str:
        return "Arena"

    def cmd_version(self, args: list[str]) -> str:
        return f"{rundir.arena_version()} ({self.spec})"

    def cmd_known_command(self, args: list[str]) -> str:
        self._nargs(args, 1)
        return "true" if args[0] in self.COMMANDS else "false"

    def cmd_list_commands(self, args: list[str]) -> str:
        return "\n".join(self.COMMANDS)

    def cmd_quit(self, args: list[str]) -> str:
        return ""

    def cmd_boardsize(self, args: list[str]) -> str:
        self._nargs(args, 1)
        size = self._number(args[0], int)
        if not 2 <= size <= MAX_SIZE or self.trained_size is not None and size != self.trained_size:
            raise CommandError("unacceptable size")
        self.size = size
        self._clear()
        return ""

    def cmd_clear_board(self, args: list[str]) -> str:
        self._clear()
        return ""

    def cmd_komi(self, args: list[str]) -> str:
        self._nargs(args, 1)
        komi = self._number(args[0])
        if komi != self.komi:
            self.komi = komi
            self._replay(self.state.history())  # same moves, a game with the new komi
        return ""

    def cmd_play(self, args: list[str]) -> str:
        self._nargs(args, 2)
        player = self._player(args[0])
        try:
            action = go_action(args[1], self.size)
        except NotationError:
            raise CommandError(f"invalid coordinate {args[1]!r}") from None
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
        self._nargs(args, 1)
        player = self._player(args[0])
        self._to_move(player)
        started = time.monotonic()
        action = self._think(player)
        self.clock.spend(player, time.monotonic() - started)
        self.state.apply_action(action)
        self.inserted.append(False)
        return go_vertex(action, self.size)

    def cmd_undo(self, args: list[str]) -> str:
        history, inserted = self.state.history(), list(self.inserted)
        if not history:
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

    def cmd_final_score(self, args: list[str]) -> str:
        return final_score(self.state)

    def cmd_time_settings(self, args: list[str]) -> str:
        self._nargs(args, 3)
        main, byo = self._number(args[0]), self._number(args[1])
        stones = self._number(args[2], int)
        if main < 0 or byo < 0 or stones < 0:
            raise CommandError("syntax error: times and stones must not be negative")
        self.clock.settings(main, byo, stones)
        return ""

    def cmd_time_left(self, args: list[str]) -> str:
        self._nargs(args, 3)
        player = self._player(args[0])
        seconds, stones = self._number(args[1]), self._number(args[2], int)
        self.clock.left[player] = (max(seconds, 0.0), max(stones, 0))
        return ""

    # -- thinking --

    def _think(self, player: int) -> int:
        bot = self._bot()
        state = self.state
        if self._neural is not None:
            moves_left = int((np.asarray(goboard.board(state)) == goboard.EMPTY).sum()) // 2 + 10
            return self._timed_search(bot, state, self.clock.budget(player, moves_left))
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

    @staticmethod
    def _timed_search(bot, state: pyspiel.State, budget: float | None) -> int:
        """The bot's full search, or under a clock, growing chunks of it until the budget is spent.

        The tree is kept between chunks (bots reuse trees by default), so the chunks add up to one search.
        """
        limit = bot.search_config.simulations
        if budget is None:
            return bot.best_action(bot.think(state))
        start = time.monotonic()
        done, chunk = 0, 1
        while True:
            n = min(chunk, limit - done)
            info = bot.think(state, n)
            done += n
            elapsed = time.monotonic() - start
            rate = done / max(elapsed, 1e-6)
            chunk = max(1, min(2 * chunk, int(rate * (budget - elapsed))))
            if done >= limit or elapsed + chunk / rate > budget:
                return bot.best_action(info)


def serve(spec: str, game: str | None = None, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> None:
    """Answer GTP commands from `stdin` on `stdout` until `quit` or end of input."""
    torch.set_num_threads(1)  # one game's small batches: more threads only spin against the opponent's
    server = GTPServer(spec, game)
    for line in stdin:
        response, done = server.handle(line)
        if response:
            stdout.write(response)
            stdout.flush()
        if done:
            break
