#!/usr/bin/env bash
# The GPU check, in one call on a machine with CUDA (run where Arena is installed with a CUDA build
# of torch): search and learner throughput for go9 and go19, then a short go9 league run, each
# figure a JSON file under OUT (default gpu-check/) and a summary on stdout. About 6 minutes.
#   scripts/gpu_check.sh [OUT]
# ALLOW_CPU=1 runs it without CUDA (to try the script); MINUTES sets the league run (default 3),
# SECONDS_EACH each search bench (default 20), GAMES the benches' games (default "go9 go19").
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu-check}
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
MINUTES=${MINUTES:-3}
SECONDS_EACH=${SECONDS_EACH:-20}
export GAMES=${GAMES:-"go9 go19"}
mkdir -p "$OUT"
arena() { "$PY" -m arena_cli "$@"; }

"$PY" - > "$OUT/device.json" <<'PY'
import json, platform, torch
cuda = torch.cuda.is_available()
print(json.dumps({"cuda": cuda, "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
                  "torch": torch.__version__, "cuda_version": torch.version.cuda}))
PY
if ! grep -q '"cuda": true' "$OUT/device.json" && [ "${ALLOW_CPU:-0}" != 1 ]; then
  echo "no CUDA device seen by torch ($(cat "$OUT/device.json")): install a CUDA build of torch, or ALLOW_CPU=1 to try the script" >&2
  exit 2
fi
for game in $GAMES; do
  arena bench mcts --game "$game" --seconds "$SECONDS_EACH" --json > "$OUT/mcts-$game.json"
  arena bench learner --game "$game" --json > "$OUT/learner-$game.json"
done
ARENA_HOME="$OUT/runs" arena league run go9 --run gpucheck --minutes "$MINUTES" --no-live \
  > "$OUT/league-go9.json" 2> "$OUT/league-go9.log"

"$PY" - "$OUT" <<'PY'
import json, os, sys
from pathlib import Path
out, games = Path(sys.argv[1]), os.environ["GAMES"].split()
read = lambda name: json.loads((out / name).read_text().strip().splitlines()[-1])
print(json.dumps({"device": read("device.json"),
                  **{f"mcts_{g}": read(f"mcts-{g}.json") for g in games},
                  **{f"learner_{g}": read(f"learner-{g}.json") for g in games},
                  "league_go9": {k: read("league-go9.json").get(k) for k in
                                 ("step", "games", "stored_positions", "games_per_minute", "positions_per_second",
                                  "simulations_per_second", "elapsed")}}, indent=1))
PY
