#!/usr/bin/env bash
# coordinator_down.sh - the broker that is the group coordinator and leads
# source and destination partitions goes down for 7 s mid-stream (longer
# than the 6 s session timeout: the member is dropped, its partitions are
# revoked while the producer queue is full and fetching is paused, then
# assigned again) and comes back: the router must fetch again, commit the
# whole source, and nothing may be lost.
#
# A dropped member's commit of its revoked partitions fails (UNKNOWN_MEMBER
# _ID), so everything consumed since its last commit before the outage is
# routed again (duplicates: at-least-once), and that can be a lot: the
# mock keeps only ~5 MB per partition (verify fails with "trimmed" when
# it dropped outputs) and e2e.search, one partition, already holds 3.3 MB
# of the 100,000-message dataset. With the router's defaults (100,000
# messages in its producer queue, commits every second) the replay was
# ~60,000 source messages and trimmed e2e.search: its first copies of the
# earliest messages were gone, their replayed copies looked out of order.
# So the router runs here with a 20,000-message producer queue (still
# full when the partitions are revoked) and commits every 250 ms, and the
# outage starts once the group has committed: the replay stays small.
# FAULT_ROUTER_ARGS overrides these arguments.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

VICTIM=2
start_fault_mock
victim_leads "$VICTIM" "coordinator $GROUP $VICTIM"
fault_start -X producer.queue.buffering.max.messages=20000 \
    -X consumer.auto.commit.interval.ms=250
fault_point 15
wait_first_commit 20 ||
    check_failed "the group committed nothing before the outage"
outage "$VICTIM" 7
fault_settle 45
grep -q 'SESSTMOUT\|revoked' "$ROUTER_LOG" ||
    log "note: no rebalance happened this time"
finish
