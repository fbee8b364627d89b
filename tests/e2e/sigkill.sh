#!/usr/bin/env bash
# sigkill.sh - kill -9 the router at random points mid-stream (three
# times, restarting it each time: kill_campaign), then let a last run
# finish: nothing may be lost (duplicates are allowed, at-least-once);
# prints how many duplicates there were.
. "$(dirname "$0")/lib.sh"

KILLS=${E2E_KILLS:-3}

start_mock
expect_dataset
kill_campaign "$KILLS" 5 20
start_router
wait_committed 150 ||
    check_failed "last run did not commit the whole source"
stop_router 15
verify --allow-dups || check_failed "$VERIFY_LINE"
log "duplicates after $KILLS kill -9: $(verify_field duplicates)"
finish
