"""Head-to-head matches between player specs, seats alternating; tables of n players, seats rotating.

When one side is a snapshot, all games of the match run at once and its moves are searched in one
BatchedMCTS (one tree per game, every leaf of every game in one network call); the other side moves
through its `pyspiel.Bot`. Otherwise games run one by one, each bot told of the other's moves.

A GTP engine in a match also referees the games it finishes (`judged`: its final_score, dead stones
off, decides the winner, as gogui-twogtp's `-referee` does).

A player whose external engine fails mid-game (a `GTPError`: it died, stalled, refused a move or
moved illegally) or resigns forfeits that game: it is scored as a loss for that side (-1/+1) and the
match goes on, the engine starting afresh for the next game. An engine that cannot start at all
fails the whole match with its one-line error.

`play_table` seats exactly the game's number of players (3-player poker): game i rotates the seats by
i, so each player takes each seat once every n games, and every other block of n games runs the
order backwards so that no player always acts right after the same one. Games run one by one
through `play_game`, chance drawn from one seeded rng.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

import games as catalogue  # as catalogue: `games` counts games here
from engine.errors import ArenaError
from engine.players import GTPError, is_neural, load_bot, load_neural
from engine.search import make_search, most_visited

Seated = tuple[tuple[str, ...], tuple[float, ...], int]  # one game: players and returns by seat, length


@dataclass
class MatchResult:
    a: str
    b: str
    wins: int = 0
    draws: int = 0
    losses: int = 0
    returns: list[float] = field(default_factory=list)  # a's return, game by game
    lengths: list[int] = field(default_factory=list)  # moves per game
    forfeits: list[str] = field(default_factory=list)  # why each forfeited game was lost (GTP failures)
    rescored: int = 0  # games whose winner a GTP referee's final_score changed from Tromp–Taylor's (`judged`)
    # a's margin by the referee's count, for each game a GTP referee scored: how far from winning a
    # run is while it still loses every game (0 of 40 against GNU Go says nothing of progress).
    margins: list[float] = field(default_factory=list)
    # Game i has a in the first seat when i is even: seats alternate.

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / max(self.games, 1)

    def elo_difference(self) -> float:
        """a's Elo advantage implied by the score (±inf at 0% and 100%)."""
        s = self.score
        if s <= 0 or s >= 1:
            return math.copysign(math.inf, s - 0.5)
        return -400 * math.log10(1 / s - 1)

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "games": self.games, "wins": self.wins, "draws": self.draws,
                "losses": self.losses, "score": round(self.score, 4), "rescored": self.rescored,
                **({"margin": round(float(np.mean(self.margins)), 2)} if self.margins else {})}

    def summary(self) -> str:
        return f"+{self.wins} ={self.draws} -{self.losses}"

    def seated(self) -> list[Seated]:
        """Game by game: (players by seat, returns by seat, length), as the ledger records games."""
        a, b = self.a, self.b
        return [((a, b), (r, -r), n) if i % 2 == 0 else ((b, a), (-r, r), n)
                for i, (r, n) in enumerate(zip(self.returns, self.lengths))]


def _record(result: MatchResult, r: float, length: int) -> None:
    result.returns.append(float(r))
    result.lengths.append(int(length))
    if r > 0:
        result.wins += 1
    elif r < 0:
        result.losses += 1
    else:
        result.draws += 1


def opening(spec: catalogue.GameLike, game: int, plies: int, seed: int, group: int = 2):
    """The start of game `game`: `plies` uniformly random moves, the same for the `group` games of a
    seat rotation (a seat-swapped pair). Without it two deterministic players (snapshots search
    without noise) would play the same two games over and over, and a ladder would count each many times."""
    spec = catalogue.load(spec)
    state = spec.game.new_initial_state()
    rng = np.random.default_rng([seed, game // group, 977])
    for _ in range(plies):
        if state.is_terminal():
            break
        if state.is_chance_node():
            state.apply_action(sample_chance(state, rng))
        else:
            state.apply_action(int(rng.choice(state.legal_actions())))
    if state.is_terminal():  # an opening that ends the game: start from scratch
        return spec.game.new_initial_state()
    return state


def play_match(spec: catalogue.GameLike, a: str, b: str, games: int, seed: int = 0,
               on_game: Callable[[int, object, list], None] | None = None, opening_plies: int = 0) -> MatchResult:
    """`games` games of a against b in a 2-player game (in any form: a name, a pyspiel.Game, a
    GameSpec), a taking the first seat in even games; each pair of games starts from the same random
    opening of `opening_plies` moves.

    `on_game(i, final_state, [bot_a, bot_b])`, when given, sees each game played one by one (neither
    side a snapshot) before the next starts: e.g. to ask GTP engines for their final_score.
    """
    spec = catalogue.load(spec)
    if spec.num_players != 2:  # one bot a seat: two cannot fill a table of three
        raise ArenaError(f"a match is two players, and {spec.name} seats {spec.num_players}: rate its players in a "
                         f"table with `arena ladder --players A B C ... --game {spec.name}` or `arena ladder RUN --play N`")
    # Snapshots of imperfect-information games sample their policy (engine.players.PolicyBot): no
    # search to batch, so they play through the plain loop below.
    if spec.perfect_information and is_neural(a):
        return _play_batched(spec, a, b, games, seed, opening_plies=opening_plies)
    if spec.perfect_information and is_neural(b):
        flipped = _play_batched(spec, b, a, games, seed, a_first=False, opening_plies=opening_plies)
        return MatchResult(a, b, flipped.losses, flipped.draws, flipped.wins, [-r for r in flipped.returns],
                           flipped.lengths, flipped.forfeits, flipped.rescored, [-m for m in flipped.margins])
    result = MatchResult(a, b)
    for i, (_, returns, length, forfeit, rescored, margin) in enumerate(
            _play_rotating(spec, [a, b], games, seed, opening_plies, on_game)):
        result.rescored += rescored
        if margin is not None:
            result.margins.append(margin if i % 2 == 0 else -margin)
        _record(result, returns[i % 2], length)  # seating(i, 2) puts a first in even games
        if forfeit:
            result.forfeits.append(forfeit)
    return result


@dataclass
class TableResult:
    """Games among the players of one table, seat by seat."""

    players: tuple[str, ...]
    seatings: list[tuple[str, ...]] = field(default_factory=list)  # who sat where, game by game
    returns: list[tuple[float, ...]] = field(default_factory=list)  # return per seat, game by game
    lengths: list[int] = field(default_factory=list)
    forfeits: list[str] = field(default_factory=list)

    @property
    def games(self) -> int:
        return len(self.returns)

    def mean_returns(self) -> dict[str, float]:
        """Each player's mean return per game (chips in poker), whichever seat it took."""
        totals = dict.fromkeys(self.players, 0.0)
        for seats, returns in zip(self.seatings, self.returns):
            for p, r in zip(seats, returns):
                totals[p] += r
        return {p: t / max(self.games, 1) for p, t in totals.items()}

    def seated(self) -> list[Seated]:
        """Game by game: (players by seat, returns by seat, length), as the ledger records games."""
        return list(zip(self.seatings, self.returns, self.lengths))

    def summary(self) -> str:
        return ", ".join(f"{p} {r:+.2f}" for p, r in self.mean_returns().items()) + f" per game ({self.games} games)"


def seating(i: int, n: int) -> list[int]:
    """Player index per seat in game i of a table of n: rotated by i, order reversed in odd blocks
    of n games (from 3 players on: for 2 the reversed order is the same one)."""
    order = list(range(n)) if (i // n) % 2 == 0 else [0, *range(n - 1, 0, -1)]
    return [order[(s + i) % n] for s in range(n)]


def play_table(spec: catalogue.GameLike, players: Sequence[str], games: int, seed: int = 0,
               opening_plies: int = 0) -> TableResult:
    """`games` games among exactly `spec.num_players` distinct players, seats rotating (see `seating`):
    balanced when `games` is a multiple of the number of seats. `spec`: the game in any form."""
    spec = catalogue.load(spec)
    players = tuple(players)
    if len(players) != spec.num_players or len(set(players)) != len(players):
        raise ValueError(f"{spec.name} seats {spec.num_players} players and a table got {list(players)}: "
                         f"give {spec.num_players} distinct player specs")
    result = TableResult(players)
    for seats, returns, length, forfeit, _, _ in _play_rotating(spec, players, games, seed, opening_plies):
        result.seatings.append(seats)
        result.returns.append(tuple(float(r) for r in returns))
        result.lengths.append(length)
        if forfeit:
            result.forfeits.append(forfeit)
    return result


def _play_rotating(spec, players: Sequence[str], games: int, seed: int, opening_plies: int,
                   on_game: Callable[[int, object, list], None] | None = None
                   ) -> Iterator[tuple[tuple[str, ...], list[float], int, str | None, bool, float | None]]:
    """Games one by one, seats by `seating`: (players by seat, returns by seat, length, forfeit or None,
    whether a referee rescored it and the first seat's margin by its count, or None: `judged`).
    Player k's bot is seeded seed + k; each rotation of n games shares its random opening."""
    rng = np.random.default_rng(seed)
    bots = [load_bot(p, spec, seed + k) for k, p in enumerate(players)]
    n = len(players)
    for i in range(games):
        order = seating(i, n)
        state = opening(spec, i, opening_plies, seed, group=n)
        forfeit, rescored, margin = None, False, None
        try:
            play_game(state, [bots[k] for k in order], rng)
            (returns, rescored, margin), length = judged(state, bots), len(state.history())
        except Forfeit as lost:
            returns, length, forfeit = lost.returns, lost.length, str(lost)
        yield tuple(players[k] for k in order), list(returns), length, forfeit, rescored, margin
        if on_game is not None:
            on_game(i, state, bots)


@dataclass(frozen=True)
class Fixture:
    """One table of a round robin: its players (seats rotate through them), games and seed."""

    index: int
    players: tuple[str, ...]
    games: int
    seed: int
    opening_plies: int = 0


def play_fixture(spec, fixture: Fixture):
    """A fixture's games: a MatchResult in 2-player games, else a TableResult."""
    if spec.num_players == 2:
        return play_match(spec, *fixture.players, fixture.games, fixture.seed, opening_plies=fixture.opening_plies)
    return play_table(spec, fixture.players, fixture.games, fixture.seed, opening_plies=fixture.opening_plies)


class Forfeit(Exception):
    """A player lost a game by leaving it: its external engine failed (GTPError) or resigned."""

    def __init__(self, player: int, state, reason: str) -> None:
        super().__init__(f"player {player} forfeits after {len(state.history())} moves: {reason}")
        self.player, self.length = player, len(state.history())
        self.returns = [1.0] * state.num_players()
        self.returns[player] = -1.0


def _move(bot, player: int, state) -> int:
    """The bot's move; Forfeit when its engine fails or it resigns (GTP's resign comes back as a pass)."""
    try:
        action = bot.step(state)
    except GTPError as exc:
        raise Forfeit(player, state, str(exc)) from None
    if getattr(bot, "resigned", False):
        raise Forfeit(player, state, "resigned")
    return action


def _inform(bot, seat: int, state, player: int, action: int) -> None:
    """Tell the bot in `seat` of a move; Forfeit for that seat when its engine fails on it."""
    try:
        bot.inform_action(state, player, action)
    except GTPError as exc:
        raise Forfeit(seat, state, str(exc)) from None


def judged(state, bots) -> tuple[list[float], bool, float | None]:
    """Returns of a finished game, whether a referee changed them, and the first seat's margin by the
    referee's count: a GTP engine among `bots` scores it with its own final_score (dead stones removed
    as it judges them, as gogui-twogtp's referee does); otherwise, or when the engine fails, the
    rules' (Tromp–Taylor) returns stand, with no margin."""
    rules = [float(r) for r in state.returns()]
    for bot in bots:
        if hasattr(bot, "final_margin"):
            try:
                margin = bot.final_margin(state)
            except GTPError:
                continue
            verdict = [1.0, -1.0] if margin > 0 else [-1.0, 1.0] if margin < 0 else [0.0, 0.0]
            return verdict, verdict != rules, margin
    return rules, False, None


def sample_chance(state, rng: np.random.Generator) -> int:
    """A chance outcome of `state` drawn with its probabilities."""
    outcomes, probs = zip(*state.chance_outcomes())
    return int(rng.choice(outcomes, p=probs))


def play_game(state, bots, rng: np.random.Generator, chance: Callable[[object], int] | None = None):
    """Play a sequential game to the end; every bot hears of every move. Returns the final state.

    Chance outcomes are drawn from `rng`, or taken from `chance(state)` when given (duplicate deals
    replay one game's cards in another). Raises Forfeit when a bot's engine fails mid-game or it
    resigns; a bot that cannot even start the game (restart_at) raises its own error.
    """
    for bot in bots:
        bot.restart_at(state)
    while not state.is_terminal():
        if state.is_chance_node():
            action = chance(state) if chance is not None else sample_chance(state, rng)
        else:
            player = state.current_player()
            action = _move(bots[player], player, state)
            for other, bot in enumerate(bots):
                if other != player:
                    _inform(bot, other, state, player, action)
        state.apply_action(action)
    return state


def _play_batched(spec, neural: str, other: str, games: int, seed: int, a_first: bool = True,
                  opening_plies: int = 0) -> MatchResult:
    """All games at once; `neural` sits first in even games (odd ones if not a_first). Trees are reused.

    When `other` is a snapshot too, its moves are searched in a second BatchedMCTS, also batched
    over all games, rather than by a bot one game at a time.
    """
    def searcher(player: str, offset: int):
        evaluator, config, player_seed = load_neural(player, spec)
        config.leaves_per_tree = 1  # the games themselves fill the batch
        rng = np.random.default_rng(player_seed + seed + offset)
        encoder = spec.for_input(evaluator.obs_shape).encoder  # the planes this snapshot reads
        return make_search(encoder, spec.num_actions, evaluator, config, games, rng), config.simulations

    mcts, sims = searcher(neural, 0)
    rng = mcts.rng
    theirs_mcts, their_sims = searcher(other, 1) if is_neural(other) else (None, 0)
    seat = (np.arange(games) + (0 if a_first else 1)) % 2
    opponents = [] if theirs_mcts else [load_bot(other, spec, seed + 1 + i) for i in range(games)]
    for t in range(games):
        mcts.reset(t, opening(spec, t, opening_plies, seed))
        if theirs_mcts:
            theirs_mcts.reset(t, opening(spec, t, opening_plies, seed))
        else:
            opponents[t].restart_at(mcts.root_state(t))
    result = MatchResult(neural, other)
    live = list(range(games))
    forfeited: dict[int, str] = {}  # games the opponent lost by forfeit, and why
    while live:
        ours = [t for t in live if mcts.root_state(t).current_player() == seat[t]]
        if ours:
            mcts.search(np.array(ours), sims)
        mine = set(ours)
        theirs = [t for t in live if t not in mine]
        if theirs_mcts and theirs:
            theirs_mcts.search(np.array(theirs), their_sims)
        for t in live:
            state = mcts.root_state(t)
            player = state.current_player()
            try:
                if player == seat[t]:
                    action = most_visited(mcts.visit_counts(t), rng, mcts.P[t, mcts.root[t]])
                    if not theirs_mcts:
                        _inform(opponents[t], 1 - player, state, player, action)
                elif theirs_mcts:
                    action = most_visited(theirs_mcts.visit_counts(t), theirs_mcts.rng,
                                          theirs_mcts.P[t, theirs_mcts.root[t]])
                else:
                    action = _move(opponents[t], player, state)
            except Forfeit as lost:
                forfeited[t] = str(lost)
                continue
            mcts.advance(t, action)
            if theirs_mcts:
                theirs_mcts.advance(t, action)
        for t in [t for t in live if t in forfeited or mcts.root_state(t).is_terminal()]:
            live.remove(t)
    for t in range(games):
        final = mcts.root_state(t)
        forfeit = ([1.0, 1.0], False, None)  # the opponent forfeited: a win from either seat
        returns, rescored, margin = forfeit if t in forfeited else judged(final, opponents[t:t + 1])
        result.rescored += rescored
        if margin is not None:
            result.margins.append(margin if seat[t] == 0 else -margin)
        _record(result, returns[seat[t]], len(final.history()))
    result.forfeits = [forfeited[t] for t in sorted(forfeited)]
    return result


def learning_curve(run: str, opponent: str, games: int, points: int = 6, seed: int = 0) -> list[dict]:
    """Score of `points` snapshots of a run, spread over its history, against a fixed opponent.

    Minutes are wall-clock time since the run's first snapshot, read from the snapshots' records.
    """
    from engine import rundir
    from engine.nn import checkpoint

    run_dir = rundir.existing_run(run)
    spec = catalogue.load(rundir.load_config(run_dir).game)
    snaps = checkpoint.list_snapshots(run_dir)
    if not snaps:
        return []
    last = len(snaps) - 1  # spread back from the newest: one point is the newest snapshot
    picks = sorted({snaps[last - round(i * last / max(points - 1, 1))] for i in range(points)})
    t0 = checkpoint.load_file(snaps[0][1])["created"]
    curve = []
    for step, path in picks:
        created = checkpoint.load_file(path)["created"]
        result = play_match(spec, str(path), opponent, games, seed)
        curve.append({"step": step, "minutes": round((created - t0) / 60, 2), **result.as_dict()})
    return curve
