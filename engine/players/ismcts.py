"""Information-set MCTS with random rollouts (`ismcts:N`), for turn-based imperfect-information
games: OpenSpiel's C++ bot where OpenSpiel resamples the hidden state, else `SampledISMCTSBot`,
OpenSpiel's Python bot with worlds from engine/players/world_sampler.py. Perfect-information games
are refused with a one-line error: there `mcts:N` is the same search."""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Iterator

import numpy as np
import pyspiel
from open_spiel.python.algorithms import ismcts
from open_spiel.python.algorithms.mcts import RandomRolloutEvaluator

from engine.errors import BotError
from engine.players.spec import PlayerSpec
from engine.players.world_sampler import WorldSampler, WorldSamplerError


class SampledISMCTSBot(ismcts.ISMCTSBot):
    """OpenSpiel's Python ISMCTS (UCT c=2, one random rollout per leaf by default, the most visited
    move) for games OpenSpiel cannot resample: each simulation draws its own world (unlimited
    world samples, as the C++ bot does) from an engine.players.world_sampler.WorldSampler, which
    follows the game from move to move. Tree nodes are keyed by information-state strings, or by
    observation strings in games without them (phantom Go).

    Should the sampler find no world at all that fits what the player saw (it can happen late in
    phantom_go9, where a capture may need several hidden stones that no sampled world guessed),
    the bot warns, counts it in `lost_games`, and plays uniformly random moves for the rest of
    that game rather than crash the match."""

    def __init__(self, game: pyspiel.Game, simulations: int, rollouts: int, seed: int = 0, evaluator=None,
                 uct_c: float = 2.0, child_selection_policy=ismcts.ChildSelectionPolicy.UCT,
                 random_state: np.random.RandomState | None = None) -> None:
        rng = random_state or np.random.RandomState(seed)
        super().__init__(game, evaluator or RandomRolloutEvaluator(rollouts, rng), uct_c, simulations,
                         ismcts.UNLIMITED_NUM_WORLD_SAMPLES, rng, ismcts.ISMCTSFinalPolicyType.MAX_VISIT_COUNT,
                         use_observation_string=not game.get_type().provides_information_state_string,
                         child_selection_policy=child_selection_policy)
        self.sampler = WorldSampler(game, seed=seed)
        self.set_resampler(self.sampler)
        self._lost: list[int] | None = None  # the history at which the sampler gave up in this game
        self.lost_games = 0

    def step_with_policy(self, state: pyspiel.State):
        history = state.history()
        if self._lost is None or history[:len(self._lost)] != self._lost:
            try:
                policy, action = super().step_with_policy(state)
                return policy, int(action)  # OpenSpiel's Python bot answers a numpy integer
            except WorldSamplerError as exc:
                self._lost, self.lost_games = history, self.lost_games + 1
                warnings.warn(f"ismcts plays at random for the rest of this game: {exc}", RuntimeWarning)
        legal = state.legal_actions()  # no world fits what this player saw: play on rather than crash
        return [(a, 1.0 / len(legal)) for a in legal], int(self._random_state.choice(legal))

    def step(self, state: pyspiel.State) -> int:
        return self.step_with_policy(state)[1]

    def restart_at(self, state: pyspiel.State) -> None:
        self._lost = None  # the sampler starts over by itself at a history it does not extend

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        pass  # the sampler reads the moves from the state's history at the next step


def ismcts_bot(spec: PlayerSpec, game_spec) -> pyspiel.Bot:
    """OpenSpiel's C++ ISMCTS where OpenSpiel can resample the game's hidden state (the poker
    presets), else SampledISMCTSBot; a one-line error for games ISMCTS is not for."""
    simulations, rollouts = spec.rollout_counts()
    game = game_spec.game
    kind = game.get_type()
    if kind.information == pyspiel.GameType.Information.PERFECT_INFORMATION:
        raise BotError(f"ismcts:N is for imperfect-information games and {game_spec.name} has perfect "
                       "information: use mcts:N (the same search without information sets)")
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise BotError(f"ismcts:N needs turn-based moves and {game_spec.name} has simultaneous ones")
    if not _resamples(str(game)):
        return SampledISMCTSBot(game, simulations, rollouts, spec.seed)
    return pyspiel.ISMCTSBot(spec.seed, pyspiel.RandomRolloutEvaluator(rollouts, spec.seed), 2.0, simulations, -1,
                             pyspiel.ISMCTSFinalPolicyType.MAX_VISIT_COUNT, False, False)


@functools.lru_cache(maxsize=None)
def _resamples(game_string: str) -> bool:
    """Whether OpenSpiel implements ResampleFromInfostate for the game (tried at its first decision)."""
    state = pyspiel.load_game(game_string).new_initial_state()
    while state.is_chance_node():
        state.apply_action(state.chance_outcomes()[0][0])
    try:
        with _quiet_stderr():  # OpenSpiel prints the error it is about to raise
            state.resample_from_infostate(state.current_player(), lambda: 0.5)
    except pyspiel.SpielError:
        return False
    return True


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null for a while (C++ writes there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
