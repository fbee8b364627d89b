#!/usr/bin/env bash
# run.sh - run the fault-injection scenarios (tests/e2e/faults/*.sh but
# common.sh and run.sh), one after the other, each on its own mock cluster
# taking faults on its stdin; print PASS/FAIL per scenario, each
# scenario's RESULT line (duplicates, seconds), and a last line
# "N passed, N failed"; exit non-zero if any failed.
#
#   BUILD=build bash tests/e2e/faults/run.sh [SCENARIO...]
#
# BUILD (default build) says where router and e2e_tool are (build-san for
# the sanitizer build). E2E_SCENARIO_TIMEOUT (default 120 s) bounds each
# scenario; E2E_REPEAT (default 1) runs the whole set that many times.
# See ../lib.sh and common.sh for the other knobs.
set -u

FAULTS_DIR=$(cd "$(dirname "$0")" && pwd)
SCENARIOS=()
for f in "$FAULTS_DIR"/*.sh; do
    s=$(basename "$f" .sh)
    case $s in common | run) ;; *) SCENARIOS+=("$s") ;; esac
done
[ $# -gt 0 ] && SCENARIOS=("$@")
LIMIT=${E2E_SCENARIO_TIMEOUT:-120}
REPEAT=${E2E_REPEAT:-1}
export BUILD=${BUILD:-build}

passed=0
failed=0
results=()
t_all=$SECONDS
for r in $(seq 1 "$REPEAT"); do
    for s in "${SCENARIOS[@]}"; do
        script=$FAULTS_DIR/$s.sh
        t0=$SECONDS
        out=$(mktemp "${TMPDIR:-/tmp}/e2e-faults-$s.XXXXXX")
        if [ ! -f "$script" ]; then
            echo "no scenario $s" >"$out"
            rc=2
        else
            # timeout signals the scenario's process group: its trap
            # cleans up.
            timeout -k 15 "$LIMIT" bash "$script" >"$out" 2>&1 </dev/null
            rc=$?
            [ "$rc" = 124 ] && echo "scenario timed out after $LIMIT s" >>"$out"
        fi
        sed 's/^/  /' "$out"
        line=$(grep '^RESULT ' "$out" | tail -n 1)
        rm -f "$out"
        if [ "$rc" = 0 ]; then
            verdict="PASS $s ($((SECONDS - t0)) s)"
            passed=$((passed + 1))
        else
            verdict="FAIL $s (exit $rc, $((SECONDS - t0)) s)"
            failed=$((failed + 1))
        fi
        echo "$verdict"
        results+=("$verdict ${line#RESULT $s }")
    done
done
echo "faults: $((SECONDS - t_all)) s"
printf '  %s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
