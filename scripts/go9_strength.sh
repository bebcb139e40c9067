#!/usr/bin/env bash
# Issue 22's go9 strength measurement: a league run of MINUTES minutes with CONFIG, then its curve
# against GNU Go (level 0: 4 points of 20 games; levels 5 and 10: 2 points of 10) and 40 games of its newest snapshot against
# gnugo:0, colours alternating, komi 7.5, each game refereed by GNU Go's final_score. JSON under OUT.
#   scripts/go9_strength.sh RUN CONFIG [MINUTES=120] [OUT=strength-RUN]
# e.g. scripts/go9_strength.sh g9K scripts/go9/katago.toml; scripts/go9_strength.sh g9B scripts/go9/baseline.toml
# Measure on an otherwise idle machine: the run's strength depends on the compute it gets.
set -euo pipefail
RUN=$1; CONFIG=$2; MINUTES=${3:-120}; OUT=${4:-strength-$RUN}
ARENA=$(realpath "$(dirname "$0")/../.venv/bin/arena")
mkdir -p "$OUT"
"$ARENA" league run go9 --run "$RUN" --config "$CONFIG" --minutes "$MINUTES" --no-live > "$OUT/run.log" 2>&1
"$ARENA" league status "$RUN" --json > "$OUT/status.json"
"$ARENA" bench curve --run "$RUN" --opponent gnugo:0 --games 40 --points 1 --json > "$OUT/final-gnugo0.json"
"$ARENA" bench curve --run "$RUN" --opponent gnugo:0 --games 20 --points 4 --json > "$OUT/curve-gnugo0.json"
for level in 5 10; do  # GNU Go thinks longer at higher levels: fewer games
  "$ARENA" bench curve --run "$RUN" --opponent "gnugo:$level" --games 10 --points 2 --json > "$OUT/curve-gnugo$level.json"
done
cat "$OUT"/final-gnugo0.json
