#!/usr/bin/env bash
# produce_errors.sh - bursts of retriable Produce errors mid-stream
# (NOT_LEADER_FOR_PARTITION 6, REQUEST_TIMED_OUT 7, NOT_ENOUGH_REPLICAS 19)
# at 10%, 35% and 60% of the stream: the producer retries, nothing is lost,
# nothing goes to the dead letter that should not (verify checks e2e.dlq
# holds exactly the expected dead letters).
#
# The router's producer runs with max.in.flight.requests.per.connection=1
# here (FAULT_ROUTER_ARGS overrides it): librdkafka's mock cluster checks
# idempotent sequence numbers only for transactional producers, so with 5
# requests in flight a batch sent after a failed one is appended, and
# librdkafka then implicitly acknowledges the failed batch as delivered
# (a real broker would reject the later batch with OUT_OF_ORDER_SEQUENCE):
# with the default settings this scenario loses 1-8 messages on the mock
# although every delivery report says success.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

# One burst: the next 30 Produce requests (any broker) fail, cycling
# through FAULT_ERRS (default "6 7 19").
burst() {
    local codes=(${FAULT_ERRS:-6 7 19}) errs=() i
    for i in $(seq 0 29); do
        errs+=("${codes[$((i % ${#codes[@]}))]}")
    done
    mock_cmd "errors 0 ${errs[*]}"
}

start_fault_mock
fault_start -X producer.max.in.flight.requests.per.connection=1
for pct in 10 35 60; do
    fault_point "$pct"
    burst
done
fault_settle 60
grep -q 'produce_failed' "$WORK/verify.out" &&
    check_failed "a retriable error was dead-lettered as produce_failed"
finish
