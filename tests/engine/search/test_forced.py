"""KataGo's forced playouts and policy target pruning (engine/search/forced.py, search.forced_playouts):
the pruning on a hand-worked root, forced visits in real searches with a small real network, only
in noisy PUCT searches, and self-play's targets taken from the pruned counts."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import games
from engine.config import NetworkConfig, SearchConfig, default_config
from engine.nn import Evaluator, build
from engine.search.forced import forced_visits, pruned_visits
from engine.search.mcts import BatchedMCTS
from engine.train import SelfPlayActor


def test_pruning_a_hand_worked_root():
    """Visits [10, 4, 2, 0], priors [.5, .3, .1, .1], Q [.2, 0, -.5, -], k = 2, c_puct = 1.5.
    S = 16, so explore = 1.5 * sqrt(17) * P = [3.0923, 1.8554, 0.6185, 0.6185] and the best
    child's PUCT is 0.2 + 3.0923 / 11 = 0.48112.
    Child 1: forced sqrt(2 * .3 * 16) = 3.098 would leave 0.90, but its PUCT meets 0.48112 at
    1.8554 / 0.48112 - 1 = 2.856 visits: 3 (rounded up) remain.
    Child 2: forced sqrt(2 * .1 * 16) = 1.789 leaves 0.21, its PUCT stays below the best's all the
    way (0.6185 / 0.98112 - 1 < 0): 1 remains (rounded up), and a single visit is dropped.
    Target [10, 3, 0, 0] / 13; the best child and unvisited ones keep theirs."""
    n = np.array([10.0, 4.0, 2.0, 0.0])
    q = np.array([0.2, 0.0, -0.5, 0.0])
    prior = np.array([[0.5, 0.3, 0.1, 0.1]], np.float32)
    edges = np.stack([n, q * n, prior[0], np.ones(4)])[None].astype(np.float32)
    assert forced_visits(prior, 16.0, 2.0)[0, 1:3] == pytest.approx([3.098, 1.789], abs=1e-3)
    assert pruned_visits(edges, prior, np.array([2.0]), 1.5)[0].tolist() == [10.0, 3.0, 0.0, 0.0]
    assert pruned_visits(edges, prior, np.array([0.0]), 1.5)[0].tolist() == n.tolist()  # k = 0: untouched


def _skewed_evaluator(spec) -> Evaluator:
    """connect_four's small real network, its policy bias set so column 3 takes ~96% of the prior."""
    torch.manual_seed(0)
    net = build(NetworkConfig(channels=8, blocks=1, hidden=16), spec.encoder.shape, spec.num_actions)
    with torch.no_grad():
        net.policy_head[-1].bias.copy_(torch.tensor([0, 0, 0, 5.0, 0, 0, 0]))
    return Evaluator([net], torch.device("cpu"))


def _search(evaluator, spec, k: float, noise: bool = True, seed: int = 0, **search) -> BatchedMCTS:
    config = dataclasses.replace(SearchConfig(), simulations=200, forced_playouts=k, dirichlet_fraction=0.0, **search)
    m = BatchedMCTS(spec.encoder, spec.num_actions, evaluator, config, 2, np.random.default_rng(seed))
    for t in range(2):
        m.reset(t, spec.game.new_initial_state())
    m.search(np.arange(2), 200, noise=noise)
    return m


def test_low_prior_children_get_their_forced_visits_and_give_them_back():
    spec = games.load("connect_four")
    evaluator = _skewed_evaluator(spec)
    plain, forced = _search(evaluator, spec, 0.0), _search(evaluator, spec, 2.0)
    for m in (plain, forced):
        n, prior = m.visit_counts(0), m.root_prior[0]
        assert prior[3] > 0.9 and n.sum() == 199  # the root's expansion was the first simulation
        want = np.ceil(forced_visits(prior, n.sum() - 1, 2.0))  # owed by the last simulation
        assert (n >= want).all() == (m is forced), (n, want)
    # k = 0: the targets are the visits; k = 2: each low-prior child gives back its forced visits
    # (its PUCT bound does not bind here), no child gains, the best keeps all of its visits.
    assert np.array_equal(plain.target_visits(np.arange(2)), plain.N[np.arange(2), plain.root])
    n, target = forced.visit_counts(0), forced.target_visits(np.array([0]))[0]
    kept = np.ceil(n - forced_visits(forced.root_prior[0], n.sum(), 2.0))
    kept[kept <= 1] = 0
    kept[3] = n[3]
    assert np.array_equal(target, kept) and (target <= n).all() and target.sum() < n.sum()


def test_forced_playouts_only_in_noisy_puct_searches():
    """Play-time searches (no noise) and the Gumbel root (its own schedule) run as without the option."""
    spec = games.load("connect_four")
    evaluator = _skewed_evaluator(spec)
    for noise, root in ((False, "puct"), (True, "gumbel")):
        on, off = _search(evaluator, spec, 2.0, noise, root=root), _search(evaluator, spec, 0.0, noise, root=root)
        assert not on.forced_k.any()
        assert np.array_equal(on.N, off.N)


def test_a_config_with_forced_playouts_and_the_gumbel_root_is_refused_in_one_line():
    from engine.config import ConfigError, resolve

    with pytest.raises(ConfigError, match="forced_playouts needs search.root") as refused:
        resolve("go9", {"search": {"forced_playouts": 2.0, "root": "gumbel"}})
    assert "\n" not in str(refused.value)
    assert resolve("go9", {"search": {"forced_playouts": 2.0}}).search.forced_playouts == 2.0


def test_selfplay_targets_are_the_pruned_visits_and_k0_matches_plain_counts():
    """One move of every self-play game: each stored target is its root's pruned visits, normalised;
    with k = 0 the same seed stores the plain visit distribution."""
    spec = games.load("tic_tac_toe")
    stored = {}
    for k in (0.0, 2.0):
        config = default_config("tic_tac_toe")
        config.selfplay.concurrent_games = 8
        config.search.forced_playouts = k
        torch.manual_seed(0)
        net = build(config.network, spec.encoder.shape, spec.num_actions)
        actor = SelfPlayActor(spec, Evaluator([net], torch.device("cpu")), config, np.random.default_rng(1))
        actor.active = 8  # every game moves now, not an eighth of them as a fresh actor's do
        actor.step(lambda record: None)
        m = actor.mcts
        trees = np.arange(8)  # each tree's first root is node 0, still in its arrays after the move
        raw = m.N[trees, 0]
        pruned = pruned_visits(m.edges[trees, 0], m.root_prior[trees], m.forced_k[trees], config.search.c_puct)
        policy = np.stack([g.policy[0] for g in actor.games])
        assert np.allclose(policy.sum(1), 1.0) and (pruned <= raw).all()
        np.testing.assert_allclose(policy, pruned / pruned.sum(1, keepdims=True), atol=1e-6)
        stored[k] = (raw, policy)
    assert np.allclose(stored[0.0][1], stored[0.0][0] / stored[0.0][0].sum(1, keepdims=True))
    assert (stored[2.0][1] == 0).sum() > (stored[0.0][1] == 0).sum()  # pruning dropped children
