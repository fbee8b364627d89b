#!/usr/bin/env bash
# backpressure.sh - the whole backlog with a producer queue of 1000
# messages: the router must pause and resume (its debug log says so),
# deliver everything exactly once, and keep its peak RSS (VmHWM) below
# E2E_RSS_MAX_MB (default 300, 1000 for sanitizer builds).
#
# The queue fills whatever the machine's speed: the brokers answer 1 s
# late until the router paused (acknowledgements come slower than any
# router enqueues), then at once (it drains and resumes).
. "$(dirname "$0")/lib.sh"

case $BUILD in
*san*) RSS_MAX_MB=${E2E_RSS_MAX_MB:-1000} ;;
*) RSS_MAX_MB=${E2E_RSS_MAX_MB:-300} ;;
esac

start_fault_mock
produce_dataset
mock_cmd "rtt 1000"
start_router -X producer.queue.buffering.max.messages=1000 -v
for i in $(seq 1 600); do
    grep -q 'backpressure: pause' "$ROUTER_LOG" && break
    alive "$ROUTER_PID" || break
    sleep 0.1
done
grep -q 'backpressure: pause' "$ROUTER_LOG" ||
    check_failed "no pause in 60 s with acknowledgements held back"
mock_cmd "rtt 0"
wait_outputs "$EXPECTED" 150 ||
    check_failed "outputs never reached $EXPECTED messages"
rss_kb=$(peak_rss_kb "$ROUTER_PID")
stop_router 15
verify || check_failed "$VERIFY_LINE"
pauses=$(grep -c 'backpressure: pause' "$ROUTER_LOG")
resumes=$(grep -c 'backpressure: resume' "$ROUTER_LOG")
log "backpressure: paused $pauses time(s), resumed $resumes time(s)"
[ "$pauses" -gt 0 ] && [ "$resumes" -gt 0 ] ||
    check_failed "the router never paused and resumed on a full queue"
if [ -z "$rss_kb" ]; then
    check_failed "could not read the router's VmHWM"
else
    log "router peak RSS (VmHWM): $((rss_kb / 1024)) MB (limit $RSS_MAX_MB MB)"
    [ "$rss_kb" -lt $((RSS_MAX_MB * 1024)) ] ||
        check_failed "peak RSS $((rss_kb / 1024)) MB above $RSS_MAX_MB MB"
fi
finish
