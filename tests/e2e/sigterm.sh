#!/usr/bin/env bash
# sigterm.sh - SIGTERM in the middle of the stream: exit 0 within 15 s,
# then a restart finishes the job;
# nothing lost, and no duplicates: a graceful stop drains its in-flight
# messages and commits them, so the restart replays nothing (at most
# E2E_MAX_DUPS, default 0).
. "$(dirname "$0")/lib.sh"

MAX_DUPS=${E2E_MAX_DUPS:-0}

start_mock
expect_dataset
# The stop lands mid-stream by construction: the source holds PCT+10 %
# of the dataset, grows to PCT+30 % while the stop lands (messages are
# likely in flight then), and the rest is produced after it.
pct=$((25 + RANDOM % 25))
source_to $((COUNT * (pct + 10) / 100))
start_router
wait_outputs "$(expected_of $((COUNT * pct / 100)))" 90 ||
    check_failed "outputs never reached those of the first $pct%"
source_bg $((COUNT * (pct + 30) / 100))
stop_router 15
source_join
log "stopped after the outputs of the first $pct% (source: $SOURCE_AT of" \
    "$COUNT), $(grep -o 'draining [0-9]* in-flight' "$ROUTER_LOG");" \
    "committed offsets:"
wait_committed 0 || :
source_to "$COUNT"
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
