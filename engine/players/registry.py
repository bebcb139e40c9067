"""`load_bot`: a player spec (engine/players/spec.py) to a `pyspiel.Bot`.

Built-in kinds are the `BUILTINS` table, a spec kind to its factory: a new kind of bot is its
module plus one line there. A spec that is no built-in kind names a snapshot: a `NeuralBot` for
perfect-information games, else the snapshot's policy (`PolicyBot`), searched by
`PolicyISMCTSBot` with `@sims`. `gtp:<command line>` is an external GTP engine (Go).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyspiel
import torch

import games
from engine.errors import BotError
from engine.players.baselines import minimax_bot, random_bot, rollout_mcts_bot
from engine.players.gtp_client import GTPBot, gnugo_bot
from engine.players.ismcts import ismcts_bot
from engine.players.neural import PolicyBot, neural_bot, snapshot_evaluator
from engine.players.poker import poker_bot
from engine.players.policy_ismcts import PolicyISMCTSBot
from engine.players.spec import (
    SPEC_HELP,
    PlayerSpec,
    gtp_command,
    parse_spec,
    resolve_snapshot,
)


def _unavailable(spec: PlayerSpec, game_spec) -> pyspiel.Bot:
    raise BotError(f"player spec '{spec.base}' is not available in this version: {SPEC_HELP}")


@dataclass(frozen=True)
class Builtin:
    """A built-in kind: its factory, and whether it takes a count (`mcts:N`; else `kind:x` is a snapshot)."""

    make: Callable[[PlayerSpec, object], pyspiel.Bot]
    counted: bool = False


BUILTINS: dict[str, Builtin] = {
    "random": Builtin(random_bot),
    "mcts": Builtin(rollout_mcts_bot, counted=True),  # OpenSpiel's C++ rollout MCTS
    "ismcts": Builtin(ismcts_bot, counted=True),
    "minimax": Builtin(minimax_bot),
    "call": Builtin(poker_bot),  # fixed poker baselines
    "raise": Builtin(poker_bot),
    "gnugo": Builtin(gnugo_bot, counted=True),  # GNU Go at a level, over GTP (Go)
    "human": Builtin(_unavailable),
}


def _builtin(spec: PlayerSpec) -> Builtin | None:
    builtin = BUILTINS.get(spec.kind)
    return builtin if builtin is not None and (spec.count is None or builtin.counted) else None


def is_neural(spec: str) -> bool:
    """Whether a spec names a snapshot (searched by our MCTS) rather than a built-in player."""
    if gtp_command(spec) is not None:  # checked first: a command line may hold '@'
        return False
    return _builtin(PlayerSpec(spec, *parse_spec(spec))) is None


def snapshot_file(spec: str) -> Path:
    """The snapshot file a snapshot spec names (`<run>`, `<run>:step-K`, `path.pt`; options after `@`
    play no part); built-in players and external engines have none, and are refused in one line."""
    if not is_neural(spec):
        raise BotError(f"'{spec}' is a built-in player or an external engine, not a snapshot: "
                       "name one as <run>, <run>:step-K or path/to/snapshot.pt")
    return resolve_snapshot(parse_spec(spec)[0])


def load_bot(spec: str, game: games.GameLike, seed: int = 0, device: torch.device | None = None) -> pyspiel.Bot:
    """A `pyspiel.Bot` for a player spec; `game` in any form (a preset name or game string, a
    `pyspiel.Game`, a games.GameSpec). A snapshot refuses a game it was not trained on."""
    game_spec = games.load(game)
    command = gtp_command(spec)
    if command is not None:
        return GTPBot(command, game_spec.game)
    parsed = PlayerSpec.parse(spec, seed)
    builtin = _builtin(parsed)
    if builtin is not None:
        bot = builtin.make(parsed, game_spec)
    elif game_spec.perfect_information:
        bot = neural_bot(parsed, game_spec, device)
    else:
        bot = _policy_bot(parsed, game_spec, device)
    parsed.check_used()
    return bot


def _policy_bot(spec: PlayerSpec, game_spec, device: torch.device | None) -> pyspiel.Bot:
    """A snapshot of the MMD learner (imperfect information): its policy, searched with @sims."""
    evaluator = snapshot_evaluator(spec.base, game_spec, device, output=True)
    if "sims" not in spec.options:
        return PolicyBot(game_spec, evaluator, spec.seed, name=spec.text)
    simulations = spec.int_option("sims", 0)
    if simulations < 1:
        raise BotError(f"option @sims of {spec.text!r} must be a positive integer")
    return PolicyISMCTSBot(game_spec, evaluator, simulations, seed=spec.seed)
