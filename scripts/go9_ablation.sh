#!/usr/bin/env bash
# Issue 22's per-method ablation on go9: each NAME=CONFIG is a league run of MINUTES minutes, one
# after another on the same host, then a round robin among their newest snapshots (40 games a
# pairing, colours alternating, komi 7.5), rated with the first run as 0. JSON under OUT.
#   scripts/go9_ablation.sh MINUTES OUT NAME=CONFIG NAME=CONFIG...
# e.g. scripts/go9_ablation.sh 30 ablation-aux g9A=scripts/go9/katago.toml g9N=scripts/go9/no-aux.toml
# A run that exists is resumed for MINUTES more, so use fresh names. Measure on an idle machine.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 MINUTES OUT NAME=CONFIG NAME=CONFIG..." >&2; exit 2; }
MINUTES=$1; OUT=$2; shift 2
ARENA=$(realpath "$(dirname "$0")/../.venv/bin/arena")
mkdir -p "$OUT"
lscpu | grep -m1 "Model name" > "$OUT/host.txt"
names=()
for pair in "$@"; do
  name=${pair%%=*}; config=${pair#*=}
  [ -f "$config" ] || { echo "$config: no such config file" >&2; exit 2; }
  names+=("$name")
  "$ARENA" league run go9 --run "$name" --config "$config" --minutes "$MINUTES" --no-live > "$OUT/$name.log" 2>&1
  "$ARENA" league status "$name" --json > "$OUT/$name-status.json"
done
"$ARENA" ladder --players "${names[@]}" --game go9 --games 40 --anchor "${names[0]}" --json > "$OUT/ladder.json"
cat "$OUT/ladder.json"
