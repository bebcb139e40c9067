"""Duplicate-dealt matches: the luck of the deal cancelled out of a 2-player game with chance (poker).

Each deal is played twice: A in the first seat, then the same chance outcomes again with the seats
swapped, so each player holds each seat's cards once. Chance outcomes go on a tape by position: the
first hand of a pair records them as it samples them, the second takes the outcome at the same
position (in poker every card goes to a fixed seat in a fixed order, so both hands see the same
cards, board included). If the second hand reaches chance nodes the first never did (the first
ended in a fold) they are sampled fresh; if an outcome on the tape is illegal where the second hand
stands (it cannot happen in poker) it is sampled too and counted in `replay_misses`.

A's winnings over a pair are one observation: the pairs are the independent units, so the 95%
interval is mean ± 1.96 sd / sqrt(pairs) over pair means (chips per hand). Identical strategies
therefore score exactly 0.

Unit: milli-big-blinds per hand, mbb/hand = 1000 * chips per hand / big blind, with the big blind
of each game (see `big_blind`): universal_poker (holdem_limit) its largest `blind` (10 chips);
leduc_poker 2 chips and kuhn_poker 1 chip, their first-round bet, which is what the big blind is in
limit hold'em (OpenSpiel's leduc antes 1 and raises 2 then 4; kuhn antes 1 and bets 1). Chips per
hand are reported as well; for other games with chance (liars_dice) only points per hand.

Bots are loaded once (`engine.players.load_bot`) and played through league.match's game loop
(restart_at, inform_action, forfeits), so every player spec works, snapshots included.
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyspiel

import games
from engine.players import load_bot
from league.match import Forfeit, play_game, sample_chance
from engine.errors import ArenaError

Z95 = 1.96


class DuplicateError(ArenaError):
    """A duplicate match that cannot be played as asked; one line naming the fix."""


def big_blind(game: pyspiel.Game) -> float | None:
    """Chips in one big blind (the mbb unit), or None for a game that is not poker."""
    kind = game.get_type().short_name
    if kind == "universal_poker":
        params = game.get_parameters()
        blinds = [float(b) for b in str(params.get("blind", "")).split()]
        if blinds and max(blinds) > 0:
            return max(blinds)
        raises = [float(r) for r in str(params.get("raiseSize", "")).split()]
        return raises[0] if raises else None  # ante-only structures: the first-round bet
    if kind == "leduc_poker":
        return 2.0  # OpenSpiel's kFirstRaiseAmount (ante 1, raises 2 then 4)
    if kind == "kuhn_poker":
        return 1.0  # the one bet (ante 1)
    return None


def check_duplicate(spec: games.GameLike) -> None:
    """Refuse a game duplicate dealing cannot serve, with the reason."""
    spec = games.load(spec)
    kind = spec.game.get_type()
    if spec.num_players != 2:
        raise DuplicateError(f"duplicate matches need a 2-player game and {spec.name} has {spec.num_players} "
                             "players: use a 2-player preset (e.g. leduc_poker, holdem_limit)")
    if kind.chance_mode == pyspiel.GameType.ChanceMode.DETERMINISTIC:
        raise DuplicateError(f"{spec.name} has no chance events, so there is no deal to duplicate: "
                             "drop --duplicate (seats already alternate)")
    if kind.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
        raise DuplicateError(f"duplicate matches need turn-based moves and {spec.name} has simultaneous ones")


class ChanceTape:
    """Chance outcomes by position within a hand: recorded by the first hand, replayed by the second."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.outcomes: list[int] = []
        self.position = 0
        self.misses = 0  # taped outcomes that were illegal on replay, sampled instead

    def rewind(self) -> None:
        self.position = 0

    def __call__(self, state) -> int:
        k = self.position
        self.position += 1
        if k >= len(self.outcomes):  # not reached before: sample and record
            self.outcomes.append(sample_chance(state, self.rng))
            return self.outcomes[k]
        taped = self.outcomes[k]
        if dict(state.chance_outcomes()).get(taped, 0.0) > 0:
            return taped
        self.misses += 1
        return sample_chance(state, self.rng)


@dataclass
class DuplicateResult:
    a: str
    b: str
    game: str
    big_blind: float | None  # chips per big blind; None: not poker, no mbb
    pair_returns: list[float] = field(default_factory=list)  # a's winnings over each pair of hands
    replay_misses: int = 0
    forfeits: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def pairs(self) -> int:
        return len(self.pair_returns)

    @property
    def hands(self) -> int:
        return 2 * self.pairs

    @property
    def per_hand(self) -> float:
        """a's mean winnings per hand, in the game's units (chips for poker, points otherwise)."""
        return float(np.mean(self.pair_returns)) / 2 if self.pairs else 0.0

    @property
    def per_hand_interval(self) -> float:
        """Half-width of the 95% interval of `per_hand`, over pairs (inf with fewer than two)."""
        if self.pairs < 2:
            return math.inf
        return Z95 * float(np.std(np.asarray(self.pair_returns) / 2, ddof=1)) / math.sqrt(self.pairs)

    @property
    def mbb(self) -> float | None:
        return None if self.big_blind is None else 1000 * self.per_hand / self.big_blind

    @property
    def mbb_interval(self) -> float | None:
        return None if self.big_blind is None else 1000 * self.per_hand_interval / self.big_blind

    @property
    def verdict(self) -> str:
        """a is 'ahead' or 'behind' when the interval excludes 0, else 'not separated'."""
        low, high = self.per_hand - self.per_hand_interval, self.per_hand + self.per_hand_interval
        return "ahead" if low > 0 else "behind" if high < 0 else "not separated"

    def as_dict(self) -> dict:
        def r(x: float | None, digits: int = 3) -> float | None:
            return None if x is None or not math.isfinite(x) else round(x, digits)
        return {"a": self.a, "b": self.b, "game": self.game, "hands": self.hands, "pairs": self.pairs,
                "mbb_per_hand": r(self.mbb, 1), "mbb_interval95": r(self.mbb_interval, 1),
                "chips_per_hand": r(self.per_hand, 4), "chips_interval95": r(self.per_hand_interval, 4),
                "big_blind": self.big_blind, "verdict": self.verdict, "replay_misses": self.replay_misses,
                "forfeits": len(self.forfeits), "seconds": round(self.seconds, 2)}


def _hand(spec, bots, tape: ChanceTape, forfeits: list[str]):
    """One hand; its final state (None after a forfeit) and returns. A forfeit costs the most the game allows."""
    tape.rewind()
    state = spec.game.new_initial_state()
    try:
        play_game(state, bots, tape.rng, chance=tape)
        return state, state.returns()
    except Forfeit as lost:
        forfeits.append(str(lost))
        worst = spec.game.min_utility()
        return None, [-worst if p != lost.player else worst for p in range(2)]


def play_duplicate(spec: games.GameLike, a: str, b: str, hands: int, seed: int = 0,
                   on_pair: Callable[[int, object, object], None] | None = None) -> DuplicateResult:
    """`hands` hands (an even number) of a against b, dealt in seat-swapped pairs; see the module doc.

    The deals depend on (seed, pair) only, so every pairing played with one seed sees the same cards.
    `on_pair(i, first, second)` sees the final states of each pair's hands (a seated first, then
    second; None for a forfeited hand). `spec`: the game in any form.
    """
    spec = games.load(spec)
    check_duplicate(spec)
    if hands < 2 or hands % 2:
        raise DuplicateError(f"a duplicate match plays hands in seat-swapped pairs: give an even number, not {hands}")
    started = time.perf_counter()
    bot_a, bot_b = load_bot(a, spec, seed), load_bot(b, spec, seed + 1)
    result = DuplicateResult(a, b, spec.name, big_blind(spec.game))
    for i in range(hands // 2):
        tape = ChanceTape(np.random.default_rng([seed, i, 4099]))
        first, r1 = _hand(spec, [bot_a, bot_b], tape, result.forfeits)
        second, r2 = _hand(spec, [bot_b, bot_a], tape, result.forfeits)
        result.pair_returns.append(float(r1[0] + r2[1]))
        result.replay_misses += tape.misses
        if on_pair is not None:
            on_pair(i, first, second)
    result.seconds = time.perf_counter() - started
    return result


def duplicate_ladder(spec: games.GameLike, players: Sequence[str], hands: int, gauntlet: str | None = None,
                     seed: int = 0, progress: Callable[[DuplicateResult], None] | None = None
                     ) -> list[DuplicateResult]:
    """Every pairing of `players` (or `gauntlet` against each), a duplicate match of `hands` hands each;
    the first-named player of a pairing (the gauntlet) is its A. `spec`: the game in any form."""
    spec = games.load(spec)
    check_duplicate(spec)
    pairs = ([(gauntlet, p) for p in players if p != gauntlet] if gauntlet is not None
             else list(itertools.combinations(players, 2)))
    results = []
    for a, b in pairs:
        results.append(play_duplicate(spec, a, b, hands, seed))
        if progress:
            progress(results[-1])
    return results
