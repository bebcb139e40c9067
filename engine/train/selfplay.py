"""Self-play actor: many concurrent games searched together by one BatchedMCTS.

Games run in lockstep: every move, all unfinished games search at once (so each network call
carries a leaf of every game), pick their moves, and a finished game is handed to the caller and
replaced by a new one at once. Policy targets are the root visit distributions; with playout-cap
randomization (KataGo) only full searches, which also carry root noise, become policy targets.

League games: given an `OpponentSource`, each new game asks it for an opponent (a past snapshot, or
None for self-play). The opponent's moves are searched in a second BatchedMCTS whose evaluator routes
each game to its opponent's network; only the learning side's positions are stored.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from engine.config import RunConfig
from engine.nn import Evaluator, RoutedEvaluator
from engine.search import make_search, most_visited
from engine.data import Trajectory, StoreMeta


def store_meta(spec) -> StoreMeta:
    """What the trajectory store of a game's runs holds, from its encoder."""
    return StoreMeta(game_string=spec.game_string, obs_shape=tuple(spec.encoder.shape),
                     obs_dtype=np.dtype(spec.encoder.dtype).name, num_actions=spec.num_actions,
                     num_players=spec.num_players, encoder=spec.encoder.name)


def pick_action(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Sample by visits^(1/T); T == 0 plays the most visited action (ties broken at random)."""
    if temperature <= 0:
        return most_visited(visits, rng)
    p = visits ** (1.0 / temperature)
    return int(rng.choice(len(p), p=p / p.sum()))


@dataclass
class _Game:
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
    games: int = 0
    positions: int = 0
    moves: int = 0


class LeagueActor:
    """What every actor shares: the concurrent games' opponent slots, the name and weights version
    written into each game, and the throughput counters. Subclasses play `step(on_game)`."""

    def __init__(self, spec, config: RunConfig, rng: np.random.Generator, participant: str,
                 opponents: OpponentSource | None) -> None:
        self.spec = spec
        self.config = config
        self.rng = rng
        self.participant = participant  # the learning side's player spec, e.g. "run:step-400"
        self.learner_step = 0  # weights version, recorded with each game
        self.games = [_Game() for _ in range(config.selfplay.concurrent_games)]
        self.slots = OpponentSlots(opponents, len(self.games), spec.num_players)
        self.opponent, self.opponent_seat = self.slots.name, self.slots.seat
        self.stats = ActorStats()

    def participants(self, t: int) -> list[str]:
        """The player spec of each seat of game t."""
        names = [self.participant] * self.spec.num_players
        if self.opponent[t] is not None:
            names[self.opponent_seat[t]] = self.opponent[t]
        return names


class SelfPlayActor(LeagueActor):
    """Plays `selfplay.concurrent_games` games at a time with the evaluator's current weights."""

    def __init__(self, spec, evaluator: Evaluator, config: RunConfig, rng: np.random.Generator,
                 participant: str = "self", opponents: OpponentSource | None = None) -> None:
        super().__init__(spec, config, rng, participant, opponents)
        n = len(self.games)
        self.mcts = make_search(spec.encoder, spec.num_actions, evaluator, config.search, n, rng)
        if opponents is not None:
            # Opponents search as bots do at play time: PUCT, no root noise.
            search = dataclasses.replace(config.search, root="puct", leaves_per_tree=1)
            self.opponent_mcts = make_search(spec.encoder, spec.num_actions, self.slots.routed, search, n, rng)
        for t in range(n):
            self._new_game(t)

    def _new_game(self, t: int) -> None:
        self.games[t] = _Game()
        self.mcts.reset(t, self.spec.game.new_initial_state())
        if self.slots.assign(t, self.rng):
            self.opponent_mcts.reset(t, self.spec.game.new_initial_state())

    @property
    def simulations(self) -> int:
        return self.mcts.stats.simulations

    def _temperature(self, game: _Game, ply: int) -> float:
        return 1.0 if ply < self.config.selfplay.temperature_moves else 0.0

    def step(self, on_game: Callable[[Trajectory], None]) -> None:
        """One move in every concurrent game; finished games go to `on_game` and restart."""
        sp, sc = self.config.selfplay, self.config.search
        n = len(self.games)
        to_move = np.array([self.mcts.root_state(t).current_player() for t in range(n)])
        theirs = to_move == self.opponent_seat
        full = self.rng.random(n) < sp.full_search_fraction
        sims = np.where(full, sc.simulations, min(sp.fast_simulations, sc.simulations))
        # Noise only in the full searches: cheap searches exist to play fast, not to explore.
        for trees, noise in ((np.flatnonzero(full & ~theirs), True), (np.flatnonzero(~full & ~theirs), False)):
            if len(trees):
                self.mcts.search(trees, sims[trees], noise=noise)
        if theirs.any():
            self.opponent_mcts.search(np.flatnonzero(theirs), sc.simulations)
        for t in range(n):
            game = self.games[t]
            ply = len(self.mcts.root_state(t).history())
            if theirs[t]:
                visits = self.opponent_mcts.visit_counts(t)
                self._advance(t, pick_action(visits, self._temperature(game, ply), self.rng))
                continue
            visits = self.mcts.visit_counts(t)
            if visits.sum() == 0:  # a search of one simulation only expanded the root
                visits = self.mcts.P[t, self.mcts.root[t]].copy()
            state = self.mcts.root_state(t)
            if self.mcts.gumbel:  # Gumbel noise already made the move a sample of the improved policy
                action, policy = self.mcts.gumbel_action(t), self.mcts.improved_policy(t)
            else:
                action = pick_action(visits, self._temperature(game, ply), self.rng)
                policy = visits / visits.sum()
            game.obs.append(self.mcts.root_x(t))
            game.legal.append(self.mcts.legal[t, self.mcts.root[t]].copy())
            game.policy.append(policy)
            game.action.append(action)
            game.player.append(state.current_player())
            game.target.append(bool(full[t]))
            game.root_value.append(self.mcts.root_value(t))
            self._advance(t, action)
        for t in range(n):
            final = self.mcts.root_state(t)
            if final.is_terminal():
                # A game the opponent played alone (possible only in odd games) leaves nothing to store.
                if self.games[t].action:
                    on_game(self._record(t, np.asarray(final.returns(), np.float32), len(final.history())))
                self._new_game(t)

    def _advance(self, t: int, action: int) -> None:
        self.mcts.advance(t, action)
        if self.opponent[t] is not None:
            self.opponent_mcts.advance(t, action)
        self.stats.moves += 1

    def _record(self, t: int, returns: np.ndarray, length: int) -> Trajectory:
        game = self.games[t]
        self.stats.games += 1
        self.stats.positions += len(game.action)
        return Trajectory(
            obs=np.stack(game.obs).astype(self.spec.encoder.dtype, copy=False),
            legal=np.stack(game.legal), policy=np.stack(game.policy).astype(np.float32),
            action=np.asarray(game.action, np.int32), player=np.asarray(game.player, np.int8),
            target=np.asarray(game.target, bool), root_value=np.asarray(game.root_value, np.float32),
            returns=returns, participants=self.participants(t),
            game_id=self.rng.bytes(16).hex(), learner_step=self.learner_step, plies=length)


def play_games(actor: SelfPlayActor, count: int, minutes: float | None = None) -> list[Trajectory]:
    """Play until `count` games have finished (or the time is up); used by benchmarks and tests."""
    done: list[Trajectory] = []
    deadline = time.monotonic() + 60 * minutes if minutes else float("inf")
    while len(done) < count and time.monotonic() < deadline:
        actor.step(done.append)
    return done
