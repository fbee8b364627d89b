#!/usr/bin/env bash
# produce_failed_eos.sh - produce_failed.sh in --exactly-once mode, with
# INVALID_RECORD (87) as the permanent error: unlike an authorization
# error, librdkafka does not then fail the topic's later produces at once,
# so every transaction that sends there meets a new failure and aborts.
# The router must still get through: failures reported while aborting are
# remembered, the destination is held as failing after two transactions
# in a row and its messages go to the dead letter untried. Every message
# must be where the at-least-once run puts it: nothing missing, the failed
# ones as produce_failed dead letters with the error (duplicates are the
# aborted transactions, visible on the mock).
FAULT_MODE_ARGS=--exactly-once
FAULT_SETTLE=fault_settle_eos
FAIL_ERR=87
FAIL_TEXT="produce to e2e.region.eu failed: Broker: Broker failed to validate record"
. "$(dirname "$0")/produce_failed.sh"
