#!/usr/bin/env bash
# high_rtt.sh - every broker answers 200 ms late from 10% of the stream on
# (produce, fetch, heartbeats and commits alike): routing is slower, the
# group stays stable, nothing is lost.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

start_fault_mock
fault_start
fault_point 10
mock_cmd "rtt 200"
source_to "$COUNT"
wait_committed 75 || check_failed "the whole source was not committed"
log "source committed under the RTT $((SECONDS - T_START)) s after the start"
# Verify reads 265,000 messages: not through the slow brokers.
mock_cmd "rtt 0"
fault_settle 5
if grep -q 'SESSTMOUT' "$ROUTER_LOG"; then
    log "note: the group rebalanced under the RTT"
fi
finish
