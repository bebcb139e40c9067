"""Commands that set up a position from outside: handicap stones (fixed_handicap, place_free_handicap,
set_free_handicap) and SGF files (loadsgf, printsgf, through arena_cli.play.saved_games)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pyspiel

import games
from arena_cli.gtp.protocol import CommandError, cap, nargs, number
from arena_cli.play import saved_games
from engine.errors import ArenaError
from engine.players import go_params
from engine.rundir import atomic_write_text
from games import goboard
from games.notation import go_vertex
from games.goboard import MAX_SIZE  # noqa: F401 (server.py reads it here)


class PositionCommands:
    """GTPServer's handicap and SGF commands (a mixin: the session's board lives in GTPServer)."""

    size: int
    komi: float
    setup: int
    spec: str
    state: pyspiel.State
    inserted: list[bool]
    ours: set[int]
    trained_size: int | None

    def _game_spec(self) -> games.GameSpec: ...
    def _clear(self) -> None: ...
    def _replay(self, actions: list[int]) -> None: ...
    def _vertex(self, text: str) -> int: ...

    # -- handicap --

    def cmd_fixed_handicap(self, args: list[str]) -> str:
        nargs(args, 1)
        points = goboard.fixed_handicap(self.size, number(args[0], int))
        if not points:
            raise CommandError("invalid number of stones")
        return self._place_handicap(points)

    def cmd_place_free_handicap(self, args: list[str]) -> str:
        """Our free placement is the fixed one; GTP lets an engine place fewer stones than asked."""
        nargs(args, 1)
        stones = number(args[0], int)
        if not 2 <= stones < self.size * self.size:
            raise CommandError("invalid number of stones")
        most = next((n for n in range(min(stones, 9), 1, -1) if goboard.fixed_handicap(self.size, n)), 0)
        if not most:
            raise CommandError(f"no handicap placement on {self.size}x{self.size}: use set_free_handicap")
        return self._place_handicap(goboard.fixed_handicap(self.size, most))

    def cmd_set_free_handicap(self, args: list[str]) -> str:
        points = [self._vertex(v) for v in args]
        if not 2 <= len(points) < self.size * self.size:
            raise CommandError("invalid number of stones")
        if self.size * self.size in points:
            raise CommandError("syntax error: a handicap stone cannot be a pass")
        if len(set(points)) < len(points):
            raise CommandError("repeated vertex")
        return self._place_handicap(points)

    def _place_handicap(self, points: list[int]) -> str:
        """Black's stones as moves with White passing between (games.goboard: the same position)."""
        if self.state.history():
            raise CommandError("board not empty")
        actions = goboard.setup_actions(points, [], 1, self.size)  # ValueError on a full board: answered `?`
        self.setup = len(actions)
        self._replay(actions)
        self.inserted = [False] * len(actions)
        return " ".join(go_vertex(p, self.size) for p in points)

    # -- SGF --

    def cmd_printsgf(self, args: list[str]) -> str:
        """The game so far as SGF (setup stones as AB/AW); with a file name, written there instead."""
        nargs(args, 0, 1)
        names = [self.spec if player in self.ours else "opponent" for player in (0, 1)]
        record = saved_games.record_of(self._game_spec(), self.state, names, setup=self.setup)
        sgf = saved_games.to_sgf(record).strip()
        if args:
            try:
                atomic_write_text(Path(args[0]), sgf + "\n")
            except OSError as exc:
                raise CommandError(f"cannot write {cap(args[0], 80)}: {exc.strerror or exc}") from None
            return ""
        return sgf

    def cmd_loadsgf(self, args: list[str]) -> str:
        """The position before move `move_number` of an SGF (or saved JSON) game, all of it without:
        board size, komi and setup stones (handicap) from the file."""
        nargs(args, 1, 2)
        stop = number(args[1], int) if len(args) > 1 else None
        if stop is not None and stop < 1:
            raise CommandError("syntax error: move_number must be positive")
        try:
            record = saved_games.load(args[0])
            size, komi = go_params(saved_games.spec_of(record.game).game, "loadsgf")
            moves = len(record.actions) - record.setup
            keep = record.setup + (moves if stop is None else min(stop - 1, moves))
            record = dataclasses.replace(record, actions=record.actions[:keep])
            saved_games.replay_states(record, args[0])  # every move legal
        except ArenaError as exc:
            raise CommandError(f"cannot load file: {exc}") from None
        if not 2 <= size <= MAX_SIZE or self.trained_size is not None and size != self.trained_size:
            raise CommandError(f"cannot load file: its {size}x{size} board is an unacceptable size")
        self.size, self.komi = size, komi
        self._clear()
        self.setup = record.setup
        self._replay(record.actions)
        self.inserted = [False] * len(record.actions)
        return ""
