"""Match ledger: every game the actors and the evaluator finish, in one SQLite file per run.

The ledger is ``league.sqlite`` in the run directory. Several processes use it at once (actors and
the evaluator write; ``arena ladder``, the ratings and the dashboard read), so it runs in WAL mode:
readers never block the writer and always see whole transactions, and a writer waits up to
:data:`BUSY_TIMEOUT_S` for another writer instead of failing. Writes take the write lock up front
(``BEGIN IMMEDIATE``) so that waiting is what happens; a deferred transaction that upgrades from
read to write can be refused at once in WAL mode.

Durability: ``synchronous=NORMAL``. In WAL mode a committed transaction has been written to the WAL
file before ``COMMIT`` returns, so ``kill -9`` of any process at any moment loses nothing committed
and never leaves a torn batch; only an OS crash or power loss can drop the last few transactions
(never corrupting the file). FULL would fsync every commit for that last case alone, which costs
actors a disk flush per batch; games are cheap to replay, a corrupt ledger is not, and NORMAL never
corrupts.

A writer that crashed may not know whether its last batch was committed. Every game may carry a
``uid`` chosen by the writer; ``uid`` is UNIQUE and inserts are ``INSERT OR IGNORE``, so re-sending a
batch with the same uids adds only the games that were missing (a re-sent uid with other content is
ignored too: the first version wins).

Schema version 1:

* ``meta(key, value)``: ``format='arena-ledger'``, ``schema_version``, ``created``;
* ``players(id INTEGER PRIMARY KEY, spec TEXT UNIQUE)``: one row per player spec string, so seats
  hold small integers and grouping by player compares integers;
* ``games(id INTEGER PRIMARY KEY, uid TEXT UNIQUE, match_id TEXT, kind, game, num_players, length,
  time)``: ``id`` grows with every insert, so "games since id K" serves incremental readers;
  indices ``(kind, id)``, ``(kind, time)`` and ``match_id``;
* ``seats(game_id, seat, player_id, ret)``, primary key ``(game_id, seat)`` (WITHOUT ROWID, so a
  game's seats sit together on disk) and index ``(player_id, game_id)``: any number of players.
"""
from __future__ import annotations

import functools
import hashlib
import math
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, ParamSpec, TypeVar

import numpy as np

from engine import rundir
from engine.errors import ArenaError, DiskFullError, is_disk_full, writing
from league.results_file import pgn_game, read_results

SCHEMA_VERSION = 1
FORMAT = "arena-ledger"
FILENAME = "league.sqlite"
KINDS = ("training", "rating", "gating")
BUSY_TIMEOUT_S = 30.0
P = ParamSpec("P")
R = TypeVar("R")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE players (id INTEGER PRIMARY KEY, spec TEXT NOT NULL UNIQUE);
CREATE TABLE games (
    id INTEGER PRIMARY KEY,
    uid TEXT UNIQUE,
    match_id TEXT,
    kind TEXT NOT NULL,
    game TEXT NOT NULL,
    num_players INTEGER NOT NULL,
    length INTEGER NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE seats (
    game_id INTEGER NOT NULL,
    seat INTEGER NOT NULL,
    player_id INTEGER NOT NULL,
    ret REAL NOT NULL,
    PRIMARY KEY (game_id, seat)
) WITHOUT ROWID;
CREATE INDEX games_kind_id ON games (kind, id);
CREATE INDEX games_kind_time ON games (kind, time);
CREATE INDEX games_match ON games (match_id) WHERE match_id IS NOT NULL;
CREATE INDEX seats_player ON seats (player_id, game_id);
"""


class LedgerError(ArenaError):
    """A ledger file that cannot be used; the message is one line naming the fix."""


class LedgerDamaged(LedgerError):
    """A ledger whose file SQLite finds damaged (not a database, corrupt pages): a run's is rebuilt
    from its store by `arena league repair RUN` (league/repair.py)."""


def damaged(e: sqlite3.DatabaseError) -> bool:
    """Whether SQLite failed because the file is damaged, not busy, full or read-only."""
    return getattr(e, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def damage_message(path: Path, problem: object) -> str:
    """One line: what is wrong with the ledger file and the fix (repair for a run's own ledger)."""
    if path.name == FILENAME and (path.parent / "config.toml").is_file():
        fix = f"rebuild it from the run's trajectories with `arena league repair {path.parent.name}`"
    else:
        fix = "move this file away"
    return f"{path}: the match ledger is damaged ({problem}); {fix}"


def _damage_is_one_line(method: Callable[P, R]) -> Callable[P, R]:
    """A damaged file found mid-query (corrupt pages) becomes LedgerDamaged, a one-line error, rather
    than a traceback; busy and other SQLite errors pass through."""
    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.DatabaseError as e:
            if not damaged(e):
                raise
            raise LedgerDamaged(damage_message(args[0].path, e)) from None
    return wrapped


# ----------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class GameResult:
    """One finished game as a writer hands it to the ledger; per-seat tuples, seat 0 first."""

    players: tuple[str, ...]  # player spec per seat, e.g. ('c4run:step-0000400', 'mcts:1000')
    returns: tuple[float, ...]  # final return per seat
    length: int  # moves played (0 when unknown, e.g. imported results)
    kind: str  # one of KINDS: ratings read only the kinds they trust
    game: str  # OpenSpiel game string
    uid: str | None = None  # writer-chosen unique id: re-sending it after a crash adds nothing
    time: float | None = None  # unix time the game finished; None: when recorded
    match_id: str | None = None  # batch or match key, e.g. one evaluator match

    def __post_init__(self) -> None:
        players = tuple(str(p) for p in self.players)
        returns = tuple(float(r) for r in self.returns)
        object.__setattr__(self, "players", players)
        object.__setattr__(self, "returns", returns)
        object.__setattr__(self, "length", int(self.length))
        if not players or len(players) != len(returns):
            raise ValueError(f"game {self.uid}: {len(players)} players for {len(returns)} returns; give one of each per seat")
        if not all(players):
            raise ValueError(f"game {self.uid}: empty player spec in {players}")
        if not all(math.isfinite(r) for r in returns):
            raise ValueError(f"game {self.uid}: returns {returns} are not all finite")
        if self.kind not in KINDS:
            raise ValueError(f"game {self.uid}: kind {self.kind!r} is not one of {KINDS}")
        if self.length < 0:
            raise ValueError(f"game {self.uid}: negative length {self.length}")


@dataclass
class PairRecord:
    """Results of player x against player y, from x's side, whichever seats they took."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        """x's mean score (win 1, draw 1/2); 0.5 with no games, the uninformed prior."""
        return (self.wins + 0.5 * self.draws) / self.games if self.games else 0.5


@dataclass
class RatingInput:
    """The games a rating model fits, as player indices into ``players``.

    Two-player games are arrays (``a`` took seat 0, ``b`` seat 1, ``score`` is seat 0's score: 1,
    0.5 or 0 from comparing returns). Games of more players are finishing orders: places best
    first, each place the list of player indices that tied for it.
    """

    players: list[str]
    a: np.ndarray  # int64 [G]
    b: np.ndarray  # int64 [G]
    score: np.ndarray  # float64 [G]
    orders: list[list[list[int]]] = field(default_factory=list)
    last_id: int = 0  # the newest game id included, for a reader that polls for more


def _in(column: str, values: Sequence[object]) -> str:
    return f"{column} IN ({','.join('?' * len(values))})"


# ------------------------------------------------------------------------------------------ ledger


class Ledger:
    """A connection to one ledger file; one per process (or thread), opened and closed freely."""

    @_damage_is_one_line
    def __init__(self, path: str | Path, create: bool = True, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise LedgerError(f"no match ledger at {self.path}: play games in this run first (actors and the evaluator create it)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly, IMMEDIATE for writes (see module doc).
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            with writing(self.path.parent):  # a new ledger's schema, or the WAL files, may find no room
                self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
                self._open()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def of_run(cls, run_dir: str | Path, create: bool = True) -> Ledger:
        """The ledger of a run directory (``<run>/league.sqlite``)."""
        return cls(Path(run_dir) / FILENAME, create=create)

    def _open(self) -> None:
        """Refuse foreign or newer files before changing anything, then create the schema if new."""
        empty = self._check() is None
        self._db.execute("PRAGMA journal_mode = WAL")  # persistent in the file
        self._db.execute("PRAGMA synchronous = NORMAL")  # per connection; see the module doc
        if not empty:
            return
        with self._write():
            if self._check() is None:  # still empty now that we hold the write lock
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format", FORMAT), ("schema_version", str(SCHEMA_VERSION)), ("created", str(time.time()))],
                )

    def _check(self) -> int | None:
        """The file's schema version, None for an empty database; LedgerError for anything else."""
        try:
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return None
            meta = dict(self._db.execute("SELECT key, value FROM meta")) if "meta" in tables else {}
        except sqlite3.DatabaseError as e:
            if is_disk_full(e):
                raise  # a sound file on a full disk (Ledger's caller says so)
            if damaged(e) and self.path.name == FILENAME:
                raise LedgerDamaged(damage_message(self.path, e)) from None
            raise LedgerError(f"{self.path}: not an SQLite file ({e}); point at a run's {FILENAME} or move this file away") from None
        if meta.get("format") != FORMAT:
            raise LedgerError(f"{self.path}: an SQLite file but not an Arena match ledger; point at a run's {FILENAME} or move this file away")
        version = int(meta.get("schema_version", -1))
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path}: ledger schema version {version} is newer than this Arena's {SCHEMA_VERSION}; upgrade Arena to read it"
            )
        if version < 1:
            raise LedgerError(f"{self.path}: ledger schema version {version} is not valid; move this file away and start a fresh ledger")
        return version

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self) -> _Transaction:
        return _Transaction(self._db, "BEGIN IMMEDIATE", self.path.parent)

    def _read(self) -> _Transaction:
        """One snapshot for queries made of several statements, so they agree with each other."""
        return _Transaction(self._db, "BEGIN", self.path.parent)

    # ------------------------------------------------------------------------------------ writing

    def record(self, game: GameResult) -> bool:
        """Record one game; False if its uid was already there."""
        return self.record_many([game]) == 1

    @_damage_is_one_line
    def record_many(self, games: Iterable[GameResult]) -> int:
        """Record a batch in one transaction: all of it or, on any error or kill, none of it.

        Returns how many games were new; games whose uid is already recorded are skipped, so a
        writer may re-send a batch it is unsure about.
        """
        now = time.time()
        inserted = 0
        with self._write():
            ids: dict[str, int] = {}
            for g in games:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO games (uid, match_id, kind, game, num_players, length, time) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (g.uid, g.match_id, g.kind, g.game, len(g.players), g.length, now if g.time is None else g.time),
                )
                if cur.rowcount == 0:
                    continue
                game_id = cur.lastrowid
                self._db.executemany(
                    "INSERT INTO seats VALUES (?, ?, ?, ?)",
                    [(game_id, s, self._player_id(p, ids), r) for s, (p, r) in enumerate(zip(g.players, g.returns))],
                )
                inserted += 1
        return inserted

    def _player_id(self, spec: str, ids: dict[str, int]) -> int:
        # Looked up per transaction only: a cache kept across transactions could hold an id whose
        # insert was rolled back.
        if spec not in ids:
            self._db.execute("INSERT OR IGNORE INTO players (spec) VALUES (?)", (spec,))
            ids[spec] = self._db.execute("SELECT id FROM players WHERE spec = ?", (spec,)).fetchone()[0]
        return ids[spec]

    # ------------------------------------------------------------------------------------ reading

    def _where(self, kinds: Sequence[str] | None, after_id: int = 0, since: float | None = None) -> tuple[str, list]:
        """A WHERE clause over ``games g`` and its parameters."""
        clauses, params = ["g.id > ?"], [after_id]
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else list(kinds)
            unknown = [k for k in kinds if k not in KINDS]
            if unknown:
                raise ValueError(f"unknown game kinds {unknown}; use some of {KINDS}")
            clauses.append(_in("g.kind", kinds))
            params += kinds
        if since is not None:
            clauses.append("g.time >= ?")
            params.append(since)
        return " AND ".join(clauses), params

    @_damage_is_one_line
    def last_id(self) -> int:
        """The newest game's id (0 when empty): poll ``games(after_id=...)`` from here."""
        return self._db.execute("SELECT coalesce(max(id), 0) FROM games").fetchone()[0]

    @_damage_is_one_line
    def counts(self, after_id: int = 0) -> dict[str, int]:
        """Games per kind (kinds without games are absent), only those after ``after_id``."""
        rows = self._db.execute("SELECT kind, count(*) FROM games WHERE id > ? GROUP BY kind", (after_id,))
        return dict(rows)

    @_damage_is_one_line
    def total(self, kinds: Sequence[str] | None = None, after_id: int = 0) -> int:
        where, params = self._where(kinds, after_id)
        return self._db.execute(f"SELECT count(*) FROM games g WHERE {where}", params).fetchone()[0]

    @_damage_is_one_line
    def players(self, kinds: Sequence[str] | None = None) -> list[str]:
        """Distinct player specs, sorted; with ``kinds``, those that played a game of those kinds."""
        if kinds is None:
            return [r[0] for r in self._db.execute("SELECT spec FROM players ORDER BY spec")]
        where, params = self._where(kinds)
        rows = self._db.execute(
            "SELECT DISTINCT p.spec FROM games g JOIN seats s ON s.game_id = g.id "
            f"JOIN players p ON p.id = s.player_id WHERE {where} ORDER BY p.spec",
            params,
        )
        return [r[0] for r in rows]

    @_damage_is_one_line
    def games(
        self, kinds: Sequence[str] | None = None, after_id: int = 0, limit: int | None = None
    ) -> list[tuple[int, GameResult]]:
        """(id, record) of games after ``after_id``, oldest first: a live view's increment."""
        where, params = self._where(kinds, after_id)
        rows = self._db.execute(
            "SELECT g.id, g.uid, g.match_id, g.kind, g.game, g.length, g.time, p.spec, s.ret "
            f"FROM (SELECT * FROM games g WHERE {where} ORDER BY g.id LIMIT ?) g "
            "JOIN seats s ON s.game_id = g.id JOIN players p ON p.id = s.player_id ORDER BY g.id, s.seat",
            [*params, -1 if limit is None else limit],
        ).fetchall()
        out: list[tuple[int, GameResult]] = []
        i = 0
        while i < len(rows):
            j = i
            while j < len(rows) and rows[j][0] == rows[i][0]:
                j += 1
            gid, uid, match_id, kind, game, length, t = rows[i][:7]
            players = tuple(r[7] for r in rows[i:j])
            returns = tuple(r[8] for r in rows[i:j])
            out.append((gid, GameResult(players, returns, length, kind, game, uid, t, match_id)))
            i = j
        return out

    @_damage_is_one_line
    def rating_input(self, kinds: Sequence[str] | None = ("rating",)) -> RatingInput:
        """The games of ``kinds`` (default: rating games only) as a rating model reads them."""
        where, params = self._where(kinds)
        with self._read():
            last = self._db.execute(f"SELECT coalesce(max(g.id), 0) FROM games g WHERE {where}", params).fetchone()[0]
            pairs = np.array(
                self._db.execute(
                    "SELECT s0.player_id, s1.player_id, s0.ret, s1.ret FROM games g "
                    "JOIN seats s0 ON s0.game_id = g.id AND s0.seat = 0 "
                    "JOIN seats s1 ON s1.game_id = g.id AND s1.seat = 1 "
                    f"WHERE {where} AND g.id <= ? AND g.num_players = 2 ORDER BY g.id",
                    [*params, last],
                ).fetchall(),
                dtype=np.float64,
            ).reshape(-1, 4)
            multi = self._db.execute(
                "SELECT s.game_id, s.player_id, s.ret FROM games g JOIN seats s ON s.game_id = g.id "
                f"WHERE {where} AND g.id <= ? AND g.num_players > 2 ORDER BY s.game_id, s.seat",
                [*params, last],
            ).fetchall()
            specs = dict(self._db.execute("SELECT id, spec FROM players"))
        ab = pairs[:, :2].astype(np.int64)
        ids = sorted({int(x) for x in ab.ravel()} | {pid for _, pid, _ in multi}, key=lambda i: specs[i])
        index = {pid: k for k, pid in enumerate(ids)}
        lookup = np.zeros(max(ids, default=0) + 1, np.int64)
        lookup[ids] = np.arange(len(ids))
        a, b = lookup[ab[:, 0]], lookup[ab[:, 1]]
        score = np.where(pairs[:, 2] > pairs[:, 3], 1.0, np.where(pairs[:, 2] < pairs[:, 3], 0.0, 0.5))
        orders: list[list[list[int]]] = []
        by_game: dict[int, list[tuple[float, int]]] = {}
        for gid, pid, ret in multi:
            by_game.setdefault(gid, []).append((ret, index[pid]))
        for seats in by_game.values():
            places: dict[float, list[int]] = {}
            for ret, k in seats:
                places.setdefault(ret, []).append(k)
            orders.append([places[r] for r in sorted(places, reverse=True)])
        return RatingInput([specs[i] for i in ids], a, b, score, orders, last)

    @_damage_is_one_line
    def pair_results(
        self,
        kinds: Sequence[str] | None = None,
        since: float | None = None,
        last: int | None = None,
        player: str | None = None,
    ) -> dict[tuple[str, str], PairRecord]:
        """Win/draw/loss of x against y for every ordered pair (x, y) that met, from x's side.

        Counted per pair of seats in a game (x won if its return beat y's), so n-player games count
        too. ``since``: games finished at or after that unix time; ``last``: only the newest
        ``last`` meetings of each pair; ``player``: only pairs with x == player.
        """
        where, params = self._where(kinds, since=since)
        if player is not None:
            where += " AND x.player_id = (SELECT id FROM players WHERE spec = ?)"
            params.append(player)
        rows = self._db.execute(
            "WITH met AS (SELECT x.player_id AS px, y.player_id AS py, x.ret AS rx, y.ret AS ry, "
            "row_number() OVER (PARTITION BY x.player_id, y.player_id ORDER BY g.id DESC) AS k "
            "FROM games g JOIN seats x ON x.game_id = g.id "
            f"JOIN seats y ON y.game_id = g.id AND y.seat != x.seat WHERE {where}) "
            "SELECT px.spec, py.spec, sum(rx > ry), sum(rx = ry), sum(rx < ry) FROM met "
            "JOIN players px ON px.id = met.px JOIN players py ON py.id = met.py "
            f"{'' if last is None else 'WHERE k <= ?'} GROUP BY met.px, met.py",
            params if last is None else [*params, last],
        )
        return {(x, y): PairRecord(w, d, l) for x, y, w, d, l in rows}

    # -------------------------------------------------------------------------------- results files

    @_damage_is_one_line
    def import_results(self, path: str | Path, game: str, kind: str = "rating", match_id: str | None = None,
                       players: Collection[str] | None = None, columns: Mapping[str, str] | None = None) -> int:
        """Record the games of a CSV or PGN results file (see :func:`league.results_file.read_results`)
        in one transaction: all of them, or none when any line is bad (ResultsFileError).

        Each game's uid is derived from the file's content and the game's position in it, so
        importing the same file again adds nothing. Returns how many games were new.
        """
        path = Path(path)
        results = read_results(path, game, players, columns)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        now = time.time()
        return self.record_many(
            GameResult((r.player0, r.player1), (r.return0, r.return1), 0, kind, game, f"import:{digest}:{i}", now, match_id)
            for i, r in enumerate(results)
        )

    @_damage_is_one_line
    def export_pgn(self, path: str | Path, kinds: Sequence[str] | None = ("rating",)) -> int:
        """Write the two-player games of ``kinds`` as PGN that BayesElo and Ordo read (no moves),
        atomically; returns how many games were written (games of more players are left out)."""
        where, params = self._where(kinds)
        site = self.path.resolve().parent.name
        rows = self._db.execute(
            "SELECT g.id, g.kind, g.game, g.time, p0.spec, p1.spec, s0.ret, s1.ret FROM games g "
            "JOIN seats s0 ON s0.game_id = g.id AND s0.seat = 0 JOIN players p0 ON p0.id = s0.player_id "
            "JOIN seats s1 ON s1.game_id = g.id AND s1.seat = 1 JOIN players p1 ON p1.id = s1.player_id "
            f"WHERE {where} AND g.num_players = 2 ORDER BY g.id",
            params,
        )
        written = 0

        def write(f: BinaryIO) -> None:
            nonlocal written
            for gid, kind, game, t, white, black, r0, r1 in rows:
                f.write(pgn_game(gid, kind, site, t, white, black, r0, r1, game).encode())
                written += 1

        rundir.atomic_write(Path(path), write)
        return written


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (KeyboardInterrupt too). SQLite's "database or
    disk is full", at any statement or the COMMIT, rolls the whole batch back and is DiskFullError."""

    def __init__(self, db: sqlite3.Connection, begin: str, directory: Path) -> None:
        self._db, self._begin, self._directory = db, begin, directory

    def __enter__(self) -> None:
        with writing(self._directory):
            self._db.execute(self._begin)

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            with writing(self._directory):
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            return
        if self._db.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
            self._db.execute("ROLLBACK")
        if not isinstance(exc, DiskFullError) and is_disk_full(exc):
            raise DiskFullError.of(self._directory) from exc
