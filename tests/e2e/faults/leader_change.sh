#!/usr/bin/env bash
# leader_change.sh - the leaders of every destination partition (and, the
# second time, of the source partitions) move to another broker three
# times mid-stream (at 10%, 35% and 60%): the producer follows the new
# leaders (NOT_LEADER_FOR_PARTITION, metadata refresh), the consumer
# refetches, nothing is lost.
#
# max.in.flight.requests.per.connection=1 for the same reason as in
# produce_errors.sh (the mock does not check idempotent sequences of a
# non-transactional producer; with the default 5 in flight 2 runs of 3 lost
# 12 and 86 messages whose delivery reports said success).
# FAULT_ROUTER_ARGS overrides it.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

# move ROUND [TOPIC...]: every partition of each TOPIC to broker
# (partition + ROUND) % 3 + 1.
move() {
    local round=$1 cmds=() t name parts p
    shift
    for t in $("$TOOL" topics); do
        name=${t%%:*}
        parts=${t##*:}
        case " $* " in *" $name "*) ;; *) continue ;; esac
        for p in $(seq 0 $((parts - 1))); do
            cmds+=("leader $name $p $(((p + round) % 3 + 1))")
        done
    done
    mock_cmd "${cmds[@]}"
}

start_fault_mock
DESTS=$("$TOOL" topics | cut -d: -f1 | grep -v '^e2e\.src$' | tr '\n' ' ')
move 0 $DESTS e2e.src
fault_start -X producer.max.in.flight.requests.per.connection=1
round=1
for pct in 10 35 60; do
    fault_point "$pct"
    if [ "$round" = 2 ]; then
        move "$round" $DESTS e2e.src
    else
        move "$round" $DESTS
    fi
    round=$((round + 1))
done
fault_settle 60
finish
