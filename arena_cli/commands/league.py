"""`arena league run` (start or resume a self-play run, with its live view), `arena league status` and
`arena league repair` (check a run's files, quarantine the damaged, rebuild its ledger)."""
from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    league = subparsers.add_parser("league", help="run or inspect a league").add_subparsers(dest="league_command",
                                                                                            required=True)
    p = league.add_parser("run", help="start or resume a self-play run")
    p.add_argument("game", nargs="?", help="preset or OpenSpiel game string (see `arena games`)")
    p.add_argument("--config", help="TOML file overriding the game's defaults")
    p.add_argument("--run", help="run name (default: the game's name); an existing run resumes")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="stop after this many more learner steps")
    budget.add_argument("--minutes", type=float, help="stop after this many minutes")
    p.add_argument("--seed", type=int, help="random seed (with --actors 0 and --steps, a run repeats exactly)")
    p.add_argument("--actors", type=int, help="actor processes (0: actor and learner in this process)")
    p.add_argument("--ray", metavar="ADDRESS", help="actors on a Ray cluster: auto (the one `ray start` joined), "
                   "host:port, or local (start one here); the run directory stays on this machine")
    p.add_argument("--no-live", action="store_true", help="no live view (for logs and scripts)")
    p.set_defaults(func=cmd_league_run)
    p = league.add_parser("status", help="show a run's progress from another terminal")
    p.add_argument("run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_league_status)
    p = league.add_parser("repair", help="check a run's files; move damaged ones aside, rebuild a damaged ledger")
    p.add_argument("run")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(func=cmd_league_repair)


def cmd_league_run(args: argparse.Namespace) -> None:
    from engine import config as cfg
    from arena_cli.dashboard import LiveView
    from league.run import LeagueRun, prepare_run, tensorboard_dir

    # Checked before prepare_run, which writes a new run's config.toml.
    if args.steps is not None and args.steps < 1 or args.minutes is not None and args.minutes <= 0:
        raise cfg.ConfigError("--steps and --minutes must be positive")
    if args.actors is not None and args.actors < 0 or args.seed is not None and args.seed < 0:
        raise cfg.ConfigError("--actors and --seed must not be negative")
    if args.ray is not None and args.actors == 0:
        raise cfg.ConfigError("--ray runs actors on a cluster; --actors 0 runs them in this process: drop one")
    if args.ray is not None:  # a missing Ray or a wrong address is one line before anything is written
        from league.cluster import preflight
        preflight(args.ray)
    flags = {"seed": args.seed, "actors": args.actors}
    config, run_dir, resumed = prepare_run(args.game, args.config, args.run, flags)
    print(f"{'resuming' if resumed else 'starting'} run '{run_dir.name}' ({config.game}) in {run_dir}; "
          "Ctrl-C stops it, the same command resumes it", file=sys.stderr)
    if config.tensorboard:
        print(f"training curves: tensorboard --logdir {shlex.quote(str(tensorboard_dir(run_dir)))}", file=sys.stderr)
    league = LeagueRun(config, run_dir, ray=args.ray)
    # Ctrl-C and `kill` both stop the run cleanly: actors flush, the learner publishes its step.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.no_live:
            progress = league.run(args.steps, args.minutes)
        else:
            with LiveView(run_dir.name, config.game) as view:
                progress = league.run(args.steps, args.minutes, view)
    except KeyboardInterrupt:
        progress = league.progress
        print("stopped; progress saved", file=sys.stderr)
    print(json.dumps({"run": run_dir.name, **progress.as_dict()}))


def cmd_league_status(args: argparse.Namespace) -> None:
    from rich.console import Console

    from engine import rundir
    from arena_cli.dashboard import panel

    run_dir = rundir.existing_run(args.run)
    config = rundir.load_config(run_dir)
    status_file = run_dir / "status.json"
    status = rundir.read_json(status_file) or {}
    if args.json:
        print(json.dumps(status))
    else:
        Console().print(panel(run_dir.name, config.game, status))


def cmd_league_repair(args: argparse.Namespace) -> None:
    from engine import rundir
    from league.repair import RepairError, repair

    report = repair(rundir.existing_run(args.run))
    print(json.dumps(report.as_dict()) if args.json else "\n".join(report.lines()))
    if not report.usable:
        raise RepairError(f"run '{args.run}' is still not usable: fix what the report marks FAILED, then repair again")
