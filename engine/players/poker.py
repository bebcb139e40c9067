"""Fixed-strategy poker baselines: `call` (always check or call) and `raise` (always bet or raise
when the rules allow, else call), for OpenSpiel's kuhn_poker, leduc_poker and universal_poker
(holdem_limit). They are the yardsticks a learned poker bot must beat, beside `random`.

Both are deterministic `pyspiel.Bot`s that provide their policy (all mass on the chosen action), so
they work in OpenSpiel's own tools too. `engine.players.load_bot` hands them out for the specs `call`
and `raise`; `poker_bot` refuses other games with a one-line BotError.
"""
from __future__ import annotations

import pyspiel

from engine.errors import BotError
from engine.players.spec import PlayerSpec

POKER_GAMES = ("kuhn_poker", "leduc_poker", "universal_poker")  # OpenSpiel short names

# Action ids. kuhn_poker: 0 pass (check, or fold to a bet), 1 bet (bet, or call a bet).
# leduc_poker: 0 fold, 1 call/check, 2 raise. universal_poker (fcpa): 0 fold, 1 call/check,
# 2 bet/raise (a pot-sized raise in no-limit), 3 all-in, which `raise` never picks.
_CALL, _RAISE = 1, 2
_KUHN_PASS, _KUHN_BET = 0, 1


def _kuhn_facing_bet(state: pyspiel.State) -> bool:
    """In Kuhn poker, once anyone has bet, 'bet' means call and 'pass' means fold."""
    return any(step.player >= 0 and step.action == _KUHN_BET for step in state.full_history())


class PokerBot(pyspiel.Bot):
    """`call` (aggressive=False) or `raise` (aggressive=True): one fixed action choice per state."""

    def __init__(self, game: pyspiel.Game, aggressive: bool) -> None:
        pyspiel.Bot.__init__(self)
        self.kuhn = game.get_type().short_name == "kuhn_poker"
        self.aggressive = aggressive

    def _choose(self, state: pyspiel.State) -> int:
        legal = state.legal_actions()
        if self.kuhn:
            # Betting is always legal in Kuhn; checking is 'pass' only while no bet is out.
            if self.aggressive or _kuhn_facing_bet(state):
                return _KUHN_BET
            return _KUHN_PASS
        if self.aggressive and _RAISE in legal:
            return _RAISE
        return _CALL  # check/call is legal at every decision in leduc and universal_poker

    def step_with_policy(self, state: pyspiel.State):
        action = self._choose(state)
        return [(a, 1.0 if a == action else 0.0) for a in state.legal_actions()], action

    def step(self, state: pyspiel.State) -> int:
        return self._choose(state)

    def provides_policy(self) -> bool:
        return True

    def restart_at(self, state: pyspiel.State) -> None:
        pass  # stateless: every choice is read off the state

    def inform_action(self, state: pyspiel.State, player_id: int, action: int) -> None:
        pass


def poker_bot(spec: PlayerSpec, game_spec) -> PokerBot:
    """The bot for spec `call` or `raise`; BotError (one line) for a non-poker game."""
    if game_spec.game.get_type().short_name not in POKER_GAMES:
        raise BotError(f"player '{spec.base}' plays poker only ({', '.join(POKER_GAMES)}, e.g. holdem_limit), "
                       f"not {game_spec.name}")
    return PokerBot(game_spec.game, aggressive=spec.base == "raise")
