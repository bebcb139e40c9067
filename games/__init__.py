"""The game catalogue over OpenSpiel: presets, tensor encoders and symmetries. Knows no network.

`load("go9")` returns a GameSpec (OpenSpiel game, encoder, symmetries, learner verdict); every bad
name raises a one-line GameError that names the fix. `random_positions(spec, n)`: real encoded
positions a few random moves in, for benchmarks, tests and checks of exported networks.
"""

from games.catalogue import GameError, GameSpec, Preset, load, presets, require_alphazero, require_learner
from games.positions import random_positions

__all__ = ["GameError", "GameSpec", "Preset", "load", "presets", "random_positions", "require_alphazero",
           "require_learner"]
