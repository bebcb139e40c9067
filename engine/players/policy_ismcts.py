"""ISMCTS guided by an imperfect-information snapshot: the policy network is the search's prior.

A snapshot of the MMD learner plays its policy with no search (engine.players.neural.PolicyBot).
With `<run>@sims=N` it searches instead: OpenSpiel's Python information-set MCTS, each simulation in
a world drawn by engine/players/world_sampler.py, one random rollout a leaf (the snapshots hold no
trained value), and PUCT selection with the network's policy as the prior at every information set,
the opponent's included (the network read on the opponent's view of the sampled world).

OpenSpiel's ISMCTS tries every untried action once before its PUCT rule applies, which spends
most of a 1,000-simulation budget on a 26-point phantom Go board on moves the prior rules out.
Here every legal action enters a node with its prior at once, and an untried action is valued at
its parent's mean return minus `fpu_reduction` (first-play urgency, as in our MCTS), so the
search widens only where the prior or the returns send it.
"""
from __future__ import annotations

import math

import numpy as np
import pyspiel
from open_spiel.python.algorithms import ismcts
from open_spiel.python.algorithms.mcts import RandomRolloutEvaluator

import games
from engine.nn import Evaluator
from engine.players.ismcts import SampledISMCTSBot
from engine.players.neural import PolicyBot


class PolicyPrior(RandomRolloutEvaluator):
    """OpenSpiel's evaluator interface: random-rollout values, the snapshot's policy as prior."""

    def __init__(self, policy: PolicyBot, rollouts: int, rng: np.random.RandomState) -> None:
        super().__init__(rollouts, rng)
        self.policy = policy

    def prior(self, state: pyspiel.State) -> list[tuple[int, float]]:
        actions, probs = self.policy.action_probabilities(state)
        return list(zip(actions, probs.tolist()))


class PolicyISMCTSBot(SampledISMCTSBot):
    """ISMCTS with PUCT over the policy network's prior (see the module docstring)."""

    def __init__(self, game_spec: games.GameLike, evaluator: Evaluator, simulations: int, c_puct: float = 1.5,
                 fpu_reduction: float = 0.25, seed: int = 0) -> None:
        rng = np.random.RandomState(seed)
        game_spec = games.load(game_spec)
        super().__init__(game_spec.game, simulations, 1, seed, evaluator=PolicyPrior(PolicyBot(game_spec, evaluator), 1, rng),
                         uct_c=c_puct, child_selection_policy=ismcts.ChildSelectionPolicy.PUCT, random_state=rng)
        self.fpu_reduction = fpu_reduction

    def check_expand(self, node, legal_actions):
        """Every legal action enters the node at once, with its prior; none is forced first."""
        if len(node.child_info) < len(legal_actions):
            for action in legal_actions:
                if action not in node.child_info:
                    node.child_info[action] = ismcts.ChildInfo(0.0, 0.0, node.prior_map.get(action, 0.0))
        return pyspiel.INVALID_ACTION

    def _select_candidate_actions(self, node):
        children = node.child_info.values()
        visits = sum(c.visits for c in children)
        fpu = (sum(c.return_sum for c in children) / visits if visits else 0.0) - self.fpu_reduction
        scale = self._uct_c * math.sqrt(node.total_visits + 1)
        scores = {a: (c.value() if c.visits else fpu) + scale * c.prior / (1 + c.visits)
                  for a, c in node.child_info.items()}
        best = max(scores.values())
        return [a for a, s in scores.items() if s > best - ismcts.TIE_TOLERANCE]
