"""The game catalogue over OpenSpiel: presets, tensor encoders and symmetries. Knows no network.

`load("go9")` returns a GameSpec (OpenSpiel game, encoder, symmetries, learner verdict); it takes every
form of a game (`GameLike`: a name, a `pyspiel.Game`, a GameSpec), so entries that take a game call it
first. Every bad name raises a one-line GameError that names the fix. `random_positions(spec, n)`: real
encoded positions a few random moves in, for benchmarks, tests and checks of exported networks.

The names below load on first use (PEP 562): the catalogue pulls in OpenSpiel and numba (about a
second), which `games.errors`, imported by every layer for `ArenaError`, must not cost a command that
loads no game, such as rating a results file.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from games.catalogue import (GameError, GameLike, GameSpec, Preset, load, presets, require_alphazero,
                                 require_learner, same_game)
    from games.positions import random_positions

__all__ = ["GameError", "GameLike", "GameSpec", "Preset", "load", "presets", "random_positions", "require_alphazero",
           "require_learner", "same_game"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'games' has no attribute {name!r}")
    from games import catalogue, positions
    module = positions if name == "random_positions" else catalogue
    value = globals()[name] = getattr(module, name)  # later lookups skip this hook
    return value
