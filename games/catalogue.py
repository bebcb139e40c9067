"""The game catalogue: named presets over OpenSpiel, and `load(game)` -> GameSpec.

A name is a preset (``go9``), a preset with parameter overrides in OpenSpiel's syntax
(``go9(komi=6.5)``, merged into the preset's parameters), or any raw OpenSpiel game string
(``go(board_size=7,komi=5.5)``, ``breakthrough``). `load` also takes a `pyspiel.Game` (the preset it
equals, parameter for parameter, else the game as it is) or a GameSpec, so every entry that takes a
game takes any of these forms through it. Every failure is a one-line GameError naming the fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any

import pyspiel

from games.encoders import Encoder, GoEncoder, encoder_for
from games.symmetry import Symmetry, symmetries_for
from games.errors import ArenaError


class GameError(ArenaError):
    """A game name that cannot be served; the message is one line that names the fix."""


@dataclass(frozen=True)
class Preset:
    name: str
    game_string: str
    description: str
    family: str


_PRESETS: tuple[Preset, ...] = (
    Preset("tic_tac_toe", "tic_tac_toe", "3x3 noughts and crosses; a smoke test", "tic_tac_toe"),
    Preset("connect_four", "connect_four", "7 columns x 6 rows, four in a row", "connect_four"),
    Preset("hex5", "hex(board_size=5)", "Hex on 5x5, no swap rule; quick to learn", "hex"),
    Preset("hex11", "hex(board_size=11)", "Hex on the classic 11x11 board, no swap rule", "hex"),
    Preset("go9", "go(board_size=9,komi=7.5)", "Go 9x9, komi 7.5, positional superko", "go"),
    Preset("go13", "go(board_size=13,komi=7.5)", "Go 13x13, komi 7.5", "go"),
    Preset("go19", "go(board_size=19,komi=7.5)", "Go 19x19, komi 7.5", "go"),
    Preset("kuhn_poker", "kuhn_poker", "Kuhn poker: 3 cards, one bet; exploitability is exact", "kuhn_poker"),
    Preset("leduc_poker", "leduc_poker", "Leduc hold'em: 6 cards, two betting rounds", "leduc_poker"),
    Preset("leduc_poker3", "leduc_poker(players=3)", "Leduc hold'em for 3 players", "leduc_poker"),
    # OpenSpiel's ACPC limit string plus stacks: without them its tensors are sized from an
    # overflowing game length. No stack of 1,200 binds in limit hold'em (a hand costs 240 at most).
    Preset("holdem_limit", pyspiel.hulh_game_string("fcpa").removesuffix(")") + ",stack=1200 1200)",
           "heads-up limit Texas hold'em (ACPC limit structure, universal_poker)", "universal_poker"),
    Preset("liars_dice", "liars_dice", "Liar's dice, 2 players with one die each", "liars_dice"),
    Preset("phantom_go5", "phantom_go(board_size=5,komi=0.5)", "Go 5x5 where the opponent's stones are unseen",
           "phantom_go"),
    Preset("phantom_go9", "phantom_go(board_size=9,komi=7.5)", "Go 9x9 where the opponent's stones are unseen",
           "phantom_go"),
    Preset("dark_hex", "dark_hex(board_size=4)", "Hex 4x4 where the opponent's stones are unseen", "dark_hex"),
)
_BY_NAME = {p.name: p for p in _PRESETS}

_HINT = "`arena games` lists the presets"
_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def presets() -> list[Preset]:
    return list(_PRESETS)


@dataclass
class GameSpec:
    """Everything the engine needs about one game: OpenSpiel game, encoder, symmetries."""

    name: str
    game_string: str
    game: pyspiel.Game
    preset: Preset | None
    encoder: Encoder
    symmetries: list[Symmetry] = field(repr=False)
    num_actions: int
    num_players: int

    @property
    def perfect_information(self) -> bool:
        return self.game.get_type().information == pyspiel.GameType.Information.PERFECT_INFORMATION

    @property
    def resignable(self) -> bool:
        """A game one player wins and the other loses (or a draw): two players, zero-sum, returns
        in [-1, 1]. Only there does resigning mean anything: the resigner's -1, the other's +1."""
        return (self.num_players == 2 and self.game.get_type().utility == pyspiel.GameType.Utility.ZERO_SUM
                and self.game.min_utility() == -1.0 and self.game.max_utility() == 1.0)

    def with_liberties(self, liberties: bool) -> GameSpec:
        """This game with Go's liberty input planes (GoEncoder `liberties`) or without; GameError for
        a game that is not Go."""
        if bool(getattr(self.encoder, "liberties", False)) == liberties:
            return self
        if not isinstance(self.encoder, GoEncoder):
            raise GameError(f"network.liberties is for Go, and {self.name} is not Go: leave it false")
        encoder = GoEncoder(self.game, self.encoder.history, liberties)
        return dataclasses.replace(self, encoder=encoder, symmetries=symmetries_for(self.game, self.preset, encoder))

    def for_input(self, shape: Sequence[int] | None) -> GameSpec:
        """This game with the encoder whose positions have `shape` (a snapshot's obs_shape): with or
        without Go's liberty planes. None: as it is. GameError when no encoder of the game fits."""
        if shape is None or tuple(shape) == tuple(self.encoder.shape):
            return self
        if isinstance(self.encoder, GoEncoder):
            other = self.with_liberties(not self.encoder.liberties)
            if tuple(other.encoder.shape) == tuple(shape):
                return other
        raise GameError(f"a network reading positions of shape {tuple(shape)} cannot play {self.name}, whose "
                        f"positions are {tuple(self.encoder.shape)}: use a snapshot trained by this Arena version")

    @property
    def has_ownership(self) -> bool:
        """Whether a finished game gives every board point an owner and a score margin (Go): the
        targets of a network's ownership and score heads (games.goboard.final_ownership)."""
        return self.game.get_type().short_name == "go"

    @property
    def learner_problem(self) -> str | None:
        """Why no learner can serve this game (one line), or None."""
        t = self.game.get_type()
        if t.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
            return f"{self.name} has simultaneous moves; only turn-based games can be learned"
        if t.utility != pyspiel.GameType.Utility.ZERO_SUM:
            return f"{self.name} is {t.utility.name.lower().replace('_', '-')}; only zero-sum games can be learned"
        if not self.perfect_information:
            if self.num_players > 3:
                return f"{self.name} has {self.num_players} players; the imperfect-information learner takes 2 or 3"
            return None  # served by MMD: sampled play, no search over hidden state
        if self.num_players != 2:
            return f"{self.name} has {self.num_players} players; only 2-player perfect-information games can be learned"
        if t.chance_mode == pyspiel.GameType.ChanceMode.SAMPLED_STOCHASTIC:
            return f"{self.name} samples chance without listing outcomes; search needs explicit chance"
        return None

    @property
    def learner(self) -> str | None:
        """The learner that serves this game: "alphazero" (perfect information: search and self-play),
        "mmd" (imperfect information: magnetic mirror descent over information states), or None
        (see learner_problem)."""
        if self.learner_problem:
            return None
        return "alphazero" if self.perfect_information else "mmd"


def require_learner(spec: GameSpec) -> GameSpec:
    problem = spec.learner_problem
    if problem:
        raise GameError(problem)
    return spec


def require_alphazero(spec: GameSpec) -> GameSpec:
    """A game our search can play: a learner must serve it, and the whole state must be visible."""
    require_learner(spec)
    if not spec.perfect_information:
        raise GameError(f"{spec.name} has imperfect information: tree search over the true state would see hidden "
                        "cards or stones; its learner is mmd (no search)")
    return spec


GameLike = str | GameSpec | pyspiel.Game  # every form `load` takes


def load(game: GameLike) -> GameSpec:
    """The GameSpec of a preset name, preset with overrides, raw OpenSpiel game string, pyspiel.Game
    (its preset when it equals one, so the preset's settings apply) or GameSpec (as it is)."""
    if isinstance(game, GameSpec):
        return game
    if isinstance(game, pyspiel.Game):
        return _of_game(game)
    if isinstance(game, str):
        return _load("".join(game.split()))  # whitespace-free, so `go9( komi=6.5 )` shares the cache
    raise GameError(f"a game is a preset name, an OpenSpiel game string, a pyspiel.Game or a GameSpec, "
                    f"not {type(game).__name__}: e.g. 'connect_four' or pyspiel.load_game('connect_four')")


def same_game(a: GameLike, b: GameLike) -> bool:
    """Whether two forms name one game: the same OpenSpiel game and every parameter equal, defaults
    included, so `go(board_size=9)` is go9 however it is spelled."""
    return _identity(load(a).game) == _identity(load(b).game)


def _identity(game: pyspiel.Game) -> tuple[str, dict[str, Any]]:
    return game.get_type().short_name, game.get_parameters()


def _of_game(game: pyspiel.Game) -> GameSpec:
    """A pyspiel.Game's spec: the preset it equals, else one built around the game itself (its string
    may not read back, e.g. a game holding another game)."""
    identity = _identity(game)
    for preset in _PRESETS:
        if preset.game_string.partition("(")[0] == identity[0] and _identity(_load(preset.name).game) == identity:
            return _load(preset.name)
    return _spec(str(game).removesuffix("()"), game, None)


@functools.lru_cache(maxsize=None)
def _load(name: str) -> GameSpec:
    base, params = _split(name)
    preset = _BY_NAME.get(base)
    if preset is not None:
        merged = _parse(preset.game_string, name)
        merged.update(params)
        game_name = merged.pop("name")
    else:
        _check_known(base, name)
        game_name, merged = base, params
    return _spec(name, _load_game(game_name, merged, name), preset)


def _spec(name: str, game: pyspiel.Game, preset: Preset | None) -> GameSpec:
    try:  # OpenSpiel loads some parameters it cannot play (go board_size=25 or -2): refused in one line here
        state = game.new_initial_state()
        str(state)  # hex(board_size=0) loads, then fails to print its board
        if not state.is_terminal() and not state.is_chance_node() and not state.legal_actions():
            raise ValueError("its first position has no legal move (a board without points?)")
        encoder = encoder_for(game, preset)
        symmetries = symmetries_for(game, preset, encoder)
    except (pyspiel.SpielError, ValueError) as e:
        raise GameError(f"cannot load {name!r}: {_first_line(e)}") from None
    return GameSpec(
        name=name,
        game_string=str(game).removesuffix("()"),  # "tic_tac_toe", as OpenSpiel reads it back
        game=game,
        preset=preset,
        encoder=encoder,
        symmetries=symmetries,
        num_actions=game.num_distinct_actions(),
        num_players=game.num_players(),
    )


def _split(name: str) -> tuple[str, dict[str, Any]]:
    """`base(k=v,...)` -> ("base", {k: v}), checking the syntax before OpenSpiel sees it."""
    if not name:
        raise GameError(f"empty game name; {_HINT}")
    if "(" not in name:
        if ")" in name or "=" in name:
            raise GameError(f"bad game name {name!r}: write parameters as name(key=value,...)")
        return name, {}
    base, _, rest = name.partition("(")
    if not rest.endswith(")") or rest.count("(") != rest.count(")") - 1:
        raise GameError(f"bad parameters in {name!r}: unbalanced parentheses; write name(key=value,...)")
    params = _parse(name, name)
    params.pop("name", None)
    for key, value in params.items():
        if value == "" or not key.isidentifier():
            raise GameError(f"bad parameters in {name!r}: write name(key=value,...)")
    return base, params


def _parse(game_string: str, name: str) -> dict[str, Any]:
    try:
        return dict(pyspiel.game_parameters_from_string(game_string))
    except pyspiel.SpielError as e:
        raise GameError(f"bad parameters in {name!r}: {_first_line(e)}; write name(key=value,...)") from None


def _check_known(base: str, name: str) -> None:
    """Refuse an unknown game before OpenSpiel does: its message lists every game, one per line."""
    registered = pyspiel.registered_names()
    if base in registered:
        return
    close = difflib.get_close_matches(base, list(_BY_NAME) + list(registered), n=1)
    maybe = f"did you mean {close[0]!r}? " if close else ""
    raise GameError(f"unknown game {base!r}: {maybe}{_HINT}")


_DIMENSIONS = {"rows", "columns", "cols", "num_rows", "num_cols", "board_size", "size", "width", "height"}


def _load_game(game_name: str, params: dict[str, Any], name: str) -> pyspiel.Game:
    defaults = _defaults(game_name)
    for key, value in params.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise GameError(f"{name!r}: {game_name} has no parameter {key!r} (it has: {known})")
        want = type(defaults[key])
        # `komi=7` parses as an int; OpenSpiel insists on the declared type, so convert it.
        if want is float and type(value) is int:
            params[key] = value = float(value)
        # Checked here rather than by OpenSpiel, which also prints its errors to stderr.
        if want in _KINDS and type(value) is not want:
            raise GameError(f"{name!r}: {key} must be {_KINDS[want]}, not {value!r}")
        # A board of no rows or columns crashes OpenSpiel itself (connect_four(rows=0) segfaults)
        if want is int and value < 1 and key in _DIMENSIONS:
            raise GameError(f"{name!r}: {key} must be at least 1, not {value}")
    try:
        return pyspiel.load_game(game_name, params)
    except pyspiel.SpielError as e:
        raise GameError(f"cannot load {name!r}: {_first_line(e)}") from None


@functools.lru_cache(maxsize=None)
def _defaults(game_name: str) -> dict[str, Any]:
    """Declared parameters and defaults, read from the registry (no game needs loading)."""
    game_type = next(t for t in pyspiel.registered_games() if t.short_name == game_name)
    return dict(game_type.parameter_specification)


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
