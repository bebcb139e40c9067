"""Bots driven by a snapshot's network: `NeuralBot` plays the most visited move of our batched PUCT
search (reusing its tree between moves), `PolicyBot` samples an imperfect-information snapshot's
policy; `load_neural` gives a snapshot spec's network and search settings (`@sims=800`, any
search setting) for searching many games at once."""
from __future__ import annotations

import dataclasses

import numpy as np
import pyspiel
import torch

import games
from engine.config import ConfigError, SearchConfig, _apply, default_config
from engine.errors import BotError
from engine.nn import Evaluator, default_device, load_snapshot, ort
from engine.nn.export import INSTALL
from engine.players.baselines import SampledPolicyBot
from engine.players.spec import PlayerSpec, resolve_snapshot
from engine.search import make_search, most_visited
from games import goboard


class NeuralBot(pyspiel.Bot):
    """Plays the most visited move of a PUCT search guided by a snapshot's network."""

    def __init__(self, game_spec: games.GameLike, evaluator: Evaluator, search: SearchConfig, seed: int = 0,
                 name: str = "", capacity: int | None = None) -> None:
        """`capacity`: the tree's nodes (default: twice a search's simulations; more for analysis,
        which keeps growing one tree)."""
        pyspiel.Bot.__init__(self)
        self.game_spec = game_spec = games.load(game_spec).for_input(evaluator.obs_shape)
        self.search_config = search
        self.evaluator = evaluator
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.mcts = make_search(game_spec.encoder, game_spec.num_actions, evaluator, search, 1, self.rng, capacity)
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
        return most_visited(info["visits"], self.rng, info["prior"])

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

    def ownership(self, state: pyspiel.State) -> np.ndarray | None:
        """Each point's likely owner at the end of a Go game, +1 Black's, from the network's ownership
        head (`Evaluator.ownership`: the map and the score, from the view of the player to move, as the
        value head's); None for a network without one (engine.players.ownership)."""
        if not getattr(self.evaluator, "has_aux_heads", False):
            return None
        player = int(goboard.white_to_move(state))  # the mover's view, as the encoding's
        owned, _ = self.evaluator.ownership(self.game_spec.encoder.encode(state)[None], np.array([player]))
        owned = np.asarray(owned[0], np.float64)
        return -owned if player == 1 else owned  # White to move: its map turned to Black's

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        pass  # _sync reads the moves from the state's history at the next step


class PolicyBot(SampledPolicyBot):
    """An imperfect-information snapshot: samples its network's policy on the information state of
    the player to move (what that player knows, nothing hidden)."""

    def __init__(self, game_spec: games.GameLike, evaluator: Evaluator, seed: int = 0, name: str = "") -> None:
        super().__init__(seed)
        self.spec = games.load(game_spec)
        self.evaluator = evaluator
        self.name = name

    def action_probabilities(self, state: pyspiel.State) -> tuple[list[int], np.ndarray]:
        actions = state.legal_actions()
        legal = np.zeros((1, self.spec.num_actions), bool)
        legal[0, actions] = True
        x = self.spec.encoder.encode(state)[None]
        p = self.evaluator.evaluate(x, legal, np.array([state.current_player()]))[0][0][actions]
        return actions, p / p.sum()


def snapshot_evaluator(base: str, game_spec: games.GameLike, device: torch.device | None = None,
                       output: bool = False, int8: bool = False) -> Evaluator:
    """The network of a snapshot base (`<run>:step-K`, `path.pt`...) for `game_spec` (any form), on
    `device`; CheckpointError when the snapshot was trained on another game. `int8`: run it as the
    league's actors do with selfplay.int8 (engine.nn.Evaluator)."""
    snap = load_snapshot(resolve_snapshot(base), games.load(game_spec).game_string)
    device = device or default_device()
    return Evaluator(snap.build_models(device, output=output), device, int8=int8)


def int8_option(spec: PlayerSpec) -> bool:
    """Option @int8=true: the network quantized to int8, as actors with selfplay.int8 run it, to
    measure what int8 costs in strength (`arena ladder --players R R@int8=true`)."""
    raw = spec.options.pop("int8", "false")
    if raw.lower() not in _BOOLS:
        raise BotError(f"option @int8={raw} of {spec.text!r} must be true or false")
    if _BOOLS[raw.lower()] and not ort.available():
        raise BotError(f"option @int8 of {spec.text!r} runs the network in onnxruntime, not installed here: {INSTALL}")
    return _BOOLS[raw.lower()]


def neural_bot(spec: PlayerSpec, game_spec, device: torch.device | None = None) -> NeuralBot:
    evaluator = snapshot_evaluator(spec.base, game_spec, device, int8=int8_option(spec))
    return NeuralBot(game_spec, evaluator, search_config(spec, game_spec.name), spec.seed, name=spec.text)


def load_neural(spec: str, game_spec: games.GameLike, device: torch.device | None = None
                ) -> tuple[Evaluator, SearchConfig, int]:
    """The network and search settings of a snapshot spec, for searching many games at once."""
    game_spec = games.load(game_spec)
    parsed = PlayerSpec.parse(spec)
    evaluator = snapshot_evaluator(parsed.base, game_spec, device, int8=int8_option(parsed))
    search = search_config(parsed, game_spec.name)
    parsed.check_used()
    return evaluator, search, parsed.seed


_BOOLS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def search_config(spec: PlayerSpec, game_name: str) -> SearchConfig:
    """The game's default search for play (no root noise, several leaves a wave for batching), with
    the spec's search options (`@sims` for simulations) taken."""
    options = spec.options
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
                raise BotError(f"option @{key}={raw} of {spec.text!r} must be {kind}") from None
            try:  # the same checks as the config file's [search] table (positive, fractions...)
                _apply(search, {f.name: value}, "search")
            except ConfigError as exc:
                raise BotError(f"option @{key}={raw} of {spec.text!r}: {exc}") from None
    return search
