"""Self-play actor: many concurrent games searched together by one BatchedMCTS.

Games run in lockstep: every move, all unfinished games search at once (so each network call
carries a leaf of every game), pick their moves, and a finished game is handed to the caller and
replaced by a new one at once. An actor starts with an eighth of its games (at least 16) and takes
on two more each time one ends: in lockstep the first games end only when all of them do, which for go9's 128
games of 100 simulations a move would keep the learner waiting for many minutes. Policy targets
are the root visit distributions, with KataGo's forced playouts pruned from them
(search.forced_playouts); with playout-cap randomization (KataGo) only full searches, which also
carry root noise, become policy targets.

Resignation (engine/search/resign.py, `selfplay.resign_threshold`): a player, learning side or
opponent, whose root value stays below the threshold for `resign_moves` own moves loses the game
there; it is stored like any other, its positions up to the resignation, its returns the
resignation's, its final state not terminal. A share of games (`no_resign_fraction`) may not
resign: they are played out, and count whether the player that would have resigned went on to lose.

Against opponents (engine/train/actor.py): a game's opponent moves are searched in a second
BatchedMCTS whose evaluator routes each game to its opponent's network.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from engine.config import RunConfig
from engine.data import Trajectory
from engine.nn import Evaluator
from engine.search import Resignation, make_search, most_visited, resigned_returns
from engine.train.actor import Actor, GameLog, OpponentSource
from games import goboard


def pick_action(visits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Sample by visits^(1/T); T == 0 plays the most visited action (ties broken at random)."""
    if temperature <= 0:
        return most_visited(visits, rng)
    p = visits ** (1.0 / temperature)
    return int(rng.choice(len(p), p=p / p.sum()))


class SelfPlayActor(Actor):
    """Plays `selfplay.concurrent_games` games at a time with the evaluator's current weights."""

    def __init__(self, spec, evaluator: Evaluator, config: RunConfig, rng: np.random.Generator,
                 participant: str = "self", opponents: OpponentSource | None = None) -> None:
        super().__init__(spec, config, rng, participant, opponents)
        n = len(self.games)
        sp = config.selfplay
        self.resign = [Resignation(sp.resign_threshold, sp.resign_moves) for _ in range(n)]
        self.may_resign = np.ones(n, bool)
        self.would_resign = np.full(n, -1)  # a game that may not resign: who would have, first
        self.resigned = np.full(n, -1)  # who resigned the game this step
        self.mcts = make_search(spec.encoder, spec.num_actions, evaluator, config.search, n, rng)
        if opponents is not None:
            # Opponents search as bots do at play time: PUCT, no root noise.
            search = dataclasses.replace(config.search, root="puct", leaves_per_tree=1)
            self.opponent_mcts = make_search(spec.encoder, spec.num_actions, self.slots.routed, search, n, rng)
        for t in range(n):
            self._new_game(t)
        self.active = max(min(n, 16), n // 8)  # games played now; the rest wait their turn (module docstring)

    def _new_game(self, t: int) -> None:
        self.games[t] = GameLog()
        self.resign[t].reset()
        self.would_resign[t] = self.resigned[t] = -1
        if self.resign[t].enabled:  # no draw when off: games then repeat as before resignation existed
            self.may_resign[t] = self.rng.random() >= self.config.selfplay.no_resign_fraction
        self.mcts.reset(t, self.spec.game.new_initial_state())
        if self.slots.assign(t, self.rng):
            self.opponent_mcts.reset(t, self.spec.game.new_initial_state())

    @property
    def simulations(self) -> int:
        return self.mcts.stats.simulations

    def _temperature(self, game: GameLog, ply: int) -> float:
        return 1.0 if ply < self.config.selfplay.temperature_moves else 0.0

    def step(self, on_game: Callable[[Trajectory], None]) -> None:
        """One move in every active game; finished games go to `on_game` and restart."""
        sp, sc = self.config.selfplay, self.config.search
        n = self.active
        to_move = np.array([self.mcts.root_state(t).current_player() for t in range(n)])
        theirs = to_move == self.opponent_seat[:n]
        full = self.rng.random(n) < sp.full_search_fraction
        sims = np.where(full, sc.simulations, min(sp.fast_simulations, sc.simulations))
        # Noise only in the full searches: cheap searches exist to play fast, not to explore.
        for trees, noise in ((np.flatnonzero(full & ~theirs), True), (np.flatnonzero(~full & ~theirs), False)):
            if len(trees):
                self.mcts.search(trees, sims[trees], noise=noise)
        if theirs.any():
            self.opponent_mcts.search(np.flatnonzero(theirs), sc.simulations)
        # Policy targets: the root visits, forced playouts pruned (engine/search/forced.py); the move
        # played comes from the full counts.
        targets = self.mcts.target_visits(np.arange(n))
        for t in range(n):
            game = self.games[t]
            state = self.mcts.root_state(t)
            ply = len(state.history())
            search = self.opponent_mcts if theirs[t] else self.mcts
            if self._resigns(t, state.current_player(), search.root_value(t)):
                continue
            if theirs[t]:
                visits = self.opponent_mcts.visit_counts(t)
                self._advance(t, pick_action(visits, self._temperature(game, ply), self.rng))
                continue
            visits = self.mcts.visit_counts(t)
            if visits.sum() == 0:  # a search of one simulation only expanded the root
                visits = self.mcts.P[t, self.mcts.root[t]].copy()
            if self.mcts.gumbel:  # Gumbel noise already made the move a sample of the improved policy
                action, policy = self.mcts.gumbel_action(t), self.mcts.improved_policy(t)
            else:
                action = pick_action(visits, self._temperature(game, ply), self.rng)
                target = targets[t] if targets[t].sum() > 0 else visits
                policy = target / target.sum()
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
            loser = self.resigned[t]
            if final.is_terminal() or loser >= 0:
                returns = (resigned_returns(self.spec.num_players, loser) if loser >= 0
                           else np.asarray(final.returns(), np.float32))
                # A game the opponent played alone (possible only in odd games) leaves nothing to store.
                if self.games[t].action:
                    on_game(self._record(t, final, returns))
                    self._count_resignation(t, returns)
                self._new_game(t)
                self.active = min(len(self.games), self.active + 2)

    def _resigns(self, t: int, player: int, value: float) -> bool:
        """Count `player`'s root value in game t; True when it resigns the game here. In a game
        that may not resign, the first player that would have is remembered instead."""
        if not self.resign[t].hopeless(player, value):
            return False
        if self.may_resign[t]:
            self.resigned[t] = player
            return True
        if self.would_resign[t] < 0:
            self.would_resign[t] = player
        return False

    def _count_resignation(self, t: int, returns: np.ndarray) -> None:
        self.stats.resigned += int(self.resigned[t] >= 0)
        would = self.would_resign[t]
        if would >= 0:
            self.stats.would_resign += 1
            self.stats.false_resigns += int(returns[would] >= 0)  # won or drawn: not lost

    def _advance(self, t: int, action: int) -> None:
        self.mcts.advance(t, action)
        if self.opponent[t] is not None:
            self.opponent_mcts.advance(t, action)
        self.stats.moves += 1

    def _record(self, t: int, final, returns: np.ndarray) -> Trajectory:
        """Game t as stored, ending in state `final` (not terminal if a player resigned) with
        `returns`; with the auxiliary heads' targets (owners and margin) where the game has them and
        reached its end by the rules."""
        game = self.games[t]
        self.stats.games += 1
        self.stats.positions += len(game.action)
        ownership, score = (goboard.final_ownership(final) if self.spec.has_ownership else None) or (None, None)
        return Trajectory(
            obs=np.stack(game.obs).astype(self.spec.encoder.dtype, copy=False),
            legal=np.stack(game.legal), policy=np.stack(game.policy).astype(np.float32),
            action=np.asarray(game.action, np.int32), player=np.asarray(game.player, np.int8),
            target=np.asarray(game.target, bool), root_value=np.asarray(game.root_value, np.float32),
            returns=returns, participants=self.participants(t),
            game_id=self.rng.bytes(16).hex(), learner_step=self.learner_step, plies=len(final.history()),
            ownership=ownership, score=score)


def play_games(actor: SelfPlayActor, count: int, minutes: float | None = None) -> list[Trajectory]:
    """Play until `count` games have finished (or the time is up); used by benchmarks and tests."""
    done: list[Trajectory] = []
    deadline = time.monotonic() + 60 * minutes if minutes else float("inf")
    while len(done) < count and time.monotonic() < deadline:
        actor.step(done.append)
    return done
