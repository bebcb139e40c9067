"""Terminal play: the `arena play` session (seating, human and bot turns, undo, hints, what a bot
thought), `arena replay`, and the saved games both work from (a JSON record, SGF as well for Go)."""
from arena_cli.play.replay import replay
from arena_cli.play.saved_games import RecordError, SavedGame
from arena_cli.play.search_view import SearchView, last_search, policy_line, search_table, search_view
from arena_cli.play.seating import HUMAN, PlayConfig, PlayError, seat_specs
from arena_cli.play.session import Session, play

__all__ = ["HUMAN", "PlayConfig", "PlayError", "RecordError", "SavedGame", "SearchView", "Session", "last_search",
           "play", "policy_line", "replay", "search_table", "search_view", "seat_specs"]
