#!/usr/bin/env bash
# run.sh - run end-to-end scenarios of the router, one after the other,
# each on its own mock cluster; print PASS/FAIL per scenario, a summary
# (with each scenario's RESULT line, e.g. duplicates and seconds) and a
# last line "N passed, N failed"; exit non-zero if any failed.
#
#   BUILD=build bash tests/e2e/run.sh [--dir DIR] [SCENARIO...]
#
# The scenarios are the *.sh of DIR (default tests/e2e; tests/e2e/faults
# for faults/run.sh), each sourcing lib.sh, but lib.sh, run.sh, common.sh
# emulated-router.sh and soak.sh; in tests/e2e selfcheck, routing, sigkill,
# sigterm, backpressure, badinput run first, in this order.
#
# BUILD (default build) says where router and e2e_tool are, e.g.
# build-san for `make check`. E2E_SCENARIO_TIMEOUT (default 240 s) bounds
# each scenario; E2E_REPEAT (default 1) runs the whole set that many
# times. See lib.sh for the other knobs.
set -u

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
DIR=$E2E_DIR
if [ "${1-}" = --dir ]; then
    DIR=$(cd "${2:?--dir wants a directory}" && pwd) || exit 2
    shift 2
fi
SCENARIOS=()
[ "$DIR" = "$E2E_DIR" ] &&
    SCENARIOS=(selfcheck routing sigkill sigterm backpressure badinput)
for f in "$DIR"/*.sh; do
    s=$(basename "$f" .sh)
    case " ${SCENARIOS[*]} lib run common emulated-router soak " in
    *" $s "*) ;;
    *) SCENARIOS+=("$s") ;;
    esac
done
[ $# -gt 0 ] && SCENARIOS=("$@")
LIMIT=${E2E_SCENARIO_TIMEOUT:-240}
REPEAT=${E2E_REPEAT:-1}
export BUILD=${BUILD:-build}

passed=0
failed=0
results=()
t_all=$SECONDS
for r in $(seq 1 "$REPEAT"); do
    for s in "${SCENARIOS[@]}"; do
        script=$DIR/$s.sh
        t0=$SECONDS
        out=$(mktemp "${TMPDIR:-/tmp}/e2e-run-$s.XXXXXX")
        if [ ! -f "$script" ]; then
            echo "no scenario $s" >"$out"
            rc=2
        else
            # timeout signals the scenario's process group: its trap
            # cleans up.
            timeout -k 15 "$LIMIT" bash "$script" >"$out" 2>&1 </dev/null
            rc=$?
            [ "$rc" = 124 ] &&
                echo "scenario timed out after $LIMIT s" >>"$out"
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
        results+=("$verdict${line:+ ${line#RESULT $s }}")
    done
done
echo "$(basename "$DIR"): $((SECONDS - t_all)) s"
printf '  %s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
