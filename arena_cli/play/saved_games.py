"""Saved games: a JSON record for every game, SGF as well for Go; written atomically, read back for replay.

The JSON record holds the OpenSpiel game string, the players' specs by seat, every action (chance
outcomes included, so the game replays exactly), the moves in the game's notation, the returns, the
seat that resigned if one did (the game then ends where it stands, not terminal) and the date. SGF
(FF[4]) carries Go games to other Go programs; `load` reads either back.

A finished Go game played in `arena play` also carries its estimated count with the dead stones off
(games.territory): in JSON as `territory`, in SGF on the last node as TB/TW (each colour's area that
holds none of its own stones: empty points and the other colour's dead stones; CGoban, GoGui and
KGS draw them), MA on the dead stones (Sabaki, which ignores TB/TW, draws the crosses) and a comment
giving both counts. RE stays the official result: OpenSpiel's Tromp–Taylor count of the board as
it stands, which decided the game.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyspiel

import games
from engine.errors import ArenaError
from engine.rundir import atomic_write_text
from engine.search import resigned_returns
from games import goboard
from games.notation import family, format_action, go_vertex
from games.territory import Territory

FORMAT = "arena-game"
VERSION = 1


class RecordError(ArenaError):
    """A saved game that cannot be read or replayed; one line naming the file and the fix."""


@dataclass
class SavedGame:
    game: str  # OpenSpiel game string, e.g. "go(board_size=9,komi=7.5)"
    players: list[str]  # player spec by seat ("human" for a person at the terminal)
    actions: list[int]  # the whole history, chance outcomes included
    moves: list[str] = field(default_factory=list)  # the actions in the game's notation
    returns: list[float] | None = None  # None: the game was left unfinished
    result: str = ""  # "1-0", "0-1", "1/2-1/2", "B+3.5" in Go ("W+R": Black resigned), "*" unfinished
    date: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    seed: int | None = None
    # Go: the first `setup` actions place setup stones (handicap; each colour's stones in turn with
    # passes between, see games.goboard), written to SGF as AB[]/AW[] setup stones, not as moves.
    setup: int = 0
    # Go, finished: the count with dead stones off (territory_record), beside the official `result`.
    territory: dict | None = None
    resigned: int | None = None  # the seat that resigned (after the last action), None if none did

    def as_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "game": self.game, "players": self.players,
                "actions": self.actions, "moves": self.moves, "returns": self.returns, "result": self.result,
                "date": self.date, "seed": self.seed, "setup": self.setup, "territory": self.territory,
                "resigned": self.resigned}


def territory_record(judged: Territory) -> dict:
    """A judged position as a record holds it: the estimated result, where the judgement came from,
    each colour's area without its own stones (TB, TW), the dead and the seki stones (points)."""
    return {"result": judged.result, "source": judged.source, "black": judged.territory(goboard.BLACK),
            "white": judged.territory(goboard.WHITE), "dead": np.flatnonzero(judged.dead).tolist(),
            "seki": np.flatnonzero(judged.seki).tolist()}


def spec_of(game: str):
    """The GameSpec of a recorded game string. A string with spaces (hold'em's `blind=10 5`) is not a
    name `games.load` takes, so it is matched to the preset that produces it."""
    try:
        return games.load(game)
    except games.GameError:
        for preset in games.presets():
            spec = games.load(preset.name)
            if spec.game_string == game:
                return spec
        raise RecordError(f"the recorded game {game!r} cannot be loaded: it is no preset and no OpenSpiel "
                          "game string without spaces") from None


def record_of(spec, state: pyspiel.State, players: list[str], seed: int | None = None, setup: int = 0,
              judged: Territory | None = None, resigned: int | None = None) -> SavedGame:
    """The record of a game (finished, resigned by seat `resigned`, or unfinished) that reached
    `state`; Go: `setup` moves placing stones first, `judged` the final position judged for dead
    stones (games.territory)."""
    replay = spec.game.new_initial_state()
    moves = []
    for action in state.history():
        moves.append(format_action(spec, replay, action))
        replay.apply_action(action)
    returns = (resigned_returns(len(players), resigned).tolist() if resigned is not None
               else list(state.returns()) if state.is_terminal() else None)
    return SavedGame(game=spec.game_string, players=list(players), actions=list(state.history()), moves=moves,
                      returns=returns, result=result_string(spec, state, resigned), seed=seed, setup=setup,
                      territory=territory_record(judged) if judged is not None else None, resigned=resigned)


def result_string(spec, state: pyspiel.State, resigned: int | None = None) -> str:
    """`1-0` (first seat won), `0-1`, `1/2-1/2`; Go's score margin (`B+3.5`), or `W+R` when Black
    resigned; `*` while unfinished."""
    if resigned is not None:
        return f"{'WB'[resigned]}+R" if family(spec) == "go" else "01"[resigned] + "-" + "10"[resigned]
    if not state.is_terminal():
        return "*"
    if family(spec) == "go":
        return goboard.result_string(state)
    returns = state.returns()
    if len(returns) != 2 or returns[0] == returns[1]:
        return "1/2-1/2" if len(returns) == 2 else " ".join(f"{r:g}" for r in returns)
    return "1-0" if returns[0] > returns[1] else "0-1"


def default_path(record: SavedGame, directory: Path) -> Path:
    """`games/20261125-101500-go9-human-vs-mygo.json`, made unique if the second is taken."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    players = "-vs-".join(_safe(p) for p in record.players)
    name = "-".join([stamp, _safe(_short_name(record.game)), players])
    path = directory / f"{name}.json"
    n = 2
    while path.exists():
        path = directory / f"{name}-{n}.json"
        n += 1
    return path


def _short_name(game: str) -> str:
    """The preset's name for a game string (holdem_limit for its long universal_poker string)."""
    return next((p.name for p in games.presets() if games.load(p.name).game_string == game), game)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", Path(text).stem if text.endswith(".pt") else text).strip("_")[:40]


def default_directory() -> Path:
    """./games/, unless that is the source package of the same name (playing from Arena's own checkout)."""
    here = Path("games")
    return Path("saved-games") if (here / "__init__.py").exists() else here


def save(record: SavedGame, target: str | Path | None = None) -> list[Path]:
    """Write the JSON record, and SGF for Go, atomically; returns the paths written.

    `target`: None saves under default_directory(); a directory saves there under a made-up name; a file name
    is the JSON's path (or the SGF's when it ends in .sgf; the other file goes beside it).
    """
    target = Path(target) if target else default_directory()
    if target.is_dir() or str(target).endswith(("/", "\\")) or not target.suffix:
        json_path = default_path(record, target)
    else:
        json_path = target.with_suffix(".json") if target.suffix.lower() == ".sgf" else target
    written = [json_path]
    atomic_write_text(json_path, json.dumps(record.as_dict(), indent=1) + "\n")
    if family(spec_of(record.game)) == "go":
        sgf_path = target if target.suffix.lower() == ".sgf" else json_path.with_suffix(".sgf")
        atomic_write_text(sgf_path, to_sgf(record))
        written.append(sgf_path)
    return written


# ---- SGF ------------------------------------------------------------------------------------------


def _sgf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("]", "\\]")


def to_sgf(record: SavedGame) -> str:
    """FF[4] SGF of a Go record: size, komi, players, date, result, setup stones (AB, AW; HA for Black's
    alone), then the moves (pass as B[])."""
    spec = spec_of(record.game)
    size = goboard.size_of(spec.game)
    komi = float(spec.game.get_parameters()["komi"])
    props = [f"GM[1]FF[4]CA[UTF-8]AP[arena:1]SZ[{size}]KM[{komi:g}]",
             f"PB[{_sgf_escape(record.players[0])}]PW[{_sgf_escape(record.players[1])}]",
             f"DT[{record.date[:10]}]"]
    if record.result != "*":
        props.append(f"RE[{'Draw' if record.result == '0' else record.result}]")
    if record.setup:
        black, white = goboard.setup_stones(record.actions, record.setup, size)
        props.append((f"HA[{len(black)}]" if len(black) > 1 and not white else "")
                     + "".join(f"A{c}" + "".join(f"[{_sgf_point(p, size)}]" for p in points)
                               for c, points in (("B", black), ("W", white)) if points)
                     + f"PL[{'BW'[record.setup % 2]}]")
    nodes = []
    for i, action in enumerate(record.actions[record.setup:], record.setup):
        point = "" if action == size * size else _sgf_point(action, size)
        nodes.append(f";{'BW'[i % 2]}[{point}]")
    if record.territory:
        end = _sgf_territory(record, size)
        if nodes:
            nodes[-1] += end
        else:
            props.append(end)
    return "(;" + "".join(props) + "\n" + "\n".join(nodes) + ")\n"


def _sgf_territory(record: SavedGame, size: int) -> str:
    """TB, TW and MA (dead stones) of the estimated count, and a comment giving both counts."""
    judged = record.territory
    marks = "".join(name + "".join(f"[{_sgf_point(p, size)}]" for p in judged[key])
                    for name, key in (("TB", "black"), ("TW", "white"), ("MA", "dead")) if judged[key])
    dead = " ".join(go_vertex(p, size) for p in judged["dead"]) or "none"
    comment = (f"Result {record.result} by Tromp-Taylor, OpenSpiel's rule, which decided the game: the board as it "
               f"stands, every stone alive. With dead stones removed (estimated from {judged['source']}): "
               f"{judged['result']}. Dead stones: {dead}.")
    return marks + f"C[{_sgf_escape(comment)}]"


def _sgf_point(action: int, size: int) -> str:
    """SGF counts rows from the top, OpenSpiel from the bottom."""
    row, col = divmod(action, size)
    return chr(ord("a") + col) + chr(ord("a") + size - 1 - row)


def from_sgf(text: str, source: str = "SGF") -> SavedGame:
    """A Go record from SGF's main line: SZ, KM, PB/PW, DT, RE, setup stones before the first move (AB,
    AW, with PL: played as moves, games.goboard.setup_actions) and the B/W moves."""
    def prop(name: str, default: str = "") -> str:
        m = re.search(rf"(?<![A-Z]){name}\[((?:[^\]\\]|\\.)*)\]", text)
        return m.group(1).replace("\\]", "]").replace("\\\\", "\\") if m else default

    if not text.lstrip().startswith("(;"):
        raise RecordError(f"{source} is not SGF: it must start with '(;'")
    if prop("GM", "1") != "1":
        raise RecordError(f"{source} is not a Go game (GM[{prop('GM')[:20]!r}]): only Go SGF can be replayed")
    if re.search(r"(?<![A-Z])AE\[", text):
        raise RecordError(f"{source} removes stones (AE): only setup stones before the first move replay")
    try:
        size, komi = int(prop("SZ", "19")), float(prop("KM", "0") or 0)
    except ValueError:
        raise RecordError(f"{source} has a bad SZ or KM property: fix the header") from None
    if not 2 <= size <= goboard.MAX_SIZE:  # before its points are read: a huge size overflows OpenSpiel's ints
        raise RecordError(f"{source} has SZ[{size}]: OpenSpiel's Go plays boards of 2 to {goboard.MAX_SIZE}")
    # The main line: comments dropped (they may hold parentheses), then up to the first ')'.
    moves = re.sub(r"(?<![A-Z])C\[(?:[^\]\\]|\\.)*\]", "", text).split(")")[0]
    first_move = re.search(r";\s*([BW])\[", moves)
    black, white = ([_sgf_action(point, size, source, "setup stone") for point in _setup_stones(moves, first_move, colour,
                                                                                                 source)]
                    for colour in "BW")
    if len(set(black + white)) < len(black + white):
        raise RecordError(f"{source} places two setup stones on one point")
    # Who moves after the setup: PL, else the first move's colour, else White after handicap stones.
    to_play = prop("PL", first_move.group(1) if first_move else ("W" if black and not white else "B")).upper()[:1]
    if to_play not in ("B", "W"):
        raise RecordError(f"{source} has a bad PL property: it must be B or W")
    try:
        actions = goboard.setup_actions(black, white, "BW".index(to_play), size)
    except ValueError as exc:
        raise RecordError(f"{source}: its setup stones cannot be played as moves: {exc}") from None
    setup = len(actions)
    for i, m in enumerate(re.finditer(r";\s*([BW])\[([a-z]{0,2})\]", moves)):
        colour, point = m.groups()
        if colour != "BW"[len(actions) % 2]:  # OpenSpiel's Go alternates strictly (a pass is a move)
            raise RecordError(f"{source}: move {i + 1} is {colour} but {'BW'[len(actions) % 2]} is to play; "
                              "only alternating games replay")
        actions.append(_sgf_action(point, size, source, "move"))
    result = prop("RE", "*") or "*"
    winner = re.fullmatch(r"([BW])\+R(?:esign)?", result)
    return SavedGame(game=goboard.game_string(size, komi, setup), players=[prop("PB", "Black"), prop("PW", "White")],
                      actions=actions, result=result, date=prop("DT", ""), setup=setup,
                      resigned="WB".index(winner.group(1)) if winner else None)


def _setup_stones(moves: str, first_move: re.Match | None, colour: str, source: str) -> list[str]:
    """The points of A`colour` properties (setup stones), which must come before the first move."""
    points: list[str] = []
    for m in re.finditer(rf"(?<![A-Z])A{colour}((?:\s*\[[^\]]*\])+)", moves):
        if first_move and m.start() > first_move.start():
            raise RecordError(f"{source} places setup stones (A{colour}) after the first move: only setup stones "
                              "before it replay")
        points += re.findall(r"\[([^\]]*)\]", m.group(1))
    return points


def _sgf_action(point: str, size: int, source: str, what: str) -> int:
    """The OpenSpiel action of an SGF point (`` or `tt`: a pass, which a setup stone may not be)."""
    if what == "move" and (point == "" or (point == "tt" and size <= 19)):
        return size * size
    if len(point) == 2:
        col, row = ord(point[0]) - ord("a"), size - 1 - (ord(point[1]) - ord("a"))
        if not (0 <= col < size and 0 <= row < size):
            raise RecordError(f"{source}: {what} {point!r} is off the {size}x{size} board")
        return row * size + col
    raise RecordError(f"{source}: bad {what} {point!r}")


# ---- reading back ---------------------------------------------------------------------------------


def load(path: str | Path) -> SavedGame:
    """A record from a JSON file written by `save`, or from an SGF file; RecordError if unreadable."""
    path = Path(path)
    try:
        text = path.read_text()
    except (FileNotFoundError, IsADirectoryError):
        raise RecordError(f"game file {path} not found: give a .json or .sgf file saved by `arena play`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".sgf" or text.lstrip().startswith("(;"):
        return from_sgf(text, str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path} is neither JSON nor SGF ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordError(f"{path} is not a game saved by `arena play` (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise RecordError(f"{path} has game record version {data.get('version')}, this Arena reads {VERSION}")
    try:
        return SavedGame(game=str(data["game"]), players=[str(p) for p in data["players"]],
                          actions=[int(a) for a in data["actions"]], moves=list(data.get("moves", [])),
                          returns=data.get("returns"), result=str(data.get("result", "*")),
                          date=str(data.get("date", "")), seed=data.get("seed"), setup=int(data.get("setup", 0)),
                          territory=data["territory"] if isinstance(data.get("territory"), dict) else None,
                          resigned=None if data.get("resigned") is None else int(data["resigned"]))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # Overflow: an action of 1e400
        raise RecordError(f"{path} lacks or garbles field {exc}: it is not a complete game record") from None


def replay_states(record: SavedGame, source: str = "record") -> tuple:
    """(GameSpec, [state after 0, 1, ... moves]) of a record; RecordError at the first illegal move."""
    spec = spec_of(record.game)
    state = spec.game.new_initial_state()
    states = [state.clone()]
    for i, action in enumerate(record.actions):
        if state.is_terminal():
            raise RecordError(f"{source}: the game is already over before move {i + 1}")
        if action not in state.legal_actions():
            raise RecordError(f"{source}: move {i + 1} (action {action}) is illegal in that position")
        state.apply_action(action)
        states.append(state.clone())
    return spec, states
