"""Leela Zero's analysis commands, as Sabaki and Lizzie send them: `lz-analyze` searches the position
until the controller sends its next command, writing an `info` line of the candidate moves every
interval; `lz-genmove_analyze` does the same during a genmove.

An info line holds one entry a candidate, most visited first:
    info move D4 visits 120 winrate 5234 prior 1234 lcb 5100 order 0 pv D4 Q16 info move ...
winrate, prior and lcb in 1/10000, from the view of the player to move.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pyspiel

from arena_cli.gtp.protocol import COLORS, CommandError, cap, number
from engine.players import NeuralBot
from games.notation import go_vertex

DEFAULT_INTERVAL = 1.0  # seconds between info lines when the command names no interval
CHUNK_SECONDS = 0.05  # a search chunk's length: how long a new command may wait for the search to stop
PV_DEPTH = 30  # moves a principal variation shows at most
MAX_INFO = 32 * 1024  # characters an info line holds at most: its least visited candidates go first
# What an analysis tree may take: about 150k positions on 9x9, 33k on 19x19. A full tree stops the
# search (its last line stands): making room means compacting it (see BatchedMCTS), which copies
# the whole tree, a stall of seconds for a chunk of milliseconds.
TREE_BYTES = 256 * 2**20


class Input(Protocol):
    """The controller's side of the channel, as a search that waits for the next command sees it."""

    def pending(self) -> bool: ...  # a command (or the end of input) is waiting

    def wait(self, timeout: float | None = None) -> bool: ...  # block until one is, or timeout


@dataclass
class Request:
    """An lz-analyze or lz-genmove_analyze command's arguments."""

    player: int | None = None  # None: the player to move
    interval: float = DEFAULT_INTERVAL  # seconds
    min_moves: int = 0  # candidates shown at least (unvisited ones by prior)
    max_moves: int | None = None  # candidates shown at most


def parse_request(args: list[str]) -> Request:
    """`[color] [interval] [interval N] [minmoves N] [maxmoves N]`, interval in centiseconds."""
    request, rest = Request(), list(args)
    if rest and rest[0].lower() in COLORS:
        request.player = COLORS[rest.pop(0).lower()]
    if rest and rest[0].lower() not in ("interval", "minmoves", "maxmoves", "avoid", "allow"):
        request.interval = number(rest.pop(0)) / 100
    while rest:
        key = rest.pop(0).lower()
        if key in ("avoid", "allow"):
            raise CommandError(f"{key} is not supported: analysis covers every legal move")
        if key not in ("interval", "minmoves", "maxmoves"):
            raise CommandError(f"syntax error: unknown argument {cap(key, 40)!r}")
        if not rest:
            raise CommandError(f"syntax error: {key} needs a value")
        if key == "interval":
            request.interval = number(rest.pop(0)) / 100
        elif key == "minmoves":
            request.min_moves = int(number(rest.pop(0), int))
        else:
            request.max_moves = int(number(rest.pop(0), int))
    if request.interval < 0 or request.min_moves < 0 or request.max_moves is not None and request.max_moves < 1:
        raise CommandError("syntax error: interval and minmoves must not be negative, maxmoves must be positive")
    return request


def tree_capacity(num_actions: int, simulations: int) -> int:
    """Nodes of an analysis tree: TREE_BYTES over a node's arrays, at least a search's worth."""
    per_node = 22 * num_actions  # an action's child index (4 bytes), 4 edge statistics (16), legal flag, board point
    return max(2 * simulations + 2, TREE_BYTES // per_node)


def _principal_variation(mcts, action: int, depth: int) -> list[int]:
    """`action`, then the most visited move at each node below it, while the tree has visits there."""
    moves, node = [action], int(mcts.root[0])
    while len(moves) < depth:
        child = int(mcts.child[0, node, moves[-1]])
        if child < 0:
            break
        visits = mcts.N[0, child]
        if visits.max() <= 0:  # a leaf, or a terminal position
            break
        node = child
        moves.append(int(visits.argmax()))
    return moves


def info_line(bot: NeuralBot, size: int, request: Request) -> str:
    """The candidates of the bot's current tree as one `info move ...` line ('' before any visit)."""
    mcts = bot.mcts
    root = int(mcts.root[0])
    visits, wins, prior = mcts.N[0, root], mcts.W[0, root], mcts.P[0, root]
    order = sorted(np.flatnonzero(visits > 0).tolist(), key=lambda a: (-visits[a], -prior[a]))
    if len(order) < request.min_moves:  # fill up with unvisited legal moves, likeliest first
        unvisited = np.flatnonzero(mcts.legal[0, root] & (visits == 0)).tolist()
        order += sorted(unvisited, key=lambda a: -prior[a])[:request.min_moves - len(order)]
    if request.max_moves is not None:
        order = order[:request.max_moves]
    root_value = mcts.root_value(0)
    entries: list[str] = []
    length = 0
    for rank, action in enumerate(order):
        n = int(visits[action])
        value = wins[action] / n if n else root_value  # an unvisited move: the position's own value
        win = min(1.0, max(0.0, (value + 1) / 2))
        # LCB: Leela Zero's lower confidence bound of the win rate; the tree keeps no variance, so
        # this is the normal approximation's, with the win rate's own Bernoulli variance.
        lcb = max(0.0, win - 1.96 * math.sqrt(win * (1 - win) / n)) if n else 0.0
        pv = " ".join(go_vertex(a, size) for a in (_principal_variation(mcts, action, PV_DEPTH) if n else [action]))
        entry = (f"info move {go_vertex(action, size)} visits {n} winrate {round(win * 10000)} "
                 f"prior {round(float(prior[action]) * 10000)} lcb {round(lcb * 10000)} order {rank} pv {pv}")
        if entries and length + len(entry) + 1 > MAX_INFO:
            break
        entries.append(entry)
        length += len(entry) + 1
    return " ".join(entries)


def analyse(bot: NeuralBot, state: pyspiel.State, size: int, request: Request, write: Callable[[str], None],
            commands: Input) -> None:
    """Search `state` in short chunks, one tree growing, writing an info line every interval, until
    the controller sends its next command (or the tree is full: then the last line stands)."""
    mcts = bot.mcts
    chunk, last, written = 8, time.monotonic(), True
    while not commands.pending() and not state.is_terminal():
        room = mcts.capacity - int(mcts.count[0]) - 1  # a search needs its nodes plus one free
        if room < 1:
            break
        chunk = max(1, min(chunk, room))
        started = time.monotonic()
        bot.think(state, chunk)
        now = time.monotonic()
        rate = chunk / max(now - started, 1e-6)
        chunk = max(1, min(2 * chunk, int(rate * min(CHUNK_SECONDS, request.interval or CHUNK_SECONDS))))
        written = now - last >= request.interval
        if written:
            _write_info(bot, size, request, write)
            last = now
    if not written:
        _write_info(bot, size, request, write)
    commands.wait()


def _write_info(bot: NeuralBot, size: int, request: Request, write: Callable[[str], None]) -> None:
    line = info_line(bot, size, request)
    if line:
        write(line + "\n")
