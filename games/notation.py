"""Move notation per game: print an action as a player writes it, and parse what a player types.

Go: GTP vertices (`D4`: column letters without I, rows from the bottom; `pass`). Hex: `c3` (column
letter, row number, row 1 at the top, as OpenSpiel prints it). Connect four: a column `1`..`7`.
Tic-tac-toe: a cell `a1`..`c3` (column letter, row number from the top) or its number `1`..`9` in
reading order. Poker (Kuhn, Leduc, hold'em): the words players use — `fold`, `check`, `call`,
`bet`, `raise` — as well as OpenSpiel's names (games/poker.py). Liar's dice: a bid `2-5` (two fives)
or `liar`. Phantom Go and dark hex: as Go and hex, checked against what the player can see (a
point holding an unseen stone is for the game to refuse). Any other game: OpenSpiel's action string
(exactly, or case-insensitively when that is unambiguous) or the action number. Every refusal is a
one-line NotationError saying what is accepted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pyspiel

from games import goboard, poker
from games.errors import ArenaError

GO_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP: no I, at most 25 columns
_CELL = re.compile(r"^([a-z])(\d+)$")


class NotationError(ArenaError):
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


FAMILIES = ("go", "hex", "connect_four", "tic_tac_toe", "phantom_go", "dark_hex", "liars_dice")


def family(spec) -> str:
    """The notation family of a game: go, hex, connect_four, tic_tac_toe, phantom_go, dark_hex,
    liars_dice, poker (kuhn_poker, leduc_poker, universal_poker), or other."""
    game = _game(spec)
    name = game.get_type().short_name
    if poker.kind(game):
        return "poker"
    return name if name in FAMILIES else "other"


def hidden_moves(spec) -> bool:
    """Whether a player's moves are hidden from the others (stones in phantom Go and dark hex)."""
    return family(spec) in ("phantom_go", "dark_hex")


def _grid(game: pyspiel.Game) -> _Grid:
    params = game.get_parameters()
    kind = game.get_type().short_name
    if kind in ("go", "phantom_go"):
        return _Grid(goboard.size_of(game), goboard.size_of(game))
    if kind in ("hex", "dark_hex"):
        return _Grid(int(params.get("num_rows", params["board_size"])), int(params.get("num_cols", params["board_size"])))
    if kind == "connect_four":
        return _Grid(int(params.get("rows", 6)), int(params.get("columns", 7)))
    return _Grid(3, 3)


def format_action(spec, state: pyspiel.State, action: int) -> str:
    """How a player writes `action`, played in `state`."""
    game = _game(spec)
    kind = family(game)
    if kind == "poker":
        return poker.action_word(state, action)
    if kind == "liars_dice":
        name = state.action_to_string(state.current_player(), action)
        return name.lower() if name == "Liar" else name.replace("Roll ", "roll ")
    grid = _grid(game)
    if kind in ("go", "phantom_go"):
        return go_vertex(action, grid.cols)
    if kind in ("hex", "tic_tac_toe", "dark_hex"):
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
    if kind == "poker":
        return "fold, check, call, bet or raise (as the betting allows)"
    if kind == "liars_dice":
        return "a bid like 2-5 (at least two fives among all the dice) or liar"
    if kind in ("go", "phantom_go"):
        return f"a point like D4 (columns A-{GO_COLUMNS[grid.cols - 1]} without I, rows 1-{grid.rows} from the bottom) or pass"
    if kind in ("hex", "dark_hex"):
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
    if kind == "poker":
        return _parse_poker(state, text)
    if kind == "liars_dice":
        return _parse_bid(state, text)
    if kind == "phantom_go":
        return _unseen_ok(state, go_action(text, _grid(game).cols), text.upper())
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
    if kind == "dark_hex":
        return _unseen_ok(state, row * grid.cols + col, text.lower())
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


def _unseen_ok(state: pyspiel.State, action: int, name: str) -> int:
    """Phantom Go, dark hex: legal is what the player cannot see to be taken (the game refuses the rest)."""
    if action in state.legal_actions():
        return action
    view = state.observation_string(state.current_player())
    occupied = _view_cell(state, view, action) not in (None, "+", ".")
    raise NotationError(f"illegal move {name}: " + ("occupied (you can see the stone there)" if occupied
                                                   else "suicide or ko on the board you see"))


def view_rows(text: str) -> list[list[str]]:
    """The board in a phantom Go or dark hex text (the true state's or a player's view), top row first.

    Phantom Go rows look like ` 5 +X+++` (the first board block only: the true state's text goes on
    with each player's view); dark hex rows like `x..o` or `x o . .` (indented).
    """
    rows: list[list[str]] = []
    if re.search(r"^\s*\d+ [+XO]+\s*$", text, re.M):
        for line in text.splitlines():
            m = re.match(r"^\s*\d+ ([+XO]+)\s*$", line)
            if m:
                rows.append(list(m.group(1)))
            elif rows:
                break
        return rows
    for line in text.splitlines():
        cells = line.split() if " " in line.strip() else list(line.strip())
        if cells and all(len(c) == 1 and not c.isdigit() for c in cells):
            rows.append([c.lower() for c in cells])
        elif rows:
            break
    return rows


def _view_cell(state: pyspiel.State, view: str, action: int) -> str | None:
    rows = view_rows(view)
    if not rows:
        return None
    cols = len(rows[0])
    row, col = divmod(action, cols)
    if family(state.get_game()) == "phantom_go":
        row = len(rows) - 1 - row  # Go rows count from the bottom
    return rows[row][col] if 0 <= row < len(rows) and 0 <= col < cols else None


def _parse_poker(state: pyspiel.State, text: str) -> int:
    words = poker.typed_words(state)
    word = text.strip().lower()
    if word in words:
        return words[word]
    if re.fullmatch(r"\d+", word) and int(word) in state.legal_actions():
        return int(word)
    legal = [poker.action_word(state, a) for a in state.legal_actions()]
    why = ""
    if word == "check" and "call" in legal:
        why = "there is a bet to call: "
    elif word == "fold" and "check" in legal:
        why = "nothing to call, no need to fold: "
    elif word == "raise" and "raise" not in legal and "bet" not in legal:
        why = "no more raises this round: "
    raise NotationError(f"{why}type {either(legal)}, not {text.strip()!r}")


def either(words: list[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return " or ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " or " + words[-1]


_BID = re.compile(r"^(\d+)\s*(?:-|x|\*|\s)\s*(\d+)$")


def _parse_bid(state: pyspiel.State, text: str) -> int:
    """Liar's dice: `2-5` (or `2 5`, `2x5`) bids at least two fives; `liar` calls the last bid."""
    player = state.current_player()
    legal = {state.action_to_string(player, a).lower(): a for a in state.legal_actions()}
    word = text.strip().lower()
    bids = [name for name in legal if name != "liar"]
    span = (f"bids {bids[0]} to {bids[-1]}" if len(bids) > 1 else f"bid {bids[0]}") if bids else "no bid is left"
    allowed = span + (", or liar" if "liar" in legal else "")
    if word in ("liar", "l", "call"):
        if "liar" not in legal:
            raise NotationError(f"there is no bid to call liar on yet: bid first ({allowed})")
        return legal["liar"]
    m = _BID.match(word)
    if not m:
        raise NotationError(f"expected a bid like 2-5 (two fives) or liar, not {text.strip()!r}")
    name = f"{int(m.group(1))}-{int(m.group(2))}"
    if name in legal:
        return legal[name]
    game = state.get_game()
    params = game.get_parameters()
    total = int(params.get("numdice", 1)) * game.num_players()
    sides = int(params.get("dice_sides", 6))
    quantity, face = int(m.group(1)), int(m.group(2))
    if not (1 <= quantity <= total and 1 <= face <= sides):
        raise NotationError(f"{name} is no bid: quantity 1-{total} (dice in play), face 1-{sides}; now {allowed}")
    raise NotationError(f"{name} does not raise the last bid: {allowed}")


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
    if kind in ("go", "phantom_go"):
        return ("Black", "White")[player]
    if kind in ("hex", "connect_four", "tic_tac_toe", "dark_hex"):
        return ("x", "o")[player]
    return f"player {player}"
