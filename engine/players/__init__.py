"""Players: the player-spec grammar and `load_bot`, which turns a spec into a `pyspiel.Bot` (baselines,
neural bots, ISMCTS, poker rules, external GTP engines)."""
from engine.errors import BotError
from engine.players.bots import (MinimaxBot, NeuralBot, is_neural, load_bot, load_neural, parse_spec,
                                 resolve_snapshot)
from engine.players.gtp_client import GTPBot, GTPError, final_score, go_params

__all__ = ["BotError", "GTPBot", "GTPError", "MinimaxBot", "NeuralBot", "final_score", "go_params", "is_neural",
           "load_bot", "load_neural", "parse_spec", "resolve_snapshot"]
