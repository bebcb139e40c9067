#!/usr/bin/env bash
# Issue 22's per-method ablation on go9: each NAME=CONFIG is a league run, all started together and
# run side by side for MINUTES minutes, each in a scheduler group of its own at nice -19, so the
# cores are split evenly and every run sees the same host at the same time (a host's speed drifts
# by 15% or more between hours; N runs get MINUTES/N of the machine each). Then a round robin
# among their newest snapshots (40 games a pairing, colours alternating, komi 7.5), rated with
# the first run as 0. JSON under OUT.
#   scripts/go9_ablation.sh MINUTES OUT NAME=CONFIG NAME=CONFIG...
# e.g. scripts/go9_ablation.sh 90 ablation g9A=scripts/go9/katago.toml g9N=scripts/go9/no-aux.toml
# A run that exists is resumed for MINUTES more, so use fresh names. Measure on an idle machine:
# anything else at normal priority is starved while the runs go.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 MINUTES OUT NAME=CONFIG NAME=CONFIG..." >&2; exit 2; }
MINUTES=$1; OUT=$2; shift 2
ARENA=$(realpath "$(dirname "$0")/../.venv/bin/arena")
mkdir -p "$OUT"
lscpu | grep -m1 "Model name" > "$OUT/host.txt"
grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|avx512_bf16|amx_bf16)$' | tr '\n' ' ' >> "$OUT/host.txt"
names=()
for pair in "$@"; do
  config=${pair#*=}
  [ -f "$config" ] || { echo "$config: no such config file" >&2; exit 2; }
done
for pair in "$@"; do
  name=${pair%%=*}; config=${pair#*=}
  names+=("$name")
  # setsid: a session, hence an autogroup, of its own; its nice then weighs it against the others.
  setsid bash -c 'echo -19 > /proc/self/autogroup 2>/dev/null || true; exec "$0" "$@"' \
    "$ARENA" league run go9 --run "$name" --config "$config" --minutes "$MINUTES" --no-live \
    > "$OUT/$name.log" 2>&1 &
done
wait
for name in "${names[@]}"; do
  "$ARENA" league status "$name" --json > "$OUT/$name-status.json"
done
"$ARENA" ladder --players "${names[@]}" --game go9 --games 40 --anchor "${names[0]}" --json > "$OUT/ladder.json"
cat "$OUT/ladder.json"
