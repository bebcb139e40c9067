"""Self-play actor: many concurrent games searched together by one BatchedMCTS.

Games run in lockstep: every move, all unfinished games search at once (so each network call
carries a leaf of every game), pick their moves, and a finished game is handed to the caller and
replaced by a new one at once. Policy targets are the root visit distributions; with playout-cap
randomization (KataGo) only full searches, which also carry root noise, become policy targets.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.config import RunConfig
from engine.inference import Evaluator
from engine.mcts import BatchedMCTS
from engine.store import GameRecord, StoreMeta


def store_meta(spec) -> StoreMeta:
    """What the trajectory store of a game's runs holds, from its encoder."""
    return StoreMeta(game_string=spec.game_string, obs_shape=tuple(spec.encoder.shape),
                     obs_dtype=np.dtype(spec.encoder.dtype).name, num_actions=spec.num_actions,
                     num_players=spec.num_players, encoder=spec.encoder.name)


def pick_action(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Sample by visits^(1/T); T == 0 plays the most visited action (ties broken at random)."""
    if temperature <= 0:
        best = np.flatnonzero(visits == visits.max())
        return int(best[0] if len(best) == 1 else rng.choice(best))
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


@dataclass
class ActorStats:
    games: int = 0
    positions: int = 0
    moves: int = 0


class SelfPlayActor:
    """Plays `selfplay.concurrent_games` games at a time with the evaluator's current weights."""

    def __init__(self, spec, evaluator: Evaluator, config: RunConfig, rng: np.random.Generator,
                 participant: str = "self") -> None:
        self.spec = spec
        self.config = config
        self.rng = rng
        self.participant = participant
        self.learner_step = 0
        n = config.selfplay.concurrent_games
        self.mcts = BatchedMCTS(spec.encoder, spec.num_actions, evaluator, config.search, n, rng)
        self.games = [_Game() for _ in range(n)]
        for t in range(n):
            self.mcts.reset(t, spec.game.new_initial_state())
        self.stats = ActorStats()

    def step(self, on_game: Callable[[GameRecord], None]) -> None:
        """One move in every concurrent game; finished games go to `on_game` and restart."""
        sp, sc = self.config.selfplay, self.config.search
        n = len(self.games)
        trees = np.arange(n)
        full = self.rng.random(n) < sp.full_search_fraction
        sims = np.where(full, sc.simulations, min(sp.fast_simulations, sc.simulations))
        # Noise only in the full searches: cheap searches exist to play fast, not to explore.
        if full.any():
            self.mcts.search(trees[full], sims[full], noise=True)
        if (~full).any():
            self.mcts.search(trees[~full], sims[~full], noise=False)
        for t in range(n):
            game = self.games[t]
            visits = self.mcts.visit_counts(t)
            if visits.sum() == 0:  # a search of one simulation only expanded the root
                visits = self.mcts.P[t, self.mcts.root[t]].copy()
            state = self.mcts.root_state(t)
            if self.mcts.gumbel:  # Gumbel noise already made the move a sample of the improved policy
                action, policy = self.mcts.gumbel_action(t), self.mcts.improved_policy(t)
            else:
                temperature = 1.0 if len(game.action) < sp.temperature_moves else 0.0
                action, policy = pick_action(visits, temperature, self.rng), visits / visits.sum()
            game.obs.append(self.mcts.root_x(t))
            game.legal.append(self.mcts.legal[t, self.mcts.root[t]].copy())
            game.policy.append(policy)
            game.action.append(action)
            game.player.append(state.current_player())
            game.target.append(bool(full[t]))
            game.root_value.append(self.mcts.root_value(t))
            self.mcts.advance(t, action)
            self.stats.moves += 1
            final = self.mcts.root_state(t)
            if final.is_terminal():
                on_game(self._record(game, np.asarray(final.returns(), np.float32)))
                self.games[t] = _Game()
                self.mcts.reset(t, self.spec.game.new_initial_state())

    def _record(self, game: _Game, returns: np.ndarray) -> GameRecord:
        self.stats.games += 1
        self.stats.positions += len(game.action)
        return GameRecord(
            obs=np.stack(game.obs).astype(self.spec.encoder.dtype, copy=False),
            legal=np.stack(game.legal), policy=np.stack(game.policy).astype(np.float32),
            action=np.asarray(game.action, np.int32), player=np.asarray(game.player, np.int8),
            target=np.asarray(game.target, bool), root_value=np.asarray(game.root_value, np.float32),
            returns=returns, participants=[self.participant] * self.spec.num_players,
            game_id=self.rng.bytes(16).hex(), learner_step=self.learner_step)


def play_games(actor: SelfPlayActor, count: int, minutes: float | None = None) -> list[GameRecord]:
    """Play until `count` games have finished (or the time is up); used by benchmarks and tests."""
    done: list[GameRecord] = []
    deadline = time.monotonic() + 60 * minutes if minutes else float("inf")
    while len(done) < count and time.monotonic() < deadline:
        actor.step(done.append)
    return done
