"""TensorBoard curves of a league run: event files under `<run>/tensorboard/`, one folder (a
TensorBoard "run") per learning agent, written with torch's SummaryWriter; `tensorboard --logdir
<run>/tensorboard` shows them.

Tags (AGENT is `main`, or an exploiter's name such as `main-exploiter-0`):
    AGENT/loss/<name>            the learner's losses (policy, value; MMD: critic, policy, kl)
    AGENT/policy/entropy         the network policy's entropy on the training batch
    AGENT/learning_rate
    AGENT/replay/fill            share of the replay window held
    AGENT/pfsp/win_rate/<member> its decayed win rate against each pool member it may draw
    AGENT/nash_conv, AGENT/nash_conv_iterate   (MMD on small games) output policy, current iterate
    selfplay/games_per_minute, selfplay/positions_per_second, selfplay/simulations_per_second
    selfplay/resigned_share, selfplay/false_resign_rate   (games that may resign) see engine/train/selfplay.py
    elo/<player>, elo/<player>/lower, elo/<player>/upper   the rater's ladder, 95% interval
Players drop the run's name: `step-300`, `main-exploiter-0:step-200`, `random`.

Steps: an agent's curves use its learner step; run-wide ones (self-play, Elo) main's, in main's
folder. TensorBoard purges a whole folder by step, so each folder keeps one step axis. A resumed
agent opens its writer with purge_step = the resumed step + 1: readers drop what a killed session
wrote past the state this one resumes from, and no tag is written twice at a step or at a step
already passed, so curves continue without duplicates or rewinds.

Curves never stop a run: the first failed write (a full disk, a path that is a file) is said in
one line on stderr and the curves stop for the session.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from engine.rundir import MAIN

TENSORBOARD_DIR = "tensorboard"
SELFPLAY_RATES = ("games_per_minute", "positions_per_second", "simulations_per_second", "resigned_share",
                  "false_resign_rate")
# train_step keys that are not losses, and their tags
STATS_TAGS = {"entropy": "policy/entropy", "learning_rate": "learning_rate"}


def tensorboard_dir(run_dir: Path) -> Path:
    """The folder to give `tensorboard --logdir`."""
    return Path(run_dir) / TENSORBOARD_DIR


def _quiet_writer_threads() -> None:
    """The event writer's thread re-raises its error, which Python prints as a traceback; the
    main thread meets the same error at its next write and says it in one line instead."""
    previous = threading.excepthook
    if getattr(previous, "quiets_event_writer", False):
        return

    def hook(args) -> None:
        if type(args.thread).__name__ != "_AsyncWriterThread":  # tensorboard's event file writer
            previous(args)
    hook.quiets_event_writer = True
    threading.excepthook = hook


class Curves:
    """The writers of one session and the steps each tag has reached."""

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self._writers: dict[str, SummaryWriter] = {}
        self._floor: dict[str, int] = {}  # per agent: steps at or below it are written already
        self._last: dict[tuple[str, str], int] = {}
        self.failed = False

    def _try(self, action: Callable[[], object]) -> bool:
        """Run one writer action; the first that fails says so in one line and stops the curves."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - whatever the writer raises, the run goes on
            if not self.failed:
                self.failed = True
                reason = " ".join(str(exc).split()) or type(exc).__name__
                print(f"warning: TensorBoard curves stopped ({reason}); the run goes on", file=sys.stderr)
            self.close()
            return False
        return True

    def open(self, agent: str, step: int, resumed: bool) -> None:
        """Start an agent's curves at its learner `step`; `resumed`: its state came from an earlier
        session, whose events up to `step` stay. A fresh agent drops anything found (purge at 0)."""
        if not self.enabled or self.failed:
            return
        _quiet_writer_threads()

        def start() -> None:
            # max_queue: the writer thread takes events in bursts, the learner need not wait for it
            self._writers[agent] = SummaryWriter(str(tensorboard_dir(self.run_dir) / agent), max_queue=1000,
                                                 purge_step=step + 1 if resumed else 0)
        self._floor[agent] = step if resumed else -1
        self._try(start)

    def _scalar(self, agent: str, tag: str, value: float, step: int) -> None:
        writer = self._writers.get(agent)
        if writer is None or step <= self._last.get((agent, tag), self._floor[agent]):
            return
        if self._try(lambda: writer.add_scalar(tag, float(value), step)):
            self._last[(agent, tag)] = step

    # ---- what the session reports ------------------------------------------------------------

    def train_step(self, agent: str, step: int, stats: dict[str, float]) -> None:
        """One learner update's losses and stats, as train_step returned them."""
        for key, value in stats.items():
            self._scalar(agent, f"{agent}/{STATS_TAGS.get(key, 'loss/' + key)}", value, step)

    def replay(self, agent: str, step: int, held: int, capacity: int) -> None:
        self._scalar(agent, f"{agent}/replay/fill", held / capacity, step)

    def nash_conv(self, agent: str, measured: dict) -> None:
        """The learner's latest NashConv measurement ({"step", "nash_conv", "iterate_nash_conv"}), if any."""
        if "step" in measured:
            self._scalar(agent, f"{agent}/nash_conv", measured["nash_conv"], measured["step"])
            self._scalar(agent, f"{agent}/nash_conv_iterate", measured["iterate_nash_conv"], measured["step"])

    def matchmaking(self, agent: str, step: int, table: dict) -> None:
        """The win rates in an agent's matchmaking table (league/pfsp.py), one tag per member (and seat)."""
        for entry in table.get("opponents") or []:
            seat = "" if entry.get("seat") is None else f"@seat{entry['seat']}"
            self._scalar(agent, f"{agent}/pfsp/win_rate/{self._player(entry['player'])}{seat}", entry["x"], step)

    def selfplay(self, step: int, rates: dict[str, float | None]) -> None:
        """The actors' throughput and resignations (Progress.rates, Progress.resignation), at main's
        step; a rate still unknown (None) is left out."""
        for key in SELFPLAY_RATES:
            if rates.get(key) is not None:
                self._scalar(MAIN, f"selfplay/{key}", rates[key], step)

    def ladder(self, step: int, rows: list[dict]) -> None:
        """The rater's ladder as the session fitted it (rows with player, elo, lower, upper), at main's step."""
        for row in rows:
            name = self._player(row["player"])
            for key, suffix in (("elo", ""), ("lower", "/lower"), ("upper", "/upper")):
                self._scalar(MAIN, f"elo/{name}{suffix}", row[key], step)

    def _player(self, spec: str) -> str:
        """A player spec without this run's name (`r:step-20` -> `step-20`, `r/x:step-5` -> `x:step-5`)."""
        name = self.run_dir.name
        return spec[len(name) + 1:] if spec.startswith((name + ":", name + "/")) else spec

    def flush(self) -> None:
        """Hand what was written to the file system (local files have it already; other file
        systems would wait for the writer's two-minute flush)."""
        for writer in list(self._writers.values()):
            if not self._try(writer.flush):
                return

    def close(self) -> None:
        writers, self._writers = self._writers, {}
        for writer in writers.values():
            with contextlib.suppress(Exception):  # a broken writer has said so already
                writer.close()
