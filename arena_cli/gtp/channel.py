"""The controller's line: commands read on a thread of their own, so that a search (lz-analyze) can
run until the next one arrives; `serve` answers them on stdout."""
from __future__ import annotations

import sys
import threading
from collections import deque
from typing import IO

import torch

from arena_cli.gtp.protocol import MAX_LINE, clean
from arena_cli.gtp.server import GTPServer
from engine.search import Resignation


class LineTooLong(str):
    """A command line over MAX_LINE characters, answered `?` (the string is its id, if it had one)."""


class CommandQueue:
    """Command lines from `stream`, read by a daemon thread; blank and comment lines are dropped here,
    so that only a real command stops an analysis. None stands for the end of input."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: deque[str | None] = deque()
        self._ready = threading.Condition()
        threading.Thread(target=self._read, name="gtp-stdin", daemon=True).start()

    def _put(self, item: str | None) -> None:
        with self._ready:
            self._lines.append(item)
            self._ready.notify_all()

    def _read(self) -> None:
        try:
            while True:
                line = self._stream.readline(MAX_LINE + 1)
                if not line:
                    break
                if len(line) > MAX_LINE and not line.endswith("\n"):
                    head = line.split()
                    while line and not line.endswith("\n"):  # the rest of that line, unread into memory
                        line = self._stream.readline(MAX_LINE)
                    self._put(LineTooLong(head[0] if head and head[0].isdigit() else ""))
                elif clean(line):
                    self._put(line)
        except (OSError, ValueError, UnicodeDecodeError):
            pass  # a broken or undecodable input ends the session like the end of input
        self._put(None)

    def pending(self) -> bool:
        return bool(self._lines)

    def wait(self, timeout: float | None = None) -> bool:
        with self._ready:
            return self._ready.wait_for(lambda: self._lines, timeout)

    def get(self) -> str | None:
        """The next command line, waiting for it; None once input has ended (and ever after)."""
        with self._ready:
            self._ready.wait_for(lambda: self._lines)
            return self._lines[0] if self._lines[0] is None else self._lines.popleft()


def serve(spec: str, game: str | None = None, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout,
          resign: Resignation | None = None) -> None:
    """Answer GTP commands from `stdin` on `stdout` until `quit` or end of input."""
    torch.set_num_threads(1)  # one game's small batches: more threads only spin against the opponent's
    if hasattr(stdin, "reconfigure"):  # undecodable bytes become U+FFFD: a `?` answer, not a dead engine
        stdin.reconfigure(errors="replace")
    commands = CommandQueue(stdin)
    server = GTPServer(spec, game, out=stdout, incoming=commands, resign=resign)
    while (line := commands.get()) is not None:
        if isinstance(line, LineTooLong):
            response, done = f"?{line} line too long: over {MAX_LINE} characters\n\n", False
        else:
            response, done = server.handle(line)
        if response:
            stdout.write(response)
            stdout.flush()
        if done:
            break
