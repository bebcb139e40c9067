"""What every actor shares: the games in progress, who plays the other side of each, and what the
trajectory store of a game's runs holds.

An actor plays many games at once with one network and hands each finished game on as a
Trajectory. With an `OpponentSource` (the league's matchmaking), each new game may get an opponent:
a past snapshot on one seat, whose moves the actor plays with that snapshot's network; only the
learning side's positions are stored. SelfPlayActor (engine/train/selfplay.py, tree search) and
PolicyActor (engine/train/policy_actor.py, no search) build on Actor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.config import RunConfig
from engine.data import StoreMeta
from engine.nn import Evaluator, RoutedEvaluator


def store_meta(spec) -> StoreMeta:
    """What the trajectory store of a game's runs holds, from its encoder."""
    return StoreMeta(game_string=spec.game_string, obs_shape=tuple(spec.encoder.shape),
                     obs_dtype=np.dtype(spec.encoder.dtype).name, num_actions=spec.num_actions,
                     num_players=spec.num_players, encoder=spec.encoder.name)


@dataclass
class GameLog:
    """The stored side of a game in progress: one entry per position the learning side moved in."""

    obs: list = field(default_factory=list)
    legal: list = field(default_factory=list)
    policy: list = field(default_factory=list)
    action: list = field(default_factory=list)
    player: list = field(default_factory=list)
    target: list = field(default_factory=list)
    root_value: list = field(default_factory=list)


class OpponentSource(Protocol):
    """Matchmaking as the actor sees it."""

    def pick(self, rng: np.random.Generator) -> tuple[str, int | None] | None:
        """The opponent of a new game: (player spec, its seat or None for either), or None for a
        game against itself."""

    def evaluator(self, name: str) -> Evaluator:
        """The network of a picked opponent."""


class OpponentSlots:
    """Who plays the other side of each concurrent game: a pool member picked by the source at the
    game's start (None: self-play), its seat, and a RoutedEvaluator holding the networks of the
    members in play, so their positions still go out in one call per network."""

    def __init__(self, source: OpponentSource | None, n: int, num_players: int) -> None:
        self.source = source
        self.num_players = num_players
        self.name: list[str | None] = [None] * n
        self.seat = np.full(n, -1, np.int64)
        self.routed = RoutedEvaluator(n)
        self._keys: dict[str, int] = {}

    def assign(self, t: int, rng: np.random.Generator) -> bool:
        """Pick game t's opponent; True when it has one."""
        picked = self.source.pick(rng) if self.source is not None else None
        name, seat = picked if picked is not None else (None, None)
        self.name[t] = name
        if name is None:
            self.seat[t] = -1
            return False
        if name not in self._keys:
            in_use = set(self.name)
            for old in [k for k in self._keys if k not in in_use]:  # drop networks no game plays
                self.routed.evaluators.pop(self._keys.pop(old))
            key = max(self._keys.values(), default=-1) + 1
            self._keys[name] = key
            self.routed.evaluators[key] = self.source.evaluator(name)
        self.routed.route[t] = self._keys[name]
        self.seat[t] = rng.integers(self.num_players) if seat is None else seat
        return True


@dataclass
class ActorStats:
    """Running totals of an actor; every field but `moves` travels to the head (league/run/progress.py)."""

    games: int = 0
    positions: int = 0
    moves: int = 0
    resigned: int = 0  # games that ended by a resignation
    # Games that could not resign (selfplay.no_resign_fraction) in which a player would have
    # resigned, and those of them it did not go on to lose: a false resignation.
    would_resign: int = 0
    false_resigns: int = 0


class Actor:
    """What every actor shares: the concurrent games' opponent slots, the name and weights version
    written into each game, and the throughput counters. Subclasses play `step(on_game)` (one move
    in every game; finished games go to `on_game`) and count `simulations` (0 without search)."""

    def __init__(self, spec, config: RunConfig, rng: np.random.Generator, participant: str,
                 opponents: OpponentSource | None) -> None:
        self.spec = spec
        self.config = config
        self.rng = rng
        self.participant = participant  # the learning side's player spec, e.g. "run:step-400"
        self.learner_step = 0  # weights version, recorded with each game
        self.games = [GameLog() for _ in range(config.selfplay.concurrent_games)]
        self.slots = OpponentSlots(opponents, len(self.games), spec.num_players)
        self.opponent, self.opponent_seat = self.slots.name, self.slots.seat
        self.stats = ActorStats()

    def participants(self, t: int) -> list[str]:
        """The player spec of each seat of game t."""
        names = [self.participant] * self.spec.num_players
        if self.opponent[t] is not None:
            names[self.opponent_seat[t]] = self.opponent[t]
        return names
