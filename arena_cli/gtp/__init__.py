"""The GTP server: `arena gtp SPEC` speaks the Go Text Protocol (version 2) on stdin/stdout.

Any player spec (a snapshot, `mcts:N`, `random`, even another `gtp:` engine) can be served, so
Sabaki, Lizzie, GoGui or gogui-twogtp can play our bots. A snapshot serves only the board size it was
trained on (other sizes: `? unacceptable size`); komi may change. With time_settings/time_left a
snapshot's search stops when the move's share of the clock is spent (its `@sims` is the most it
searches); other specs play at their fixed strength. A snapshot also answers Leela Zero's analysis
commands (lz-analyze, lz-genmove_analyze: analyze.py).

Scoring: `final_score` is area counting with komi once the dead stones are off (e.g. `B+3.5`), and
`final_status_list alive|dead|seki` lists the chains of each status, as GNU Go answers both. Dead
stones and seki are judged by games.territory from an ownership map: the served player's
(engine.players.ownership_of: a snapshot's ownership head, when its network has one), else seeded
random playouts. OpenSpiel's Go decides its returns by Tromp–Taylor instead, the board as it stands
with every stone alive: the two counts agree once the game is played out until no dead stones are
left, which is why GNU Go as a `gtp:` player wants `--chinese-rules --capture-all-dead` (else it
passes with its opponent's dead stones on the board, which OpenSpiel then counts as alive).

Handicap stones (fixed_handicap, place_free_handicap, set_free_handicap, SGF's AB) are Black's moves
with White passing between them (games.goboard says why that is the same position).

Modules: protocol.py (line cleaning, failures, caps), server.py (the session and its commands),
clock.py (time control), analyze.py (lz-analyze), channel.py (the reader thread and `serve`).
"""
from arena_cli.gtp.channel import serve
from arena_cli.gtp.server import GTPServer

__all__ = ["GTPServer", "serve"]
