#!/usr/bin/env bash
# produce_failed_rekeyed.sh - produce_failed.sh on e2e.vip (3 partitions),
# whose route rewrites the key to ${/uid}: the dead letters of the failed
# produces must carry the source key, not the rewritten one (README.md, "Dead letters"),
# although they are built from the failed deliveries.
FAIL_TOPIC=e2e.vip
FAIL_PARTS=3
. "$(dirname "$0")/produce_failed.sh"
