#!/usr/bin/env bash
# coordinator_down.sh - the broker that is the group coordinator and leads
# source and destination partitions goes down for 7 s mid-stream (longer
# than the 6 s session timeout: the member is dropped, its partitions are
# revoked while the producer queue is full and fetching is paused, then
# assigned again) and comes back: the router must fetch again, commit the
# whole source, and nothing may be lost.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

VICTIM=2
start_fault_mock
victim_leads "$VICTIM" "coordinator $GROUP $VICTIM"
fault_start
fault_point 15
outage "$VICTIM" 7
fault_settle 45
grep -q 'SESSTMOUT\|revoked' "$ROUTER_LOG" ||
    log "note: no rebalance happened this time"
finish
