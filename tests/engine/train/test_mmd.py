"""engine.train.mmd, engine.train.policy_actor, engine.train.exploitability and PolicyBot: real games, HDF5 and OpenSpiel."""
from __future__ import annotations

import numpy as np
import pyspiel
import pytest
import torch
from open_spiel.python import policy as openspiel_policy
from open_spiel.python.algorithms import exploitability as os_exploitability

import games
from engine.nn import checkpoint
from engine.players import PolicyBot, load_bot
from engine.config import resolve
from engine.train.exploitability import NashConv, supported
from engine.nn.inference import Evaluator
from engine.train.mmd import MMDLearner, behaviour, mmd_target, trail
from engine.nn.networks import build
from engine.train.policy_actor import PolicyActor
from engine.train.actor import store_meta
from engine.data import SegmentWriter, read_segment
from league.run import LeagueRun, prepare_run


def test_mmd_target_is_the_closed_form_step():
    log_pi = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    log_magnet = torch.log(torch.tensor([[1 / 3, 1 / 3, 1 / 3]]))
    q = torch.tensor([[0.0, 1.0, -1.0]])
    legal = torch.tensor([[True, True, True]])
    eta, alpha = 2.0, 0.1
    got = mmd_target(log_pi, log_magnet, q, legal, eta, alpha)[0].numpy()
    want = np.array([0.5, 0.25, 0.25]) * (1 / 3) ** (alpha * eta) * np.exp(eta * np.array([0.0, 1.0, -1.0]))
    want = want ** (1 / (1 + alpha * eta))
    np.testing.assert_allclose(got, want / want.sum(), rtol=1e-5)
    # Illegal actions get nothing, whatever the critic says of them.
    masked = mmd_target(log_pi, log_magnet, torch.tensor([[0.0, 9.0, 0.0]]), torch.tensor([[True, False, True]]),
                        eta, alpha)[0]
    assert masked[1] == 0 and abs(masked.sum() - 1) < 1e-6


@pytest.mark.parametrize("mix,floor", [(0.0, 0.0), (0.1, 0.0), (0.01, 0.3)])
def test_actors_play_the_behaviour_policy_but_store_no_floor_in_the_policy(mix, floor):
    """A network sure of one action: the stored behaviour mixes `exploration` of the uniform policy
    in and keeps every legal action at `exploration_floor` / |legal| at least; it is the network's
    policy when both are 0."""
    spec = games.load("leduc_poker")
    config = resolve("leduc_poker", {"selfplay": {"concurrent_games": 8},
                                     "mmd": {"exploration": mix, "exploration_floor": floor}})
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    with torch.no_grad():
        model.policy_head.bias[:] = torch.tensor([30.0] + [0.0] * (spec.num_actions - 1))  # all on fold
    actor = PolicyActor(spec, Evaluator([model]), config, np.random.default_rng(0))
    done = []
    while len(done) < 20:
        actor.step(done.append)
    policy = np.concatenate([d.policy for d in done])
    legal = np.concatenate([d.legal for d in done])
    own = Evaluator([model]).evaluate(np.concatenate([d.obs for d in done]), legal,
                                      np.concatenate([d.player for d in done]))[0]
    uniform = legal / legal.sum(1, keepdims=True)
    want = np.maximum((1 - mix) * own + mix * uniform, floor * uniform)
    np.testing.assert_allclose(policy, want / want.sum(1, keepdims=True), atol=1e-5)
    assert (policy[~legal] == 0).all()
    np.testing.assert_allclose(policy.sum(1), 1.0, atol=1e-5)
    if floor:
        # Raising actions to the floor adds at most `floor` in all, so renormalizing keeps each
        # at floor / (1 + floor) of its uniform share at least.
        assert (policy[legal] >= (floor * uniform / (1 + floor))[legal] - 1e-6).all()
        folds = legal[:, 0]
        assert (policy[folds, 0] > 0.5).all()  # the floor raises the others without flattening fold


def test_the_magnet_trails_the_policy_by_a_share_of_the_gap():
    spec, config = games.load("leduc_poker"), resolve("leduc_poker")
    torch.manual_seed(0)
    magnet, model = (build(config.network, spec.encoder.shape, spec.num_actions) for _ in range(2))
    before = {k: v.clone() for k, v in magnet.state_dict().items()}
    trail(magnet, model, 0.25)
    for key, value in magnet.state_dict().items():
        assert torch.allclose(value, before[key] + 0.25 * (model.state_dict()[key] - before[key]), atol=1e-6)
    for _ in range(200):
        trail(magnet, model, 0.25)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(magnet.state_dict().values(), model.state_dict().values()))


def test_the_floor_only_raises_what_falls_below_it():
    probs = torch.tensor([[0.70, 0.29, 0.01], [0.5, 0.5, 0.0]])
    legal = torch.tensor([[True, True, True], [True, True, False]])
    got = behaviour(probs, legal, 0.0, 0.06)  # floor: 2% of each action where all 3 are legal
    assert got[0, 2] > 0.0195 and abs(got[0, 0] / got[0, 1] - 0.70 / 0.29) < 1e-5  # the others keep their ratio
    assert torch.equal(got[1], probs[1])  # above the floor everywhere: untouched
    mixed = behaviour(probs, legal, 0.3, 0.0)
    torch.testing.assert_close(mixed[0], 0.7 * probs[0] + 0.1)


def test_nash_conv_matches_openspiel_on_a_uniform_network():
    spec = games.load("kuhn_poker")
    model = build(resolve("kuhn_poker").network, spec.encoder.shape, spec.num_actions)
    for p in model.parameters():
        torch.nn.init.zeros_(p)  # zero logits everywhere: the uniform policy
    want = os_exploitability.nash_conv(spec.game, openspiel_policy.UniformRandomPolicy(spec.game))
    assert NashConv(spec)([model]) == pytest.approx(want, abs=1e-9)
    assert supported(games.load("leduc_poker")) and not supported(games.load("holdem_limit"))
    assert not supported(games.load("leduc_poker3"))


def test_policy_actor_stores_what_the_mover_knew(tmp_path):
    spec = games.load("leduc_poker")
    config = resolve("leduc_poker", {"selfplay": {"concurrent_games": 16}})
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    actor = PolicyActor(spec, Evaluator([model]), config, np.random.default_rng(0))
    done = []
    while len(done) < 40:
        actor.step(done.append)
    g = done[0]
    assert g.obs.shape == (len(g.action), *spec.encoder.shape)
    np.testing.assert_allclose(g.policy.sum(1), 1, atol=1e-5)
    assert (g.policy[~g.legal] == 0).all() and g.legal[np.arange(len(g.action)), g.action].all()
    assert abs(g.returns.sum()) < 1e-6  # zero-sum chips
    assert set(np.unique(np.concatenate([d.player for d in done]))) == {0, 1}
    with SegmentWriter(tmp_path, "t", store_meta(spec)) as writer:
        for d in done:
            writer.add(d)
    seg = read_segment(next(tmp_path.glob("*.h5")))
    assert seg.num_games == len(done) >= 40 and seg.num_positions == sum(len(d) for d in done)


def test_policy_bot_provides_its_policy_to_openspiel(tmp_path):
    spec = games.load("kuhn_poker")
    config = resolve("kuhn_poker")
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    path = tmp_path / "snap.pt"
    checkpoint.save_snapshot(path, spec.game_string, config.network, spec.encoder.shape, spec.num_actions, 0, [model])
    bot = load_bot(str(path), spec)
    assert isinstance(bot, PolicyBot) and bot.provides_policy()
    state = spec.game.new_initial_state()
    state.apply_action(0)
    state.apply_action(1)
    policy, action = bot.step_with_policy(state)
    assert sorted(a for a, _ in policy) == state.legal_actions() and action in state.legal_actions()
    assert sum(p for _, p in policy) == pytest.approx(1.0)
    returns = pyspiel.evaluate_bots(spec.game.new_initial_state(), [bot, load_bot("random", spec)], 1)
    assert len(returns) == 2 and sum(returns) == pytest.approx(0.0)
    with pytest.raises(games.GameError, match="imperfect information"):
        games.require_alphazero(spec)


def test_league_run_lowers_kuhn_nash_conv_and_resumes(tmp_path, monkeypatch):
    """A short inline run (one process, seeded): NashConv falls well below the uniform policy's,
    it is logged, and a second session continues the step count with the same learner state."""
    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    overrides = {"actors": 0, "seed": 3, "mmd": {"positions_per_update": 5000}}
    config, run_dir, resumed = prepare_run("kuhn_poker", None, "k", overrides)
    assert not resumed and config.train.snapshot_every == 1
    progress = LeagueRun(config, run_dir).run(steps=12)
    assert progress.step == 12
    log = [line for line in (run_dir / "exploitability.jsonl").read_text().splitlines() if line]
    assert log and progress.nash_conv["step"] <= 12
    uniform = os_exploitability.nash_conv(games.load("kuhn_poker").game,
                                          openspiel_policy.UniformRandomPolicy(games.load("kuhn_poker").game))
    first = NashConv(games.load("kuhn_poker"))(
        checkpoint.load_snapshot(checkpoint.snapshot_path(run_dir, 0)).build_models())
    snap = checkpoint.load_snapshot(checkpoint.snapshot_path(run_dir, 12))
    last = NashConv(games.load("kuhn_poker"))(snap.build_models())
    assert last < 0.5 * uniform and last < first
    # the output policy (the magnet, which bots play) trails the iterates but has left uniform too
    assert snap.output is not None and "iterate_nash_conv" in progress.nash_conv
    assert NashConv(games.load("kuhn_poker"))(snap.build_models(output=True)) < 0.8 * uniform
    config2, _, resumed = prepare_run("kuhn_poker", None, "k", {})
    assert resumed
    learner = MMDLearner(games.load("kuhn_poker"), config2, run_dir)
    assert learner.resume() and learner.step == 12
    again = LeagueRun(config2, run_dir).run(steps=2)
    assert again.step == 14


def test_old_segments_are_pruned_but_each_writers_newest_stays(tmp_path):
    spec = games.load("kuhn_poker")
    config = resolve("kuhn_poker", {"selfplay": {"concurrent_games": 8}, "train": {"window": 30}})
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    actor = PolicyActor(spec, Evaluator([model]), config, np.random.default_rng(1))
    learner = MMDLearner(spec, config, tmp_path)
    store = tmp_path / "trajectories"
    writers = {name: SegmentWriter(store, name, store_meta(spec), max_games=5) for name in ("actor-0", "actor-1")}
    done = []
    while len(done) < 60:
        actor.step(done.append)
    for i, record in enumerate(done[:50]):  # actor-1 writes its only segment first, then stops
        writers["actor-1" if i < 5 else "actor-0"].add(record)
    first = sorted(p.name for p in store.glob("*.h5"))
    learner.refresh()
    kept = sorted(p.name for p in store.glob("*.h5"))
    assert len(kept) < len(first)
    assert "traj-actor-1-000000.h5" in kept  # the idle writer's newest (and only) segment
    assert max(first) in kept  # actor-0's newest
    assert sum(learner.window.segment_positions(store / n) for n in kept) >= 2 * config.train.window
    for record in done[50:]:
        writers["actor-0"].add(record)  # new segments after a prune are read, not mistaken as seen
    writers["actor-0"].close()
    assert learner.refresh() == sum(len(r) for r in done[50:])
