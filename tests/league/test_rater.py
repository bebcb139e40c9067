"""The evaluator: required rating pairings for every pool member, fill games, the SPRT gate and bad
anchors, on a real run directory, ledger and snapshots."""
import json
import subprocess
import sys

import torch

import games
from engine.nn import checkpoint
from engine import rundir
from engine import config as cfg
from engine.nn.networks import build
from league import ladder
from league.rater import Rater, play_more
from league.ledger import Ledger
from league.pool import Pool
from league.ratings import RatingConfig


TINY = {"network": {"channels": 8, "blocks": 1, "hidden": 16}, "search": {"simulations": 4}}


def make_run(tmp_path, steps=(0, 10, 20), game="tic_tac_toe", name="r", overrides=TINY, **league):
    config = cfg.resolve(game, {**overrides, "league": {"anchors": ["random"], "eval_games": 4, **league}})
    spec = games.load(config.game)
    run_dir = tmp_path / name
    run_dir.mkdir()
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(config))
    for step in steps:
        torch.manual_seed(step)
        net = build(config.network, spec.encoder.shape, spec.num_actions)
        checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, step), spec.game_string, config.network,
                                 spec.encoder.shape, spec.num_actions, step, [net])
    return config, run_dir


def test_every_member_plays_its_neighbour_the_anchors_and_an_older_member(tmp_path):
    config, run_dir = make_run(tmp_path)
    pool = Pool(run_dir, 8)
    for step in (0, 10, 20):
        pool.add(step)
    ev = Rater(run_dir, config, seed=3)
    jobs = []
    while (job := ev.next_job(fill=False)) is not None:
        assert ev.run_job(job) is not None
        jobs.append(frozenset((job.a, job.b)))
        assert len(jobs) < 20
    assert jobs[0] == frozenset(("r:step-20", "random"))  # the newest member first
    pairs = Ledger.of_run(run_dir).pair_results(kinds=("rating",))
    wanted = {("r:step-20", "random"), ("r:step-20", "r:step-10"), ("r:step-20", "r:step-0"),
              ("r:step-10", "random"), ("r:step-10", "r:step-0"), ("r:step-0", "random")}
    for a, b in wanted:
        assert pairs[(a, b)].games == 4, (a, b)
    assert len(jobs) == len(wanted) and len(set(jobs)) == len(jobs)
    counts = Ledger.of_run(run_dir).counts()
    assert counts == {"rating": 24}
    # Fill games: the newest member against its least-played opponent, a round at a time.
    job = ev.next_job()
    assert job is not None and job.a == "r:step-20" and job.round == 1
    ev.run_job(job)
    assert Ledger.of_run(run_dir).counts()["rating"] == 28


def test_the_evaluator_process_waits_for_the_first_trained_snapshot(tmp_path):
    """Until the learner publishes past step 0 there is only the untrained network to rate, and its
    games would take the CPU from the self-play the learner waits for."""
    config, run_dir = make_run(tmp_path, steps=(0,))
    Pool(run_dir, 8).add(0)
    ev = Rater(run_dir, config)
    assert ev.next_job() is not None  # work there would be
    assert not ev.trained()
    spec = games.load(config.game)
    net = build(config.network, spec.encoder.shape, spec.num_actions)
    checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, 1), spec.game_string, config.network,
                             spec.encoder.shape, spec.num_actions, 1, [net])
    assert ev.trained()


def test_seats_alternate_and_uids_make_replays_idempotent(tmp_path):
    config, run_dir = make_run(tmp_path, steps=(0,))
    Pool(run_dir, 8).add(0)
    ev = Rater(run_dir, config)
    job = ev.next_job()
    ev.run_job(job)
    ev.run_job(job)  # the same job again (a restart that replays it): nothing new
    recorded = Ledger.of_run(run_dir).games(kinds=("rating",))
    assert len(recorded) == 4
    assert [g.players[0] for _, g in recorded] == ["r:step-0", "random", "r:step-0", "random"]


def test_a_bad_anchor_is_skipped_not_fatal(tmp_path):
    config, run_dir = make_run(tmp_path, steps=(0,), anchors=["mcts:abc", "random"])
    Pool(run_dir, 8).add(0)
    ev = Rater(run_dir, config)
    job = ev.next_job(fill=False)
    assert job.b == "mcts:abc"
    assert ev.run_job(job) is None
    assert "mcts:abc" in rundir.read_jsonl(run_dir / "evaluator.log")[-1]["error"]
    job = ev.next_job(fill=False)
    assert job is not None and job.b == "random"


def test_a_damaged_member_snapshot_is_set_aside_and_its_games_skipped(tmp_path, capfd):
    config, run_dir = make_run(tmp_path, steps=(0, 10))
    pool = Pool(run_dir, 8)
    for step in (0, 10):
        pool.add(step)
    path = checkpoint.snapshot_path(run_dir, 10)
    path.write_bytes(path.read_bytes()[:200])  # torn
    ev = Rater(run_dir, config)
    job = ev.next_job(fill=False)
    assert "r:step-10" in job.table and ev.run_job(job) is None
    assert not path.exists() and (path.parent / "quarantine" / path.name).exists()
    warning = capfd.readouterr().err.strip()
    assert warning.startswith("warning: ") and "step-0000010.pt" in warning and "\n" not in warning
    assert ev.run_job(ev.next_job(fill=False)) is not None  # the others play on


def test_gate_decides_and_only_accepted_snapshots_join(tmp_path):
    config, run_dir = make_run(tmp_path, steps=(0, 10), gate=True, gate_max_games=20)
    Pool(run_dir, 8).add(0)
    ev = Rater(run_dir, config)
    decided = None
    for _ in range(10):
        job = ev.next_job()
        if job is None or job.kind != "gating":
            break
        ev.run_job(job)
        log = [e for e in rundir.read_jsonl(run_dir / "evaluator.log") if "gate" in e]
        if log:
            decided = log[-1]
            break
    assert decided is not None and decided["games"] <= 20
    assert Pool(run_dir, 8).load().steps == ([0, 10] if decided["gate"] == "accept" else [0])
    assert Ledger.of_run(run_dir).counts().get("gating", 0) == decided["games"]
    assert ev.next_job() is None or ev.next_job().kind == "rating"  # step 10 is decided: no more gating


def test_an_empty_gated_pool_is_founded_by_the_latest_snapshot(tmp_path):
    config, run_dir = make_run(tmp_path, steps=(0, 10), gate=True)
    ev = Rater(run_dir, config)
    ev.next_job()
    assert Pool(run_dir, 8).steps == [10]


def test_play_more_thickens_every_pairing_after_the_required_ones(tmp_path):
    from league.rater import play_more
    config, run_dir = make_run(tmp_path, steps=(0, 10))
    pool = Pool(run_dir, 8)
    pool.add(0)
    pool.add(10)
    played = play_more(run_dir, 80)
    assert played >= 80
    pairs = Ledger.of_run(run_dir).pair_results(kinds=("rating",))
    newest = [pairs[("r:step-10", "random")].games, pairs[("r:step-10", "r:step-0")].games]
    older = pairs[("r:step-0", "random")].games
    # The newest member's pairings fill first (8 rounds of 4), then the rest of the ladder.
    assert newest == [32, 32] and older > 4 and sum(newest) + older == played


# ---- games of more than two players ------------------------------------------------------------


def make_leduc3_run(tmp_path, steps):
    """A 3-player poker run with `steps` in its pool; eval_games a multiple of the 3 seats."""
    config, run_dir = make_run(tmp_path, steps, game="leduc_poker3", name="p3", overrides={}, eval_games=6)
    pool = Pool(run_dir, 8)
    for step in steps:
        pool.add(step)
    return config, run_dir


def test_evaluator_of_a_three_player_run_seats_three(tmp_path):
    config, run_dir = make_leduc3_run(tmp_path, (0, 1))
    ev = Rater(run_dir, config, seed=1)
    job = ev.next_job(fill=False)
    # The newest member, its first wanted opponent (the anchor) and the member before it.
    assert job.table == ("p3:step-1", "random", "p3:step-0") and job.games == 6
    assert set(ev.run_job(job).mean_returns()) == set(job.table)  # ledger names, not snapshot paths
    ev.run_job(job)  # replayed after a restart: nothing new
    recorded = [g for _, g in Ledger.of_run(run_dir).games(kinds=("rating",))]
    assert len(recorded) == 6
    assert all(sorted(g.players) == ["p3:step-0", "p3:step-1", "random"] for g in recorded)
    assert all(abs(sum(g.returns)) < 1e-9 for g in recorded)
    # That one table also covered step-0's required pairing (random): nothing else is required.
    assert ev.next_job(fill=False) is None
    played = play_more(run_dir, 30)
    assert played >= 30
    ledger = Ledger.of_run(run_dir)
    assert not (run_dir / "evaluator.log").exists()  # no job failed
    ratings = ladder.ledger_ratings(ledger, RatingConfig(resamples=0))
    assert ratings.model == "plackett-luce" and {"p3:step-0", "p3:step-1", "random"} <= set(ratings.names)
    out = subprocess.run([sys.executable, "-m", "arena_cli", "ladder", "p3", "--resamples", "0", "--json"],
                         capture_output=True, text=True, env={"ARENA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         timeout=300)
    assert out.returncode == 0, out.stderr
    listed = {p["player"]: p["games"] for p in json.loads(out.stdout)["players"]}
    assert listed == {n: g for n, g in zip(ratings.names, ratings.games.tolist())}


def test_three_player_gate_scores_candidate_against_newest(tmp_path):
    config, run_dir = make_leduc3_run(tmp_path, (0,))
    config.league.gate = True
    config.league.gate_max_games = 12
    ev = Rater(run_dir, config, seed=1)
    spec = games.load("leduc_poker3")
    torch.manual_seed(5)
    net = build(config.network, spec.encoder.shape, spec.num_actions)
    checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, 5), spec.game_string, config.network,
                             spec.encoder.shape, spec.num_actions, 5, [net])
    job = ev.next_job()
    assert job.kind == "gating" and job.table == ("p3:step-5", "p3:step-0", "random") and job.games == 12
    ev.run_job(job)
    recorded = [g for _, g in Ledger.of_run(run_dir).games(kinds=("gating",))]
    assert len(recorded) == 12 and all(len(g.players) == 3 for g in recorded)
    assert ev.gate is None  # decided: at gate_max_games an undecided SPRT rejects
    assert 5 in ev.rejected or Pool(run_dir, 8).newest == 5
