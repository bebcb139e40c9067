"""Actor for imperfect-information games: many games in lockstep, moves sampled from the policy.

No search (a tree over the true state would see hidden cards): each step, every game waiting on a
player is encoded from that player's information state, one network call per evaluator serves
them all, and each samples its action from the masked policy. Chance outcomes are sampled from
OpenSpiel's listed probabilities. The learning side plays its behaviour policy: `mmd.exploration`
of the uniform policy mixed in and every legal action kept at `mmd.exploration_floor` of it at
least (engine.train.mmd.behaviour says why). Stored positions carry that behaviour policy (`policy`)
and the action played; against a pool opponent only the learning side's positions are stored.
Same face as engine.train.selfplay.SelfPlayActor (engine.train.actor.Actor), so the league runner drives either.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.config import RunConfig
from engine.data import Trajectory
from engine.nn import Evaluator
from engine.train.actor import Actor, GameLog, OpponentSource
from engine.train.mmd import behaviour


class PolicyActor(Actor):
    """Plays `selfplay.concurrent_games` games at a time with the evaluator's current weights."""

    def __init__(self, spec, evaluator: Evaluator, config: RunConfig, rng: np.random.Generator,
                 participant: str = "self", opponents: OpponentSource | None = None) -> None:
        super().__init__(spec, config, rng, participant, opponents)
        self.evaluator = evaluator
        n = len(self.games)
        self.states = [spec.game.new_initial_state() for _ in range(n)]
        self.simulations = 0  # no search; kept so the runner's throughput view reads the same
        for t in range(n):
            self._new_game(t)

    def _new_game(self, t: int) -> None:
        self.games[t] = GameLog()
        state = self.spec.game.new_initial_state()
        self.states[t] = state
        self._resolve_chance(state)
        self.slots.assign(t, self.rng)

    def _resolve_chance(self, state) -> None:
        while state.is_chance_node():
            outcomes, probs = zip(*state.chance_outcomes())
            state.apply_action(int(outcomes[self.rng.choice(len(outcomes), p=np.asarray(probs) / sum(probs))]))

    def step(self, on_game) -> None:
        """One decision in every game; finished games go to `on_game` and restart."""
        n = len(self.states)
        players = np.array([s.current_player() for s in self.states])
        x = np.stack([self.spec.encoder.encode(s) for s in self.states])
        legal = np.zeros((n, self.spec.num_actions), bool)
        for t, s in enumerate(self.states):
            legal[t, s.legal_actions()] = True
        theirs = players == self.opponent_seat
        probs = np.zeros(legal.shape, np.float32)
        mine = np.flatnonzero(~theirs)
        if len(mine):
            own = self.evaluator.evaluate(x[mine], legal[mine], players[mine])[0]
            probs[mine] = behaviour(torch.from_numpy(own), torch.from_numpy(legal[mine]),
                                    self.config.mmd.exploration, self.config.mmd.exploration_floor).numpy()
        if theirs.any():
            rows = np.flatnonzero(theirs)
            probs[rows] = self.slots.routed.evaluate(x[rows], legal[rows], players[rows], rows)[0]
        # Inverse-CDF sampling for all games at once; the clip guards a float sum just below u.
        u = self.rng.random(n)[:, None]
        actions = np.minimum((probs.cumsum(1) < u).sum(1), self.spec.num_actions - 1)
        actions = np.where(legal[np.arange(n), actions], actions, probs.argmax(1))
        for t in range(n):
            if not theirs[t]:
                game = self.games[t]
                game.obs.append(x[t])
                game.legal.append(legal[t])
                game.policy.append(probs[t])
                game.action.append(int(actions[t]))
                game.player.append(int(players[t]))
            state = self.states[t]
            state.apply_action(int(actions[t]))
            self._resolve_chance(state)
            self.stats.moves += 1
            if state.is_terminal():
                if self.games[t].action:
                    on_game(self._record(t))
                self._new_game(t)

    def _record(self, t: int) -> Trajectory:
        game, state = self.games[t], self.states[t]
        self.stats.games += 1
        self.stats.positions += len(game.action)
        k = len(game.action)
        return Trajectory(
            obs=np.stack(game.obs), legal=np.stack(game.legal), policy=np.stack(game.policy),
            action=np.asarray(game.action, np.int32), player=np.asarray(game.player, np.int8),
            target=np.ones(k, bool), root_value=np.zeros(k, np.float32),
            returns=np.asarray(state.returns(), np.float32), participants=self.participants(t),
            game_id=self.rng.bytes(16).hex(), learner_step=self.learner_step, plies=len(state.history()))
