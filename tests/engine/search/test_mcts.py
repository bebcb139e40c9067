"""engine/search/mcts.py: batched PUCT search on real OpenSpiel games with a small untrained network.

Besides the direct checks (visit totals, legality, wins found, reuse, noise), every test walks the
trees with `check_tree`, which verifies the exact bookkeeping identities of the search:

* an edge (n, a) leads to a child c iff it has visits, and c's parent is n;
* k = N[n, a] - sum(N[c]) >= 1 is the number of simulations that ended at c (exactly 1 for an
  expanded non-terminal child without virtual loss), and
  W[n, a] == s * (k * value[c] + sum(W[c])), s = +1 if c's player is n's player, else -1;
  a virtual loss left behind would break this identity by a whole unit;
* |W| <= N on every edge, and illegal actions have neither visits nor children.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import games
from engine.config import SearchConfig
from engine.search import pipeline as pipeline_module
from engine.search.mcts import BatchedMCTS


def make_search(make_evaluator, name: str, num_trees: int = 1, seed: int = 0, capacity: int | None = None, **search):
    spec = games.load(name)
    config = dataclasses.replace(SearchConfig(), **search)
    mcts = BatchedMCTS(spec.encoder, spec.num_actions, make_evaluator(spec), config, num_trees,
                       np.random.default_rng(seed), capacity=capacity)
    return spec, mcts


def play(spec, actions):
    state = spec.game.new_initial_state()
    for a in actions:
        state.apply_action(a)
    return state


def subtree(m: BatchedMCTS, t: int) -> list[int]:
    nodes, frontier = [], [int(m.root[t])]
    while frontier:
        nodes += frontier
        kids = m.child[t, frontier].ravel()
        frontier = [int(k) for k in kids[kids >= 0]]
    return nodes


def expected_visits(m: BatchedMCTS, t: int, sims: int) -> int:
    """Root visits after `sims` more simulations on tree t, given how search makes room first."""
    if not m.expanded[t, m.root[t]]:
        return sims - 1  # a fresh root: its expansion is the first simulation
    return int(m.visit_counts(t).sum()) + sims  # compaction keeps the root's visits, if it must cut the tree


def check_tree(m: BatchedMCTS, t: int, deterministic: bool = True, exact: bool = True) -> int:
    """Verify the search identities over tree t's root subtree; returns its node count."""
    nodes = subtree(m, t)
    assert len(nodes) == len(set(nodes)), "a node is reachable twice"
    assert all(0 <= n < m.count[t] <= m.capacity for n in nodes)
    assert m.parent[t, m.root[t]] == -1
    for n in nodes:
        N, W, kids = m.N[t, n], m.W[t, n], m.child[t, n]
        assert (N >= 0).all()
        assert np.all(np.abs(W) <= N + 1e-4), f"|W| > N at node {n}"
        if m.terminal[t, n] or not m.expanded[t, n]:
            assert N.sum() == 0 and (kids < 0).all()
            continue
        legal = m.legal[t, n]
        assert np.array_equal(legal, np.asarray(m.states[t][n].legal_actions_mask(), bool))
        assert (N[~legal] == 0).all() and (kids[~legal] == -1).all(), "illegal action visited"
        # A tree cut by compaction keeps the visits of edges whose children it dropped.
        assert np.array_equal(kids >= 0, N > 0) or (m.cut[t] and ((kids >= 0) <= (N > 0)).all()), \
            "children and visits disagree"
        for a in np.flatnonzero(kids >= 0):
            c = int(kids[a])
            assert m.parent[t, c] == n
            assert m.terminal[t, c] or m.expanded[t, c], "a leaf was selected but never evaluated"
            k = N[a] - m.N[t, c].sum()
            assert k >= 1
            if not m.cut[t]:  # these identities count only visits the tree still holds
                if exact and not m.terminal[t, c]:
                    assert k == 1
                s = 1.0 if m.player[t, c] == m.player[t, n] else -1.0
                want = s * (k * m.value[t, c] + m.W[t, c].sum())
                assert W[a] == pytest.approx(want, abs=1e-3), f"W out of balance on edge ({n}, {a})"
            parent_h, child_h = m.states[t][n].history(), m.states[t][c].history()
            if deterministic:
                assert child_h == parent_h + [int(a)]
            else:  # chance outcomes may follow the action
                assert child_h[:len(parent_h) + 1] == parent_h + [int(a)]
    return len(nodes)


# ---- visit totals and legality ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_root_visits_sum_to_the_simulations(name, make_evaluator):
    spec, m = make_search(make_evaluator, name, num_trees=3, simulations=40)
    starts = [[], [0, 1], [2, 3, 4]]
    for t, actions in enumerate(starts):
        m.reset(t, play(spec, actions))
    sims = np.array([5, 17, 40])
    m.search(np.arange(3), sims)
    # The fresh root's expansion is the first simulation and leaves no root visit.
    assert [m.visit_counts(t).sum() for t in range(3)] == list(sims - 1)
    assert m.stats.simulations == sims.sum()
    m.search(np.arange(3), 7)  # a second search on the same roots adds exactly its simulations
    assert [m.visit_counts(t).sum() for t in range(3)] == list(sims - 1 + 7)
    for t in range(3):
        check_tree(m, t)


@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_illegal_actions_never_get_visits(name, make_evaluator):
    spec, m = make_search(make_evaluator, name, num_trees=2, simulations=60)
    if name == "tic_tac_toe":
        positions = [[4, 0, 8], [0, 1, 2, 4, 3, 5]]
    else:  # column 3 full in the second
        positions = [[3, 3, 3], [3, 3, 3, 3, 3, 3, 0]]
    for t, actions in enumerate(positions):
        m.reset(t, play(spec, actions))
    m.search(np.arange(2), 60)
    for t, actions in enumerate(positions):
        mask = np.asarray(play(spec, actions).legal_actions_mask(), bool)
        visits = m.visit_counts(t)
        assert visits.sum() == 59
        assert (visits[~mask] == 0).all()
        assert (m.P[t, m.root[t]][~mask] == 0).all()
        check_tree(m, t)


def test_search_of_a_terminal_root_is_a_no_op(make_evaluator):
    spec, m = make_search(make_evaluator, "tic_tac_toe", simulations=10)
    m.reset(0, play(spec, [0, 3, 1, 4, 2]))  # X has won
    m.search(np.array([0]), 10)
    assert m.visit_counts(0).sum() == 0 and m.stats.simulations == 0


def test_too_many_simulations_for_the_capacity_are_refused(make_evaluator):
    spec, m = make_search(make_evaluator, "tic_tac_toe", simulations=10)  # capacity 22
    m.reset(0, spec.game.new_initial_state())
    with pytest.raises(ValueError, match="capacity"):
        m.search(np.array([0]), 22)


def test_check_tree_catches_a_leftover_virtual_loss(make_evaluator):
    """The W identity is what the virtual-loss tests rely on: one unit left on an edge breaks it."""
    spec, m = make_search(make_evaluator, "tic_tac_toe", simulations=30)
    m.reset(0, spec.game.new_initial_state())
    m.search(np.array([0]), 30)
    check_tree(m, 0)
    a = int(m.visit_counts(0).argmax())
    m.W[0, m.root[0], a] -= 1.0
    with pytest.raises(AssertionError, match="out of balance"):
        check_tree(m, 0)


# ---- finding wins ----------------------------------------------------------------------------

WINS = {
    # (moves before, winning action): X to move wins at 2; then O to move wins at 5 (X played 8).
    "tic_tac_toe": [([0, 3, 1, 4], 2), ([0, 3, 1, 4, 8], 5)],
    # X stacks column 0, O column 1: X to move wins in 0; after X plays 6, O wins in 1.
    "connect_four": [([0, 1, 0, 1, 0, 1], 0), ([0, 1, 0, 1, 0, 1, 6], 1)],
}


@pytest.mark.parametrize("name", sorted(WINS))
def test_a_one_move_win_is_found_for_both_seats(name, make_evaluator):
    spec, m = make_search(make_evaluator, name, num_trees=2, simulations=200)
    for t, (actions, _) in enumerate(WINS[name]):
        state = play(spec, actions)
        assert state.current_player() == t  # seat 0, then seat 1
        m.reset(t, state)
    m.search(np.arange(2), 200)
    for t, (actions, win) in enumerate(WINS[name]):
        visits = m.visit_counts(t)
        assert int(visits.argmax()) == win, f"seat {t}: visits {visits}"
        assert visits[win] > 0.5 * visits.sum()
        assert m.q_values(t)[win] == pytest.approx(1.0)  # terminal returns back up exactly
        # The winning child is terminal and stores the mover's return.
        c = m.child[t, m.root[t], win]
        assert m.terminal[t, c] and m.value[t, c] == 1.0
        check_tree(m, t)



@pytest.mark.parametrize("name", sorted(WINS))
def test_win_check_puts_every_visit_of_a_tiny_search_on_the_win(name, make_evaluator):
    """search.win_check: the root's priors go to its winning moves, so 4 simulations suffice."""
    spec, m = make_search(make_evaluator, name, num_trees=2, simulations=4, win_check=True)
    for t, (actions, _) in enumerate(WINS[name]):
        m.reset(t, play(spec, actions))
    m.search(np.arange(2), 4)
    for t, (actions, win) in enumerate(WINS[name]):
        visits = m.visit_counts(t)
        assert visits[win] == visits.sum() == 3, f"seat {t}: visits {visits}"
        assert m.value[t, m.root[t]] == 1.0  # valued as won, not by the untrained network
        check_tree(m, t, exact=False)


@pytest.mark.parametrize("win_check", [True, False])
def test_win_check_values_a_move_that_hands_over_a_win_as_lost_after_one_visit(win_check, make_evaluator):
    """O has three in column 6 and X must block there: every other move lets O win at once."""
    spec, m = make_search(make_evaluator, "connect_four", simulations=40, win_check=win_check, fpu_reduction=0.0)
    m.reset(0, play(spec, [0, 6, 2, 6, 4, 6]))
    m.search(np.array([0]), 40)
    q, visits = m.q_values(0), m.visit_counts(0)
    others = [a for a in range(6) if visits[a] > 0]
    assert others, "the search never tried a move but the block"
    if win_check:
        assert all(q[a] == -1.0 for a in others), q  # each is lost after a single visit
        assert visits.argmax() == 6
    else:  # without it, each move's first visit brings the untrained network's guess into its mean
        assert not any(q[a] == -1.0 for a in others), q

# ---- tree reuse and compaction ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["tic_tac_toe", "connect_four"])
def test_advance_keeps_the_child_subtree(name, make_evaluator):
    spec, m = make_search(make_evaluator, name, simulations=60)
    m.reset(0, spec.game.new_initial_state())
    m.search(np.array([0]), 60)
    a = int(m.visit_counts(0).argmax())
    c = int(m.child[0, m.root[0], a])
    kept = m.N[0, c].copy()
    assert kept.sum() > 0
    m.advance(0, a)
    assert m.root[0] == c
    assert np.array_equal(m.visit_counts(0), kept)
    assert m.root_state(0).history() == [a]
    check_tree(m, 0)
    m.search(np.array([0]), 30)
    assert m.visit_counts(0).sum() == kept.sum() + 30
    check_tree(m, 0)


def test_without_reuse_advance_starts_a_fresh_tree(make_evaluator):
    spec, m = make_search(make_evaluator, "tic_tac_toe", simulations=30, reuse_tree=False)
    m.reset(0, spec.game.new_initial_state())
    m.search(np.array([0]), 30)
    m.advance(0, 4)
    assert m.visit_counts(0).sum() == 0 and m.count[0] == 1
    assert m.root_state(0).history() == [4]
    assert np.array_equal(m.root_x(0), spec.encoder.encode(play(spec, [4])))
    m.search(np.array([0]), 30)
    assert m.visit_counts(0).sum() == 29


def test_advance_to_an_unexplored_action_starts_fresh(make_evaluator):
    spec, m = make_search(make_evaluator, "tic_tac_toe", simulations=3)
    m.reset(0, spec.game.new_initial_state())
    m.search(np.array([0]), 3)  # 2 root visits: at most 2 children
    a = int(np.flatnonzero(m.child[0, m.root[0]] < 0)[0])
    m.advance(0, a)
    assert m.visit_counts(0).sum() == 0 and m.root_state(0).history() == [a]


def test_many_moves_with_reuse_compact_and_stay_consistent(make_evaluator):
    sims, n = 24, 4
    spec, m = make_search(make_evaluator, "connect_four", num_trees=n, seed=3, simulations=sims)
    rng = np.random.default_rng(0)
    for t in range(n):
        m.reset(t, spec.game.new_initial_state())
    compactions = finished = 0
    for _ in range(70):
        before = [expected_visits(m, t, sims) for t in range(n)]
        compactions += sum(m.count[t] + sims + 1 > m.capacity for t in range(n))
        m.search(np.arange(n), sims)
        for t in range(n):
            assert m.count[t] <= m.capacity
            assert m.visit_counts(t).sum() == before[t]
            check_tree(m, t)
            visits = m.visit_counts(t)
            a = int(rng.choice(len(visits), p=visits / visits.sum()))
            history = m.root_state(t).history()
            m.advance(t, a)
            assert m.root_state(t).history() == history + [a]
            if m.root_state(t).is_terminal():
                finished += 1
                m.reset(t, spec.game.new_initial_state())
    assert compactions > 20
    assert finished >= 2


def test_a_tree_too_big_for_its_arrays_is_cut_not_restarted(make_evaluator):
    spec, m = make_search(make_evaluator, "connect_four", simulations=10)  # room for 22 nodes
    m.reset(0, play(spec, [3]))
    for k in range(1, 6):
        m.search(np.array([0]), 10)
        assert m.visit_counts(0).sum() == 10 * k - 1  # every simulation after the root's expansion stays
        assert m.count[0] <= m.capacity
        check_tree(m, 0)
    assert m.cut[0]
    a = int(m.visit_counts(0).argmax())
    m.advance(0, a)
    m.reset(0, m.root_state(0))
    assert not m.cut[0]


# ---- virtual loss ------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 4, 8])
def test_leaves_per_tree_gives_the_same_totals_and_no_leftover_virtual_loss(k, make_evaluator):
    spec, m = make_search(make_evaluator, "connect_four", num_trees=3, seed=1, simulations=50, leaves_per_tree=k)
    _, plain = make_search(make_evaluator, "connect_four", num_trees=3, seed=1, simulations=50)
    starts = [[], [3, 3], [0, 1, 0, 1, 0, 1]]  # the last has a win for X: terminal leaves
    for t, actions in enumerate(starts):
        m.reset(t, play(spec, actions))
        plain.reset(t, play(spec, actions))
    sims = np.array([50, 37, 21])
    m.search(np.arange(3), sims)
    plain.search(np.arange(3), sims)
    for t in range(3):
        assert m.visit_counts(t).sum() == plain.visit_counts(t).sum() == sims[t] - 1
        check_tree(m, t, exact=False)
    assert m.stats.waves < plain.stats.waves  # several leaves per wave
    # A second search on the same trees, then a move with reuse, stay consistent.
    m.search(np.arange(3), 20)
    for t in range(3):
        assert m.visit_counts(t).sum() == sims[t] - 1 + 20
        check_tree(m, t, exact=False)
        m.advance(t, int(m.visit_counts(t).argmax()))
        if not m.root_state(t).is_terminal():
            check_tree(m, t, exact=False)


def test_virtual_loss_still_finds_the_win(make_evaluator):
    spec, m = make_search(make_evaluator, "tic_tac_toe", num_trees=2, simulations=200, leaves_per_tree=8)
    for t, (actions, _) in enumerate(WINS["tic_tac_toe"]):
        m.reset(t, play(spec, actions))
    m.search(np.arange(2), 200)
    for t, (_, win) in enumerate(WINS["tic_tac_toe"]):
        assert int(m.visit_counts(t).argmax()) == win
        check_tree(m, t, exact=False)


# ---- Dirichlet noise ---------------------------------------------------------------------------

def test_dirichlet_noise_only_when_asked(make_evaluator):
    spec, m = make_search(make_evaluator, "connect_four", num_trees=2, simulations=10, dirichlet_alpha=0.3)
    for t in range(2):
        m.reset(t, play(spec, [3]))
    m.search(np.array([0]), 10, noise=False)
    m.search(np.array([1]), 10, noise=True)
    p0, p1 = m.P[0, m.root[0]], m.P[1, m.root[1]]
    assert np.allclose(p0, p1)  # the stored network priors are the same, noise or not
    assert np.array_equal(m.root_prior[0], p0)
    noisy = m.root_prior[1].copy()
    assert not np.allclose(noisy, p1, atol=1e-3)
    assert noisy.sum() == pytest.approx(1.0, abs=1e-5)
    assert (noisy[~m.legal[1, m.root[1]]] == 0).all()
    # A reused tree gets fresh noise at each search; without noise the priors come back.
    m.search(np.array([1]), 10, noise=True)
    assert not np.allclose(m.root_prior[1], noisy)
    m.search(np.array([1]), 10, noise=False)
    assert np.array_equal(m.root_prior[1], m.P[1, m.root[1]])
    for t in range(2):
        check_tree(m, t)


def test_dirichlet_fraction_zero_means_no_noise(make_evaluator):
    spec, m = make_search(make_evaluator, "tic_tac_toe", simulations=10, dirichlet_fraction=0.0)
    m.reset(0, spec.game.new_initial_state())
    m.search(np.array([0]), 10, noise=True)
    assert np.array_equal(m.root_prior[0], m.P[0, m.root[0]])


# ---- chance nodes ------------------------------------------------------------------------------

CHANCE_GAME = "pig(winscore=10)"


def _chance_spec():
    try:
        spec = games.load(CHANCE_GAME)
    except games.GameError as e:
        pytest.skip(f"{CHANCE_GAME} cannot be loaded here: {e}")
    if spec.learner != "alphazero":
        pytest.skip(f"{CHANCE_GAME} is not servable by the search: {spec.learner_problem}")
    return spec


def test_a_game_with_chance_nodes_plays_to_the_end(make_evaluator):
    _chance_spec()
    n, sims = 4, 20
    spec, m = make_search(make_evaluator, CHANCE_GAME, num_trees=n, seed=5, simulations=sims)
    for t in range(n):
        m.reset(t, spec.game.new_initial_state())
    rng = np.random.default_rng(0)
    results = []
    for _ in range(400):
        live = [t for t in range(n) if not m.root_state(t).is_terminal()]
        if not live:
            break
        before = [expected_visits(m, t, sims) for t in live]
        m.search(np.array(live), sims)
        for t, b in zip(live, before):
            root = m.root_state(t)
            assert not root.is_chance_node()  # chance is stepped through, never a search root
            visits = m.visit_counts(t)
            assert visits.sum() == b
            assert (visits[~np.asarray(root.legal_actions_mask(), bool)] == 0).all()
            check_tree(m, t, deterministic=False)
            a = int(rng.choice(len(visits), p=visits / visits.sum()))
            m.advance(t, a)
            if m.root_state(t).is_terminal():
                results.append(m.root_state(t).returns())
    assert len(results) == n, "games did not finish"
    for r in results:
        assert sorted(r) == [-1.0, 1.0]


def test_chance_outcome_after_a_move_is_independent_of_the_search(make_evaluator):
    """In pig, the die after `roll` must bust (roll 1) 1/6 of the time, whatever the search saw.

    Position: P0 has 9 on the turn, P1 has banked 9, win score 10. A roll that does not bust lets
    P0 bank and win next move, so a search that sampled a good die loves `roll`; one that sampled
    a 1 does not. If the game then continues with the *searched* outcome, `roll` is chosen almost
    only when it does not bust.
    """
    _chance_spec()
    n = 200
    spec, m = make_search(make_evaluator, CHANCE_GAME, num_trees=n, seed=1, simulations=30)
    state = play(spec, [0, 0, 0, 5, 0, 2, 1, 0, 5, 0, 2])
    assert str(state).startswith("Scores: 0 9, Turn total: 9") and state.current_player() == 0
    for t in range(n):
        m.reset(t, state.clone())
    m.search(np.arange(n), 30)
    rolled = busted = 0
    for t in range(n):
        if int(m.visit_counts(t).argmax()) == 0:  # roll
            rolled += 1
            m.advance(t, 0)
            busted += m.root_state(t).current_player() == 1
    assert rolled >= 50
    # Binomial(rolled, 1/6): below 8% has probability < 1% for rolled >= 50.
    assert busted / rolled > 0.08, f"{busted} busts in {rolled} rolls"


# ---- Gumbel root search --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(WINS))
def test_gumbel_search_plays_the_win_and_its_policy_target_favours_it(name, make_evaluator):
    spec, m = make_search(make_evaluator, name, num_trees=2, simulations=32, root="gumbel")
    for t, (actions, _) in enumerate(WINS[name]):
        m.reset(t, play(spec, actions))
    m.search(np.arange(2), 32, noise=True)
    for t, (actions, win) in enumerate(WINS[name]):
        visits = m.visit_counts(t)
        assert visits.sum() == 31  # the root's own expansion is the first simulation
        legal = m.legal[t, m.root[t]]
        assert (visits[~legal] == 0).all()
        assert m.gumbel_action(t) == win
        policy = m.improved_policy(t)
        assert policy.sum() == pytest.approx(1.0) and (policy[~legal] == 0).all()
        assert int(policy.argmax()) == win
        check_tree(m, t)


def test_gumbel_considers_only_a_few_root_actions_at_low_simulations(make_evaluator):
    spec, m = make_search(make_evaluator, "go(board_size=5,komi=7.5)", num_trees=1, simulations=8, root="gumbel",
                          gumbel_considered=4)
    m.reset(0, spec.game.new_initial_state())
    m.search(np.array([0]), 8, noise=True)
    assert (m.visit_counts(0) > 0).sum() <= 4  # sequential halving spends visits on 4 candidates


def test_gumbel_rejects_virtual_loss(make_evaluator):
    with pytest.raises(ValueError, match="leaves_per_tree"):
        make_search(make_evaluator, "tic_tac_toe", root="gumbel", leaves_per_tree=4)


# ---- pipelined waves ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,streams,group,groups", [("tic_tac_toe", 1, 64, 2), ("connect_four", 1, 64, 2),
                                                      ("connect_four", 3, 64, 3), ("connect_four", 2, 8, 5)])
def test_pipelined_waves_search_as_one_batch_does(name, streams, group, groups, monkeypatch, make_evaluator):
    """Groups of the trees taking turns (network calls on worker threads; with more groups than
    streams, calls queue for a free stream) give each tree the same search as waves over all trees
    at once: a tree's simulations depend on its own arrays only."""
    monkeypatch.setattr(pipeline_module, "stream_count", lambda evaluator, trees: streams)
    monkeypatch.setattr(pipeline_module, "PIPELINE_GROUP", group)
    n = 40
    results = []
    for pipelined in (True, False):
        monkeypatch.setattr(pipeline_module, "PIPELINE_MIN_FLOPS", 0 if pipelined else float("inf"))
        spec, m = make_search(make_evaluator, name, num_trees=n, simulations=30)
        openings = [play(spec, [t % spec.num_actions]) for t in range(n)]
        for t, state in enumerate(openings):
            m.reset(t, state)
        m.search(np.arange(n), 30)
        m.search(np.arange(n), np.arange(n) % 7 + 1)  # uneven counts: groups finish apart
        for t in range(n):
            check_tree(m, t)
        results.append((np.stack([m.visit_counts(t) for t in range(n)]), m.stats.simulations, m.stats.evaluations))
        assert (m.pipeline is not None) == pipelined
        if pipelined:
            assert m.pipeline.streams.count == streams and m.pipeline.groups(n) == groups
        assert m._flops > 0  # counted from a real forward pass
    (v1, s1, e1), (v2, s2, e2) = results
    assert s1 == s2 and e1 == e2
    np.testing.assert_array_equal(v1, v2)

