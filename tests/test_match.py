"""The match runner: seats alternate, results add up, and two snapshots both search batched."""
import torch

import games
from engine import checkpoint
from engine import config as cfg
from engine.networks import build
from league.match import play_match


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
