"""The GTP client: `GTPBot`, a `pyspiel.Bot` driving an external Go Text Protocol engine.

The player spec `gtp:<command line>` (e.g. `gtp:gnugo --mode gtp --level 1`). `restart_at` sends
boardsize, clear_board and komi of the OpenSpiel Go game and replays the state's moves; moves of the
other side are sent with `play`, the engine's own with `genmove`. An engine that cannot start, dies,
stalls past `timeout`, answers `? ...` or plays a move that is illegal in our state raises a
one-line `GTPError` naming its command line; the process is killed then, and on `close`, garbage
collection and interpreter exit (no zombies). OpenSpiel's Go has no resign action: an engine's
`resign` is returned as a pass with `bot.resigned` set, which `league.match` scores as a loss (any
other OpenSpiel tool sees a pass, and the game goes on). The server side is `arena_cli.gtp`.
"""
from __future__ import annotations

import os
import select
import shlex
import subprocess
import tempfile
import time
import weakref
from typing import IO

import pyspiel

from engine.errors import BotError
from games import goboard
from games.notation import NotationError, go_action, go_vertex


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


def final_score(state: pyspiel.State) -> str:
    """Tromp–Taylor area score with komi of a Go state, as GTP's final_score writes it (`B+3.5`)."""
    go_params(state.get_game(), "final_score")
    return goboard.result_string(state)


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

    def __init__(self, command: str, game: pyspiel.Game, timeout: float | None = 600.0, name: str | None = None) -> None:
        pyspiel.Bot.__init__(self)
        self.command = command.strip()
        try:
            self.argv = shlex.split(self.command)
        except ValueError as exc:  # an unbalanced quote
            raise BotError(f"bad command line in gtp:{self.command}: {exc}") from None
        if not self.argv:
            raise BotError("empty gtp: spec: write gtp:<command line>, e.g. gtp:gnugo --mode gtp")
        self.game = game
        self.size, self.komi = go_params(game, name or f"gtp:{self.command}")
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

    def final_margin(self, state: pyspiel.State) -> float:
        """The engine's own count of a finished game (`final_score`, dead stones removed as it judges
        them) as Black's margin, negative when White wins: the referee of gogui-twogtp's `-referee`."""
        self._sync(state.history())
        answer = self.send("final_score")
        word = answer.split()[0].upper() if answer.split() else ""
        if word == "0":
            return 0.0
        try:
            margin = float(word[2:])
        except ValueError:
            word = ""
        if word[:2] not in ("B+", "W+"):
            raise GTPError(f"GTP engine {self.command!r} answered 'final_score' with {answer!r}, not a score")
        return margin if word[0] == "B" else -margin

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


GNUGO_PATHS = ("/usr/games/gnugo", "/usr/bin/gnugo", "/usr/local/bin/gnugo", "/opt/homebrew/bin/gnugo")
GNUGO_INSTALL = "sudo apt-get install gnugo (Debian, Ubuntu), brew install gnu-go (macOS)"


def gnugo_command(level: int, seed: int = 0) -> str:
    """GNU Go's GTP command line at `level` (0-10), playing out dead stones under area scoring, so
    that Tromp–Taylor and GNU Go agree on the result; BotError naming the install when it is missing."""
    import shutil

    path = shutil.which("gnugo") or next((p for p in GNUGO_PATHS if os.access(p, os.X_OK)), None)
    if path is None:
        raise BotError(f"gnugo:{level} needs GNU Go, not found on PATH or in {', '.join(GNUGO_PATHS[:2])}: "
                       f"{GNUGO_INSTALL}")
    return f"{shlex.quote(path)} --mode gtp --level {level} --seed {seed} --chinese-rules --capture-all-dead"


def gnugo_bot(spec, game_spec) -> GTPBot:
    """`gnugo:LEVEL` (default 0): GNU Go 3.8 at that level, a fixed anchor for Go ladders."""
    level = spec.count or "0"
    if not level.isascii() or not level.isdigit() or not 0 <= int(level) <= 10:
        raise BotError(f"bad level in {spec.text!r}: write gnugo:N with N from 0 (weakest) to 10")
    return GTPBot(gnugo_command(int(level), spec.seed), game_spec.game, name=spec.text)
