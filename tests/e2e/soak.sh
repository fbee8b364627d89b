#!/usr/bin/env bash
# soak.sh - the end-to-end scenarios and the fault scenarios, SOAK_REPEAT
# times each (run.sh's E2E_REPEAT), optionally with SOAK_BUSY cores kept
# busy by a shell busy loop (a loaded CI machine); prints each suite's
# "N passed, N failed" and exits non-zero if any scenario failed.
#
#   SOAK_REPEAT=10 SOAK_BUSY=1 BUILD=build bash tests/e2e/soak.sh
#
# SOAK_SUITES (default "e2e faults") picks the suites; E2E_SCENARIOS and
# FAULT_SCENARIOS (word-split) pick scenarios within them.
set -u

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
REPEAT=${SOAK_REPEAT:-10}
BUSY=${SOAK_BUSY:-0}
BUSY_PIDS=()

stop_busy() {
    local pid
    for pid in "${BUSY_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    BUSY_PIDS=()
}
trap stop_busy EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq 1 "$BUSY"); do
    bash -c 'while :; do :; done' &
    BUSY_PIDS+=("$!")
done

summary=()
rc=0
for suite in ${SOAK_SUITES:-e2e faults}; do
    case $suite in
    e2e) args=(${E2E_SCENARIOS:-}) dir=$E2E_DIR ;;
    faults) args=(${FAULT_SCENARIOS:-}) dir=$E2E_DIR/faults ;;
    *) echo "soak: no suite $suite" >&2; exit 2 ;;
    esac
    out=$(mktemp "${TMPDIR:-/tmp}/soak-$suite.XXXXXX")
    E2E_REPEAT=$REPEAT bash "$E2E_DIR/run.sh" --dir "$dir" "${args[@]}" |
        tee "$out"
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    summary+=("$suite x$REPEAT (busy cores: $BUSY): $(tail -n 1 "$out")")
    grep '^FAIL ' "$out" | sed 's/^/    /' >>"$out.fails"
    rm -f "$out"
    [ -s "$out.fails" ] && summary+=("$(cat "$out.fails")")
    rm -f "$out.fails"
done
echo "soak:"
printf '  %s\n' "${summary[@]}"
exit "$rc"
