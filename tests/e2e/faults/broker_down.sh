#!/usr/bin/env bash
# broker_down.sh - a broker that leads source partitions, destination
# partitions and the dead-letter topic (not the group coordinator: see
# coordinator_down.sh) goes down for 5 s mid-stream and comes back: the
# router resumes by itself, commits the whole source, nothing is lost.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

VICTIM=2
start_fault_mock
victim_leads "$VICTIM" "leader e2e.u1 3 $VICTIM" "leader e2e.dlq 1 $VICTIM" \
    "coordinator $GROUP 1"
fault_start
fault_point 15
outage "$VICTIM" 5
fault_settle 60
finish
