"""engine.players.policy_ismcts: ISMCTS with a snapshot's policy as its PUCT prior, on real OpenSpiel games."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from open_spiel.python.algorithms import evaluate_bots

import games
from engine.nn import checkpoint
from engine.players import BotError, PolicyBot, PolicyISMCTSBot, RandomBot, load_bot
from engine.config import resolve
from engine.nn.networks import build


def snapshot(tmp_path, game: str, favourite: int | None = None) -> str:
    """A snapshot whose policy is uniform, or puts almost all its mass on `favourite` everywhere."""
    spec, config = games.load(game), resolve(game)
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    with torch.no_grad():
        model.policy_head.weight.zero_()
        model.policy_head.bias.zero_()
        if favourite is not None:
            model.policy_head.bias[favourite] = 12.0
    path = tmp_path / f"{game}-{favourite}.pt"
    checkpoint.save_snapshot(path, spec.game_string, config.network, spec.encoder.shape, spec.num_actions, 0, [model])
    return str(path)


def test_sims_option_turns_a_policy_snapshot_into_a_search(tmp_path):
    spec = games.load("phantom_ttt")
    path = snapshot(tmp_path, "phantom_ttt")
    assert isinstance(load_bot(path, spec), PolicyBot)
    assert isinstance(load_bot(f"{path}@sims=10", spec), PolicyISMCTSBot)
    with pytest.raises(BotError, match="positive"):
        load_bot(f"{path}@sims=0", spec)


def test_the_prior_steers_the_search(tmp_path):
    """With the prior on the centre, every simulation goes there: OpenSpiel's own rule would first
    try all nine squares once, with 16 simulations leaving the centre barely ahead."""
    spec = games.load("phantom_ttt")
    centred, flat = snapshot(tmp_path, "phantom_ttt", favourite=4), snapshot(tmp_path, "phantom_ttt")
    state = spec.game.new_initial_state()
    firsts = {load_bot(f"{centred}@sims=16@seed={s}", spec).step(state) for s in range(5)}
    assert firsts == {4}
    policy, _ = load_bot(f"{flat}@sims=16@seed=0", spec).step_with_policy(state)
    assert sorted(a for a, _ in policy) == state.legal_actions()


@pytest.mark.parametrize("game", ["phantom_ttt", "kuhn_poker"])
def test_policy_search_plays_whole_games(tmp_path, game):
    spec = games.load(game)
    bot = load_bot(f"{snapshot(tmp_path, game)}@sims=20@seed=1", spec)
    for i in range(2):
        bots = [bot, RandomBot(2)] if i == 0 else [RandomBot(2), bot]
        returns = evaluate_bots.evaluate_bots(spec.game.new_initial_state(), bots, np.random.RandomState(i))
        assert sum(returns) == pytest.approx(0.0) and len(returns) == 2
