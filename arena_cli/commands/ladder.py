"""`arena ladder`: the Elo ladder of a run's ledger, of a round robin among any player specs, or of a
results file, printed as a table, JSON or CSV; with `--duplicate`, each pairing's margin over
seat-swapped deals instead (poker: mbb/hand)."""
from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ladder",
                              help="Elo ladder of a run, of any players (round robin), or of a results file")
    p.add_argument("run", nargs="?", help="rate this run's rating games (its ledger)")
    p.add_argument("--players", nargs="+", metavar="SPEC", help="play a round robin among these player specs "
                   "(games of n > 2 players: every n of them at a table, rated by Plackett–Luce)")
    p.add_argument("--gauntlet", metavar="SPEC", help="with --players: this player against each of them only "
                   "(n > 2 players: with every n - 1 of them)")
    p.add_argument("--games", type=int, help="games per pairing, seats alternating (default 20); per table for "
                   "n > 2 players, a multiple of n as seats rotate (default 20 rounded up)")
    p.add_argument("--game", help="the game of --players (and checked against --results)")
    p.add_argument("--results", metavar="FILE", help="rate the games of a CSV or PGN results file (with RUN: "
                   "add them to the run's ledger first)")
    p.add_argument("--columns", metavar="COL=ROLE,...", help="with --results FILE.csv: which of its columns to "
                   "read, e.g. a=white,b=black,result=result (roles white, black, result, winner, game; the "
                   "other columns are ignored); without it the header names them (player0,player1 or "
                   "white,black or player1,player2 or p1,p2; result or winner; game)")
    p.add_argument("--opening-plies", type=int, default=2, metavar="N",
                   help="with --players: random opening moves shared by each seat-swapped pair of games (default 2)")
    p.add_argument("--play", type=int, metavar="GAMES", help="with RUN: play about this many more rating games "
                   "first (pool members against each other and the anchors, where the ladder is thinnest)")
    p.add_argument("--ray", metavar="ADDRESS", help="with --players: play the tables as tasks on a Ray cluster: "
                   "auto (the one `ray start` joined), local (start one here) or its host:port")
    p.add_argument("--ledger", metavar="FILE", help="with --players: keep the games in this SQLite ledger")
    p.add_argument("--duplicate", action="store_true", help="with --players, a 2-player game with chance "
                   "(poker): each pairing's margin in mbb/hand ± 95%% over duplicate deals (each deal played "
                   "twice, seats swapped); --games hands, an even number")
    p.add_argument("--export", metavar="FILE.pgn", help="also write the rating games as PGN (for BayesElo, Ordo)")
    p.add_argument("--anchor", default="random", help="player rated 0 (default random; '' for mean 0)")
    p.add_argument("--intervals", choices=["sandwich", "bootstrap"], default="sandwich",
                   help="where the 95%% intervals come from: the Bradley–Terry fit's sandwich estimate (default; "
                   "one matrix inverse however many games) or refits of resampled games")
    p.add_argument("--resamples", type=int, default=100, help="bootstrap resamples (--intervals bootstrap, and "
                   "games of more than two players); 0: no intervals")
    p.add_argument("--seed", type=int, default=0)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.set_defaults(func=cmd_ladder)


def _print_ratings(ratings, args: argparse.Namespace, title: str) -> None:
    from league.ratings import table_dicts

    rows = ratings.table()
    if args.json:
        print(json.dumps({"summary": ratings.summary(), "advantage": ratings.advantage,
                          "players": table_dicts(rows)}, indent=1))
        return
    if args.csv:
        _print_csv(table_dicts(rows), ["rank"])
        return
    # The terminal table only: JSON and CSV need no rich.
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=ratings.summary())
    for col, justify in (("Rank", "right"), ("Player", "left"), ("Elo", "right"), ("±", "right"), ("Games", "right"),
                         ("W", "right"), ("D", "right"), ("L", "right"), ("Score%", "right"), ("LOS%", "right")):
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(str(r.rank), r.player, f"{r.elo:.0f}", f"{r.error:.0f}", str(r.games), str(r.wins),
                      str(r.draws), str(r.losses), f"{r.score:.1f}", "" if r.los is None else f"{100 * r.los:.1f}")
    Console().print(table)


def _print_csv(rows: list[dict], empty: list[str] | None = None) -> None:
    """Rows as CSV on stdout, headed by their keys (`empty` heads a table without rows)."""
    import csv
    writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else (empty or []))
    writer.writeheader()
    writer.writerows(rows)


def cmd_ladder(args: argparse.Namespace) -> None:
    import os
    import tempfile
    from pathlib import Path

    if args.results and not (args.run or args.duplicate):
        # Rating a file plays nothing: one single-threaded matrix inverse, and BLAS threads that spin
        # for a core another process holds can take seconds over it. Only before numpy loads.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    import games
    from engine import rundir
    from engine.config import ConfigError
    from league import ladder
    from league.ledger import Ledger
    from league.ratings import RatingConfig

    config = RatingConfig(anchor=args.anchor or None, intervals=args.intervals, resamples=args.resamples)
    if not (args.run or args.players or args.results) or (args.run and args.players):
        raise ConfigError("give one of: RUN (optionally with --results FILE to add its games), "
                          "--players SPEC SPEC ..., --results FILE (optionally with --players to check names)")
    if args.ray is not None:  # a missing Ray or a wrong address is one line before any game is played
        if not args.players or args.duplicate:
            raise ConfigError("--ray plays the games of --players (without --duplicate) on a cluster: add "
                              "--players SPEC SPEC ..., or drop --ray")
        from league.cluster import preflight
        preflight(args.ray)
    if args.duplicate:
        _ladder_duplicate(args)
        return
    if args.play is not None and (args.play < 1 or not args.run):
        raise ConfigError("--play GAMES needs RUN and a positive number of games")
    if args.columns is not None and not args.results:
        raise ConfigError("--columns says which columns of a --results FILE.csv to read: add --results FILE")
    columns = _columns(args.columns)
    if args.results and not args.run:
        ratings = ladder.file_ratings(args.results, config, args.game, args.players, columns)
        _print_ratings(ratings, args, f"Ladder of {args.results}")
        return
    if args.run:
        run_dir = rundir.existing_run(args.run)
        ledger = Ledger.of_run(run_dir, create=False)
        if args.results:  # all games or none; only players the run knows, of the run's game
            run_config = rundir.load_config(run_dir)
            known = set(ledger.players()) | set(run_config.league.anchors)
            added = ledger.import_results(args.results, games.load(run_config.game).game_string, players=known,
                                          columns=columns)
            print(f"imported {added} new games from {args.results}", file=sys.stderr)
        if args.play:
            from league.rater import play_more

            play_more(run_dir, args.play, args.seed, _show_match)
        if args.export:
            count = ledger.export_pgn(args.export)
            print(f"wrote {count} rating games to {args.export}", file=sys.stderr)
        ratings = ladder.ledger_ratings(ledger, config)
        if ratings is None:
            raise ConfigError(f"run '{args.run}' has no rating games yet: let its evaluator play "
                              "(league.evaluator = true) or rate players with --players")
        _print_ratings(ratings, args, f"Ladder of run '{run_dir.name}'")
        if not (args.json or args.csv):
            chart = ladder.elo_chart(ratings, run_dir.name)
            if chart:
                print("\nElo by training step (dotted: fixed players)")
                print("\n".join(chart))
            nash = ladder.nash_conv_chart(run_dir)
            if nash:
                print("\nNashConv by minutes (exact best responses, OpenSpiel)")
                print("\n".join(nash))
        return
    if not args.game:
        raise ConfigError("--players needs --game GAME (the game they play)")
    players = list(dict.fromkeys(args.players + ([args.gauntlet] if args.gauntlet else [])))
    spec = games.load(args.game)
    args.games = _check_tables(spec, players, args.games)
    from engine.players import load_bot
    for p in players:  # refuse a bad spec before any game is played
        load_bot(p, spec)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(args.ledger) if args.ledger else Path(tmp) / "ladder.sqlite")
        ladder.round_robin(spec, [p for p in players if p != args.gauntlet] if args.gauntlet else players,
                           args.games, ledger, args.gauntlet, args.seed, _show_match, args.opening_plies, args.ray)
        if args.export:
            ledger.export_pgn(args.export)
        _print_ratings(ladder.ledger_ratings(ledger, config), args, f"Ladder on {spec.game_string}")
        ledger.close()


def _columns(text: str | None) -> dict[str, str] | None:
    """`--columns a=white,b=black,result=result` as {file column: role}; roles are checked by the reader."""
    from engine.config import ConfigError

    if text is None:
        return None
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if not pairs or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
        raise ConfigError(f"--columns {text!r}: write COLUMN=ROLE pairs, e.g. a=white,b=black,result=result")
    from league.results_file import check_columns
    return check_columns({k.strip(): v.strip() for k, v in pairs})


def _show_match(players, result) -> None:
    """One line per finished match or table, to stderr while a ladder plays."""
    print(f"{' vs '.join(players)}: {result.summary()}", file=sys.stderr)


def _check_tables(spec, players: list[str], games: int | None) -> int:
    """Games per pairing or table (default 20, rounded up to whole seat rotations); refuses a round robin
    its game cannot seat: too few players for a table, games that would leave seats unequal."""
    from engine.config import ConfigError

    n = spec.num_players
    if games is None:
        games = -(-20 // n) * n
    if n == 2:
        if games < 2:
            raise ConfigError("--games must be at least 2 (seats alternate)")
        if len(players) < 2:
            raise ConfigError("a ladder needs at least two distinct players")
        return games
    if len(players) < n:
        raise ConfigError(f"{spec.name} seats {n} players and the ladder has {len(players)} distinct ones "
                          f"({', '.join(players)}): give at least {n} with --players (e.g. add random)")
    if games < n or games % n:
        raise ConfigError(f"--games {games}: each table of {spec.name} rotates {n} seats, so give a multiple "
                          f"of {n} (e.g. {max(n, games + (-games) % n)}), games per table")
    return games


def _ladder_duplicate(args: argparse.Namespace) -> None:
    """`arena ladder --players ... --duplicate`: each pairing's margin in mbb/hand over seat-swapped deals."""
    import games
    from engine.players import load_bot
    from engine.config import ConfigError
    from league.duplicate import check_duplicate, duplicate_ladder

    if args.run or args.results or args.play or args.export or args.ledger:
        raise ConfigError("--duplicate plays --players against each other: drop RUN, --results, --play, --export "
                          "and --ledger (duplicate margins are not Elo games)")
    if not args.game:
        raise ConfigError("--duplicate needs --game GAME (a 2-player game with chance, e.g. holdem_limit)")
    args.games = 20 if args.games is None else args.games
    if args.games < 4 or args.games % 2:
        raise ConfigError(f"--games must be even and at least 4 with --duplicate (hands come in seat-swapped "
                          f"pairs and the interval needs two pairs), not {args.games}")
    players = list(dict.fromkeys(args.players + ([args.gauntlet] if args.gauntlet else [])))
    if len(players) < 2:
        raise ConfigError("a ladder needs at least two distinct players")
    spec = games.load(args.game)
    check_duplicate(spec)
    for p in players:  # refuse a bad spec before any hand is played
        load_bot(p, spec)

    def progress(r) -> None:
        print(f"{r.a} vs {r.b}: {r.hands} hands in {r.seconds:.1f} s", file=sys.stderr)
    results = duplicate_ladder(spec, players, args.games, args.gauntlet, args.seed, progress)
    rows = [r.as_dict() for r in results]
    poker = results[0].big_blind is not None
    if args.json:
        print(json.dumps({"game": spec.name, "unit": "mbb/hand" if poker else "points/hand",
                          "big_blind": results[0].big_blind, "pairings": rows}, indent=1))
        return
    if args.csv:
        _print_csv(rows)
        return
    from rich.console import Console
    from rich.table import Table

    unit = "mbb/hand" if poker else "points/hand"
    caption = (f"{unit}: A's mean winnings per hand"
               + (f" in thousandths of a big blind ({results[0].big_blind:g} chips)" if poker else "")
               + f"; ± a 95% interval over {results[0].pairs} seat-swapped deals; same deals for every pairing")
    table = Table(title=f"Duplicate matches on {spec.name}", caption=caption)
    for col, justify in (("A", "left"), ("B", "left"), (unit, "right"), ("± 95%", "right"),
                         ("chips/hand", "right"), ("hands", "right"), ("verdict", "left")):
        if col == "chips/hand" and not poker:
            continue
        table.add_column(col, justify=justify)
    for r in results:
        value, error = (r.mbb, r.mbb_interval) if poker else (r.per_hand, r.per_hand_interval)
        verdict = "not separated" if r.verdict == "not separated" else f"{r.a} {r.verdict}"
        cells = [r.a, r.b, f"{value:+.1f}" if poker else f"{value:+.4f}", f"{error:.1f}" if poker else f"{error:.4f}"]
        cells += [f"{r.per_hand:+.3f}"] if poker else []
        table.add_row(*cells, str(r.hands), verdict)
    Console().print(table)
