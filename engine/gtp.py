"""The Go Text Protocol (GTP version 2) in both directions.

- **Client** `GTPBot`: a `pyspiel.Bot` driving an external GTP engine subprocess, the player spec
  `gtp:<command line>` (e.g. `gtp:gnugo --mode gtp --level 1`). `restart_at` sends boardsize,
  clear_board and komi of the OpenSpiel Go game and replays the state's moves; moves of the other
  side are sent with `play`, the engine's own with `genmove`. An engine that cannot start, dies,
  stalls past `timeout`, answers `? ...` or plays a move that is illegal in our state raises a
  one-line `GTPError` naming its command line; the process is killed then, and on `close`, garbage
  collection and interpreter exit (no zombies). OpenSpiel's Go has no resign action: an engine's
  `resign` is returned as a pass with `bot.resigned` set, which `league.match` scores as a loss
  (any other OpenSpiel tool sees a pass, and the game goes on).
- **Server** `GTPServer` / `serve`: `arena gtp SPEC` speaks GTP on stdin/stdout for any player
  spec (a snapshot, `mcts:N`, `random`, even another `gtp:` engine), so Sabaki, GoGui or
  gogui-twogtp can play our bots. A snapshot serves only the board size it was trained on (other
  sizes: `? unacceptable size`); komi may change. With time_settings/time_left a snapshot's search
  stops when the move's share of the clock is spent (its `@sims` is the most it searches); other
  specs play at their fixed strength.

Scoring (`final_score`): Tromp–Taylor area scoring of the current position with komi, the rule
OpenSpiel's Go uses to decide its returns (stones plus empty regions that touch one colour only; no
dead-stone removal), e.g. `B+3.5`. An engine that removes dead stones (GNU Go) agrees whenever the
game was played out until no dead stones are left: as a `gtp:` player GNU Go wants `--chinese-rules
--capture-all-dead`, or it passes with its opponent's dead stones on the board, which OpenSpiel then
counts as alive.
"""
from __future__ import annotations

import os
import select
import shlex
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from typing import IO

import numpy as np
import pyspiel

from engine.bots import BotError
from games import goboard
from games.notation import NotationError, go_action, go_vertex

PROTOCOL_VERSION = "2"
MAX_SIZE = 19  # OpenSpiel's Go board stops at 19x19
COLORS = {"b": 0, "black": 0, "w": 1, "white": 1}


class GTPError(BotError):
    """An external GTP engine that failed (did not start, died, refused a command, moved illegally).

    A BotError (a ValueError) so that commands print it as their usual one-line error.
    """


def go_params(game: pyspiel.Game, what: str) -> tuple[int, float]:
    """Board size and komi of an OpenSpiel Go game; a one-line BotError for any other game."""
    if game.get_type().short_name != "go":
        raise BotError(f"{what} plays Go only, not {str(game).removesuffix('()')}: use a go preset (go9, go13, go19) "
                       "or go(board_size=N,komi=K)")
    params = game.get_parameters()
    if int(params.get("handicap", 0)) != 0:
        raise BotError(f"{what} plays even games only: drop handicap from {game}")
    return int(params["board_size"]), float(params["komi"])


def score_text(margin: float) -> str:
    """GTP/SGF result of a Black-minus-White margin: `B+3.5`, `W+0.5`, `0`."""
    return "0" if margin == 0 else f"{'B' if margin > 0 else 'W'}+{abs(margin):g}"


def final_score(state: pyspiel.State) -> str:
    """Tromp–Taylor area score with komi of a Go state, as GTP's final_score writes it."""
    size, komi = go_params(state.get_game(), "final_score")
    return score_text(goboard.area_score(goboard.board(state), size, komi))


# ---- client ------------------------------------------------------------------------------------


def _stop(proc: subprocess.Popen, stderr: IO[bytes]) -> None:
    """Ask the engine to quit, kill it if it does not, and reap it (so it leaves no zombie)."""
    if proc.poll() is None:
        try:
            proc.stdin.write(b"quit\n")
            proc.stdin.flush()
            proc.wait(timeout=2)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout, stderr):
        try:
            pipe.close()
        except OSError:
            pass


class GTPBot(pyspiel.Bot):
    """An external GTP engine as a `pyspiel.Bot` for an OpenSpiel Go game."""

    def __init__(self, command: str, game: pyspiel.Game, timeout: float | None = 600.0) -> None:
        pyspiel.Bot.__init__(self)
        self.command = command.strip()
        try:
            self.argv = shlex.split(self.command)
        except ValueError as exc:  # an unbalanced quote
            raise BotError(f"bad command line in gtp:{self.command}: {exc}") from None
        if not self.argv:
            raise BotError("empty gtp: spec: write gtp:<command line>, e.g. gtp:gnugo --mode gtp")
        self.game = game
        self.size, self.komi = go_params(game, f"gtp:{self.command}")
        self.timeout = timeout  # seconds a command may take before the engine counts as dead
        self.resigned = False  # set when the engine resigned: its move was returned as a pass
        self.process: subprocess.Popen | None = None
        self._moves: list[int] | None = None  # the moves the engine knows, in order; None: unknown
        self._start()

    # -- process --

    def _start(self) -> None:
        stderr = tempfile.TemporaryFile()  # kept to explain a death; a file never blocks the engine
        try:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=stderr, bufsize=0)
        except OSError as exc:
            stderr.close()
            raise GTPError(f"cannot start GTP engine {self.command!r}: {exc.strerror or exc}") from None
        self._stderr = stderr
        self._buffer = b""
        self._moves = None
        self._finalizer = weakref.finalize(self, _stop, self.process, stderr)
        self.send("protocol_version")  # proves it speaks GTP before any game depends on it

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def close(self) -> None:
        """Stop the engine process (also done at garbage collection and exit)."""
        if self.process is not None:
            self._finalizer()
            self.process = None

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            lines = [ln.strip() for ln in self._stderr.read().decode(errors="replace").splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return lines[-1][:200] if lines else ""

    def _died(self, command: str, why: str) -> GTPError:
        """Kill what is left of the engine and describe its death in one line."""
        status = None
        if self.process is not None:
            try:  # an engine that closed its output is exiting: its status tells why
                status = self.process.wait(timeout=1) if why == "died" else self.process.poll()
            except subprocess.TimeoutExpired:
                pass
            if status is None:  # stalled or confused: no polite quit, its state is unknown
                self.process.kill()
        tail = self._stderr_tail() if self.process else ""
        self.close()
        code = f", exit status {status}" if status is not None else ""
        return GTPError(f"GTP engine {self.command!r} {why} at {command!r}{code}" + (f": {tail}" if tail else ""))

    def _readline(self, command: str, deadline: float | None) -> str:
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], wait)[0]:
                raise self._died(command, f"gave no answer in {self.timeout:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise self._died(command, "died")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode(errors="replace").replace("\r", "").replace("\t", " ")

    def send(self, command: str) -> str:
        """Any GTP command (e.g. `final_score`); its answer without `= `. GTPError on `? ...`, death, timeout."""
        if not self.alive():
            raise self._died(command, "is not running")
        try:
            self.process.stdin.write(command.encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            raise self._died(command, "died") from None
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        line = ""
        while not line.strip():  # blank lines may come before an answer
            line = self._readline(command, deadline)
        lines = [line]
        while line.strip():  # an answer ends with a blank line
            line = self._readline(command, deadline)
            lines.append(line)
        head = lines[0].lstrip()
        text = " ".join(" ".join(lines).split()[1:]) if head[:1] in "=?" else ""
        if head.startswith("?"):
            raise GTPError(f"GTP engine {self.command!r} refused {command!r}: ? {text}".rstrip())
        if not head.startswith("="):
            raise self._died(command, f"answered {head[:60]!r}, not GTP")
        return text

    # -- game --

    @staticmethod
    def _color(index: int) -> str:
        return "B" if index % 2 == 0 else "W"  # even games: Black moves first and colours alternate

    def _sync(self, history: list[int]) -> None:
        """Bring the engine to `history`: play the new moves, or set the board up again if it diverged."""
        known = self._moves
        if known is None or history[:len(known)] != known:
            self.send(f"boardsize {self.size}")
            self.send("clear_board")
            self.send(f"komi {self.komi:g}")
            known = self._moves = []
        for i in range(len(known), len(history)):
            self.send(f"play {self._color(i)} {go_vertex(history[i], self.size)}")
            known.append(history[i])

    def restart_at(self, state: pyspiel.State) -> None:
        # A new game: an engine that died in the last one starts afresh (GTPError if it cannot).
        self.resigned = False
        if not self.alive():
            self._start()
        self._moves = None
        self._sync(state.history())

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        if not self.alive():  # dead since the last game: tell the caller now, not at our next move
            raise self._died("play", "is not running")
        self._sync(state.history() + [action])

    def step(self, state: pyspiel.State) -> int:
        history = state.history()
        self._sync(history)  # also catches up when a runner did not inform us of every move
        color = self._color(len(history))
        answer = self.send(f"genmove {color}")
        word = answer.split()[0].lower() if answer.split() else ""
        if word == "resign":
            self.resigned = True
            return self.size * self.size  # pass: OpenSpiel's Go has no resignation
        try:
            action = go_action(word, self.size)
        except NotationError:
            raise GTPError(f"GTP engine {self.command!r} answered 'genmove {color}' with {answer!r}, "
                           "not a vertex") from None
        if action not in state.legal_actions():
            raise GTPError(f"GTP engine {self.command!r} played {answer}, illegal in the game's position "
                           f"after {len(history)} moves (out of sync, or another ko rule)")
        self._moves.append(action)
        return action


# ---- server ------------------------------------------------------------------------------------


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
        import games
        from engine import bots, checkpoint

        self.spec, self.seed = spec, seed
        self.trained_size: int | None = None
        self._neural = None
        default = "go9"
        if bots.is_neural(spec):
            # The snapshot's own game names the one board size its network reads.
            snap = checkpoint.load_snapshot(bots.resolve_snapshot(bots.parse_spec(spec)[0]))
            own = games.load(snap.game)
            self.trained_size = go_params(own.game, "arena gtp")[0]
            self._neural = bots.load_neural(spec, own)  # (evaluator, search, seed)
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

    def _game_spec(self):
        import games
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
                from engine.bots import NeuralBot
                evaluator, search, seed = self._neural
                self._bots[key] = NeuralBot(spec, evaluator, search, seed + self.seed, name=self.spec)
            else:
                from engine.bots import load_bot
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
        from importlib import metadata
        try:
            version = metadata.version("arena")
        except metadata.PackageNotFoundError:
            version = "dev"
        return f"{version} ({self.spec})"

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
    import torch
    torch.set_num_threads(1)  # one game's small batches: more threads only spin against the opponent's
    server = GTPServer(spec, game)
    for line in stdin:
        response, done = server.handle(line)
        if response:
            stdout.write(response)
            stdout.flush()
        if done:
            break
