#!/usr/bin/env bash
# sigterm.sh - SIGTERM in the middle of the backlog: exit 0 within 15 s,
# then a restart finishes the job; nothing lost, and duplicates stay within
# the in-flight window (at most E2E_MAX_DUPS, default 10000).
. "$(dirname "$0")/lib.sh"

MAX_DUPS=${E2E_MAX_DUPS:-10000}

start_mock
produce_dataset
start_router
pct=$((30 + RANDOM % 30))
wait_outputs $((EXPECTED * pct / 100)) 90 ||
    check_failed "outputs never reached $pct% of $EXPECTED"
stop_router 15
log "stopped at about $pct% of the outputs; committed offsets:"
if wait_committed 0; then
    log "note: the backlog was already done when SIGTERM landed"
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
