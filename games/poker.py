"""Poker tables for people, read from OpenSpiel's strings: what one seat may see, and betting words.

Kuhn poker, Leduc hold'em and universal_poker (limit hold'em) each print their state differently;
this module turns them into one `Table`: the cards a seat holds, the board, the pot, every seat's
contribution and stack, who acts, and the betting of each round. A seat's view is read only from
that seat's own information-state and observation strings, so hidden cards cannot leak into it;
`viewer=None` (a watcher, the showdown, a replay) gathers every seat's cards.

OpenSpiel names actions by mechanics (Kuhn `Pass`/`Bet`, Leduc `Call`/`Raise`); players say `check`
or `call`, `bet` or `raise` depending on whether a bet is out. `action_word` names an action that way
and `typed_words` lists what a player may type for each legal action.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyspiel

GAMES = ("kuhn_poker", "leduc_poker", "universal_poker")  # OpenSpiel short names
SUITS = {"c": "♣", "d": "♦", "h": "♥", "s": "♠"}
LEDUC_SUITS = "♠♥"  # Leduc's two suits: card c is rank c // 2, suit c % 2
HOLDEM_ROUNDS = ("preflop", "flop", "turn", "river")


def kind(game: pyspiel.Game) -> str | None:
    """kuhn_poker, leduc_poker, universal_poker, or None for a game that is not poker."""
    name = game.get_type().short_name
    return name if name in GAMES else None


# ---- cards -----------------------------------------------------------------------------------------


def _ranks(game: pyspiel.Game) -> str:
    """Rank letters of Kuhn's and Leduc's decks: n players use the top n + 1 ranks (J Q K for two)."""
    n = game.num_players() + 1
    return "JQKA"[:n] if n <= 4 else "23456789TJQKA"[-n:]


def card_name(game: pyspiel.Game, card: int | str) -> str:
    """A card as people write it: Kuhn `Q`, Leduc `Q♥`, hold'em `Q♥` (from OpenSpiel's `Qh`)."""
    k = kind(game)
    if k == "universal_poker":
        text = str(card)
        return text[:-1] + SUITS.get(text[-1], text[-1])
    card = int(card)
    if k == "kuhn_poker":
        return _ranks(game)[card]
    return _ranks(game)[card // 2] + LEDUC_SUITS[card % 2]


def _acpc_cards(text: str) -> list[str]:
    """`8d5h` → [`8d`, `5h`]."""
    return re.findall(r"[2-9TJQKA][cdhs]", text)


def deal_name(game: pyspiel.Game, action: int) -> str:
    """A chance outcome of a poker game as `deal Q♥`."""
    if kind(game) == "universal_poker":
        state_text = game.new_initial_state().action_to_string(pyspiel.PlayerId.CHANCE, action)
        cards = _acpc_cards(state_text)
        return "deal " + (card_name(game, cards[0]) if cards else state_text)
    return "deal " + card_name(game, action)


# ---- betting ---------------------------------------------------------------------------------------


def _field(text: str, name: str) -> str | None:
    m = re.search(rf"\[{name}: ?([^\]]*)\]", text)
    return m.group(1).strip() if m else None


def _ints(text: str | None) -> list[int]:
    return [int(float(x)) for x in text.split()] if text else []


def contributions(state: pyspiel.State) -> list[int]:
    """Chips each seat has put in the pot (public in every poker game)."""
    game = state.get_game()
    k = kind(game)
    n = game.num_players()
    if k == "kuhn_poker":  # an ante of 1, and 1 more for each bet (or call, which Kuhn names Bet)
        chips = [1] * n
        for item in state.full_history():
            if item.player >= 0 and item.action == 1:
                chips[item.player] += 1
        return chips
    text = state.observation_string(0)  # seat 0's observation: its public part is everyone's
    return _ints(_field(text, "Ante" if k == "leduc_poker" else "PlayerContribution"))


def facing_bet(state: pyspiel.State) -> bool:
    """Whether the seat to act must put chips in to stay (call or fold) rather than check."""
    player = state.current_player()
    if player < 0:
        return False
    chips = contributions(state)
    return chips[player] < max(chips)


def action_word(state: pyspiel.State, action: int) -> str:
    """The poker word for the acting seat's `action`: fold, check, call, bet, raise (all-in, ...)."""
    game = state.get_game()
    player = state.current_player()
    if player < 0:
        return deal_name(game, action)
    facing = facing_bet(state)
    # Preflop in hold'em the big blind is the bet: betting more is a raise, as players say.
    preflop = kind(game) == "universal_poker" and "[Round 0]" in state.observation_string(player)
    if kind(game) == "kuhn_poker":  # 0 Pass, 1 Bet
        return ("fold" if facing else "check") if action == 0 else ("call" if facing else "bet")
    name = state.action_to_string(player, action).split("move=")[-1].strip().lower()
    if name == "call":
        return "call" if facing else "check"
    if name in ("bet", "raise"):
        return "raise" if facing or preflop else "bet"
    return {"allin": "all-in", "halfpot": "half-pot"}.get(name, name)


def typed_words(state: pyspiel.State) -> dict[str, int]:
    """What the seat to act may type for each legal action: its word, synonyms, OpenSpiel's name."""
    player = state.current_player()
    words: dict[str, int] = {}
    for action in state.legal_actions():
        word = action_word(state, action)
        words[word] = action
        # A check is a call of nothing; a bet into no bet is a raise of it, and a raise is a bet.
        synonyms = {"check": ["call"], "bet": ["raise"], "raise": ["bet"]}.get(word, [])
        for other in synonyms:
            words.setdefault(other, action)
        words.setdefault(state.action_to_string(player, action).split("move=")[-1].strip().lower(), action)
    return words


# ---- the table -------------------------------------------------------------------------------------


@dataclass
class Seat:
    cards: list[str] | None  # None: hidden from the viewer
    chips_in: int  # contributed to the pot this hand
    stack: int | None  # chips behind (None where the game has no stacks: Kuhn)
    folded: bool = False


@dataclass
class Table:
    round_name: str
    board: list[str]
    pot: int
    seats: list[Seat]
    to_act: int | None  # None at a chance node or when the hand is over
    to_call: int  # chips the seat to act must add to call
    betting: list[tuple[str, list[tuple[int, str]]]] = field(default_factory=list)  # (round, [(seat, word)])


def _round_name(game: pyspiel.Game, index: int) -> str:
    k = kind(game)
    if k == "kuhn_poker":
        return "betting"
    if k == "universal_poker" and int(game.get_parameters().get("numRounds", 4)) == 4:
        return HOLDEM_ROUNDS[min(index, 3)]
    return f"round {index + 1}"


def betting(state: pyspiel.State) -> list[tuple[str, list[tuple[int, str]]]]:
    """Every seat's actions, by round; a deal after the betting has begun (the board) opens a round.

    Only the seats' actions are named, never the cards dealt: betting is public, cards are not.
    """
    game = state.get_game()
    replay = game.new_initial_state()
    rounds: list[list[tuple[int, str]]] = [[]]
    for item in state.full_history():
        if item.player < 0:
            if rounds[-1]:
                rounds.append([])
        else:
            rounds[-1].append((item.player, action_word(replay, item.action)))
        replay.apply_action(item.action)
    # The last round may have no action yet (its cards were just dealt); earlier ones always have some.
    return [(_round_name(game, i), actions) for i, actions in enumerate(rounds)]


def _private(state: pyspiel.State, seat: int) -> list[str]:
    """The cards `seat` holds, read from its own information state (what OpenSpiel lets it see)."""
    game = state.get_game()
    k = kind(game)
    text = state.information_state_string(seat)
    if k == "kuhn_poker":
        m = re.match(r"(\d+)", text)
        return [card_name(game, int(m.group(1)))] if m else []
    if k == "leduc_poker":
        card = _field(text, "Private")
        return [card_name(game, int(card))] if card and int(card) >= 0 else []
    return [card_name(game, c) for c in _acpc_cards(_field(text, "Private") or "")]


def _board(state: pyspiel.State, text: str) -> list[str]:
    game = state.get_game()
    k = kind(game)
    if k == "leduc_poker":
        card = _field(text, "Public")
        return [card_name(game, int(card))] if card and int(card) >= 0 else []
    if k == "universal_poker":
        return [card_name(game, c) for c in _acpc_cards(_field(text, "Public") or "")]
    return []


def table(state: pyspiel.State, viewer: int | None) -> Table:
    """The table as `viewer` sees it (its own cards only), or with every seat's cards (viewer None)."""
    game = state.get_game()
    k = kind(game)
    n = game.num_players()
    public = state.information_state_string(viewer if viewer is not None else 0)
    chips = contributions(state)
    rounds = betting(state)
    folded = {seat for _, actions in rounds for seat, word in actions if word == "fold"}
    if k == "leduc_poker":
        stacks: list[int | None] = list(_ints(_field(public, "Money")))
        if state.is_terminal():  # after the pot is paid out, Money holds the winnings too
            stacks = [None] * n
    elif k == "universal_poker":
        start = _ints(str(game.get_parameters().get("stack", "")))
        stacks = [s - c for s, c in zip(start, chips)] if len(start) == n else [None] * n
    else:
        stacks = [None] * n
    seats = [Seat(cards=_private(state, s) if viewer is None or s == viewer else None, chips_in=chips[s],
                  stack=stacks[s], folded=s in folded) for s in range(n)]
    player = state.current_player()
    to_act = player if player >= 0 else None
    pot = sum(chips) if k == "kuhn_poker" else int(float(_field(public, "Pot") or sum(chips)))
    if state.is_terminal():
        pot = sum(chips)  # OpenSpiel empties the pot into the winners' money; show what was played for
    return Table(round_name=rounds[-1][0], board=_board(state, public), pot=pot, seats=seats, to_act=to_act,
                 to_call=(max(chips) - chips[player]) if to_act is not None else 0, betting=rounds)
