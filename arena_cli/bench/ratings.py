"""`arena bench ratings`: the rating fit's speed, accuracy and interval coverage on synthetic games;
`arena bench ladder`: the whole `arena ladder --results FILE --json` command on a synthetic results file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from league.ratings import (RatingConfig, coverage, fit_bradley_terry, openspiel_agreement, results_from_names,
                            synthetic_games, table_dicts)
from league.results_file import pgn_game, read_result_columns

_RESULT = {1.0: "1-0", 0.5: "1/2-1/2", 0.0: "0-1"}


def bench_ratings(players: int = 1000, games: int = 200_000, seed: int = 0, repeats: int = 3) -> dict:
    """Point-fit speed (best of `repeats`) and accuracy on `players` × `games`, interval coverage
    on 50 × 20,000 (the sandwich intervals the ladders report, and the bootstrap's beside them), and
    agreement with ``pyspiel.elo``."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 300.0, players)
    a, b, score = synthetic_games(truth, games, seed + 1, advantage=30.0)
    names = [f"p{k}" for k in range(players)]
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit = fit_bradley_terry(a, b, score, names, RatingConfig(anchor=None, resamples=0))
        seconds.append(time.perf_counter() - t0)
    error = fit.elo - (truth - truth.mean())
    return {"bench": "ratings", "players": players, "games": games, "fit_seconds": min(seconds),
            "fit_seconds_all": seconds,
            "iterations": fit.iterations, "max_abs_error_elo": float(np.max(np.abs(error))),
            "rms_error_elo": float(np.sqrt(np.mean(error ** 2))),
            "advantage_true_elo": 30.0, "advantage_elo": fit.advantage,
            "coverage": coverage(seed=seed),
            "coverage_bootstrap": coverage(seed=seed, intervals="bootstrap"),
            "openspiel_max_gap_elo": openspiel_agreement(seed=seed)}


def synthetic_truth(players: int, seed: int = 0) -> np.ndarray:
    """The true Elo of the players of `write_results_file` (N(0, 300), p0 … p{players-1})."""
    return np.random.default_rng(seed).normal(0.0, 300.0, players)


def write_results_file(path: str | Path, players: int = 1000, games: int = 200_000, seed: int = 0) -> Path:
    """`games` games among `players` players of known Elo (`synthetic_truth`; seat 0 plays +30 Elo,
    30% draws between equals: league.ratings.synthetic_games) as a results file, PGN as `arena ladder
    --export` writes it or CSV, by the path's suffix."""
    path = Path(path)
    a, b, score = synthetic_games(synthetic_truth(players, seed), games, seed + 1, advantage=30.0)
    names = [f"p{k}" for k in range(players)]
    with path.open("w") as f:
        if path.suffix.lower() == ".csv":
            f.write("player0,player1,result\n")
            f.writelines(f"{names[x]},{names[y]},{_RESULT[s]}\n" for x, y, s in zip(a.tolist(), b.tolist(), score.tolist()))
        else:
            f.writelines(pgn_game(k, "rating", "synthetic", 0, names[x], names[y], 2 * s - 1, 1 - 2 * s, "connect_four")
                         for k, (x, y, s) in enumerate(zip(a.tolist(), b.tolist(), score.tolist())))
    return path


def bench_ladder(players: int = 1000, games: int = 200_000, fmt: str = "pgn", repeats: int = 3,
                 out: str | None = None, seed: int = 0) -> dict:
    """Wall time of the whole command `arena ladder --results FILE --json` (process start, imports,
    reading, fit, intervals, output) on a synthetic file (`write_results_file`; kept at `out`, whose
    suffix then sets the format), median of `repeats` runs; then the same steps timed in this
    process, and how often the command's 95% intervals hold the true ratings."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_results_file(Path(out) if out else Path(tmp) / f"results.{fmt}", players, games, seed)
        fmt = "csv" if path.suffix.lower() == ".csv" else "pgn"
        arena = Path(sys.executable).with_name("arena")  # the installed command, as a user runs it
        command = [str(arena)] if arena.exists() else [sys.executable, "-m", "arena_cli"]
        command += ["ladder", "--results", str(path), "--json"]
        seconds, output = [], ""
        for _ in range(repeats):
            t0 = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy(), check=False)
            seconds.append(time.perf_counter() - t0)
            if done.returncode:
                raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
            output = done.stdout
        phases = _phases(path)
        size = path.stat().st_size
    rows = json.loads(output)["players"]
    truth = synthetic_truth(players, seed)
    truth -= truth.mean()  # no 'random' among the players: the command sets the mean to 0
    true_elo = {f"p{k}": t for k, t in enumerate(truth)}
    inside = [r["lower"] <= true_elo[r["player"]] <= r["upper"] for r in rows]
    return {"bench": "ladder", "players": players, "games": games, "format": fmt, "file_bytes": size,
            "command": " ".join(["arena", *command[-4:]]), "seconds_median": float(np.median(seconds)),
            "seconds_all": seconds, "phases_seconds": phases, "coverage": float(np.mean(inside)),
            "mean_error_bar_elo": float(np.mean([r["error"] for r in rows]))}


def _phases(path: Path) -> dict:
    """Seconds of each step of a file ladder (league.ladder.file_ratings, then the output) in this
    process, imports aside: the fit with intervals includes the point fit timed before it."""
    t0 = time.perf_counter()
    columns = read_result_columns(path)
    t1 = time.perf_counter()
    a, b, score, names = results_from_names(columns.player0, columns.player1, columns.scores())
    t2 = time.perf_counter()
    fit_bradley_terry(a, b, score, names, RatingConfig(resamples=0))
    t3 = time.perf_counter()
    ratings = fit_bradley_terry(a, b, score, names, RatingConfig())
    t4 = time.perf_counter()
    json.dumps({"summary": ratings.summary(), "players": table_dicts(ratings.table())}, indent=1)
    t5 = time.perf_counter()
    return {"read": t1 - t0, "names_to_indices": t2 - t1, "point_fit": t3 - t2, "fit_with_intervals": t4 - t3,
            "table_json": t5 - t4}
