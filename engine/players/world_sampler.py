"""Sample full OpenSpiel states ("worlds") that agree with everything one player has observed.

ISMCTS plays each simulation in a world drawn from what the player to move knows. OpenSpiel draws
them with `State::ResampleFromInfostate`, which its phantom_go, dark_hex and liars_dice lack; this
module draws them for any turn-based game, with no game-specific code.

A world is built by walking the true history from `game.new_initial_state()`: the player's own
steps take the same action; a chance step takes an outcome drawn by its probabilities, an
opponent's step a legal action tried in uniformly random order, the first one after which the
player's view (`information_state_string(player)` where the game provides it, else
`observation_string(player)` and `observation_tensor(player)`) and the player to move are those of
the true history at that step. Phantom Go's "illegal" attempt on a hidden stone is an ordinary
action that keeps the same player to move, so the same check covers it.

`WorldSampler` is a particle filter: it keeps `SamplerConfig.particles` worlds consistent with a
prefix of the true history and, when asked at a state whose history extends that prefix, advances
them by the new steps only. A world that cannot follow a step is dropped. Some of the dropped
places are refilled by repairs (a world's action at one or a few earlier chance or opponent steps
changed, the steps after replayed and re-chosen where they no longer fit: a walk restarted from
that step, not from scratch, since a fresh walk through 40 phantom Go moves almost never fits),
the rest by clones of survivors. When no world survives, repairs go on until one fits, at most
`SamplerConfig.attempts`, then WorldSamplerError says so. A history that does not extend the
prefix (a new game, another player) starts over from the initial state.

Worlds are consistent but not weighted: each step picks uniformly among the actions that fit, not
in proportion to how likely each world makes what was seen. ISMCTS only needs plausible worlds.
"""
from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pyspiel
from engine.errors import ArenaError

View = tuple  # (player to move, the player's view...): compared whole


class WorldSamplerError(ArenaError):
    """No world consistent with the player's view could be found, or the game cannot be sampled."""


@dataclass
class SamplerConfig:
    particles: int = 1000  # worlds kept; each request clones one at random
    repairs: int = 100  # per step, dropped worlds rebuilt with some earlier hidden choices changed
    attempts: int = 5000  # repairs allowed when every world fails a step, before giving up

    def __post_init__(self) -> None:
        for name in ("particles", "repairs", "attempts"):
            if getattr(self, name) < 1:
                raise WorldSamplerError(f"SamplerConfig.{name} must be a positive integer")


_CHANCE, _OWN, _OTHER = range(3)


@dataclass
class _Step:
    """One step of the true history: who took it, the true action, and the view right after it."""

    kind: int
    action: int
    seen: View


class WorldSampler:
    """Worlds consistent with one player's view of a turn-based game; `sampler(state, player)`
    returns a fresh state (the caller may play on it), matching ISMCTSBot.set_resampler's callback."""

    def __init__(self, game: pyspiel.Game, config: SamplerConfig | None = None, seed: int = 0) -> None:
        kind = game.get_type()
        if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
            raise WorldSamplerError(f"{game} has simultaneous moves: the world sampler needs a turn-based game")
        self._info = kind.provides_information_state_string
        if not self._info and not (kind.provides_observation_string and kind.provides_observation_tensor):
            raise WorldSamplerError(f"{game} provides neither information-state strings nor observation "
                                    "strings and tensors: the world sampler cannot tell what a player saw")
        self.game = game
        self._game_name = str(game)
        self.config = config or SamplerConfig()
        self.rng = random.Random(seed)
        self._player: int | None = None
        self._prefix: list[int] = []  # the true history the particles agree with
        self._steps: list[_Step] = []  # the same, with the player's view after each step
        self._free: list[int] = []  # the steps a world may take otherwise: chance and opponents'
        self._truth: pyspiel.State | None = None  # the true state at the end of the prefix
        self.particles: list[pyspiel.State] = []
        self.restarts = 0  # how often the particles started over from the initial state

    def __call__(self, state: pyspiel.State, player: int) -> pyspiel.State:
        return self.sample(state, player)

    def sample(self, state: pyspiel.State, player: int) -> pyspiel.State:
        """A world agreeing with all `player` has seen of `state`'s history; the caller owns it."""
        self.sync(state, player)
        return self.rng.choice(self.particles).clone()

    def sync(self, state: pyspiel.State, player: int) -> None:
        """Bring the particles up to `state`'s history: extend them, or start over when it does not
        extend the history they follow."""
        history = state.history()
        known = len(self._prefix)
        if (player != self._player or self._truth is None or len(history) < known
                or history[:known] != self._prefix):
            self._start(state, player)
            known = 0
        for action in history[known:]:
            self._advance(action)

    def view(self, state: pyspiel.State) -> View:
        """What the sampled-for player sees at `state`, with the player to move."""
        p = self._player
        if self._info:
            return state.current_player(), state.information_state_string(p)
        return state.current_player(), state.observation_string(p), state.observation_tensor(p)

    def _start(self, state: pyspiel.State, player: int) -> None:
        if str(state.get_game()) != self._game_name:
            raise WorldSamplerError(f"a state of {state.get_game()} given to the world sampler of "
                                    f"{self._game_name}: make one sampler per game")
        if not 0 <= player < self.game.num_players():
            raise WorldSamplerError(f"player {player} is not a seat of {self._game_name}: "
                                    f"give 0..{self.game.num_players() - 1}")
        self._player, self.restarts = player, self.restarts + 1
        self._prefix, self._steps, self._free = [], [], []
        self._truth = self.game.new_initial_state()
        self.particles = [self._truth.clone() for _ in range(self.config.particles)]

    def _advance(self, action: int) -> None:
        """Extend the prefix by one true step, and every particle with it."""
        truth = self._truth
        if truth.is_chance_node():
            kind = _CHANCE
        else:
            kind = _OWN if truth.current_player() == self._player else _OTHER
        truth.apply_action(action)
        step = _Step(kind, action, self.view(truth))
        self._prefix.append(action)
        self._steps.append(step)
        if kind != _OWN:
            self._free.append(len(self._steps) - 1)
        n = len(self._steps)
        survivors, dead = [], []
        for world in self.particles:
            child = self._extend(world, step)
            (survivors if child is not None else dead).append(child if child is not None else world)
        missing = self.config.particles - len(survivors)
        if missing and survivors:  # rebuilt from dropped worlds and survivors alike, to keep variety
            sources = [(w, n - 1) for w in dead] + [(w, n) for w in survivors]
            survivors += self._repairs(sources, min(missing, self.config.repairs))
        elif missing:
            survivors = self._rescue([(w, n - 1) for w in dead])
        # The rest are clones of survivors: the steps to come make them diverge again.
        missing = self.config.particles - len(survivors)
        survivors += [self.rng.choice(survivors).clone() for _ in range(missing)]
        self.particles = survivors

    def _repairs(self, sources: list[tuple[pyspiel.State, int]], attempts: int) -> list[pyspiel.State]:
        """New worlds from old ones, each given with the number of steps it agrees with (a dropped
        world agrees with all but the newest): change its action at one or a few earlier chance or
        opponent steps (more with halving odds), then replay the steps after, keeping its old
        action wherever the view still matches. Cloning survivors alone would soon leave every
        world with one ancestor, and so the same guesses made long ago (phantom Go: the same hidden
        stones) that a new step refutes."""
        n = len(self._steps)
        free = self._free[:-1] if self._free and self._free[-1] == n - 1 else self._free
        found = []
        for _ in range(attempts if free else 0):
            source, agreed = self.rng.choice(sources)
            old = source.history()[:agreed]
            edits = min(1 + int(-math.log2(1.0 - self.rng.random())), len(free))
            changed = set(self.rng.sample(free, edits))
            first = min(changed)
            world: pyspiel.State | None = self._replay(old[:first])
            for i in range(first, n):
                world = self._extend(world, self._steps[i], old[i] if i < agreed else None, i in changed)
                if world is None:
                    break
            if world is not None:
                found.append(world)
        return found

    def _rescue(self, dead: list[tuple[pyspiel.State, int]]) -> list[pyspiel.State]:
        """Worlds when every particle failed a step: repairs until one works; a clear error when
        `config.attempts` find none."""
        for tried in range(0, self.config.attempts, self.config.repairs):
            found = self._repairs(dead, min(self.config.repairs, self.config.attempts - tried))
            if found:
                return found
        self._truth, self.particles = None, []  # the next request starts over
        raise WorldSamplerError(
            f"no world of {self._game_name} matches player {self._player}'s view after "
            f"{len(self._prefix)} moves ({self.config.attempts} repairs tried): raise SamplerConfig.attempts")

    def _replay(self, actions: list[int]) -> pyspiel.State:
        world = self.game.new_initial_state()
        for action in actions:
            world.apply_action(action)
        return world

    def _extend(self, world: pyspiel.State, step: _Step, old: int | None = None,
                change: bool = False) -> pyspiel.State | None:
        """`world` advanced by one step so that the view matches, or None when no action does it;
        the action `old` is tried first, or last when `change`. An own step is taken on `world`
        itself (dropped if it fails), other steps on clones."""
        if step.kind == _OWN:
            if step.action not in world.legal_actions():
                return None
            world.apply_action(step.action)
            return world if self.view(world) == step.seen else None
        for action in self._candidates(world, step, old, change):
            child = world.clone()
            child.apply_action(action)
            if self.view(child) == step.seen:
                return child
        return None

    def _candidates(self, world: pyspiel.State, step: _Step, old: int | None, change: bool) -> Iterator[int]:
        """A chance or opponent step's actions in the order to try them: `old` first (last when
        `change`), the rest in random order, drawn lazily since the first one tried often fits."""
        actions = self._chance_order(world) if step.kind == _CHANCE else world.legal_actions()
        kept = old is not None and old in actions
        if kept:
            actions.remove(old)
            if not change:
                yield old
        if step.kind == _CHANCE:
            yield from actions
        else:
            rand = self.rng.random
            while actions:
                i = int(rand() * len(actions))
                actions[i], actions[-1] = actions[-1], actions[i]
                yield actions.pop()
        if kept and change:
            yield old

    def _chance_order(self, world: pyspiel.State) -> list[int]:
        """Chance outcomes in a random order drawn by their probabilities (the order a weighted draw
        without replacement gives: Efraimidis-Spirakis keys u ** (1 / p))."""
        rand = self.rng.random
        keyed = [(rand() ** (1.0 / p), a) for a, p in world.chance_outcomes() if p > 0]
        keyed.sort(reverse=True)
        return [a for _, a in keyed]
