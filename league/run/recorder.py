"""Training games from the store to the ledger: the recorder that writes both, and `reconcile`,
which adds the games a kill kept from the ledger."""
from __future__ import annotations

import time
from pathlib import Path

from engine.data import (SegmentDamaged, SegmentWriter, StoreError, Trajectory, list_segments, quarantine_segment,
                         read_segment)
from engine.rundir import MAIN
from league.ledger import GameResult, Ledger


class TrainingRecorder:
    """Hands finished games to the store's writer and, once their segment is on disk, to the ledger.

    The ledger entry follows the HDF5 write, so a kill in between leaves games the ledger lacks but
    never ledger entries without data; `reconcile` adds those on the next start (uids make it
    idempotent). With `self_play=False` (engine.train.kinds.LearnerKind.self_play) games of the
    policy against itself stay in the store only.
    An exploiter's games carry its name as match_id: the players alone do not tell main's game
    against an exploiter's pool snapshot from the exploiter's game against main (league/pfsp.py).
    """

    def __init__(self, writer: SegmentWriter, ledger: Ledger, game_string: str, self_play: bool = True,
                 agent: str = MAIN) -> None:
        self.writer = writer
        self.ledger = ledger
        self.game_string = game_string
        self.self_play = self_play
        self.match_id = None if agent == MAIN else agent
        self.pending: list[GameResult] = []

    def add(self, record: Trajectory) -> None:
        if self.self_play or len(set(record.participants)) > 1:
            self.pending.append(_ledger_record(record.participants, record.returns, record.plies or len(record),
                                               record.game_id, time.time(), self.game_string, self.match_id))
        self._after(self.writer.add(record))

    def flush_if_due(self) -> None:
        self._after(self.writer.flush_if_due())

    def _after(self, written) -> None:
        if written is not None and self.writer.pending_games == 0:
            self.ledger.record_many(self.pending)
            self.pending = []

    @property
    def games_written(self) -> int:
        return self.writer.games_written

    @property
    def segments_written(self) -> int:
        return self.writer.segments_written

    def close(self) -> None:
        self.writer.close()
        self._after(True)


def _ledger_record(players, returns, length: int, uid: str, finished: float, game_string: str,
                   match_id: str | None) -> GameResult:
    return GameResult(players=tuple(players), returns=tuple(map(float, returns)), length=int(length),
                      kind="training", game=game_string, uid=uid, time=float(finished), match_id=match_id)


def reconcile(home: Path, ledger: Ledger, game_string: str, self_play: bool = True, agent: str = MAIN,
              every: bool = False) -> tuple[int, int]:
    """Record in the ledger the stored games a kill kept from it (the newest segment of each writer
    in an agent's `home`; with `every`, all segments: a ledger rebuilt from the store by
    league/repair.py); `self_play` and `agent` as in TrainingRecorder. A damaged segment goes to
    quarantine. Returns (games added, games read)."""
    segments = list_segments(home / "trajectories")
    if not every:
        segments = list({path.name.rsplit("-", 1)[0]: path for path in segments}.values())
    added = read = 0
    match_id = None if agent == MAIN else agent
    for path in segments:
        try:
            g = read_segment(path, slice(0, 0)).games
        except SegmentDamaged as e:
            quarantine_segment(path, e)
            continue
        except StoreError:
            if path.exists():
                raise
            continue  # quarantined by another process meanwhile
        read += len(g["game_id"])
        added += ledger.record_many(
            _ledger_record(p, r, n, uid, t, game_string, match_id)
            for uid, p, r, n, t in zip(g["game_id"], g["participants"], g["returns"], g["length"], g["finished_at"])
            if self_play or len(set(p)) > 1)
    return added, read
