#!/usr/bin/env bash
# run.sh - run the fault-injection scenarios (tests/e2e/faults/*.sh but
# common.sh and run.sh), each on its own mock cluster taking faults on its
# stdin, with ../run.sh (PASS/FAIL per scenario, each scenario's RESULT
# line: duplicates, seconds; "N passed, N failed"; exit non-zero if any
# failed).
#
#   BUILD=build bash tests/e2e/faults/run.sh [SCENARIO...]
#
# E2E_SCENARIO_TIMEOUT defaults to 120 s here; E2E_REPEAT (default 1)
# runs the whole set that many times. See ../run.sh, ../lib.sh and
# common.sh for the other knobs.
set -u

FAULTS_DIR=$(cd "$(dirname "$0")" && pwd)
export E2E_SCENARIO_TIMEOUT=${E2E_SCENARIO_TIMEOUT:-120}
exec bash "$FAULTS_DIR/../run.sh" --dir "$FAULTS_DIR" "$@"
