#!/usr/bin/env bash
# Issue 22's connect_four measurement: for each seed, a league run of MINUTES minutes with the preset
# (and CONFIG, if given), then 100 games of its newest snapshot against OpenSpiel's MCTSBot with 1,000
# rollouts (seats alternating, the run's own simulations). JSON under OUT, ending in summary.json.
#   scripts/c4_strength.sh PREFIX [CONFIG|-] [MINUTES=30] [SEEDS="1 2 3"] [OUT=strength-PREFIX]
# e.g. scripts/c4_strength.sh c4 - 30 "1 2 3 4"   (runs c4s1 ... c4s4, one after another)
# A run that exists is resumed for MINUTES more, so use a fresh PREFIX.
# Measure on an otherwise idle machine: the run's strength depends on the compute it gets.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PREFIX [CONFIG|-] [MINUTES] [SEEDS] [OUT]" >&2; exit 2; }
PREFIX=$1; CONFIG=${2:--}; MINUTES=${3:-30}; SEEDS=${4:-1 2 3}; OUT=${5:-strength-$PREFIX}
[ "$CONFIG" = - ] || [ -f "$CONFIG" ] || { echo "$CONFIG: no such config file" >&2; exit 2; }
ARENA=$(realpath "$(dirname "$0")/../.venv/bin/arena")
mkdir -p "$OUT"
for seed in $SEEDS; do
  run=$PREFIX's'$seed
  # The seed first (a top-level key must come before any table), in place of any the config sets.
  { echo "seed = $seed"; [ "$CONFIG" = - ] || { grep -v '^seed *=' "$CONFIG" || true; }; } > "$OUT/$run.toml"
  "$ARENA" league run connect_four --run "$run" --config "$OUT/$run.toml" --minutes "$MINUTES" --no-live > "$OUT/$run.log" 2>&1
  "$ARENA" league status "$run" --json > "$OUT/$run-status.json"
  "$ARENA" bench curve --run "$run" --opponent mcts:1000 --games 100 --points 1 --json > "$OUT/$run-mcts1000.json"
done
# The summary: each run's games, learner steps and score, the mean score, and the host (as `arena bench`
# records it: CPU, and precision, bfloat16 only where AMX or AVX512_BF16 runs it), as one JSON object.
"$(dirname "$ARENA")/python" - "$OUT" "$PREFIX" $SEEDS <<'PY' | tee "$OUT/summary.json"
import json, sys
out, prefix, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
runs, host = [], {}
for seed in seeds:
    run = f"{prefix}s{seed}"
    status = json.load(open(f"{out}/{run}-status.json"))
    curve = json.load(open(f"{out}/{run}-mcts1000.json"))
    host = {k: v for k, v in curve.items() if k not in ("bench", "run", "opponent", "curve")}
    last = curve["curve"][-1]
    runs.append({"run": run, "games": status["games"], "steps": status["step"], "wins": last["wins"],
                 "draws": last["draws"], "losses": last["losses"], "score": last["score"]})
scores = [r["score"] for r in runs]
print(json.dumps({"opponent": "mcts:1000", "runs": runs, "mean_score": round(sum(scores) / len(scores), 4),
                  "at_least_0.9": sum(s >= 0.9 for s in scores), **host}, indent=1))
PY
