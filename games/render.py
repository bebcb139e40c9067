"""Terminal pictures of game states as rich renderables: boards with coordinates, last move marked.

Go: stones on a grid with GTP coordinates, prisoners, komi and the ko point; at the end of a game,
`territory` draws a judged position (games.territory): each colour's area and the dead stones.
Hex: a rhombus, each row shifted right by half a cell more. Connect four: columns numbered as they
are typed.
Tic-tac-toe: cells named as they are typed. Games of imperfect information are drawn as `viewer`
sees them until the game is over, and whole after it (or whenever `viewer` is None: a watcher, a
replay): poker as a table (own cards, board, pot, chips in, stacks, betting by round; games/poker.py),
liar's dice as own dice and the bids, phantom Go and dark hex as the viewer's observed board. Any
other game: OpenSpiel's text of the state (or of what `viewer` observes) in a panel.
"""
from __future__ import annotations

import pyspiel
from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from games import goboard, poker
from games.notation import GO_COLUMNS, family, format_action, go_vertex, player_name, view_rows
from games.territory import Territory

STONE = {goboard.BLACK: "●", goboard.WHITE: "○"}
AREA = {1: "▪", -1: "▫"}  # an empty point of Black's area, of White's
DEAD = "×"  # a dead stone, taken off in the count: its point is the other colour's
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


def _go(state: pyspiel.State, judged: Territory | None = None) -> RenderableType:
    """The board; with `judged`, each colour's area marked and the dead stones crossed."""
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
            if judged is not None and judged.dead[point]:
                text.append(DEAD, "bold red")
            elif colour:
                _cell(text, STONE[colour], PIECE_STYLE[colour], point == last_point)
            elif judged is not None and judged.area[point]:
                text.append(AREA[int(judged.area[point])])
            elif point == pos.ko:
                text.append("□", "bold magenta")
            else:
                text.append("+" if point in stars else "·", "dim")
            text.append(" " if col < size - 1 else "")
        text.append(f" {row + 1}\n")
    text.append(letters + "\n")
    info = Text(f"captures: Black {pos.captures[0]}, White {pos.captures[1]} · komi {pos.komi:g}")
    if pos.ko is not None and judged is None:
        info.append(f" · ko at {go_vertex(pos.ko, size)} (□)", "magenta")
    if judged is not None:
        info.append(f"\n{AREA[1]} Black's area · {AREA[-1]} White's · {DEAD} dead stone")
        seki = [go_vertex(p, size) for chain in judged.chains("seki") for p in chain]
        if seki:
            info.append(f" · seki: {' '.join(seki)}")
    return Group(text, info)


def territory(state: pyspiel.State, judged: Territory, title: str) -> RenderableType:
    """A panel of a Go position judged (games.territory): each colour's area and the dead stones."""
    return Panel(_go(state, judged), title=title, expand=False)


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


def _cells(state: pyspiel.State, indent: bool, rows: list[list[str]] | None = None,
           mark_last: bool = True) -> RenderableType:
    """Tic-tac-toe (square) or hex (rhombus: each row indented one more) with letters and row numbers;
    `rows` (dark hex) replaces the state's own text, e.g. by one player's view."""
    rows = rows if rows is not None else _rows(state)
    cols = len(rows[0])
    last = _last_move(state) if mark_last else None
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


# ---- imperfect information -------------------------------------------------------------------------

HIDDEN_CARD = "??"
# Hex cells: OpenSpiel marks stones joined to an edge with other letters (y/z black, p/q white).
_HEX_CELL = {"x": "x", "y": "x", "z": "x", "o": "o", "p": "o", "q": "o"}


def _seat_label(spec, seat: int, viewer: int | None, names: list[str] | None) -> str:
    if names:
        return names[seat]
    return player_name(spec, seat) + (" (you)" if seat == viewer else "")


def _who(spec, seat: int, viewer: int | None) -> str:
    return "you" if seat == viewer else player_name(spec, seat)


def _poker(spec, state: pyspiel.State, viewer: int | None, names: list[str] | None,
           you: int | None = None) -> RenderableType:
    """The table; `viewer` None shows every seat's cards; `you` is the seat called "you" in the betting."""
    game = spec if isinstance(spec, pyspiel.Game) else spec.game
    view = poker.table(state, viewer)
    you = viewer if you is None else you
    over = state.is_terminal()
    head = Text()
    if poker.kind(game) != "kuhn_poker":
        head.append("board ")
        head.append(" ".join(view.board) or "(none yet)", "bold")
        head.append(" · ")
    head.append(f"pot {view.pot}", "bold")
    if not over and view.round_name != "betting":  # Kuhn has one round: no name needed
        head.append(f" · {view.round_name}")
    if not over and view.to_call:
        head.append(f" · {view.to_call} to call")
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, show_edge=False)
    show_stacks = not over and any(seat.stack is not None for seat in view.seats)
    for col in ["", "seat", "cards", "in pot"] + (["stack"] if show_stacks else []) + (["result"] if over else []):
        table.add_column(col, justify="right" if col in ("in pot", "stack", "result") else "left")
    returns = state.returns() if over else None
    for s, seat in enumerate(view.seats):
        row = ["▶" if s == view.to_act else "", _seat_label(spec, s, you, names),
               " ".join(seat.cards) if seat.cards is not None else HIDDEN_CARD,
               str(seat.chips_in) + (" folded" if seat.folded else "")]
        if show_stacks:
            row.append("" if seat.stack is None else str(seat.stack))
        if returns is not None:
            row.append(f"{returns[s]:+g}")
        table.add_row(*(Text(cell) for cell in row), style="dim" if seat.folded else None)  # specs are no markup
    lines = Text()
    for name, actions in view.betting:
        if actions:
            lines.append(f"{name}: ", "bold")
            lines.append(", ".join(f"{_who(spec, seat, you)} {word}" for seat, word in actions) + "\n")
    parts: list[RenderableType] = [head, table]
    if lines:
        lines.rstrip()
        parts.append(lines)
    return Group(*parts)


def _dice_of(state: pyspiel.State, seat: int) -> str:
    """The dice `seat` rolled, from its own information state (its first word: one digit a die)."""
    words = state.information_state_string(seat).split()
    return " ".join(words[0]) if words and words[0].isdigit() else ""


def _liars_dice(spec, state: pyspiel.State, viewer: int | None, names: list[str] | None,
                you: int | None = None) -> RenderableType:
    """Dice (the viewer's own, or all when `viewer` is None) and the bids; `you` is the seat called "you"."""
    game = spec if isinstance(spec, pyspiel.Game) else spec.game
    you = viewer if you is None else you
    params = game.get_parameters()
    sides = int(params.get("dice_sides", 6))
    total = int(params.get("numdice", 1)) * game.num_players()
    text = Text("dice: ")
    text.append(" · ".join(f"{_seat_label(spec, s, you, names)} "
                           + (_dice_of(state, s) if viewer is None or s == viewer else HIDDEN_CARD)
                           for s in range(game.num_players())))
    text.append("\nbids: ")
    named = []
    replay = game.new_initial_state()
    for item in state.full_history():
        if item.player >= 0:
            named.append(f"{_who(spec, item.player, you)} {format_action(game, replay, item.action)}")
        replay.apply_action(item.action)
    text.append(", ".join(named) or "none yet")
    last_bid = next((name for name in reversed(named) if not name.endswith("liar")), None)
    if last_bid:
        quantity, face = last_bid.split()[-1].split("-")
        text.append(f"\nthe bid to beat: {quantity}-{face}, at least {quantity} × {face} among the {total} dice "
                    f"({sides}s are wild)", "bold")
        if state.is_terminal():
            dice = [int(d) for s in range(game.num_players()) for d in _dice_of(state, s).split()]
            count = sum(1 for d in dice if d == int(face) or d == sides)
            text.append(f"\nthe dice hold {count} × {face}, {sides}s counted as wild")
    return text


def _hidden_board(spec, state: pyspiel.State, viewer: int | None) -> RenderableType:
    """Phantom Go or dark hex: the viewer's observed board, or the true one (viewer None)."""
    kind = family(spec)
    text = state.observation_string(viewer) if viewer is not None else str(state)
    rows = view_rows(text)
    note = Text()
    if viewer is not None:
        note.append("your view: your stones and the ones you found; the opponent's others are unseen", "dim")
    else:
        note.append("the true board", "dim")
    if kind == "dark_hex":
        return Group(_cells(state, indent=True, rows=[[_HEX_CELL.get(c, ".") for c in row] for row in rows],
                            mark_last=viewer is None), note)
    size = len(rows)
    letters = "   " + " ".join(GO_COLUMNS[:size])
    board = Text(letters + "\n")
    for r, row in enumerate(rows):
        number = size - r
        board.append(f"{number:>2} ")
        for c, cell in enumerate(row):
            colour = {"X": goboard.BLACK, "O": goboard.WHITE}.get(cell)
            if colour:
                board.append(STONE[colour], PIECE_STYLE[colour])
            else:
                board.append("·", "dim")
            board.append(" " if c < size - 1 else "")
        board.append(f" {number}\n")
    board.append(letters + "\n")
    said = [line for line in text.splitlines() if line.startswith("Previous move")]
    told = _PREVIOUS.get(said[-1].strip(), said[-1].strip()) if said and viewer is not None else ""
    if told:
        note.append("\n" + told)
    return Group(board, note)


_PREVIOUS = {  # phantom Go's word on the last move, as the viewer is told it
    "Previous move was valid": "",
    "Previous move was valid and was a pass": "the last move was a pass",
    "Previous move was observational": "the last move was refused: the point held an unseen stone",
}


def _hidden_status(spec, state: pyspiel.State, names: list[str] | None = None) -> Text:
    """Who is to move, or the returns: nothing about moves the viewer may not see."""
    name = (lambda p: names[p]) if names else (lambda p: player_name(spec, p))
    if state.is_terminal():
        return Text("game over · returns " + ", ".join(f"{name(p)} {r:+g}" for p, r in enumerate(state.returns())))
    if state.is_chance_node():
        return Text("dealing")
    return Text(f"{name(state.current_player())} to move")


def render(spec, state: pyspiel.State, viewer: int | None = None, title: str | None = None,
           names: list[str] | None = None) -> RenderableType:
    """A panel picturing `state`; `viewer` is the seat whose view to show in imperfect-information games
    (until the game is over: then everything shows); `names` labels the seats (default player N)."""
    kind = family(spec)
    game = spec if isinstance(spec, pyspiel.Game) else spec.game
    perfect = game.get_type().information == pyspiel.GameType.Information.PERFECT_INFORMATION
    seen = None if perfect or state.is_terminal() else viewer
    status = _status(spec, state) if seen is None else _hidden_status(spec, state, names)
    if kind == "poker":
        body, status = _poker(spec, state, seen, names, you=viewer), _hidden_status(spec, state, names)
    elif kind == "liars_dice":
        body, status = _liars_dice(spec, state, seen, names, you=viewer), _hidden_status(spec, state, names)
    elif kind in ("phantom_go", "dark_hex"):
        body = _hidden_board(spec, state, seen)
    elif kind == "go":
        body = _go(state)
    elif kind == "connect_four":
        body = _connect_four(state)
    elif kind in ("hex", "tic_tac_toe"):
        body = _cells(state, indent=kind == "hex")
    else:
        body = Text(_fallback_text(spec, state, viewer))
    return Panel(Group(body, status), title=title or getattr(spec, "name", str(spec)), expand=False)


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
