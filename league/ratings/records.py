"""Game records by player name turned into the index arrays the fits take: two-player results for
Bradley–Terry, placings for Plackett–Luce."""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from league.ratings.table import RatingError


class Results(NamedTuple):
    """Two-player results: seat-0 player, seat-1 player, seat-0 score (1, 0.5, 0), player names."""

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    names: list[str]


def _name_index(names: Sequence[str] | None) -> tuple[list[str], dict[str, int], bool]:
    """Names so far, their index, and whether unseen names may be added."""
    known = list(names) if names is not None else []
    index = {n: k for k, n in enumerate(known)}
    if len(index) != len(known):
        raise RatingError("player names must be unique")
    return known, index, names is None


def _lookup(name: str, known: list[str], index: dict[str, int], grow: bool) -> int:
    if name not in index:
        if not grow:
            raise RatingError(f"unknown player {name!r}: add it to names, or pass names=None")
        index[name] = len(known)
        known.append(name)
    return index[name]


def results_from_records(records: Iterable[tuple[str, str, float, float]],
                         names: Sequence[str] | None = None) -> Results:
    """(seat-0 name, seat-1 name, return0, return1) records as arrays; the higher return wins.

    With ``names`` the players are indexed in that order and any other name is refused; without,
    in order of first appearance.
    """
    player0, player1, score = [], [], []
    for k, record in enumerate(records):
        if len(record) != 4:
            raise RatingError(f"record {k} has {len(record)} fields, not (player0, player1, return0, return1)")
        p0, p1, r0, r1 = record
        player0.append(p0)
        player1.append(p1)
        score.append(1.0 if r0 > r1 else 0.5 if r0 == r1 else 0.0)
    return results_from_names(player0, player1, score, names)


def results_from_names(player0: Sequence[str], player1: Sequence[str], score: Sequence[float],
                       names: Sequence[str] | None = None) -> Results:
    """Two-player results given column by column (seat-0 names, seat-1 names, seat-0 scores) as
    arrays, names indexed as :func:`results_from_records` does; one dict lookup a name, so a file
    of 200,000 games takes a few hundredths of a second."""
    if not len(player0) == len(player1) == len(score):
        raise RatingError(f"{len(player0)} seat-0 names, {len(player1)} seat-1 names and {len(score)} scores: "
                          "give one of each per game")
    known, index, grow = _name_index(names)
    seated = itertools.chain.from_iterable(zip(player0, player1))  # game by game, seat 0 first
    if grow:  # in order of first appearance
        known = list(dict.fromkeys(seated))
        index = {name: k for k, name in enumerate(known)}
    else:
        unknown = next((name for name in seated if name not in index), None)
        if unknown is not None:
            raise RatingError(f"unknown player {unknown!r}: add it to names, or pass names=None")
    a = np.fromiter(map(index.__getitem__, player0), np.int64, len(player0))
    b = np.fromiter(map(index.__getitem__, player1), np.int64, len(player1))
    return Results(a, b, np.asarray(score, np.float64), known)


def placings_from_records(records: Iterable[tuple[Sequence[str], Sequence[float]]],
                          names: Sequence[str] | None = None
                          ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(participant names, their returns) records as ``players`` and ``ranks`` for Plackett–Luce.

    A player's rank is how many participants scored strictly more, so equal returns tie; games with
    fewer players are padded with -1.
    """
    known, index, grow = _name_index(names)
    games: list[tuple[list[int], list[int]]] = []
    for k, (who, returns) in enumerate(records):
        if len(who) != len(returns):
            raise RatingError(f"record {k} names {len(who)} players but has {len(returns)} returns")
        games.append(([_lookup(n, known, index, grow) for n in who],
                      [sum(o > r for o in returns) for r in returns]))
    width = max([2] + [len(p) for p, _ in games])
    players = np.full((len(games), width), -1, np.int64)
    ranks = np.zeros((len(games), width), np.int64)
    for g, (p, r) in enumerate(games):
        players[g, :len(p)], ranks[g, :len(r)] = p, r
    return players, ranks, known


def check_names(names: Sequence[str]) -> list[str]:
    """The names a fit is given, as a list; RatingError for a repeated one."""
    names = list(names)
    if len(set(names)) != len(names):
        raise RatingError("player names must be unique")
    return names
