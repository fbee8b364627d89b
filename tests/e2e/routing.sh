#!/usr/bin/env bash
# routing.sh - the whole dataset through the router: every expected message
# in every topic exactly once (key, value, headers, partition, per-key
# order), a clean exit 0 on SIGTERM within 15 s, and offsets committed to
# the end by the final commit of a graceful stop (auto commit is slowed
# down to make sure it is that one).
. "$(dirname "$0")/lib.sh"

start_mock
produce_dataset
start_router -X consumer.auto.commit.interval.ms=600000
wait_outputs "$EXPECTED" 120 ||
    check_failed "outputs never reached $EXPECTED messages"
alive "$ROUTER_PID" || check_failed "router died while routing"
stop_router 15
wait_committed 0 || check_failed "committed offsets are not at the end"
verify || check_failed "$VERIFY_LINE"
finish
