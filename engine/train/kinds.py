"""Learner kinds: everything the run config and the league runner need to know of a learner, and
the registry that the games catalogue's `spec.learner` names one in.

Adding a learner takes its module (a learner following `LearnerProtocol`, an actor built on
engine.train.actor.Actor) and one line in LEARNERS; settings of its own also need their section
in engine.config.

Classes are named as "module:Class" and imported on first use: engine.config reads this registry
for the defaults and checks of a game's learner, and the learner modules import engine.config, so
importing them here would close an import circle (and load torch with the config).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine.errors import ArenaError

if TYPE_CHECKING:
    from engine.data import ReplayWindow


class UnknownLearner(ArenaError):
    """A learner name the registry lacks; one line naming the known ones."""


class LearnerProtocol(Protocol):
    """What the league runner drives: one learner training one agent from its home directory
    (snapshots/, trajectories/, learner.pt)."""

    step: int  # updates so far; each published snapshot is named by it
    since: int  # games of weights before this step no longer count for it (training data, win rates)
    last_losses: dict[str, float]  # what the last train_step returned
    window: ReplayWindow  # what it has read of its store (positions_loaded, games_seen)

    def resume(self) -> bool:
        """Load the state of an earlier session; False when there is none."""

    def publish(self) -> Path:
        """Save the learner state, then the snapshot of the current step; the snapshot's path."""

    def refresh(self) -> int:
        """Read newly stored games; how many positions arrived."""

    def ready(self) -> bool:
        """Whether the next `train_step` has the data it needs."""

    def train_step(self) -> dict[str, float]:
        """One update; its losses by name, plus "entropy" (of the network policy on the batch) and
        "learning_rate", which the league's curves write apart from the losses."""


class RestartableLearner(LearnerProtocol, Protocol):
    """A learner that can start over, as an exploiter does after joining the pool."""

    resets: int
    extra_state: dict[str, int]  # its owner's counters, saved and resumed with the learner state

    def reset(self) -> None:
        """Fresh weights and optimizer; from then on it trains only on the games they play (`since`)."""


def _load(ref: str) -> type:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class LearnerKind:
    """One learner: its classes, how its actors behave, and the config that tunes it."""

    name: str
    learner_ref: str  # "module:Class" of its LearnerProtocol; constructed as (spec, config, home, device[, seed])
    actor_ref: str  # "module:Class" of its actor (engine.train.actor.Actor)
    # Whether games of the policy against itself go to the ledger too: on-policy poker plays
    # millions of hands a run, which say nothing about who beats whom.
    self_play: bool
    poll_seconds: float  # how often actors look for a new snapshot
    # Whether the league may add exploiters: they need an off-policy learner that can restart
    # fresh (a RestartableLearner, as engine.train.alphazero.Learner is).
    exploiters: bool
    section: str  # the config section only this learner reads
    section_use: str  # what that section is for, in "[section] ..." messages
    about: str  # said after "GAME is learned by NAME" when another learner's section is given
    tune: str  # the sections to tune instead
    defaults: dict[str, Any] = field(default_factory=dict)  # config of every game it serves, before the preset's

    @property
    def learner(self) -> type:
        return _load(self.learner_ref)

    @property
    def actor(self) -> type:
        return _load(self.actor_ref)


LEARNERS: dict[str, LearnerKind] = {
    "alphazero": LearnerKind(
        "alphazero", "engine.train.alphazero:Learner", "engine.train.selfplay:SelfPlayActor",
        self_play=True, poll_seconds=3.0, exploiters=True, section="search",
        section_use="sets the tree search of perfect-information games", about="", tune="[search] and [train]"),
    # On-policy: it waits for games of each new snapshot, so actors pick one up at once.
    "mmd": LearnerKind(
        "mmd", "engine.train.mmd:MMDLearner", "engine.train.policy_actor:PolicyActor",
        self_play=False, poll_seconds=0.25, exploiters=False, section="mmd",
        section_use="is for imperfect-information games", about=" with no tree search (it would see hidden information)",
        tune="[mmd]",
        defaults={
            "network": {"kind": "mlp", "hidden": 128, "layers": 2},
            "selfplay": {"concurrent_games": 256, "flush_games": 2048, "flush_seconds": 0.5},
            "train": {"batch_size": 512, "learning_rate": 1e-3, "weight_decay": 0.0, "window": 200_000,
                      "snapshot_every": 1},
            # Rating poker needs many hands: the evaluator plays more games a pairing.
            "league": {"pool_every": 20, "self_play": 1.0, "anchors": ["random"], "eval_games": 200,
                       "eval_opening_plies": 0},
        }),
}


def learner_kind(name: str) -> LearnerKind:
    """The registry's entry for `name`."""
    try:
        return LEARNERS[name]
    except KeyError:
        raise UnknownLearner(f"unknown learner '{name}': known learners are {', '.join(LEARNERS)}") from None
