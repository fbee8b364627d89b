#!/usr/bin/env bash
# first_assignment.sh - routers stopped with SIGTERM before, during and
# after their first assignment exit 0 with their "stopped" line, never
# abort (librdkafka 2.0.2 asserts when a cooperative-sticky consumer that
# joined but got no assignment is destroyed: librdkafka #4312; the router
# leaves such a consumer to the process's exit).
#
#   before: the group's coordinator is down, the router cannot join;
#   during: three routers of a group are killed, a fourth joins and waits
#           for the dead members (the mock names a dead one leader, so
#           SyncGroup fails until their sessions time out): stopped once
#           it has a JoinGroup answer and before any assignment;
#   after:  stopped once it got its partitions.
#
# Each point is observed in the router's librdkafka debug log, not
# assumed from the clock; when the "during" window was missed (the
# assignment came first), the arrangement is tried again, at most
# E2E_TRIES (default 3) times.
. "$(dirname "$0")/lib.sh"

DEBUG_ARGS=(-v -X consumer.debug=cgrp)
JOINED='JoinGroup response: GenerationId'
ASSIGNED='delegating incremental assign'
TRIES=${E2E_TRIES:-3}

# log_has PATTERN: the current router's log holds PATTERN.
log_has() {
    grep -q "$1" "$ROUTER_LOG"
}

# until_log PATTERN SECONDS: poll the router's log for PATTERN.
until_log() {
    local end=$((SECONDS + $2))
    while ! log_has "$1"; do
        alive "$ROUTER_PID" || return 1
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.05
    done
}

# stopped_cleanly WHAT: SIGTERM the router; it must exit 0 with its
# "stopped" line (stop_router records any other outcome).
stopped_cleanly() {
    local fails=${#FAILURES[@]}
    stop_router 20
    grep -q 'Assertion\|Aborted' "$ROUTER_LOG" &&
        check_failed "$1: librdkafka aborted"
    grep -q '^router: info: stopped: consumed' "$ROUTER_LOG" ||
        check_failed "$1: no \"stopped\" line in its log"
    [ "${#FAILURES[@]}" = "$fails" ] && log "$1: exit 0, stopped line said"
}

start_fault_mock
produce_dataset

# --- before: no coordinator to join -----------------------------------
GROUP=$GROUP-before
mock_cmd "coordinator $GROUP 2"
mock_cmd "down 2"
start_router "${DEBUG_ARGS[@]}"
until_log 'FindCoordinator\|coordinator' 30 ||
    check_failed "before: the router never looked for its coordinator"
log_has "$JOINED" && check_failed "before: it joined with its coordinator down"
stopped_cleanly before
mock_cmd "up 2"

# --- during: joined, no assignment yet --------------------------------
during_done=0
for try in $(seq 1 "$TRIES"); do
    GROUP=${GROUP%-*}-during$try
    KILLED=()
    for i in 1 2 3; do
        start_router "${DEBUG_ARGS[@]}"
        KILLED+=("$ROUTER_PID:$ROUTER_LOG")
    done
    for k in "${KILLED[@]}"; do
        ROUTER_LOG=${k#*:}
        ROUTER_PID=${k%%:*}
        until_log "$ASSIGNED" 60 ||
            fail "during: router $ROUTER_PID got no first assignment"
    done
    for k in "${KILLED[@]}"; do
        ROUTER_PID=${k%%:*}
        kill9_router
    done
    log "during: three members killed after their first assignment"
    start_router "${DEBUG_ARGS[@]}"
    until_log "$JOINED" 60 ||
        check_failed "during: the fourth router got no JoinGroup answer"
    if log_has "$ASSIGNED"; then
        log "during: the assignment came before the stop (try $try):" \
            "arranging again"
        stopped_cleanly "after (during try $try)"
        continue
    fi
    stopped_cleanly during
    grep -q 'consumer left undestroyed' "$ROUTER_LOG" ||
        check_failed "during: the router did not say it left the consumer"
    during_done=1
    break
done
[ "$during_done" = 1 ] ||
    check_failed "during: $TRIES arrangements, the stop never landed" \
        "between the JoinGroup answer and the assignment"

# --- after: routing -----------------------------------------------------
GROUP=${GROUP%-*}-after
start_router "${DEBUG_ARGS[@]}"
until_log "$ASSIGNED" 60 || check_failed "after: no assignment"
base=$(outputs_now)
wait_outputs $((base + 1)) 60 >/dev/null || check_failed "after: nothing routed"
stopped_cleanly after
log_has 'consumer left undestroyed' &&
    check_failed "after: an assigned consumer was not destroyed"
finish
