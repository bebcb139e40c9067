"""Baselines without a network: uniformly random moves, exact minimax for small games, and
OpenSpiel's C++ rollout MCTS (`mcts:N`); `SampledPolicyBot` is the base of every bot that plays
a sample of a policy it provides."""
from __future__ import annotations

import numpy as np
import pyspiel

from engine.players.spec import PlayerSpec


class SampledPolicyBot(pyspiel.Bot):
    """A memoryless bot that plays a sample of its policy, and provides that policy (OpenSpiel's
    tools read it through `step_with_policy`). Subclasses give `action_probabilities`."""

    def __init__(self, seed: int = 0) -> None:
        pyspiel.Bot.__init__(self)
        self.rng = np.random.default_rng(seed)

    def action_probabilities(self, state: pyspiel.State) -> tuple[list[int], np.ndarray]:
        raise NotImplementedError

    def step_with_policy(self, state: pyspiel.State):
        actions, probs = self.action_probabilities(state)
        action = int(self.rng.choice(actions, p=probs))
        return [(a, float(q)) for a, q in zip(actions, probs)], action

    def step(self, state: pyspiel.State) -> int:
        return self.step_with_policy(state)[1]

    def provides_policy(self) -> bool:
        return True

    def restart_at(self, state: pyspiel.State) -> None:
        pass

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        pass


class RandomBot(SampledPolicyBot):
    """Uniformly random legal moves (OpenSpiel's C++ random bot crashes when rebound to another seat)."""

    def action_probabilities(self, state: pyspiel.State) -> tuple[list[int], np.ndarray]:
        legal = state.legal_actions()
        return legal, np.full(len(legal), 1.0 / len(legal))

    def step(self, state: pyspiel.State) -> int:
        return int(self.rng.choice(state.legal_actions()))  # one draw, as ever: seeded games keep their moves


_SOLVED: dict[str, dict[str, float]] = {}


class MinimaxBot(pyspiel.Bot):
    """Perfect play by memoised negamax over the whole game tree; only for small games."""

    def __init__(self, game: pyspiel.Game, seed: int = 0) -> None:
        pyspiel.Bot.__init__(self)
        self.rng = np.random.default_rng(seed)
        self.cache = _SOLVED.setdefault(str(game), {})  # shared: solving is the expensive part

    def _value(self, state: pyspiel.State) -> float:
        """Value of a non-terminal state for its player to move, memoised on the state's text."""
        key = state.serialize()
        if key not in self.cache:
            self.cache[key] = max(self._child_value(state, a) for a in state.legal_actions())
        return self.cache[key]

    def _child_value(self, state: pyspiel.State, action: int) -> float:
        player = state.current_player()
        child = state.child(action)
        if child.is_terminal():
            return child.returns()[player]
        v = self._value(child)
        return v if child.current_player() == player else -v

    def step(self, state: pyspiel.State) -> int:
        values = {a: self._child_value(state, a) for a in state.legal_actions()}
        best = max(values.values())
        choices = [a for a, v in values.items() if v == best]
        return int(self.rng.choice(choices))

    def restart_at(self, state: pyspiel.State) -> None:
        pass

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        pass


def random_bot(spec: PlayerSpec, game_spec) -> RandomBot:
    return RandomBot(spec.seed)


def minimax_bot(spec: PlayerSpec, game_spec) -> MinimaxBot:
    return MinimaxBot(game_spec.game, spec.seed)


def rollout_mcts_bot(spec: PlayerSpec, game_spec) -> pyspiel.Bot:
    """OpenSpiel's C++ MCTS: UCT c=2, `rollouts` random rollouts a leaf, the most visited move."""
    simulations, rollouts = spec.rollout_counts()
    return pyspiel.MCTSBot(game_spec.game, pyspiel.RandomRolloutEvaluator(rollouts, spec.seed), 2.0, simulations,
                           1000, False, spec.seed, False)
