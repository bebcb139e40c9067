"""engine.players.ownership_of: a Go position's ownership map from a bot that offers one, or None."""
from __future__ import annotations

import numpy as np
import pyspiel
import torch

import games
from engine.config import NetworkConfig, default_config
from engine.nn import Evaluator, build
from engine.players import NeuralBot, RandomBot, ownership_of
from games import goboard, territory
from games.notation import go_action

GO5 = games.load("go(board_size=5,komi=0.5)")


class MapBot(RandomBot):
    """A player of its own that offers a map: Black owns columns A-C, White D-E."""

    def ownership(self, state: pyspiel.State) -> list[float]:
        return [1.0 if p % 5 < 3 else -1.0 for p in range(25)]


def position() -> pyspiel.State:
    state = GO5.game.new_initial_state()
    for vertex in ("B3", "C3", "B2", "E5"):  # White's C3 sits in Black's area on MapBot's map
        state.apply_action(go_action(vertex, 5))
    return state


def test_a_bot_offering_a_map_is_asked_and_the_others_give_none():
    state = position()
    owned = ownership_of(MapBot(), state)
    assert owned.dtype == np.float64 and owned.shape == (25,) and owned[0] == 1.0 and owned[24] == -1.0
    judged = territory.of_state(state, owned)
    assert judged.source == "the bot's ownership map" and judged.chains("dead") == [[go_action("C3", 5)]]
    assert judged.result == "B+0.5"  # B3 B2 against E5: the empty points reach both colours
    assert goboard.result_string(state) == "W+0.5"  # Tromp–Taylor keeps C3
    assert ownership_of(RandomBot(), state) is None and ownership_of(None, state) is None
    net = build(NetworkConfig(kind="resnet", channels=8, blocks=1, hidden=16), GO5.encoder.shape, GO5.num_actions)
    bot = NeuralBot(GO5, Evaluator([net], torch.device("cpu")), default_config("go9").search)
    assert ownership_of(bot, state) is None  # a network without an ownership head
