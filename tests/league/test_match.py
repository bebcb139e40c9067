"""The match runner: seats alternate, results add up, and two snapshots both search batched."""
import pyspiel
import torch

import games
from engine.nn import checkpoint
from engine import config as cfg
from engine.nn.networks import build
from league.match import play_match, play_table


def _snapshot(tmp_path, seed=0):
    config = cfg.resolve("tic_tac_toe", {"network": {"channels": 8, "blocks": 1, "hidden": 16}})
    spec = games.load("tic_tac_toe")
    torch.manual_seed(seed)
    net = build(config.network, spec.encoder.shape, spec.num_actions)
    path = tmp_path / f"net{seed}.pt"
    checkpoint.save_snapshot(path, spec.game_string, config.network, spec.encoder.shape, spec.num_actions, 0, [net])
    return spec, str(path)


def test_snapshot_against_snapshot_more_search_wins(tmp_path):
    spec, path = _snapshot(tmp_path)
    result = play_match(spec, f"{path}@sims=300", f"{path}@sims=1", 20, seed=3)
    assert result.games == 20 and len(result.lengths) == 20 and all(5 <= n <= 9 for n in result.lengths)
    # Deep search finds tic-tac-toe's tactics; one simulation plays the untrained prior.
    assert result.score > 0.7 and result.losses <= 2, result.as_dict()
    flipped = play_match(spec, f"{path}@sims=1", f"{path}@sims=300", 20, seed=3)
    assert flipped.score < 0.3, flipped.as_dict()


def test_snapshot_against_a_bot_and_bots_alone(tmp_path):
    spec, path = _snapshot(tmp_path, 1)
    result = play_match(spec, "minimax", f"{path}@sims=4", 10)
    assert result.losses == 0 and result.games == 10  # perfect play never loses
    bots = play_match(spec, "minimax", "random", 6)
    assert bots.losses == 0 and bots.wins >= 3 and sum(1 for r in bots.returns if r > 0) == bots.wins


def test_openings_make_deterministic_players_play_different_games(tmp_path):
    spec, path = _snapshot(tmp_path, 2)
    same = play_match(spec, f"{path}@sims=2", f"{path}@sims=2", 8, seed=1)
    assert len(set(same.returns[0::2])) == 1 and len(set(same.lengths[0::2])) == 1  # one game, repeated
    from league.match import opening
    starts = {tuple(opening(spec, i, 2, 5).history()) for i in range(0, 16, 2)}
    assert len(starts) > 4 and all(len(h) == 2 for h in starts)
    # Both games of a pair share their opening; seats swap.
    assert opening(spec, 6, 2, 5).history() == opening(spec, 7, 2, 5).history()
    varied = play_match(spec, f"{path}@sims=2", f"{path}@sims=2", 16, seed=1, opening_plies=2)
    assert varied.games == 16 and all(n >= 5 for n in varied.lengths)


def test_matches_and_tables_take_every_form_of_a_game(tmp_path):
    """A pyspiel.Game, a name or a GameSpec: each plays the same seeded games."""
    spec, path = _snapshot(tmp_path, 3)
    results = [play_match(form, f"{path}@sims=2", "random", 4, seed=5).returns
               for form in (spec, "tic_tac_toe", pyspiel.load_game("tic_tac_toe"))]
    assert results[0] == results[1] == results[2] and len(results[0]) == 4
    table = play_table(pyspiel.load_game("leduc_poker(players=3)"), ["random", "call", "raise"], 3, seed=1)
    assert table.games == 3 and all(abs(sum(r)) < 1e-9 for r in table.returns)


def test_a_learning_curve_spreads_its_points_back_from_the_newest_snapshot(tmp_path, monkeypatch):
    from engine import rundir
    from league.match import learning_curve

    monkeypatch.setenv("ARENA_HOME", str(tmp_path))
    config = cfg.resolve("tic_tac_toe", {"network": {"channels": 8, "blocks": 1, "hidden": 16},
                                         "search": {"simulations": 2}})
    spec = games.load("tic_tac_toe")
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    rundir.atomic_write_text(run_dir / "config.toml", cfg.dumps(config))
    net = build(config.network, spec.encoder.shape, spec.num_actions)
    for step in (0, 10, 20, 30):
        checkpoint.save_snapshot(checkpoint.snapshot_path(run_dir, step), spec.game_string, config.network,
                                 spec.encoder.shape, spec.num_actions, step, [net])
    steps = {points: [p["step"] for p in learning_curve("r", "random", 2, points)] for points in (1, 2, 4, 9)}
    assert steps == {1: [30], 2: [0, 30], 4: [0, 10, 20, 30], 9: [0, 10, 20, 30]}
