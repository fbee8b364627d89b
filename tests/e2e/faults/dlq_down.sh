#!/usr/bin/env bash
# dlq_down.sh - the dead-letter topic fails (its metadata says
# TOPIC_AUTHORIZATION_FAILED 29, a permanent error) from the start: the
# stream runs until a dead letter is due on each partition; the ones whose
# dead letter fails stop, /healthz turns 503 with a reason, their committed
# offsets stay at or below the stuck message; then the topic comes back and
# the router (retrying stuck dead letters every 5 s) gets everything
# through: healthy again, the whole source committed, nothing lost.
#
# librdkafka 2.0.2 takes a topic whose metadata has that error for an
# unknown topic and holds its messages until message.timeout.ms (then the
# delivery fails with _MSG_TIMED_OUT): the router runs with a 5 s message
# timeout here, and refreshes topic metadata every second to notice the
# end of the topic error soon.
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"

# health_until CODE SECONDS: poll /healthz until it answers CODE; sets
# HEALTH (the last body). Returns 1 on timeout.
health_until() {
    local want=$1 end=$((SECONDS + $2)) code
    while [ "$SECONDS" -lt "$end" ]; do
        code=$(curl -s -o "$WORK/health" -w '%{http_code}' "$URL/healthz")
        HEALTH=$(head -c 300 "$WORK/health")
        [ "$code" = "$want" ] && return 0
        sleep 0.2
    done
    return 1
}

start_fault_mock
T_START=$SECONDS
produce_dataset
mock_cmd "topic_error e2e.dlq 29"
start_admin_router "$RULES" \
    -X producer.topic.metadata.refresh.interval.ms=1000 \
    -X producer.message.timeout.ms=5000
if health_until 503 30; then
    log "healthz: 503 $HEALTH"
    # The reason: dead letters failing (and how many partitions).
    echo "$HEALTH" | grep -qi 'dead.letter' ||
        check_failed "/healthz 503 without the reason: \"$HEALTH\""
else
    check_failed "/healthz not 503 with the dead-letter topic failing"
fi
# It stays red while the topic fails: across two retry rounds (5 s each,
# each retry waiting for its delivery report), /healthz never says 200.
oks=0
polls=0
end=$((SECONDS + 12))
while [ "$SECONDS" -lt "$end" ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
    polls=$((polls + 1))
    [ "$code" = 200 ] && oks=$((oks + 1))
    sleep 0.25
done
log "healthz while stuck: $oks of $polls polls said 200"
[ "$oks" = 0 ] ||
    check_failed "/healthz said 200 $oks times of $polls while the" \
        "dead letters kept failing"
"$TOOL" committed -b "$BS" -G "$GROUP" -t e2e.src >"$WORK/stuck.out" 2>&1
sed 's/^/    /' "$WORK/stuck.out"
# Every stuck partition: committed offset <= the failed dead letter's.
pat='.*e2e\.src \[\([0-9]*\)\] offset \([0-9]*\): dead letter to e2e\.dlq'
stuck=$(sed -n "s/$pat failed.*/\1 \2/p" "$ROUTER_LOG" |
    sort -n -k1,1 -k2,2 | awk '!seen[$1]++')
[ -n "$stuck" ] || check_failed "no dead letter failure in the router log"
while read -r part off; do
    [ -n "$part" ] || continue
    c=$(sed -n \
        "s/.*e2e\.src \[$part\] .* committed \(-\{0,1\}[0-9]*\) .*/\1/p" \
        "$WORK/stuck.out")
    log "partition $part stuck at offset $off, committed ${c:-?}"
    [ -n "$c" ] && [ "$c" -le "$off" ] ||
        check_failed "partition $part committed ${c:-?} past its stuck" \
            "dead letter at $off"
done <<<"$stuck"
now=$(outputs_now)
[ "$now" -lt "$EXPECTED" ] ||
    check_failed "every output arrived although dead letters failed"
mock_cmd "topic_error e2e.dlq 0"
health_until 200 40 ||
    check_failed "/healthz not 200 40 s after the topic came back: $HEALTH"
log "healthz: 200 again"
fault_settle 60
finish
