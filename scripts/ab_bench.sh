#!/usr/bin/env bash
# Side-by-side benchmarks of two trees of Arena, interleaved A B B A, for changes that must keep speed.
#   git worktree add /tmp/before <rev>; scripts/ab_bench.sh /tmp/before . [out-dir]
# Both trees run from this checkout's .venv with PYTHONPATH set to the tree (it wins over the
# editable install); each prints one JSON line a command into out-dir/<bench>-<tree>-<round>.json.
set -euo pipefail
BEFORE=$(realpath "$1"); AFTER=$(realpath "$2"); OUT=${3:-ab-results}
PY=$(realpath "$(dirname "$0")/../.venv/bin/python")
mkdir -p "$OUT"
bench() (cd "$1" && PYTHONPATH="$1" "$PY" -m arena_cli bench "${@:2}" --json)
for tree in "$BEFORE" "$AFTER"; do bench "$tree" mcts --game go9 --seconds 1 >/dev/null; done  # compile numba caches
for round in 1 2; do
  order=(before after); [ "$round" = 2 ] && order=(after before)
  for label in "${order[@]}"; do
    tree=$BEFORE; [ "$label" = after ] && tree=$AFTER
    bench "$tree" mcts --game go9 > "$OUT/go9-$label-$round.json"
    bench "$tree" mcts --game connect_four > "$OUT/c4-$label-$round.json"
    bench "$tree" selfplay --game connect_four > "$OUT/c4sp-$label-$round.json"
    echo "$(date +%T) round $round $label done"
  done
done
