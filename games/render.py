"""Terminal pictures of game states as rich renderables: boards with coordinates, last move marked.

Go: stones on a grid with GTP coordinates, prisoners, komi and the ko point. Hex: a rhombus, each
row shifted right by half a cell more. Connect four: columns numbered as they are typed.
Tic-tac-toe: cells named as they are typed. Any other game: OpenSpiel's text of the state (or, in
games of imperfect information, of what `viewer` observes) in a panel.
"""
from __future__ import annotations

import pyspiel
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from games import goboard
from games.notation import GO_COLUMNS, family, format_action, go_vertex, player_name

STONE = {goboard.BLACK: "●", goboard.WHITE: "○"}
PIECE = {"x": "X", "o": "O"}
PIECE_STYLE = {"x": "bold red", "o": "bold yellow", goboard.BLACK: "bold", goboard.WHITE: "bold"}
LAST_STYLE = "reverse"  # the last move: the same glyph, inverted, so it shows without colour too


def _last_move(state: pyspiel.State) -> tuple[int, int] | None:
    """(player, action) of the last move by a player (chance outcomes skipped)."""
    history = state.full_history()
    for item in reversed(history):
        if item.player >= 0:
            return item.player, item.action
    return None


def _status(spec, state: pyspiel.State) -> Text:
    """Who is to move, or the returns when the game is over, and the last move."""
    text = Text()
    if state.is_terminal():
        text.append("game over · returns " + ", ".join(f"{player_name(spec, p)} {r:+g}"
                                                      for p, r in enumerate(state.returns())))
    elif state.is_chance_node():
        text.append("chance to move")
    else:
        text.append(f"{player_name(spec, state.current_player())} to move")
    last = _last_move(state)
    if last is not None:
        player, action = last
        before = _state_before_last(state)
        text.append(f" · last: {player_name(spec, player)} {format_action(spec, before, action)}")
    return text


def _state_before_last(state: pyspiel.State) -> pyspiel.State:
    """The state in which the last player move was made (to name it in context)."""
    history = state.history()
    full = state.full_history()
    cut = max(i for i, item in enumerate(full) if item.player >= 0)
    before = state.get_game().new_initial_state()
    for action in history[:cut]:
        before.apply_action(action)
    return before


def _cell(text: Text, glyph: str, style: str, last: bool) -> None:
    text.append(glyph, f"{style} {LAST_STYLE}".strip() if last else style)


def _go(state: pyspiel.State) -> RenderableType:
    pos = goboard.position(state)
    size = pos.size
    last = _last_move(state)
    last_point = last[1] if last else None
    stars = _star_points(size)
    letters = "   " + " ".join(GO_COLUMNS[:size])
    text = Text(letters + "\n")
    for row in range(size - 1, -1, -1):
        text.append(f"{row + 1:>2} ")
        for col in range(size):
            point = row * size + col
            colour = int(pos.board[point])
            if colour:
                _cell(text, STONE[colour], PIECE_STYLE[colour], point == last_point)
            elif point == pos.ko:
                text.append("□", "bold magenta")
            else:
                text.append("+" if point in stars else "·", "dim")
            text.append(" " if col < size - 1 else "")
        text.append(f" {row + 1}\n")
    text.append(letters + "\n")
    info = Text(f"captures: Black {pos.captures[0]}, White {pos.captures[1]} · komi {pos.komi:g}")
    if pos.ko is not None:
        info.append(f" · ko at {go_vertex(pos.ko, size)} (□)", "magenta")
    return Group(text, info)


def _star_points(size: int) -> set[int]:
    if size < 7:
        return set()
    edge = 2 if size < 13 else 3
    lines = [edge, size - 1 - edge] + ([size // 2] if size % 2 and size >= 9 else [])
    return {r * size + c for r in lines for c in lines}


def _rows(state: pyspiel.State) -> list[list[str]]:
    """Cells of a grid game's text, top row first: one lower-case character each ('.' empty)."""
    rows = []
    for line in str(state).splitlines():
        cells = line.split() if " " in line.strip() else list(line.strip())
        if cells:
            rows.append([c.lower() for c in cells])
    return rows


def _grid_cell(text: Text, cell: str, last: bool) -> None:
    if cell in PIECE:
        _cell(text, PIECE[cell], PIECE_STYLE[cell], last)
    else:
        text.append("·", "dim")


def _connect_four(state: pyspiel.State) -> RenderableType:
    rows = _rows(state)
    cols = len(rows[0])
    last = _last_move(state)
    # The last piece sits on top of its column: the first non-empty cell from the top.
    last_cell = None
    if last is not None:
        col = last[1]
        top = next((r for r in range(len(rows)) if rows[r][col] != "."), None)
        last_cell = (top, col) if top is not None else None
    text = Text()
    for r, row in enumerate(rows):
        text.append("│ ")
        for c, cell in enumerate(row):
            _grid_cell(text, cell, (r, c) == last_cell)
            text.append(" ")
        text.append("│\n")
    text.append("└" + "─" * (2 * cols + 1) + "┘\n")
    text.append("  " + " ".join(str(c + 1) for c in range(cols)))
    return text


def _cells(state: pyspiel.State, indent: bool) -> RenderableType:
    """Tic-tac-toe (square) or hex (rhombus: each row indented one more) with letters and row numbers."""
    rows = _rows(state)
    cols = len(rows[0])
    last = _last_move(state)
    last_cell = divmod(last[1], cols) if last else None
    letters = " ".join(chr(ord("a") + c) for c in range(cols))
    text = Text("    " + letters + "\n")
    for r, row in enumerate(rows):
        pad = " " * r if indent else ""
        text.append(f"{pad}{r + 1:>2}  ")
        for c, cell in enumerate(row):
            _grid_cell(text, cell, (r, c) == last_cell)
            text.append(" " if c < cols - 1 else "")
        text.append(f"  {r + 1}\n" if indent else "\n")
    if indent:
        text.append(" " * (len(rows) + 3) + letters + "\n")
        text.append("X joins top and bottom, O joins left and right", "dim")
    return text


def render(spec, state: pyspiel.State, viewer: int | None = None, title: str | None = None) -> RenderableType:
    """A panel picturing `state`; `viewer` is the seat whose view to show in imperfect-information games."""
    kind = family(spec)
    if kind == "go":
        body = _go(state)
    elif kind == "connect_four":
        body = _connect_four(state)
    elif kind in ("hex", "tic_tac_toe"):
        body = _cells(state, indent=kind == "hex")
    else:
        body = Text(_fallback_text(spec, state, viewer))
    return Panel(Group(body, _status(spec, state)), title=title or getattr(spec, "name", str(spec)),
                 expand=False)


def _fallback_text(spec, state: pyspiel.State, viewer: int | None) -> str:
    """OpenSpiel's text of the state, or only what `viewer` may see when information is hidden."""
    game = spec if isinstance(spec, pyspiel.Game) else spec.game
    info = game.get_type()
    hidden = info.information != pyspiel.GameType.Information.PERFECT_INFORMATION
    if hidden and viewer is not None and not state.is_terminal():
        # The information state names the private card and the betting; observations are terser.
        if info.provides_information_state_string:
            return state.information_state_string(viewer)
        if info.provides_observation_string:
            return state.observation_string(viewer)
    return str(state)
