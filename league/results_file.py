"""Results files: two-player game results as CSV or PGN (formats in :func:`read_results`), read for
a rating or a ledger import, and PGN written for BayesElo and Ordo (:func:`pgn_game`).

Two readers for each format. A fast one takes the plain files Arena, BayesElo and Ordo write
(PGN: each game's tag lines, then one line of moves ending in its result; no comments or escapes)
in a few whole-text passes, column by column: 200,000 games in well under a second. Anything else,
or any line it doubts, goes to the line-by-line reader, which reads all of both formats and names
the first bad line; both give the same games for any file the fast one takes (the tests check it).
"""
from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from engine.errors import ArenaError


class ResultsFileError(ArenaError):
    """A results file that cannot be read; the message is one line, with the line number and the fix."""


class ResultLine(NamedTuple):
    """One two-player result from a results file: what both the ledger import and a plain rating
    of the file read."""

    player0: str
    player1: str
    return0: float
    return1: float


@dataclass
class ResultColumns:
    """A results file's games column by column, seat 0 first: the form a rating of a big file reads,
    with no object per game."""

    player0: list[str] = field(default_factory=list)
    player1: list[str] = field(default_factory=list)
    result: list[str] = field(default_factory=list)  # "1-0" (player0 won), "0-1" or "1/2-1/2"

    def __len__(self) -> int:
        return len(self.result)

    def add(self, player0: str, player1: str, result: str) -> None:
        self.player0.append(player0)
        self.player1.append(player1)
        self.result.append(result)

    def lines(self) -> list[ResultLine]:
        return [ResultLine(p0, p1, *_RESULT_RETURNS[r]) for p0, p1, r in zip(self.player0, self.player1, self.result)]

    def scores(self) -> list[float]:
        """player0's score in each game: 1, 0.5 or 0."""
        return [_RESULT_SCORE[r] for r in self.result]


_RESULT_RETURNS = {"1-0": (1.0, -1.0), "0-1": (-1.0, 1.0), "1/2-1/2": (0.0, 0.0)}
_RESULT_SCORE = {"1-0": 1.0, "0-1": 0.0, "1/2-1/2": 0.5}
_RESULT_OF = {returns: result for result, returns in _RESULT_RETURNS.items()}
# A CSV result column may also hold the first player's score, as spreadsheets write it.
_CSV_RETURNS = {**_RESULT_RETURNS, "½-½": (0.0, 0.0), "1": (1.0, -1.0), "1.0": (1.0, -1.0), "0": (-1.0, 1.0),
                "0.0": (-1.0, 1.0), "0.5": (0.0, 0.0), ".5": (0.0, 0.0), "1/2": (0.0, 0.0)}
_PGN_RESULT = {1.0: "1-0", 0.0: "0-1", 0.5: "1/2-1/2"}
_RESULT_HINT = "use 1-0, 0-1 or 1/2-1/2"
_CSV_COLUMNS = ("player0", "player1", "result")  # the plain header the fast reader takes
_CSV_RESULT_HINT = "use 1-0, 0-1, 1/2-1/2, or the first player's score 1, 0 or 0.5"
# A winner column names the winning player or colour (White: the first seat, as in PGN), or a draw.
_WINNER_COLOURS = {"white": (1.0, -1.0), "w": (1.0, -1.0), "black": (-1.0, 1.0), "b": (-1.0, 1.0)}
_DRAWS = {"", "draw", "drawn", "none", "-", "=", "1/2", "1/2-1/2", "½-½", "0.5"}
# CSV header names of each column's role; player1 is the second seat beside player0, the first beside player2.
_CSV_NAMES = {"player0": "player0", "white": "player0", "p1": "player0", "first": "player0",
              "black": "player1", "p2": "player1", "second": "player1", "player2": "player1",
              "result": "result", "winner": "winner", "game": "game"}
_CSV_ROLES = ("player0", "player1", "result", "winner", "game")
_ROLE_ALIASES = {"white": "player0", "first": "player0", "black": "player1", "second": "player1"}
_CSV_ACCEPTS = ("the header must name the players (player0,player1 or white,black or player1,player2 or p1,p2) and "
                "a result (1-0, 0-1, 1/2-1/2; 1, 0, 0.5) or winner column (a player, white, black or draw), "
                "optionally game; or name the columns with --columns COLUMN=white,COLUMN=black,COLUMN=result")
_PGN_TAG = re.compile(r'^\[\s*([A-Za-z0-9_+#=:-]+)\s+"((?:[^"\\]|\\.)*)"\s*\]$')
_PGN_TERMINATORS = ("1-0", "0-1", "1/2-1/2", "*")


def _pgn_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def pgn_game(round_id: int, kind: str, site: str, finished: float, white: str, black: str,
             return0: float, return1: float, game: str) -> str:
    """One game as PGN tags and its result, no moves; ``finished`` is a unix time."""
    result = _PGN_RESULT[1.0 if return0 > return1 else 0.0 if return0 < return1 else 0.5]
    date = time.strftime("%Y.%m.%d", time.gmtime(finished))
    return (f'[Event "arena {kind}"]\n[Site "{_pgn_escape(site)}"]\n[Date "{date}"]\n[Round "{round_id}"]\n'
            f'[White "{_pgn_escape(white)}"]\n[Black "{_pgn_escape(black)}"]\n[Result "{result}"]\n'
            f'[Game "{_pgn_escape(game)}"]\n\n{result}\n\n')


def _same_game(a: str, b: str) -> bool:
    """'connect_four' and 'connect_four()' name the same game."""
    def norm(s: str) -> str:
        s = s.replace(" ", "")
        return s if s.endswith(")") else s + "()"

    return norm(a) == norm(b)


def read_results(path: str | Path, game: str | None = None, players: Collection[str] | None = None,
                 columns: Mapping[str, str] | None = None) -> list[ResultLine]:
    """Parse a CSV or PGN results file into two-player results, seat 0 first; ResultsFileError, with
    the line number and the fix, on the first bad line.

    Ratings may read a file this way without any ledger; :meth:`league.ledger.Ledger.import_results` reads it the
    same way. A ``.pgn`` file (or one whose first line is a tag) is PGN, anything else CSV.

    CSV: a header line, then one game per line. Columns ``player0,player1,result``, in any order,
    and optionally ``game``; ``player0`` took the first seat (White); ``result`` is ``1-0`` (player0
    won), ``0-1`` or ``1/2-1/2``, or player0's score ``1``, ``0``, ``0.5``. The common names read too:
    ``white,black``, ``player1,player2``, ``p1,p2`` for the players, and a ``winner`` column in place
    of ``result`` naming the winner (a player, ``white``, ``black``) or a draw (``draw`` or empty).
    ``columns`` maps the file's own column names to roles (``{"a": "white", "b": "black", "r":
    "result"}``; roles player0/white, player1/black, result, winner, game): other columns are then
    ignored. Blank lines are skipped; quote fields that contain commas.

    PGN: tags ``[White]``, ``[Black]`` and ``[Result]`` of each game (``1-0``, ``0-1``,
    ``1/2-1/2``); moves are ignored, but a game-termination marker in the moves must agree with
    ``[Result]``. A ``[Game]`` tag (or CSV ``game`` column), when present, must name ``game``.
    With ``players`` given, every player named must be one of them.

    Wins are returns (1, -1), draws (0, 0), as OpenSpiel scores two-player zero-sum games.
    """
    return read_result_columns(path, game, players, columns).lines()


def read_result_columns(path: str | Path, game: str | None = None, players: Collection[str] | None = None,
                        columns: Mapping[str, str] | None = None) -> ResultColumns:
    """:func:`read_results`, column by column: the fast form for rating a big file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such results file; give the path of a .csv or .pgn file") from None
    except UnicodeDecodeError as e:
        raise ResultsFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8") from None
    # The first non-blank line starts with a tag (lstrip: no need to split a big file into lines).
    pgn = path.suffix.lower() == ".pgn" or (path.suffix.lower() != ".csv" and text.lstrip().startswith("["))
    results = None if columns is not None else (_fast_pgn if pgn else _fast_csv)(text, game, players)
    if results is None:  # not a plain file, or a doubtful line: the careful reader names it
        results = _read_pgn(text, path, game, players) if pgn else _read_csv(text, path, game, players, columns)
    if not results:
        raise ResultsFileError(f"{path}: no games in this file; give a file with at least one result")
    return results


def _check_game(path: Path, line: int, found: str, game: str | None) -> None:
    if game is not None and found and not _same_game(found, game):
        raise ResultsFileError(f"{path}:{line}: game {found!r} is not {game!r}; import the results of {game!r} games only")


def _check_players(path: Path, line: int, names: Sequence[str], players: Collection[str] | None) -> None:
    for name in names:
        if players is not None and name not in players:
            raise ResultsFileError(f"{path}:{line}: unknown player {name!r}; results may only name players "
                              f"known here ({', '.join(sorted(players)[:6])}{', ...' if len(players) > 6 else ''})")


def check_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """A `--columns` mapping (file column -> role) with its roles checked and aliases resolved."""
    roles: dict[str, str] = {}
    for column, role in columns.items():
        role = _ROLE_ALIASES.get(role.strip().lower(), role.strip().lower())
        if role not in _CSV_ROLES:
            raise ResultsFileError(f"unknown column role {role!r} for column {column!r}; roles are "
                                   "white (player0), black (player1), result, winner, game")
        roles[column.strip().lower()] = role
    return roles


def _csv_roles(path: Path, line: int, cells: list[str], columns: Mapping[str, str] | None) -> dict[str, int]:
    """Each role's column index from the header line; ResultsFileError naming what is accepted."""
    header = [c.lower() for c in cells]
    if columns is not None:  # the user's names; any other column is ignored
        names = check_columns(columns)
        missing = [c for c in names if c not in header]
        if missing:
            raise ResultsFileError(f"{path}:{line}: no column {missing[0]!r} in header {','.join(cells)!r}; "
                                   "--columns names the file's own column names")
        found = {role: header.index(column) for column, role in names.items()}
    else:
        names = dict(_CSV_NAMES)
        if "player0" in header:  # player0,player1: player1 is the second seat
            names["player1"] = "player1"
        elif "player2" in header:  # player1,player2: player1 is the first
            names["player1"] = "player0"
        unknown = [c for c in header if c not in names]
        found = {}
        for i, c in enumerate(header):
            if c in names:
                found.setdefault(names[c], i)
        roles = [names[c] for c in header if c in names]
        if unknown or len(set(roles)) != len(roles):
            raise ResultsFileError(f"{path}:{line}: header {','.join(cells)!r} is not valid; {_CSV_ACCEPTS}")
    if "player0" not in found or "player1" not in found or ("result" in found) == ("winner" in found):
        raise ResultsFileError(f"{path}:{line}: header {','.join(cells)!r} is not valid; {_CSV_ACCEPTS}")
    return found


def _csv_returns(path: Path, line: int, rec: dict[str, str]) -> tuple[float, float]:
    """The returns of one CSV game, from its result or winner column."""
    if "result" in rec:
        if rec["result"] not in _CSV_RETURNS:
            raise ResultsFileError(f"{path}:{line}: unknown result {rec['result']!r}; {_CSV_RESULT_HINT}")
        return _CSV_RETURNS[rec["result"]]
    winner = rec["winner"]
    if winner == rec["player0"] != rec["player1"]:
        return 1.0, -1.0
    if winner == rec["player1"] != rec["player0"]:
        return -1.0, 1.0
    if winner.lower() in _WINNER_COLOURS:
        return _WINNER_COLOURS[winner.lower()]
    if winner.lower() in _DRAWS:
        return 0.0, 0.0
    raise ResultsFileError(f"{path}:{line}: unknown winner {winner!r}; name one of the two players, white or "
                           "black, or draw")


def _read_csv(text: str, path: Path, game: str | None, players: Collection[str] | None = None,
              columns: Mapping[str, str] | None = None) -> ResultColumns:
    reader = csv.reader(io.StringIO(text))
    roles: dict[str, int] | None = None
    width = 0
    results = ResultColumns()
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            cells = [cell.strip() for cell in row]
            if roles is None:
                roles, width = _csv_roles(path, line, cells, columns), len(cells)
                continue
            if len(cells) != width:
                raise ResultsFileError(f"{path}:{line}: {len(cells)} fields for {width} columns; give one value per "
                                       "column, quoting any with commas")
            rec = {role: cells[i] for role, i in roles.items()}
            for seat in ("player0", "player1"):
                if not rec[seat]:
                    raise ResultsFileError(f"{path}:{line}: missing player in column {seat}; name both players")
            returns = _csv_returns(path, line, rec)
            _check_game(path, line, rec.get("game", ""), game)
            _check_players(path, line, (rec["player0"], rec["player1"]), players)
            results.add(rec["player0"], rec["player1"], _RESULT_OF[returns])
    except csv.Error as exc:  # a NUL byte, or a field larger than the csv module allows
        raise ResultsFileError(f"{path}:{reader.line_num}: not readable as CSV ({exc}); fix that line") from None
    return results


def _read_pgn(text: str, path: Path, game: str | None, players: Collection[str] | None = None) -> ResultColumns:
    results = ResultColumns()
    tags: dict[str, tuple[str, int]] = {}  # name -> (value, line)
    start = 0  # line where the current game began, 0 when none has
    end: tuple[str, int] | None = None  # game-termination marker seen in the moves
    in_moves = in_comment = False

    def finish() -> None:
        """Check the game just read, keep its result, and start afresh."""
        nonlocal tags, start, end, in_moves
        where = f"{path}:{start}"
        for tag in ("White", "Black"):
            if not tags.get(tag, ("", 0))[0]:
                raise ResultsFileError(f"{where}: game without a [{tag}] player tag; name both players")
        if "Result" not in tags:
            raise ResultsFileError(f"{where}: game without a [Result] tag; add one ({_RESULT_HINT})")
        result, line = tags["Result"]
        if result not in _RESULT_RETURNS:
            hint = "remove unfinished games or give their result" if result == "*" else _RESULT_HINT
            raise ResultsFileError(f"{path}:{line}: unknown result {result!r}; {hint}")
        if end is not None and end[0] != result:
            raise ResultsFileError(f"{path}:{end[1]}: moves end in {end[0]!r} but [Result] is {result!r}; make them agree")
        if "Game" in tags:
            _check_game(path, tags["Game"][1], tags["Game"][0], game)
        for tag in ("White", "Black"):
            _check_players(path, tags[tag][1], (tags[tag][0],), players)
        results.add(tags["White"][0], tags["Black"][0], result)
        tags, start, end, in_moves = {}, 0, None, False

    for line, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if in_comment:  # inside a {comment} spanning lines
            if "}" not in s:
                continue
            s, in_comment = s.split("}", 1)[1].strip(), False
        if not s or raw.startswith("%"):
            continue
        if not start:
            start = line
        if s.startswith("["):
            if in_moves:  # tags after moves that had no termination marker: the next game
                finish()
                start = line
            m = _PGN_TAG.match(s)
            if m is None:
                raise ResultsFileError(f'{path}:{line}: malformed tag {s[:60]!r}; write tags as [Name "value"]')
            tags[m[1]] = (re.sub(r"\\(.)", r"\1", m[2]), line)
            continue
        in_moves = True
        s = re.sub(r"\{[^}]*\}", " ", s).split(";", 1)[0]
        if "{" in s:
            s, in_comment = s.split("{", 1)[0], True
        for token in s.split():
            if token in _PGN_TERMINATORS:
                end = (token, line)
        if end is not None:  # the game is over: what follows is the next game
            finish()
    if start:
        finish()
    return results


# What the fast PGN reader takes: whitespace is spaces, tabs and newlines (CRLF made LF first); no
# comment, escape or escape line.
_ODD_SPACE = re.compile(r"[^\S \t\n]")
_PGN_SPECIAL = ("{", ";", "\\", "%")
# One game as PGN's export format lays it out: [White], [Black] and [Result] one after another (the
# Seven Tag Roster's order) among other well-formed tag lines (none of them a second White, Black or
# Result, which would count instead), then (after any blank lines) one line of moves, which ends it.
_OTHER_TAG = r'[ \t]*\[[ \t]*(?!(?:White|Black|Result)[ \t])[A-Za-z0-9_+#=:-]+[ \t]+"[^"\n]*"[ \t]*\][ \t]*\n'
_PGN_GAME = re.compile(rf'[ \t\n]*((?:{_OTHER_TAG})*)\[White "([^"\n]*)"\]\n\[Black "([^"\n]*)"\]\n'
                       rf'\[Result "([^"\n]*)"\]\n((?:{_OTHER_TAG})*)[ \t\n]*([^\s\[][^\n]*)(?:\n|\Z)')
_GAME_TAG = re.compile(r'^[ \t]*\[[ \t]*Game[ \t]+"([^"\n]*)"', re.MULTILINE)


def _plain(text: str) -> str | None:
    """The text with CRLF line ends made LF, or None if it holds other odd whitespace (the careful
    reader splits lines and strips them on every kind)."""
    text = text.replace("\r\n", "\n") if "\r" in text else text
    if text.isascii():
        return None if any(c in text for c in "\r\x0b\x0c\x1c\x1d\x1e\x1f") else text
    return None if _ODD_SPACE.search(text) else text


def _agrees(values: set[str], game: str | None) -> bool:
    return game is None or all(not v or _same_game(v, game) for v in values)


def _fast_pgn(text: str, game: str | None, players: Collection[str] | None) -> ResultColumns | None:
    """The games of a plain PGN file in export layout (see `_PGN_GAME`), or None for the careful reader."""
    text = _plain(text)
    if text is None or any(c in text for c in _PGN_SPECIAL):
        return None
    # Lists of strings, no tuple kept a game: the cycle collector would walk 200,000 of those again
    # and again, as long as reading them takes.
    columns: tuple[list[str], ...] = ([], [], [], [], [], [])
    before, white, black, result, after, moves = columns
    end = 0
    for m in _PGN_GAME.finditer(text):
        if m.start() != end:  # something between games that is no game
            return None
        for column, value in zip(columns, m.groups()):
            column.append(value)
        end = m.end()
    if not white or text[end:].strip(" \t\n"):
        return None
    if "" in white or "" in black or not set(result) <= _RESULT_RETURNS.keys():
        return None
    for line, res in zip(moves, result):
        if line != res:  # the line of moves must end the game, in its result
            ends = [token for token in line.split() if token in _PGN_TERMINATORS]
            if not ends or ends[-1] != res:
                return None
    if game is not None and not _agrees(set(_GAME_TAG.findall("".join(before) + "".join(after))), game):
        return None
    if players is not None and not (set(white) | set(black)) <= set(players):
        return None
    return ResultColumns(white, black, result)


def _fast_csv(text: str, game: str | None, players: Collection[str] | None) -> ResultColumns | None:
    """The games of a CSV file whose every row holds one game (empty lines aside), or None for the
    careful reader. The same csv module splits the rows; only the checks run column by column."""
    rows = (row for row in csv.reader(io.StringIO(text)) if row)
    try:
        header = [c.strip().lower() for c in next(rows, [])]
        if sorted(header) not in (sorted(_CSV_COLUMNS), sorted((*_CSV_COLUMNS, "game"))):
            return None
        # Each row into the columns as it comes: kept rows (lists) would have the cycle collector walk
        # 200,000 of them again and again.
        cells: list[list[str]] = [[] for _ in header]
        for row in rows:
            if len(row) != len(header):
                return None
            for column, cell in zip(cells, row):
                column.append(cell)
    except csv.Error:  # a NUL byte, a field larger than the csv module allows: the careful reader says where
        return None
    columns = {name: [cell.strip() for cell in column] for name, column in zip(header, cells)}
    p0, p1, result = columns["player0"], columns["player1"], columns["result"]
    names = set(p0) | set(p1)
    if "" in names or not set(result) <= _RESULT_RETURNS.keys() or not _agrees(set(columns.get("game", ())), game):
        return None
    if players is not None and not names <= set(players):
        return None
    return ResultColumns(p0, p1, result)
