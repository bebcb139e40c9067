"""The game catalogue over OpenSpiel: presets, tensor encoders and symmetries. Knows no network.

`load("go9")` returns a GameSpec (OpenSpiel game, encoder, symmetries, learner verdict); it takes every
form of a game (`GameLike`: a name, a `pyspiel.Game`, a GameSpec), so entries that take a game call it
first. Every bad name raises a one-line GameError that names the fix.
"""

from games.catalogue import (GameError, GameLike, GameSpec, Preset, load, presets, require_alphazero, require_learner,
                             same_game)

__all__ = ["GameError", "GameLike", "GameSpec", "Preset", "load", "presets", "require_alphazero", "require_learner",
           "same_game"]
