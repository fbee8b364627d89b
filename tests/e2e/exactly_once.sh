#!/usr/bin/env bash
# exactly_once.sh - --exactly-once on the mock cluster: the whole backlog
# is routed through transactions (each output exactly once, committed
# transactions counted in /metrics); a fenced router exits 1 saying so.
#
# What the mock cannot show (librdkafka 2.0.2 and newer): it does not store
# offsets sent with TxnOffsetCommit, writes no transaction markers and
# reports no aborted transactions to read_committed consumers, so a
# restart replays from the start and aborted messages stay visible. The
# SIGKILL campaign at the end therefore counts missing messages only; see
# the README, "Guarantees".
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"

# fresh_cluster NAME: the next start_*mock starts a new cluster, and the
# router runs in a new group.
fresh_cluster() {
    rm -f "$WORK/bootstrap" "$WORK/mock.in"
    GROUP=$GROUP-$1
}

# run_to_end WHO: a router run that routes the whole backlog once more
# (on the mock a restart starts from the beginning: it kept no
# transactional offsets) on top of what is there, then SIGTERM; nothing
# may be missing.
run_to_end() {
    local base
    base=$(outputs_now)
    start_router --exactly-once
    wait_outputs $((base + EXPECTED)) 120 ||
        check_failed "$1 did not route the whole backlog"
    stop_router 15
    verify --allow-dups || check_failed "$VERIFY_LINE"
}

# eos_fault_start RTT TXN_MAX: a mock taking faults, with RTT ms of delay,
# the first fifth of the dataset, and an exactly-once router (--txn-max
# TXN_MAX) that routed 1,000 outputs of it: a fault injected now lands
# mid-stream by construction, the rest of the source comes after it.
eos_fault_start() {
    start_fault_mock
    SOURCE_AT=0
    source_to $((COUNT / 5))
    mock_cmd "rtt $1"
    start_router --exactly-once --txn-max "$2"
    wait_outputs 1000 90 || check_failed "the router routed nothing"
}

start_mock
produce_dataset
start_admin_router "$RULES" --exactly-once --transactional-id "e2e-$GROUP"
wait_outputs "$EXPECTED" 120 ||
    check_failed "outputs never reached $EXPECTED"
commits=$(curl -sf "$URL/metrics" |
    sed -n 's/^router_transactions_total{result="committed"} //p')
log "transactions committed: ${commits:-?}"
[ -n "$commits" ] && [ "${commits%.*}" -ge 1 ] ||
    check_failed "no committed transaction in /metrics"
grep -q 'exactly-once: transactional.id "e2e-' "$ROUTER_LOG" ||
    check_failed "the router did not say its transactional.id"
verify ||
    check_failed "$VERIFY_LINE"

stop_router 15

# Abort and replay: an abortable error (the group coordinator refuses the
# transaction's offsets, GROUP_AUTHORIZATION_FAILED, twice) mid-stream.
# The router aborts, rewinds the partitions to where the transaction
# began and routes them again: nothing lost, health tells the abort.
fresh_cluster abort
expect_dataset
eos_fault_start 10 2000
before=$(outputs_now)
mock_cmd "errors 25 30 30"
mock_cmd "rtt 0"
source_to "$COUNT"
wait_outputs $((before + EXPECTED * 2)) 120 10 >/dev/null
grep -q 'transaction aborted' "$ROUTER_LOG" ||
    check_failed "no transaction was aborted"
grep -q 'rewound to offset' "$ROUTER_LOG" ||
    check_failed "no partition was rewound"
grep 'aborted\|rewound' "$ROUTER_LOG" | head -n 4 | sed 's/^/    /'
stop_router 15
verify --allow-dups || check_failed "$VERIFY_LINE"

# Fencing. The mock cannot fence by itself (a second InitProducerId with the
# same transactional.id gets a new producer id instead of bumping the
# epoch), so the broker's answer to a fenced producer is injected: the
# next EndTxn fails with PRODUCER_FENCED (90). The router must stop (exit
# 1) and say what to do; nothing it routed may be lost: a restart routes
# the backlog again (the mock kept no transactional offsets).
fresh_cluster fence
eos_fault_start 20 500
mock_cmd "errors 26 90"
source_to "$COUNT"
wait_exit "$ROUTER_PID" 30
if [ "$EXIT_RC" = 124 ]; then
    check_failed "the fenced router still runs 30 s after the fence"
    kill -KILL "$ROUTER_PID" 2>/dev/null
elif [ "$EXIT_RC" != 1 ]; then
    check_failed "the fenced router exited $EXIT_RC (want 1)"
fi
forget "$ROUTER_PID"
grep -q 'fenced by another producer with transactional.id' "$ROUTER_LOG" ||
    check_failed "the fenced router did not say it was fenced"
grep 'fenced' "$ROUTER_LOG" | head -n 2 | sed 's/^/    /'
mock_cmd "rtt 0"
run_to_end "the restarted router"

# SIGKILL campaign: five kill -9 mid-stream, then a run to the end. On the
# mock every restart routes the backlog again from the start and aborted
# or unfinished transactions stay visible, so what can be counted here is
# that nothing is lost; duplicates are reported, not asserted (see above).
fresh_cluster kill
start_mock
SOURCE_AT=0
# Kill points: 20..79% of what a run routes (from the start: the mock
# kept no transactional offsets).
kill_campaign "${E2E_KILLS:-5}" 20 60 --exactly-once --txn-max 2000
run_to_end "the last run"
log "exactly-once, ${E2E_KILLS:-5} kill -9: missing $(verify_field missing)," \
    "duplicates visible on the mock $(verify_field duplicates)"
echo "RESULT $SCENARIO kill9_missing=$(verify_field missing)" \
    "kill9_duplicates_on_mock=$(verify_field duplicates)"
finish
