"""The `call` and `raise` poker baselines: legal, policy-providing pyspiel.Bots that check/call or
bet/raise as named, on kuhn, leduc and hold'em, refused on other games. Real OpenSpiel games."""
from __future__ import annotations

import numpy as np
import pyspiel
import pytest
from open_spiel.python.algorithms import evaluate_bots

import games
from engine.players import BotError, is_neural, load_bot

POKER = ["kuhn_poker", "leduc_poker", "leduc_poker3", "holdem_limit"]
RAISE = {"leduc_poker": 2, "leduc_poker3": 2, "holdem_limit": 2}  # the bet/raise action id


def decisions(spec, bots, seed: int):
    """(state, chosen action, policy) at every decision of one hand, checking legality as it goes."""
    rng = np.random.default_rng(seed)
    state = spec.game.new_initial_state()
    seen = []
    while not state.is_terminal():
        if state.is_chance_node():
            outcomes, probs = zip(*state.chance_outcomes())
            state.apply_action(int(rng.choice(outcomes, p=probs)))
            continue
        bot = bots[state.current_player()]
        policy, action = bot.step_with_policy(state)
        assert action in state.legal_actions()
        seen.append((state.clone(), action, dict(policy)))
        state.apply_action(action)
    return seen


@pytest.mark.parametrize("name", POKER)
@pytest.mark.parametrize("kind", ["call", "raise"])
def test_baselines_play_legal_moves_and_give_their_policy(name, kind):
    spec = games.load(name)
    bot = load_bot(kind, spec)
    assert isinstance(bot, pyspiel.Bot) and bot.provides_policy()
    others = [load_bot("random", spec, seed=s) for s in range(1, spec.num_players)]
    for seat in range(spec.num_players):
        bots = others[:seat] + [bot] + others[seat:]
        returns = evaluate_bots.evaluate_bots(spec.game.new_initial_state(), bots, np.random.RandomState(seat))
        assert abs(sum(returns)) < 1e-9  # a finished zero-sum hand
        for state, action, policy in decisions(spec, bots, seed=seat):
            if bots[state.current_player()] is bot:
                assert set(policy) == set(state.legal_actions()) and policy[action] == 1.0
                assert sum(policy.values()) == 1.0


@pytest.mark.parametrize("name", ["leduc_poker", "leduc_poker3", "holdem_limit"])
def test_call_never_raises_or_folds_and_raise_raises_whenever_it_may(name):
    spec = games.load(name)
    for seed in range(20):
        calls = decisions(spec, [load_bot("call", spec)] * spec.num_players, seed)
        assert all(action == 1 for _, action, _ in calls)
        raises = decisions(spec, [load_bot("raise", spec)] + [load_bot("call", spec)] * (spec.num_players - 1), seed)
        for state, action, _ in raises:
            if state.current_player() == 0:
                assert action == (RAISE[name] if RAISE[name] in state.legal_actions() else 1)
        assert any(action == RAISE[name] for _, action, _ in raises)


def test_kuhn_call_checks_then_calls_a_bet_and_raise_always_bets():
    game = games.load("kuhn_poker").game
    state = game.new_initial_state()
    state.apply_action(0)
    state.apply_action(1)
    call, raise_ = load_bot("call", "kuhn_poker"), load_bot("raise", "kuhn_poker")
    assert call.step(state) == 0 and raise_.step(state) == 1  # check; bet
    state.apply_action(1)  # player 0 bets
    assert call.step(state) == 1 and raise_.step(state) == 1  # both call


@pytest.mark.parametrize("kind", ["call", "raise"])
def test_baselines_on_other_games_are_one_line_errors_naming_poker(kind):
    with pytest.raises(BotError) as err:
        load_bot(kind, "liars_dice")
    message = str(err.value)
    assert "\n" not in message and "leduc_poker" in message and "liars_dice" in message
    assert not is_neural(kind)
