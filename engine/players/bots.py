"""Player specs turned into `pyspiel.Bot`s: `engine.bots.load_bot(spec, game)`.

Specs (see DESIGN.md): `random` · `mcts:N` (OpenSpiel's C++ rollout MCTS, N simulations) ·
`ismcts:N` (OpenSpiel's information-set MCTS with random rollouts, for turn-based imperfect-information
games: the C++ bot where OpenSpiel resamples hidden state, else the Python bot with worlds from
engine/world_sampler.py; refused with a one-line error on perfect-information games, where `mcts:N`
is the same search) ·
`minimax` (exact memoised negamax, for games small enough to solve, e.g. tic_tac_toe) · `call`,
`raise` (poker baselines: always check/call, always bet/raise; see engine/poker_bots.py) · `<run>`
= `<run>:latest` · `<run>:step-K` · `path/to/snapshot.pt` · options after `@`, e.g.
`<run>@sims=800` (any search setting: sims, c_puct, leaves_per_tree...; `seed` for all bots) ·
`gtp:<command line>` (an external GTP engine for Go, see engine/gtp.py; everything after `gtp:` is
the command line, so it takes no `@` options).
A neural bot searches with our batched PUCT MCTS, reusing its tree between moves.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyspiel
import torch
from open_spiel.python.algorithms import ismcts
from open_spiel.python.algorithms.mcts import RandomRolloutEvaluator

from engine.nn import checkpoint
from engine import rundir
from engine.config import ConfigError, SearchConfig, _apply, default_config
from engine.nn import Evaluator
from engine.search import make_search
from engine.nn import default_device
from engine.errors import BotError
from engine.players.world_sampler import WorldSampler, WorldSamplerError


SPEC_HELP = ("specs: random, mcts:N, ismcts:N, minimax, call, raise (poker), <run>, <run>:step-K, path.pt, "
             "with options like @sims=N, gtp:<command line>")


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split `base@k=v@k=v` (also `base@k=v,k=v`) into the base and its options."""
    base, *rest = spec.strip().split("@")
    options: dict[str, str] = {}
    for part in ",".join(rest).split(","):
        if not part:
            continue
        if "=" not in part:
            raise BotError(f"bad option {part!r} in player spec {spec!r}: write options as @key=value")
        k, v = part.split("=", 1)
        options[k.strip()] = v.strip()
    if not base:
        raise BotError(f"empty player spec {spec!r}: {SPEC_HELP}")
    return base, options


def _int(options: dict[str, str], key: str, default: int, spec: str) -> int:
    try:
        value = int(options.pop(key, default))
    except ValueError:
        raise BotError(f"option @{key} of {spec!r} must be an integer") from None
    if value < 0:
        raise BotError(f"option @{key} of {spec!r} must not be negative")
    return value


class NeuralBot(pyspiel.Bot):
    """Plays the most visited move of a PUCT search guided by a snapshot's network."""

    def __init__(self, game_spec, evaluator: Evaluator, search: SearchConfig, seed: int = 0, name: str = "") -> None:
        pyspiel.Bot.__init__(self)
        self.game_spec = game_spec
        self.search_config = search
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.mcts = make_search(game_spec.encoder, game_spec.num_actions, evaluator, search, 1, self.rng)
        self._history: list[int] | None = None
        self._has_chance = game_spec.game.get_type().chance_mode != pyspiel.GameType.ChanceMode.DETERMINISTIC

    def _sync(self, state: pyspiel.State) -> None:
        """Point the tree at `state`, walking the reused tree along the moves played since."""
        history = state.history()
        known = self._history
        if (known is None or self._has_chance or not self.search_config.reuse_tree
                or history[:len(known)] != known):
            self.mcts.reset(0, state.clone())
        else:
            for action in history[len(known):]:
                self.mcts.advance(0, action)
        self._history = list(history)

    def think(self, state: pyspiel.State, simulations: int | None = None) -> dict:
        """Search `state`; returns visits, Q values, priors and the root value (for hints and logs)."""
        self._sync(state)
        self.mcts.search(np.array([0]), simulations or self.search_config.simulations, noise=False)
        r = self.mcts.root[0]
        return {"visits": self.mcts.visit_counts(0), "q": self.mcts.q_values(0), "prior": self.mcts.P[0, r].copy(),
                "value": self.mcts.root_value(0)}

    def best_action(self, info: dict) -> int:
        """The most visited move of a search (`think`'s answer); ties broken at random."""
        visits = info["visits"] if info["visits"].sum() > 0 else info["prior"]
        best = np.flatnonzero(visits == visits.max())
        return int(best[0] if len(best) == 1 else self.rng.choice(best))

    def step_with_policy(self, state: pyspiel.State):
        info = self.think(state)
        visits = info["visits"] if info["visits"].sum() > 0 else info["prior"]
        policy = visits / visits.sum()
        return [(int(a), float(policy[a])) for a in state.legal_actions()], self.best_action(info)

    def step(self, state: pyspiel.State) -> int:
        return self.step_with_policy(state)[1]

    def provides_policy(self) -> bool:
        return True

    def restart_at(self, state: pyspiel.State) -> None:
        self._history = None

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        pass  # _sync reads the moves from the state's history at the next step


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


class PolicyBot(SampledPolicyBot):
    """An imperfect-information snapshot: samples its network's policy on the information state of
    the player to move (what that player knows, nothing hidden)."""

    def __init__(self, game_spec, evaluator: Evaluator, seed: int = 0, name: str = "") -> None:
        super().__init__(seed)
        self.spec = game_spec
        self.evaluator = evaluator
        self.name = name

    def action_probabilities(self, state: pyspiel.State) -> tuple[list[int], np.ndarray]:
        actions = state.legal_actions()
        legal = np.zeros((1, self.spec.num_actions), bool)
        legal[0, actions] = True
        x = self.spec.encoder.encode(state)[None]
        p = self.evaluator.evaluate(x, legal, np.array([state.current_player()]))[0][0][actions]
        return actions, p / p.sum()


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


def resolve_snapshot(base: str) -> Path:
    """`path.pt`, `<run>`, `<run>:latest` or `<run>:step-K` to a snapshot file; `<run>/<agent>` in
    place of `<run>` names another learning agent of the run (an exploiter: `r/main-exploiter-0:step-300`)."""
    if base.endswith(".pt"):
        path = Path(base)
        if not path.is_file():
            raise BotError(f"snapshot file {base} not found: check the path")
        return path
    run, _, which = base.partition(":")
    head, _, agent = run.partition("/")
    if not rundir.is_agent_name(agent):  # no agent: the whole is the run's name (refused if not one)
        head, agent = run, ""
    run_dir = rundir.existing_run(head)
    if agent:
        known = rundir.agent_names(run_dir)
        if agent not in known:
            hint = f"its agents are {', '.join(known)}" if known else "it has no exploiters (league.main_exploiters)"
            raise BotError(f"run '{head}' has no agent '{agent}': {hint}; or use {head} for the main agent")
        run_dir = rundir.agent_dir(run_dir, agent)
    snaps = checkpoint.list_snapshots(run_dir)
    if not snaps:
        raise BotError(f"run '{run}' has no snapshots yet: let `arena league run` train it first")
    if which in ("", "latest"):
        return snaps[-1][1]
    if which.startswith("step-") and which[5:].isdigit():
        step = int(which[5:])
        for s, path in snaps:
            if s == step:
                return path
        steps = ", ".join(str(s) for s, _ in snaps[-5:])
        raise BotError(f"run '{run}' has no snapshot at step {step}: recent steps are {steps} (or use {run}:latest)")
    raise BotError(f"bad snapshot selector ':{which}' in {base!r}: use {run}, {run}:latest or {run}:step-K")


def load_bot(spec: str, game, seed: int = 0, device: torch.device | None = None) -> pyspiel.Bot:
    """A `pyspiel.Bot` for a player spec; `game` is a games.GameSpec or a game name."""
    import games

    game_spec = games.load(game) if isinstance(game, str) else game
    if spec.strip().startswith("gtp:"):  # the rest is a command line: '@' and ',' belong to it
        from engine.players.gtp_client import GTPBot
        return GTPBot(spec.strip()[4:], game_spec.game)
    base, options = parse_spec(spec)
    seed = _int(options, "seed", seed, spec)
    if base == "random":
        bot = RandomBot(seed)
    elif base.startswith("mcts:") or base == "mcts":
        sims_n, rollouts = _rollout_search("mcts", base, options, spec)
        bot = pyspiel.MCTSBot(game_spec.game, pyspiel.RandomRolloutEvaluator(rollouts, seed), 2.0, sims_n, 1000,
                              False, seed, False)
    elif base.startswith("ismcts:") or base == "ismcts":
        sims_n, rollouts = _rollout_search("ismcts", base, options, spec)
        bot = _ismcts(game_spec, sims_n, rollouts, seed)
    elif base == "minimax":
        bot = MinimaxBot(game_spec.game, seed)
    elif base in ("call", "raise"):  # fixed poker baselines
        from engine.players.poker import poker_bot
        bot = poker_bot(base, game_spec.game, game_spec.name)
    elif base == "human":
        raise BotError(f"player spec 'human' is not available in this version: {SPEC_HELP}")
    elif not game_spec.perfect_information:  # a snapshot of the mmd learner: its policy, searched with @sims
        snap = checkpoint.load_snapshot(resolve_snapshot(base), game_spec.game_string)
        device = device or default_device()
        evaluator = Evaluator(snap.build_models(device, output=True), device)
        if "sims" in options:
            from engine.players.policy_ismcts import PolicyISMCTSBot
            sims_n = _int(options, "sims", 0, spec)
            if sims_n < 1:
                raise BotError(f"option @sims of {spec!r} must be a positive integer")
            bot = PolicyISMCTSBot(game_spec, evaluator, sims_n, seed=seed)
        else:
            bot = PolicyBot(game_spec, evaluator, seed, name=spec)
    else:
        evaluator, search = _neural(base, options, spec, game_spec, device)
        bot = NeuralBot(game_spec, evaluator, search, seed, name=spec)
    _no_leftovers(options, spec)
    return bot


def _rollout_search(kind: str, base: str, options: dict[str, str], spec: str) -> tuple[int, int]:
    """Simulations and random rollouts per leaf of an `mcts:N` or `ismcts:N` spec."""
    sims = base[len(kind) + 1:] or "1000"
    if not sims.isdigit() or int(sims) < 1:
        raise BotError(f"bad simulation count in {spec!r}: write {kind}:N with N a positive integer")
    sims_n = _int(options, "sims", int(sims), spec)
    rollouts = _int(options, "rollouts", 1, spec)
    if sims_n < 1 or rollouts < 1:  # OpenSpiel's C++ bots crash the process on 0 rollouts
        raise BotError(f"options @sims and @rollouts of {spec!r} must be positive integers")
    return sims_n, rollouts


def _ismcts(game_spec, simulations: int, rollouts: int, seed: int) -> pyspiel.Bot:
    """OpenSpiel's C++ ISMCTS where OpenSpiel can resample the game's hidden state (the poker
    presets), else SampledISMCTSBot; a one-line error for games ISMCTS is not for."""
    game = game_spec.game
    kind = game.get_type()
    if kind.information == pyspiel.GameType.Information.PERFECT_INFORMATION:
        raise BotError(f"ismcts:N is for imperfect-information games and {game_spec.name} has perfect "
                       "information: use mcts:N (the same search without information sets)")
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise BotError(f"ismcts:N needs turn-based moves and {game_spec.name} has simultaneous ones")
    if not _resamples(str(game)):
        return SampledISMCTSBot(game, simulations, rollouts, seed)
    return pyspiel.ISMCTSBot(seed, pyspiel.RandomRolloutEvaluator(rollouts, seed), 2.0, simulations, -1,
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


class SampledISMCTSBot(ismcts.ISMCTSBot):
    """OpenSpiel's Python ISMCTS (UCT c=2, one random rollout per leaf by default, the most visited
    move) for games OpenSpiel cannot resample: each simulation draws its own world (unlimited
    world samples, as the C++ bot does) from an engine.world_sampler.WorldSampler, which follows
    the game from move to move. Tree nodes are keyed by information-state strings, or by
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


def _no_leftovers(options: dict[str, str], spec: str) -> None:
    if options:
        raise BotError(f"unknown option(s) {', '.join('@' + k for k in options)} for {spec!r}: "
                       "neural bots take search settings (sims, c_puct, leaves_per_tree), all bots take seed")


def _neural(base: str, options: dict[str, str], spec: str, game_spec, device) -> tuple[Evaluator, SearchConfig]:
    snap = checkpoint.load_snapshot(resolve_snapshot(base), game_spec.game_string)
    device = device or default_device()
    return Evaluator(snap.build_models(device), device), _search_config(game_spec.name, options, spec)


def is_neural(spec: str) -> bool:
    """Whether a spec names a snapshot (searched by our MCTS) rather than a built-in player."""
    if spec.strip().startswith("gtp:"):  # checked first: a command line may hold '@'
        return False
    base = parse_spec(spec)[0]
    return not (base in ("random", "minimax", "human", "mcts", "ismcts", "call", "raise")
                or base.startswith(("mcts:", "ismcts:")))


def load_neural(spec: str, game_spec, device: torch.device | None = None) -> tuple[Evaluator, SearchConfig, int]:
    """The network and search settings of a snapshot spec, for searching many games at once."""
    base, options = parse_spec(spec)
    seed = _int(options, "seed", 0, spec)
    evaluator, search = _neural(base, options, spec, game_spec, device)
    _no_leftovers(options, spec)
    return evaluator, search, seed


_BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _search_config(game_name: str, options: dict[str, str], spec: str) -> SearchConfig:
    """The game's default search for play: no root noise, several leaves a wave for batching."""
    search = dataclasses.replace(default_config(game_name).search, leaves_per_tree=8, root="puct")
    for f in dataclasses.fields(SearchConfig):
        key = "sims" if f.name == "simulations" and "sims" in options else f.name
        if key in options:
            raw = options.pop(key)
            try:
                if f.type == "bool":
                    value = _BOOLS[raw.lower()]
                else:
                    value = float(raw) if f.type == "float" else int(raw)
            except (KeyError, ValueError):
                kind = "true or false" if f.type == "bool" else "a number"
                raise BotError(f"option @{key}={raw} of {spec!r} must be {kind}") from None
            try:  # the same checks as the config file's [search] table (positive, fractions...)
                _apply(search, {f.name: value}, "search")
            except ConfigError as exc:
                raise BotError(f"option @{key}={raw} of {spec!r}: {exc}") from None
    return search
