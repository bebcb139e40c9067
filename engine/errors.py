"""Errors shared across engine's packages; every user-facing error derives from `ArenaError`."""
from games.errors import ArenaError

__all__ = ["ArenaError", "BotError"]


class BotError(ArenaError):
    """A player spec that names no player, or a player that cannot play this game; one line."""
