"""`arena bench`: search, self-play, learner, store, rating and ONNX inference throughput, a run's
learning curve, and a kill -9 soak of a league run."""
from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure search, self-play, store, ladder or network inference throughput; "
                              "soak a league run under kill -9")
    p.add_argument("what", choices=["mcts", "selfplay", "store", "learner", "curve", "ratings", "ladder", "onnx", "soak"])
    p.add_argument("--run", help="run whose snapshots `curve` rates; soak: the run directory to soak and keep "
                   "(default: a temporary one); onnx: a snapshot spec (RUN, RUN:step-K) to measure instead of an "
                   "untrained preset network")
    p.add_argument("--opponent", default="mcts:1000", help="fixed opponent of `curve` (a player spec)")
    p.add_argument("--games", type=int, help="games per point of `curve`, seats alternating (default 100); "
                   "games in the results file of `ladder` (default 200000)")
    p.add_argument("--players", type=int, default=1000, help="players in the results file of `ladder`")
    p.add_argument("--format", choices=["pgn", "csv"], default="pgn", help="the results file of `ladder`")
    p.add_argument("--out", metavar="FILE", help="keep the results file of `ladder` here (its suffix, .pgn or .csv, "
                   "sets the format)")
    p.add_argument("--repeats", type=int, default=3, help="runs of the command `ladder` times (median)")
    p.add_argument("--points", type=int, default=6, help="snapshots rated by `curve`")
    p.add_argument("--game", default="connect_four")
    p.add_argument("--sims", type=int, help="simulations per move (selfplay)")
    p.add_argument("--seconds", type=float, help="measurement time (onnx: each of its timed windows)")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--ray", metavar="ADDRESS", help="selfplay: Ray actors (auto, host:port or local) against as "
                   "many actor processes, side by side")
    p.add_argument("--actors", type=int, help="actors of `selfplay --ray` (default: one per core); soak: actor "
                   "processes of the run (default 2)")
    p.add_argument("--minutes", type=float, default=20.0, help="soak: minutes of kills (and at least --kills)")
    p.add_argument("--kills", type=int, default=100, help="soak: kills, one every minutes/kills seconds on average")
    p.add_argument("--interval", type=float, help="soak: mean seconds between kills (default: minutes/kills)")
    p.add_argument("--config", help="mcts: a run's TOML config whose network and search to measure (default: the "
                   "game's preset); soak: the run's config (default: the soak's, which writes often)")
    p.add_argument("--seed", type=int, help="soak: seed of the kills' kinds, victims and moments")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> None:
    import torch

    from arena_cli import bench

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.what == "ladder":
        result = bench.bench_ladder(args.players, args.games or 200_000, args.format, args.repeats, args.out)
    elif args.what == "curve":
        from league.match import learning_curve
        if not args.run:
            from engine.config import ConfigError
            raise ConfigError("bench curve needs --run RUN: the name of a run in checkpoints/")
        result = {"bench": "curve", "run": args.run, "opponent": args.opponent,
                  "curve": learning_curve(args.run, args.opponent, args.games or 100, args.points), **bench.host()}
    elif args.what == "mcts":
        result = bench.bench_mcts(args.game, seconds=args.seconds or 10.0, config_file=args.config)
    elif args.what == "soak":
        actors = 2 if args.actors is None else args.actors
        result = bench.bench_soak(args.game, args.minutes, args.kills, actors, args.config, args.run, args.interval,
                                  args.seed)
    elif args.what == "learner":
        result = bench.bench_learner(args.game)
    elif args.what == "ratings":
        result = bench.bench_ratings()
    elif args.what == "onnx":
        result = bench.bench_onnx(args.game, seconds=args.seconds or 1.0, snapshot=args.run)
    elif args.what == "selfplay" and args.ray:
        result = bench.bench_selfplay_ray(args.game, args.ray, args.actors, args.seconds or 60.0, args.sims)
    elif args.what == "selfplay":
        result = bench.bench_selfplay(args.game, simulations=args.sims, seconds=args.seconds or 60.0)
    else:
        result = bench.bench_store()
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            for name, value in (v.items() if isinstance(v, dict) else [(None, v)]):
                print(f"{k + '.' + name if name else k:48s} {value}")
    if result.get("ok") is False:  # a soak whose invariants failed
        sys.exit(1)
