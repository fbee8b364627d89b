#!/usr/bin/env bash
# sigterm.sh - SIGTERM in the middle of the backlog: exit 0 within 15 s
# with offsets committed short of the end, then a restart finishes the job;
# nothing lost, and no duplicates: a graceful stop drains its in-flight
# messages and commits them, so the restart replays nothing (at most
# E2E_MAX_DUPS, default 0).
. "$(dirname "$0")/lib.sh"

MAX_DUPS=${E2E_MAX_DUPS:-0}

start_mock
produce_dataset
start_router
pct=$((25 + RANDOM % 25))
wait_outputs $((EXPECTED * pct / 100)) 90 ||
    check_failed "outputs never reached $pct% of $EXPECTED"
stop_router 15
log "stopped at about $pct% of the outputs; committed offsets:"
if wait_committed 0; then
    check_failed "the backlog was done before SIGTERM landed: not mid-stream"
fi
start_router
wait_committed 150 ||
    check_failed "second run did not commit the whole source"
stop_router 15
verify --allow-dups || check_failed "$VERIFY_LINE"
dups=$(verify_field duplicates)
log "duplicates after a graceful stop mid-stream: ${dups:-?}"
[ -n "$dups" ] && [ "$dups" -le "$MAX_DUPS" ] ||
    check_failed "duplicates ${dups:-?} above $MAX_DUPS"
finish
