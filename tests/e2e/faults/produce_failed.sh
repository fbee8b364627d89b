#!/usr/bin/env bash
# produce_failed.sh - one destination fails every produce permanently: a
# fourth broker leads e2e.region.eu [0] (route "region") and nothing else,
# and answers each of its Produce requests with TOPIC_AUTHORIZATION_FAILED
# (29), a non-retriable error. Each message routed there must land in the
# dead letter instead, with router.reason produce_failed, router.route
# region and the librdkafka error in router.detail; its other outputs are
# unaffected, nothing reaches e2e.region.eu, the whole source is committed
# (verify --fail-topic checks all of that, message by message). These dead
# letters have no order to check: after the first failure librdkafka takes
# the topic for failing (partition count 0) and fails later produces at
# once, so their dead letters can come before those of earlier messages
# still failing through delivery reports.
#
# (The topic's Metadata error, topic_error, is no Produce error: librdkafka
# 2.0.2 holds the messages until message.timeout.ms, see dlq_down.sh.)
E2E_COUNT=${E2E_COUNT:-100000}
. "$(dirname "$0")/../lib.sh"
. "$E2E_DIR/faults/common.sh"

# FAIL_TOPIC, FAIL_PARTS, FAULT_MODE_ARGS and FAULT_SETTLE let variants
# (produce_failed_rekeyed.sh, produce_failed_eos.sh) reuse this scenario.
FAIL_TOPIC=${FAIL_TOPIC:-e2e.region.eu}
FAIL_PARTS=${FAIL_PARTS:-1}
FAIL_BROKER=4
PRODUCE=0
FAIL_ERR=${FAIL_ERR:-29}
FAIL_TEXT=${FAIL_TEXT:-"produce to $FAIL_TOPIC failed: Broker: Topic authorization failed"}
VERIFY_ARGS=(--fail-topic "$FAIL_TOPIC" --fail-detail "$FAIL_TEXT")

E2E_BROKERS=4 start_fault_mock
# The mock puts the replicas (and leaders) of every topic on brokers 1-3:
# broker 4 leads the failing partition and nothing else; it fails more
# Produce requests than it can get (one per message at most).
kcat -b "$BS" -L 2>/dev/null | grep -q "leader $FAIL_BROKER," &&
    fail "broker $FAIL_BROKER already leads a partition"
moves=()
for part in $(seq 0 $((FAIL_PARTS - 1))); do
    moves+=("leader $FAIL_TOPIC $part $FAIL_BROKER")
done
mock_cmd "${moves[@]}" \
    "broker_errors $FAIL_BROKER $PRODUCE $((COUNT / 5)) $FAIL_ERR"
fault_start ${FAULT_MODE_ARGS-}
${FAULT_SETTLE:-fault_settle} 60
finish
