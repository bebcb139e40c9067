"""Benchmarks behind `arena bench` of search, self-play and the learner, as JSON-able dicts.

- mcts: simulations/s of BatchedMCTS with the preset's default network (untrained weights: speed
  does not depend on them), in one process and in the league's actor processes side by side; the
  same network's raw batched forward throughput at the same batch sizes (the ceiling); their
  ratio; and OpenSpiel's python MCTSBot driven by the same network one position at a time.
  A simulation that ends on a terminal node costs no network call, so simulations/s can pass
  the ceiling (go9's early passes, connect_four's wins); network evaluations/s cannot, and their
  ratio to the ceiling is the search's efficiency.
- selfplay: finished games per minute of the self-play actor at a given simulation count.
- learner: a learner step's time against the time its batch takes (sampling and augmentation).
"""
from __future__ import annotations

import dataclasses
import os
import platform
import queue
import time

import numpy as np
import torch

import games
from engine.config import default_config, read_toml, resolve
from engine.nn import Evaluator, NetworkStreams, build, default_device, low_precision
from engine.search import BatchedMCTS, make_search
from engine.train import SelfPlayActor, pick_action
from games import random_positions


def _cpu_model() -> str:
    """The CPU's model name (platform.processor() is empty on Linux), else its architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host() -> dict:
    """Where a figure was measured, and the precision batched network calls ran in there (bfloat16
    where the CPU has AMX or AVX512_BF16, or on a CUDA GPU), and oneDNN's ISA cap when one is set."""
    batched = low_precision(default_device()) or torch.float32
    return {"device": str(default_device()), "threads": torch.get_num_threads(), "cpu": _cpu_model(),
            "precision": str(batched).removeprefix("torch."), "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
            **({"onednn_max_cpu_isa": cap} if (cap := os.environ.get("ONEDNN_MAX_CPU_ISA")
                                                or os.environ.get("DNNL_MAX_CPU_ISA")) else {})}


def _evaluator(spec, config, onnxruntime: bool = False) -> Evaluator:
    torch.manual_seed(config.seed)
    model = build(config.network, spec.encoder.shape, spec.num_actions)
    return Evaluator([model], default_device(), onnxruntime=onnxruntime, int8=onnxruntime and config.selfplay.int8)


def raw_throughput(evaluator: Evaluator, spec, batch: int, seconds: float,
                   streams: NetworkStreams | None = None) -> float:
    """Positions/s of the network alone on real encodings of random positions at one batch size;
    with `streams`, one call per stream side by side, as pipelined search makes them."""
    x, mask = random_positions(spec, batch)
    evaluator.evaluate(x, mask)
    start = time.perf_counter()
    stop = start + seconds

    def loop() -> int:
        n = 0
        while time.perf_counter() < stop:
            evaluator.evaluate(x, mask)
            n += batch
        return n

    if streams is None:
        n = loop()
    else:
        n = sum(f.result() for f in [streams.submit(loop) for _ in range(streams.count)])
    return n / (time.perf_counter() - start)


class _NetEvaluator:
    """Our network as an evaluator of OpenSpiel's python MCTS, one position per call.

    Like OpenSpiel's AlphaZeroEvaluator it caches the last result, so value() and prior() of one
    expansion cost a single forward pass.
    """

    def __init__(self, spec, evaluator: Evaluator) -> None:
        self.spec, self.evaluator = spec, evaluator
        self._last: tuple[str, tuple[np.ndarray, float]] | None = None

    def _run(self, state):
        key = state.serialize()
        if self._last is None or self._last[0] != key:
            x = self.spec.encoder.encode(state)[None]
            mask = np.asarray(state.legal_actions_mask(), bool)[None]
            priors, values = self.evaluator.evaluate(x, mask)
            self._last = (key, (priors[0], float(values[0])))
        return self._last[1]

    def evaluate(self, state):
        _, v = self._run(state)
        p = state.current_player()
        return np.array([v if i == p else -v for i in range(2)])

    def prior(self, state):
        priors, _ = self._run(state)
        return [(a, float(priors[a])) for a in state.legal_actions()]


def openspiel_mcts_rate(spec, evaluator: Evaluator, simulations: int, seconds: float) -> float:
    from open_spiel.python.algorithms import mcts

    bot = mcts.MCTSBot(spec.game, 1.5, simulations, _NetEvaluator(spec, evaluator), solve=False,
                       random_state=np.random.RandomState(0))
    state = spec.game.new_initial_state()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        action = bot.step(state)
        done += simulations
        state.apply_action(action)
        if state.is_terminal():
            state = spec.game.new_initial_state()
    return done / (time.perf_counter() - start)


def alphazero_game(game: str, bench: str) -> games.GameSpec:
    """A game our search and self-play serve; for any other (poker, phantom games, 3 players) one
    line saying so, before OpenSpiel meets a chance node or hidden state in the search."""
    try:
        return games.require_alphazero(games.load(game))
    except games.GameError as exc:
        raise games.GameError(f"arena bench {bench} measures the AlphaZero search and self-play, which serve "
                              f"2-player perfect-information games only: {exc} (`arena bench learner --game "
                              f"{game}` measures its learner)") from None


def _search_setup(game: str, trees: int | None, simulations: int | None, seed: int = 0,
                  config_file: str | None = None, onnxruntime: bool = False):
    """The preset's spec, config, evaluator and a search of `trees` trees (default: the preset's
    concurrent games), or those of a run's TOML config; `_start` puts the trees at the initial state.
    `onnxruntime`: the evaluator as a league actor's (engine.nn.Evaluator)."""
    spec = alphazero_game(game, "mcts")
    config = resolve(spec.name, read_toml(config_file)) if config_file else default_config(spec.name)
    spec = spec.with_liberties(config.network.liberties)
    if simulations:
        config.search.simulations = simulations
    trees = trees or config.selfplay.concurrent_games
    evaluator = _evaluator(spec, config, onnxruntime)
    search = make_search(spec.encoder, spec.num_actions, evaluator, config.search, trees,
                         np.random.default_rng(seed))
    return spec, config, evaluator, search


def _self_play_search(search: BatchedMCTS, spec, config, seconds: float) -> tuple[int, int, float]:
    """Simulations run, network evaluations made and seconds taken searching as self-play does
    (search all trees, play a sampled move in each, restart finished games) until `seconds` have passed."""
    trees = np.arange(search.num_trees)
    sims0, evals0, start = search.stats.simulations, search.stats.evaluations, time.perf_counter()
    while time.perf_counter() - start < seconds:
        search.search(trees, config.search.simulations, noise=True)
        for t in trees.tolist():
            search.advance(t, pick_action(search.visit_counts(t), 1.0, search.rng))
            if search.root_state(t).is_terminal():
                search.reset(t, spec.game.new_initial_state())
    return search.stats.simulations - sims0, search.stats.evaluations - evals0, time.perf_counter() - start


def _start(search: BatchedMCTS, spec) -> None:
    for t in range(search.num_trees):
        search.reset(t, spec.game.new_initial_state())
    # Warm-up: the first call in each precision traces the network (single positions run when a
    # finished game's new root is evaluated alone).
    search.search(np.arange(search.num_trees), 2)
    search.evaluator.warm(search.root_x(0), search.legal[0, search.root[0]])


def _ceiling_batches(search: BatchedMCTS) -> list[int]:
    """The batch sizes the search's network calls have: all trees, half of them, or one group of
    pipelined waves."""
    trees = search.num_trees
    batches = {trees, max(1, trees // 2)}
    if search.pipeline is not None:
        batches.add(trees // search.pipeline.groups(trees))
    return sorted(batches)


def _actor_process(game: str, trees: int | None, simulations: int | None, seed: int, rounds: int,
                   seconds: float, barrier, results, config_file: str | None = None) -> None:
    """One of `arena bench mcts`'s actor processes: one torch thread and onnxruntime, like a league actor. Rounds
    of searching and of running the network alone, in step with the other actors (`barrier`), so
    that both figures are for the whole machine busy at once."""
    torch.set_num_threads(1)
    spec, config, evaluator, search = _search_setup(game, trees, simulations, seed, config_file, onnxruntime=True)
    _start(search, spec)
    batches = _ceiling_batches(search)
    sims, evals, search_seconds, raw = 0, 0, [], dict.fromkeys(batches, 0.0)
    for _ in range(rounds):
        barrier.wait()
        start = time.perf_counter()
        n, e, _ = _self_play_search(search, spec, config, seconds)
        sims, evals = sims + n, evals + e
        barrier.wait()  # the round lasts until the slowest actor's search has returned
        search_seconds.append(time.perf_counter() - start)
        for batch in batches:
            raw[batch] += raw_throughput(evaluator, spec, batch, seconds / len(batches)) / rounds
    results.put((sims, evals, search_seconds, raw, evaluator.int8_checks))


def machine_search_rate(game: str, processes: int, seconds: float, trees: int | None = None,
                        simulations: int | None = None, rounds: int = 5, config_file: str | None = None) -> dict:
    """Simulations/s of `processes` actor processes searching side by side, as a league's actors
    do (one torch thread each), against the network alone in the same processes at once (the
    machine's ceiling for that setup). Each round counts from the moment all actors start to the
    moment the last one stops, so an actor that finishes early counts as idle."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_actor_process, daemon=True,
                         args=(game, trees, simulations, seed, rounds, seconds / rounds, barrier, results,
                               config_file))
             for seed in range(processes)]
    for p in procs:
        p.start()
    outs = []
    while len(outs) < processes:
        try:
            outs.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:  # the others would wait at the barrier for ever
                for p in procs:
                    p.kill()
                raise RuntimeError(f"a bench actor process died (exit code {dead[0]}); see its error above")
    for p in procs:
        p.join()
    sims, evals = sum(o[0] for o in outs), sum(o[1] for o in outs)
    wall = sum(max(o[2][r] for o in outs) for r in range(rounds))
    raw = {b: sum(o[3][b] for o in outs) for b in outs[0][3]}
    best = max(raw, key=raw.get)
    return {"processes": processes, "simulations_per_second": sims / wall, "evaluations_per_second": evals / wall,
            "raw_batch": best, "raw_forward_positions_per_second": raw[best],
            # selfplay.int8: int8 against float32 at each actor's last quantization, and whether it ran
            **({"int8_checks": [c for o in outs for c in o[4]]} if outs[0][4] else {})}


def bench_mcts(game: str, seconds: float = 10.0, trees: int | None = None, simulations: int | None = None,
               processes: int | None = None, config_file: str | None = None) -> dict:
    """Our search against the network's raw throughput and against OpenSpiel's MCTSBot.

    Two setups: one process on all torch threads (how `arena play` and the evaluator search), and
    `processes` single-threaded actor processes side by side (how a league's actors search; by
    default one per core). `simulations_per_second` and `ratio_to_raw` are the machine's: the
    better of the two setups, against the best the network alone did in either. The speed-up over
    OpenSpiel compares one process with one process.
    """
    spec, config, evaluator, search = _search_setup(game, trees, simulations, config_file=config_file)
    trees = search.num_trees
    # OpenSpiel's search first, in a process no other thread has run torch in yet: a second thread
    # with its own torch thread team slows every later batch-1 call on this one by half (2 cores).
    theirs = openspiel_mcts_rate(spec, evaluator, config.search.simulations, min(seconds, 10.0))
    _start(search, spec)
    # The ceiling: the network's best throughput at any batch size the search's calls have, one
    # call at a time on all threads or one call per thread side by side, whichever is faster,
    # whether or not the search itself pipelines.
    threads = torch.get_num_threads()
    pipelined = search.pipeline.streams if search.pipeline is not None else None
    streams = pipelined if pipelined is not None and pipelined.count == threads else None
    if streams is None and threads > 1 and evaluator.device.type == "cpu":
        streams = NetworkStreams(threads)
    setups = [(b, s) for b in _ceiling_batches(search) for s in ([None, streams] if streams else [None])]
    raw_rates = dict.fromkeys(setups, 0.0)
    # Search and the raw forward pass are timed in alternating slices, so a machine whose speed
    # drifts (shared cores) affects both sides of the ratio alike.
    rounds = 5
    search_sims = search_evals = search_time = 0.0
    for _ in range(rounds):
        n, e, elapsed = _self_play_search(search, spec, config, seconds / rounds)
        search_sims, search_evals = search_sims + n, search_evals + e
        search_time += elapsed
        for batch, s in setups:
            raw_rates[batch, s] += raw_throughput(evaluator, spec, batch, seconds / rounds / len(setups), s) / rounds
    best = max(raw_rates, key=raw_rates.get)
    ours, raw = search_sims / search_time, raw_rates[best]
    one_call = max(rate for (_, s), rate in raw_rates.items() if s is None)  # the ceiling before streams
    one = {"simulations_per_second": ours, "evaluations_per_second": search_evals / search_time,
           "network_streams": search.pipeline.streams.count if search.pipeline else 1,
           "raw_forward_positions_per_second": raw, "raw_batch": best[0],
           "raw_streams": best[1].count if best[1] else 1, "ratio_to_raw": ours / raw,
           "raw_one_call_positions_per_second": one_call, "ratio_to_one_call": ours / one_call}
    processes = config.actors if processes is None else processes
    actors = machine_search_rate(game, processes, seconds, trees, simulations, config_file=config_file) if processes > 1 else None
    setups = [one] + ([actors] if actors else [])
    machine = max(setups, key=lambda r: r["simulations_per_second"])
    ceiling = max(setups, key=lambda r: r["raw_forward_positions_per_second"])
    rate, raw_best = machine["simulations_per_second"], ceiling["raw_forward_positions_per_second"]
    return {"bench": "mcts", "game": spec.name, "network": dataclasses.asdict(config.network),
            "simulations_per_move": config.search.simulations, "trees": trees, "search": type(search).__name__,
            "simulations_per_second": round(rate, 1), "search_setup": "actors" if machine is actors else "one process",
            "raw_forward_positions_per_second": round(raw_best, 1), "raw_batch": ceiling["raw_batch"],
            "raw_setup": "actors" if ceiling is actors else f"{one['raw_streams']} stream(s)",
            "ratio_to_raw": round(rate / raw_best, 3),
            "evaluations_per_second": round(machine["evaluations_per_second"], 1),
            "evaluation_ratio_to_raw": round(machine["evaluations_per_second"] / raw_best, 3), "one_process": _rounded(one),
            "actors": actors and _rounded(actors),
            "openspiel_mcts_simulations_per_second": round(theirs, 1),
            "speedup_vs_openspiel": round(ours / theirs, 1), **host()}


def _rounded(figures: dict) -> dict:
    """Rates to 0.1, ratios to 0.001."""
    return {k: round(v, 3 if k.startswith("ratio") else 1) if isinstance(v, float) else v for k, v in figures.items()}


def bench_selfplay(game: str, simulations: int | None = None, seconds: float = 60.0,
                   concurrent_games: int | None = None) -> dict:
    spec = alphazero_game(game, "selfplay")
    config = default_config(spec.name)
    if simulations:
        config.search.simulations = simulations
    if concurrent_games:
        config.selfplay.concurrent_games = concurrent_games
    evaluator = _evaluator(spec, config)
    actor = SelfPlayActor(spec, evaluator, config, np.random.default_rng(0))
    finished: list[int] = []
    # Warm up until half the games have turned over, so the timed window sees the steady state of
    # staggered games a long run has; the first game's end is when a fresh run's learner gets data.
    warmup_start = time.perf_counter()
    first_game = None
    while len(finished) < config.selfplay.concurrent_games // 2:
        actor.step(lambda record: finished.append(len(record)))
        if finished and first_game is None:
            first_game = time.perf_counter() - warmup_start
    warmup = time.perf_counter() - warmup_start
    finished.clear()
    sims0 = actor.mcts.stats.simulations
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        actor.step(lambda record: finished.append(len(record)))
    elapsed = time.perf_counter() - start
    return {"bench": "selfplay", "game": spec.name, "simulations_per_move": config.search.simulations,
            "concurrent_games": config.selfplay.concurrent_games, "seconds": round(elapsed, 1),
            "games": len(finished), "games_per_minute": round(60 * len(finished) / elapsed, 1),
            "mean_game_length": round(float(np.mean(finished)), 1) if finished else None,
            "simulations_per_second": round((actor.mcts.stats.simulations - sims0) / elapsed, 1),
            "first_game_seconds": round(first_game, 1), "warmup_seconds": round(warmup, 1), **host()}


def bench_learner(game: str, steps: int = 10, positions: int = 20_000) -> dict:
    """Learner step time against the time it spends getting its batch (sampling + augmentation).

    The store is filled with synthetic games of the game's real encoding, so only speed is measured.
    """
    import tempfile
    from pathlib import Path

    from engine.data import SegmentWriter, synthetic_game
    from engine.train import Learner, augment, store_meta

    spec = games.load(game)
    config = default_config(spec.name)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="arena-bench-") as tmp:
        meta = store_meta(spec)
        with SegmentWriter(Path(tmp) / "trajectories", "bench", meta, max_games=64) as writer:
            written = 0
            while written < positions:
                record = synthetic_game(meta, rng)
                writer.add(record)
                written += len(record)
        learner = Learner(spec, config, Path(tmp), default_device())
        learner.refresh()
        learner.train_step()  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            augment(learner.window.sample(config.train.batch_size, rng), spec.symmetries, rng)
        batch_seconds = (time.perf_counter() - start) / steps
        start = time.perf_counter()
        for _ in range(steps):
            learner.train_step()
        step_seconds = (time.perf_counter() - start) / steps
    return {"bench": "learner", "game": spec.name, "batch_size": config.train.batch_size,
            "network": dataclasses.asdict(config.network), "step_ms": round(1000 * step_seconds, 2),
            "sample_and_augment_ms": round(1000 * batch_seconds, 3),
            "sampling_fraction_of_step": round(batch_seconds / step_seconds, 4), **host()}
