#!/usr/bin/env bash
# run.sh - run the end-to-end scenarios of the router, one after the other,
# each on its own mock cluster; print PASS/FAIL per scenario and a last
# line "N passed, N failed"; exit non-zero if any failed.
#
#   BUILD=build bash tests/e2e/run.sh [SCENARIO...]
#
# Without arguments: selfcheck, routing, sigkill, sigterm, backpressure,
# badinput, then every other tests/e2e/*.sh (but lib.sh, run.sh and
# emulated-router.sh), each a scenario that sources lib.sh.
#
# BUILD (default build) says where router and e2e_tool are, e.g.
# build-san for `make check`. E2E_SCENARIO_TIMEOUT (default 240 s) bounds
# each scenario. See lib.sh for the other knobs.
set -u

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
# These first, in this order; then every other scenario script there is.
SCENARIOS=(selfcheck routing sigkill sigterm backpressure badinput)
for f in "$E2E_DIR"/*.sh; do
    s=$(basename "$f" .sh)
    case " ${SCENARIOS[*]} lib run emulated-router " in
    *" $s "*) ;;
    *) SCENARIOS+=("$s") ;;
    esac
done
[ $# -gt 0 ] && SCENARIOS=("$@")
LIMIT=${E2E_SCENARIO_TIMEOUT:-240}
export BUILD=${BUILD:-build}

passed=0
failed=0
t_all=$SECONDS
for s in "${SCENARIOS[@]}"; do
    script=$E2E_DIR/$s.sh
    t0=$SECONDS
    out=$(mktemp "${TMPDIR:-/tmp}/e2e-run-$s.XXXXXX")
    if [ ! -f "$script" ]; then
        echo "no scenario $s" >"$out"
        rc=2
    else
        # timeout signals the scenario's process group: its trap cleans up.
        timeout -k 15 "$LIMIT" bash "$script" >"$out" 2>&1 </dev/null
        rc=$?
        [ "$rc" = 124 ] && echo "scenario timed out after $LIMIT s" >>"$out"
    fi
    sed 's/^/  /' "$out"
    rm -f "$out"
    if [ "$rc" = 0 ]; then
        echo "PASS $s ($((SECONDS - t0)) s)"
        passed=$((passed + 1))
    else
        echo "FAIL $s (exit $rc, $((SECONDS - t0)) s)"
        failed=$((failed + 1))
    fi
done
echo "e2e: $((SECONDS - t_all)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
