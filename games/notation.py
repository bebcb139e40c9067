"""Move notation per game: print an action as a player writes it, and parse what a player types.

Go: GTP vertices (`D4`: column letters without I, rows from the bottom; `pass`). Hex: `c3` (column
letter, row number, row 1 at the top, as OpenSpiel prints it). Connect four: a column `1`..`7`.
Tic-tac-toe: a cell `a1`..`c3` (column letter, row number from the top) or its number `1`..`9` in
reading order. Any other game: OpenSpiel's action string (exactly, or case-insensitively when that
is unambiguous — `fold`, `call`, `raise` in poker) or the action number. Every refusal is a one-line
NotationError saying what is accepted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyspiel

from games import goboard

GO_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP: no I, at most 25 columns
_CELL = re.compile(r"^([a-z])(\d+)$")


class NotationError(ValueError):
    """A move a player typed that cannot be played; one line saying what is accepted."""


def go_vertex(action: int, size: int) -> str:
    """The GTP vertex of a Go action: `D4`, or `pass` for action size*size."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise NotationError(f"action {action} is not a point of a {size}x{size} board")
    row, col = divmod(action, size)
    return f"{GO_COLUMNS[col]}{row + 1}"


def go_action(vertex: str, size: int) -> int:
    """The Go action of a GTP vertex (`D4`, `d4`, `pass`); NotationError for anything else."""
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    columns = GO_COLUMNS[:size]
    m = re.match(r"^([A-Z])(\d+)$", text)
    if not m:
        raise NotationError(f"expected a point like D4 (columns {columns[0]}-{columns[-1]} without I, "
                            f"rows 1-{size}) or pass, not {vertex.strip()!r}")
    letter, row = m.group(1), int(m.group(2))
    if letter not in columns or not 1 <= row <= size:
        raise NotationError(f"{text} is off the {size}x{size} board (columns {columns[0]}-{columns[-1]} "
                            f"without I, rows 1-{size})")
    return (row - 1) * size + columns.index(letter)


def _game(spec) -> pyspiel.Game:
    """A games.GameSpec or a pyspiel.Game."""
    return spec if isinstance(spec, pyspiel.Game) else spec.game


@dataclass(frozen=True)
class _Grid:
    rows: int
    cols: int


def family(spec) -> str:
    """The notation family of a game: go, hex, connect_four, tic_tac_toe, or other."""
    name = _game(spec).get_type().short_name
    return name if name in ("go", "hex", "connect_four", "tic_tac_toe") else "other"


def _grid(game: pyspiel.Game) -> _Grid:
    params = game.get_parameters()
    kind = game.get_type().short_name
    if kind == "go":
        return _Grid(goboard.size_of(game), goboard.size_of(game))
    if kind == "hex":
        return _Grid(int(params.get("num_rows", params["board_size"])), int(params.get("num_cols", params["board_size"])))
    if kind == "connect_four":
        return _Grid(int(params.get("rows", 6)), int(params.get("columns", 7)))
    return _Grid(3, 3)


def format_action(spec, state: pyspiel.State, action: int) -> str:
    """How a player writes `action`, played in `state`."""
    game = _game(spec)
    kind = family(game)
    grid = _grid(game)
    if kind == "go":
        return go_vertex(action, grid.cols)
    if kind in ("hex", "tic_tac_toe"):
        row, col = divmod(action, grid.cols)
        return f"{chr(ord('a') + col)}{row + 1}"
    if kind == "connect_four":
        return str(action + 1)
    return state.action_to_string(state.current_player(), action)


def describe(spec) -> str:
    """What a player may type for a move in this game (for help and error messages)."""
    game = _game(spec)
    kind = family(game)
    grid = _grid(game)
    last = chr(ord("a") + grid.cols - 1)
    if kind == "go":
        return f"a point like D4 (columns A-{GO_COLUMNS[grid.cols - 1]} without I, rows 1-{grid.rows} from the bottom) or pass"
    if kind == "hex":
        return f"a cell like c3 (columns a-{last}, rows 1-{grid.rows} from the top)"
    if kind == "connect_four":
        return f"a column 1-{grid.cols}"
    if kind == "tic_tac_toe":
        return "a cell a1-c3 (column letter, row from the top) or its number 1-9"
    return "the move's name as listed (e.g. by `help`) or its action number"


def parse_action(spec, state: pyspiel.State, text: str) -> int:
    """The legal action `text` names in `state`; NotationError saying why not, in one line."""
    if state.is_terminal():
        raise NotationError("the game is over")
    game = _game(spec)
    kind = family(game)
    text = text.strip()
    if kind == "go":
        return _legal_go(state, text)
    if kind == "other":
        return _parse_other(state, text)
    grid = _grid(game)
    if kind == "connect_four":
        if not text.isdigit() or not 1 <= int(text) <= grid.cols:
            raise NotationError(f"expected a column 1-{grid.cols}, not {text!r}")
        action = int(text) - 1
        if action not in state.legal_actions():
            raise NotationError(f"illegal move {text}: column {text} is full")
        return action
    if kind == "tic_tac_toe" and text.isdigit():
        if not 1 <= int(text) <= 9:
            raise NotationError(f"expected a cell a1-c3 or 1-9, not {text!r}")
        return _free_cell(state, int(text) - 1, text)
    m = _CELL.match(text.lower())
    row, col = (int(m.group(2)) - 1, ord(m.group(1)) - ord("a")) if m else (-1, -1)
    if not (0 <= row < grid.rows and 0 <= col < grid.cols):
        raise NotationError(f"expected {describe(game)}, not {text!r}")
    return _free_cell(state, row * grid.cols + col, text.lower())


def _free_cell(state: pyspiel.State, action: int, name: str) -> int:
    if action not in state.legal_actions():
        raise NotationError(f"illegal move {name}: occupied")
    return action


def _legal_go(state: pyspiel.State, text: str) -> int:
    size = goboard.size_of(state.get_game())
    action = go_action(text, size)
    if action in state.legal_actions():
        return action
    vertex = go_vertex(action, size)
    pos = goboard.position(state)
    if pos.board[action] != goboard.EMPTY:
        why = "occupied"
    elif pos.ko == action:
        why = "ko (play elsewhere first)"
    elif goboard.is_suicide(pos.board, action, state.current_player() + 1, size):
        why = "suicide"
    else:
        why = "it repeats an earlier position (superko)"
    raise NotationError(f"illegal move {vertex}: {why}")


def _parse_other(state: pyspiel.State, text: str) -> int:
    """OpenSpiel's own action strings: exact, else case-insensitive if unique, else the action number."""
    player = state.current_player()
    legal = state.legal_actions()
    names = {a: state.action_to_string(player, a) for a in legal}
    exact = [a for a, name in names.items() if name == text]
    if exact:
        return exact[0]
    folded = [a for a, name in names.items() if name.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    if re.fullmatch(r"\d+", text) and int(text) in legal:
        return int(text)
    shown = ", ".join(names[a] for a in legal[:12]) + (", ..." if len(legal) > 12 else "")
    raise NotationError(f"expected one of: {shown} (or an action number), not {text!r}")


def player_name(spec, player: int) -> str:
    """How a seat is called in this game: Black/White in Go, x/o on boards, else player N."""
    kind = family(spec)
    if kind == "go":
        return ("Black", "White")[player]
    if kind in ("hex", "connect_four", "tic_tac_toe"):
        return ("x", "o")[player]
    return f"player {player}"
