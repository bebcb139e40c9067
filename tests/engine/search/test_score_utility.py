"""KataGo's static score utility (search.score_utility): the value search reads from a Go network with
the score head is (v + λ·E[(2/π)·atan(margin/√points)]) / (1 + λ) (engine/nn/inference.py), and the
terminal nodes of GoSearch carry the same mix of their exact margin (engine/search/go.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import games
from engine import config as cfg
from engine.nn import Evaluator, build, score_bins
from engine.nn.inference import score_utility_table
from engine.search import make_search
from engine.search.go import GoSearch

GO9 = games.load("go9")
SMALL = {"network": {"channels": 16, "blocks": 2, "hidden": 32}, "search": {"simulations": 8}}


def network(seed: int = 0, **search) -> tuple[torch.nn.Module, cfg.RunConfig]:
    config = cfg.resolve("go9", {**SMALL, "search": {**SMALL["search"], **search}})
    torch.manual_seed(seed)
    net = build(config.network, GO9.encoder.shape, GO9.num_actions, GO9.has_ownership).eval()
    with torch.no_grad():  # a score head that is far from uniform, so the utility term shows
        net.score_head[-1].bias.copy_(torch.linspace(-6.0, 6.0, net.score_head[-1].out_features))
    return net, config


def positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    state, rng, xs, legal = GO9.game.new_initial_state(), np.random.default_rng(0), [], []
    for _ in range(n):
        xs.append(GO9.encoder.encode(state))
        mask = np.zeros(GO9.num_actions, bool)
        mask[state.legal_actions()] = True
        legal.append(mask)
        state.apply_action(int(rng.choice(state.legal_actions()[:-1])))
    return np.stack(xs), np.stack(legal)


def expected_values(net: torch.nn.Module, x: np.ndarray, factor: float) -> np.ndarray:
    with torch.no_grad():
        heads = net.heads(torch.from_numpy(x).float())
    utility = torch.softmax(heads.score, -1) @ score_utility_table(81)
    return ((heads.value + factor * utility) / (1 + factor)).numpy()


def test_the_utility_of_a_margin_saturates_and_is_symmetric():
    table = score_utility_table(81)
    bins = score_bins(81)
    assert torch.all(table.abs() < 1) and torch.all(torch.diff(table) > 0)
    assert torch.allclose(table, -table.flip(0))  # the bins are symmetric about a margin of 0
    at = {float(b): float(u) for b, u in zip(bins, table)}
    assert at[0.5] == pytest.approx(2 / math.pi * math.atan(0.5 / 9))
    assert at[9.5] - at[0.5] > 5 * (at[80.5] - at[71.5])  # the first points count more than a rout's last


def test_the_search_value_mixes_in_the_expected_score_utility_and_follows_new_weights():
    net, _ = network()
    x, legal = positions(6)
    evaluator = Evaluator([net], torch.device("cpu"))
    plain = evaluator.evaluate(x[:1], legal[:1])[1]  # one position: float32
    evaluator.score_utility = 0.5
    mixed = evaluator.evaluate(x[:1], legal[:1])[1]
    assert mixed == pytest.approx(expected_values(net, x[:1], 0.5), abs=1e-4)
    assert abs(float(mixed[0] - plain[0])) > 1e-3
    batch = evaluator.evaluate(x, legal)[1]  # a batch: bfloat16 where the CPU has it
    assert batch == pytest.approx(expected_values(net, x, 0.5), abs=0.03)
    other, _ = network(seed=1)
    evaluator.load([other.state_dict()])
    assert evaluator.evaluate(x[:1], legal[:1])[1] == pytest.approx(expected_values(other, x[:1], 0.5), abs=1e-4)
    evaluator.score_utility = 0.0
    with torch.no_grad():
        assert evaluator.evaluate(x[:1], legal[:1])[1] == pytest.approx(other(torch.from_numpy(x[:1]).float())[1].numpy(),
                                                                        abs=1e-4)


def test_a_search_sets_its_utility_on_the_evaluator_and_terminal_nodes_carry_it():
    net, config = network(score_utility=0.4)
    evaluator = Evaluator([net], torch.device("cpu"))
    state = GO9.game.new_initial_state()
    for move in (20, 60, 81):  # Black C7, White G3, Black passes: White's pass ends the game
        state.apply_action(move)
    search = make_search(GO9.encoder, GO9.num_actions, evaluator, config.search, 1, np.random.default_rng(0))
    assert isinstance(search, GoSearch) and evaluator.score_utility == 0.4
    search.reset(0, state)
    search.search(np.array([0]), 8)
    node = search._expand_edges(np.array([0]), np.array([search.root[0]]), np.array([81]))[0]
    assert search.terminal[0, node]
    final = state.child(81)
    margin = final.returns()  # a tie of stones, komi 7.5 for White: White (the mover) wins by 7.5
    assert margin == [-1.0, 1.0]
    want = (1.0 + 0.4 * 2 / math.pi * math.atan(7.5 / 9)) / 1.4
    assert search.value[0, node] == pytest.approx(want, abs=1e-5)
    off = make_search(GO9.encoder, GO9.num_actions, evaluator, network()[1].search, 1, np.random.default_rng(0))
    assert evaluator.score_utility == 0.0
    off.reset(0, state)
    node = off._expand_edges(np.array([0]), np.array([off.root[0]]), np.array([81]))[0]
    assert off.value[0, node] == 1.0


def test_the_utility_is_refused_where_there_is_no_score_head():
    for game, values in (("connect_four", {}), ("go9", {"network": {"aux_heads": False}}),
                         ("go9", {"network": {"kind": "mlp"}})):
        with pytest.raises(cfg.ConfigError, match="score_utility") as refused:
            cfg.resolve(game, {**values, "search": {"score_utility": 0.1}})
        assert "\n" not in str(refused.value)
    with pytest.raises(cfg.ConfigError, match="negative"):
        cfg.resolve("go9", {"search": {"score_utility": -0.1}})
    assert cfg.resolve("go9", {"search": {"score_utility": 0.1}}).search.score_utility == 0.1
