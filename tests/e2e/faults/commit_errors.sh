#!/usr/bin/env bash
# commit_errors.sh - the group's offset commits fail mid-stream (bursts of
# NOT_COORDINATOR 16, COORDINATOR_NOT_AVAILABLE 15,
# COORDINATOR_LOAD_IN_PROGRESS 14, REQUEST_TIMED_OUT 7 on OffsetCommit) and
# the group coordinator moves twice: the router keeps routing, its later
# commits reach the end of the source (the router must have seen commits
# fail), it stops cleanly, and nothing is lost.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

OFFSET_COMMIT=8
commit_errors() {
    mock_cmd "errors $OFFSET_COMMIT 16 15 14 7 16 15 14 7"
}

start_fault_mock
mock_cmd "coordinator $GROUP 1"
fault_start
fault_point 10
commit_errors
fault_point 35
mock_cmd "coordinator $GROUP 2"
fault_point 60
commit_errors
mock_cmd "coordinator $GROUP 3"
fault_settle 60
grep -q 'COMMITFAIL' "$ROUTER_LOG" ||
    check_failed "no commit failed: the faults missed the commits"
finish
