#!/usr/bin/env bash
# The long fuzzing run (issue 21): the property tests of every input kind under hypothesis's "long"
# profile (10,000 cases each, tests/conftest.py), a case over FUZZ_CASE_SECONDS failing as a hang.
# Usage: scripts/fuzz.sh [pytest -k expression]   e.g. scripts/fuzz.sh gtp
# Prints, per test, hypothesis's statistics (cases passed, failed, why it stopped), then pytest's
# summary and the wall time; exits non-zero when any case failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-long} FUZZ_CASE_SECONDS=${FUZZ_CASE_SECONDS:-10}
TESTS=(tests/cli/test_gtp_fuzz.py tests/cli/test_saved_games_fuzz.py tests/league/test_results_file.py
       tests/engine/test_config_fuzz.py tests/engine/players/test_spec_fuzz.py)
start=$(date +%s)
"$PY" -m pytest "${TESTS[@]}" -k "${1:-any_}" -p no:cacheprovider --hypothesis-show-statistics -rf \
    | grep -iE "^tests/.*::|during|test cases|Stopped because|passed|failed|error"
echo "fuzz: $(( $(date +%s) - start )) s on $(lscpu | grep 'Model name' | sed 's/ *Model name: *//'), $(date -u +%F)"
