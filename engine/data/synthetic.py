"""Synthetic games shaped like real self-play, for benchmarks and tests of the trajectory store."""

from __future__ import annotations

import numpy as np
from engine.data.schema import StoreMeta, Trajectory


def go9_bench_meta() -> StoreMeta:
    """A go9-shaped meta for benchmarks: 18 binary planes of 9×9, 82 actions."""
    return StoreMeta(
        game_string="go(board_size=9,komi=7.5)",
        obs_shape=(18, 9, 9),
        obs_dtype="uint8",
        num_actions=82,
        num_players=2,
        encoder="bench-synthetic",
    )


def _go_like_planes(t: int, rng: np.random.Generator) -> np.ndarray:
    """AlphaGo-Zero-style planes for a random 9×9 game: 8 steps of history per colour, to-play, ones."""
    stones = np.zeros((t + 8, 2, 81), dtype=np.uint8)  # 8 leading empty boards stand for "before move 0"
    for i in range(t):
        board = stones[i + 7].copy()
        empty = np.flatnonzero(board.sum(axis=0) == 0)
        if len(empty):
            board[i % 2, rng.choice(empty)] = 1
        if rng.random() < 0.05:  # an occasional capture clears a few stones
            board[:, rng.integers(0, 81, 3)] = 0
        stones[i + 8] = board
    obs = np.zeros((t, 18, 81), dtype=np.uint8)
    for k in range(8):
        hist = stones[8 - k : 8 - k + t]  # board k moves ago, for every position
        obs[:, k] = hist[:, 0]
        obs[:, 8 + k] = hist[:, 1]
    obs[:, 16] = (np.arange(t) % 2)[:, None]
    obs[:, 17] = 1
    return obs.reshape(t, 18, 9, 9)


def synthetic_game(meta: StoreMeta, rng: np.random.Generator, length: int | None = None) -> Trajectory:
    """A random game shaped like real self-play: sparse binary planes, peaked visit policies."""
    t = int(length if length is not None else np.clip(rng.normal(80, 15), 20, 160))
    a, p = meta.num_actions, meta.num_players
    if meta.obs_shape == (18, 9, 9) and meta.obs_dtype == "uint8":
        obs = _go_like_planes(t, rng)
    elif meta.obs_dtype == "uint8":
        obs = (rng.random((t, *meta.obs_shape)) < 0.15).astype(np.uint8)
    else:
        obs = rng.standard_normal((t, *meta.obs_shape)).astype(np.float32)
    legal = rng.random((t, a)) < 0.7
    legal[:, -1] = True  # e.g. pass is always legal, so no row is empty
    # Visit counts concentrate on a handful of moves, like a few hundred simulations would.
    visits = rng.gamma(0.3, size=(t, a)) * legal
    policy = (visits / visits.sum(axis=1, keepdims=True)).astype(np.float32)
    action = np.array([rng.choice(np.flatnonzero(row)) for row in legal], dtype=np.int32)
    player = (np.arange(t) % p).astype(np.int8)
    outcome = rng.choice([-1.0, 1.0])
    returns = np.array([outcome if s == 0 else -outcome for s in range(p)], dtype=np.float32)
    ownership = score = None
    if meta.game_string.startswith("go("):  # Go games that end by the rules carry owners and a margin
        ownership = rng.choice(np.array([-1, 0, 1], np.int8), size=int(np.prod(meta.obs_shape[-2:])))
        score = float(ownership.sum()) - 7.5
    return Trajectory(
        obs=obs,
        legal=legal,
        policy=policy,
        action=action,
        player=player,
        target=rng.random(t) < 0.9,
        root_value=rng.uniform(-1, 1, t).astype(np.float32),
        returns=returns,
        participants=["bench:step-0"] * p,
        learner_step=0,
        ownership=ownership,
        score=score,
    )
