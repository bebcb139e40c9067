"""The game catalogue over OpenSpiel: presets, tensor encoders and symmetries. Knows no network.

`load("go9")` returns a GameSpec (OpenSpiel game, encoder, symmetries, learner verdict); every bad
name raises a one-line GameError that names the fix.
"""

from games.catalogue import GameError, GameSpec, Preset, load, presets, require_alphazero, require_learner

__all__ = ["GameError", "GameSpec", "Preset", "load", "presets", "require_alphazero", "require_learner"]
