#!/usr/bin/env bash
# sigkill.sh - kill -9 the router at random points while it is producing
# (three times, restarting it each time), then let a last run finish:
# nothing may be lost (duplicates are allowed, at-least-once); prints how
# many duplicates there were.
. "$(dirname "$0")/lib.sh"

KILLS=${E2E_KILLS:-3}

start_mock
produce_dataset
for k in $(seq 1 "$KILLS"); do
    start_router
    # Kill point: after this run produced 3..25% of the expected outputs
    # (replayed ones count: a kill while replaying is a kill too).
    base=$(outputs_now)
    pct=$((3 + RANDOM % 23))
    if ! wait_outputs $((base + EXPECTED * pct / 100)) 90 5; then
        log "run $k did not produce $pct% more before stalling"
    fi
    alive "$ROUTER_PID" || check_failed "run $k: router died by itself"
    kill9_router
    log "kill -9 number $k after $((OUTPUTS - base)) outputs of this run"
done
start_router
wait_committed 150 ||
    check_failed "last run did not commit the whole source"
stop_router 15
verify --allow-dups || check_failed "$VERIFY_LINE"
log "duplicates after $KILLS kill -9: $(verify_field duplicates)"
finish
