"""games.random_positions: real encoded positions a few random moves in, each with a player to move."""
from __future__ import annotations

import numpy as np

import games


def test_card_game_positions_are_past_the_deal_and_reproducible():
    spec = games.load("leduc_poker")  # starts with chance nodes (the deal), which no network reads
    x, legal = games.random_positions(spec, 30, seed=3, max_plies=5)
    assert x.shape == (30, *spec.encoder.shape) and legal.shape == (30, spec.num_actions)
    assert legal.any(axis=1).all()  # a player moves in each, with the game's distinct actions
    again, _ = games.random_positions(spec, 30, seed=3, max_plies=5)
    np.testing.assert_array_equal(x, again)
    assert len({row.tobytes() for row in x}) > 3  # different deals and histories
