"""`arena bench selfplay --ray ADDRESS`: self-play on Ray actors against the same number of local
actor processes, side by side in one run, and what crosses the network (bytes a game, bytes a
snapshot broadcast).

Both sides run the league's own actor (league/run/ray_backend.RemoteActor) on an untrained network
of the preset: the processes count the games they finish, the Ray actors hand theirs to this driver
by value, one call in flight each, as a league does. Both warm up until half their concurrent games
have turned over, then count the games finished in the timed window.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import time

import torch

import games
from engine import config as cfg
from engine.nn import Snapshot, build
from league.cluster import connect, import_ray
from league.run.ray_backend import RemoteActor


def _snapshot(spec, config: cfg.RunConfig) -> Snapshot:
    torch.manual_seed(config.seed)
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    weights = [{k: v.detach().cpu() for k, v in model.state_dict().items()}]
    return Snapshot(spec.game_string, config.network, tuple(spec.encoder.shape), spec.num_actions, 0, weights)


def _config(game: str, simulations: int | None) -> cfg.RunConfig:
    config = cfg.default_config(games.load(game).name)
    if simulations:
        config.search.simulations = simulations
    return config


def _process(game: str, simulations: int | None, index: int, seconds: float, barrier, results) -> None:
    config = _config(game, simulations)
    spec = games.load(game)
    actor = RemoteActor(cfg.to_dict(config), "bench", "main", index, 0, _snapshot(spec, config))
    warm = 0
    while warm < config.selfplay.concurrent_games // 2:
        warm += len(actor.play(config.cluster.play_seconds)[0])
    barrier.wait()
    start, count = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        count += len(actor.play(config.cluster.play_seconds)[0])
    results.put((count, time.monotonic() - start))


def _processes_rate(game: str, simulations: int | None, actors: int, seconds: float) -> float:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(actors), ctx.Queue()
    procs = [ctx.Process(target=_process, args=(game, simulations, i, seconds, barrier, results), daemon=True)
             for i in range(actors)]
    for p in procs:
        p.start()
    counts = [results.get(timeout=seconds + 600) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    return sum(60 * n / elapsed for n, elapsed in counts)


def _ray_rate(ray, game: str, simulations: int | None, actors: int, seconds: float) -> dict:
    config = _config(game, simulations)
    spec = games.load(game)
    snapshot = _snapshot(spec, config)
    ref = ray.put(snapshot)
    remote = ray.remote(RemoteActor).options(num_cpus=config.cluster.actor_cpus)
    handles = [remote.remote(cfg.to_dict(config), "bench", "main", i, 0, ref) for i in range(actors)]
    step = config.cluster.play_seconds
    warm = [0] * actors
    while min(warm) < config.selfplay.concurrent_games // 2:
        done = ray.get([h.play.remote(step) for h in handles])
        warm = [w + len(games_) for w, (games_, _) in zip(warm, done)]
    calls = {h.play.remote(step): h for h in handles}
    start, count, sizes = time.monotonic(), 0, []
    while time.monotonic() - start < seconds:
        ready, _ = ray.wait(list(calls), num_returns=1)
        handle = calls.pop(ready[0])
        finished, _ = ray.get(ready[0])
        count += len(finished)
        sizes += [len(pickle.dumps(g)) for g in finished[:4]]
        calls[handle.play.remote(step)] = handle
    elapsed = time.monotonic() - start
    for h in handles:
        ray.kill(h)
    return {"games_per_minute": 60 * count / elapsed, "bytes_per_game": sum(sizes) / max(len(sizes), 1),
            "bytes_per_snapshot": len(pickle.dumps(snapshot))}


def bench_selfplay_ray(game: str, address: str = "local", actors: int | None = None, seconds: float = 60.0,
                       simulations: int | None = None) -> dict:
    """Games a minute of `actors` Ray actors and of as many actor processes; their ratio."""
    games.require_learner(games.load(game))  # one line for a game no learner serves, before any process starts
    ray = import_ray()
    actors = actors or os.cpu_count() or 1
    processes = _processes_rate(game, simulations, actors, seconds)
    started = connect(ray, address)
    try:
        on_ray = _ray_rate(ray, game, simulations, actors, seconds)
    finally:
        if started:
            ray.shutdown()
    config = _config(game, simulations)
    return {"bench": "selfplay-ray", "game": games.load(game).name, "actors": actors, "address": address,
            "simulations_per_move": config.search.simulations, "concurrent_games": config.selfplay.concurrent_games,
            "play_seconds": config.cluster.play_seconds, "seconds": seconds,
            "processes_games_per_minute": round(processes, 1), "ray_games_per_minute": round(on_ray["games_per_minute"], 1),
            "ratio": round(on_ray["games_per_minute"] / processes, 3) if processes else None,
            "bytes_per_game": round(on_ray["bytes_per_game"]), "bytes_per_snapshot": on_ray["bytes_per_snapshot"],
            "ray": ray.__version__, "date": time.strftime("%Y-%m-%d")}
