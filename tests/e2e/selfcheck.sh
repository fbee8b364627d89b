#!/usr/bin/env bash
# selfcheck.sh - the checker can fail: murmur2 and the dataset self-test,
# then a stand-in router (e2e_tool emulate --once, outputs from the
# dataset) without and with each kind of defect; verify must pass the
# clean run and catch every defect in the right counter; the committed
# offsets probe must pass for the clean run's group (emulate commits what
# it routed) and fail for a group that committed nothing. Needs no router.
. "$(dirname "$0")/lib.sh"

COUNT=${E2E_SELFCHECK_COUNT:-5000}

"$TOOL" selftest || check_failed "e2e_tool selftest"

# defect NAME COUNTER [VERIFY ARGS...]: on a fresh cluster, emulate with
# defect NAME; verify must fail (pass for "none") with COUNTER > 0.
defect() {
    local name=$1 counter=$2 got
    shift 2
    rm -f "$WORK/bootstrap"
    start_mock >/dev/null
    "$TOOL" produce -b "$BS" --count "$COUNT" --seed "$SEED" >/dev/null ||
        fail "could not produce the dataset"
    "$TOOL" emulate --once -b "$BS" -G "selfcheck-$name" --count "$COUNT" \
        --seed "$SEED" --defect "$name" >"$WORK/emulate-$name.log" 2>&1 ||
        check_failed "$name: emulate failed"
    if verify --timeout 1 "$@" >/dev/null; then
        [ "$name" = none ] || check_failed "$name: verify did not fail"
    else
        [ "$name" != none ] || check_failed "none: verify failed"
    fi
    got=$(verify_field "$counter")
    log "defect $name: $VERIFY_LINE"
    if [ "$name" = none ]; then
        [ "$got" = 0 ] || check_failed "none: $counter=$got"
        "$TOOL" committed -b "$BS" -G "selfcheck-$name" -t e2e.src \
            --wait 10 >"$WORK/committed-$name.out" 2>&1 ||
            check_failed "committed: not at end after the clean run"
        "$TOOL" committed -b "$BS" -G "selfcheck-nobody" -t e2e.src \
            >"$WORK/committed-nobody.out" 2>&1 &&
            check_failed "committed: at end for a group without commits"
    elif [ -z "$got" ] || [ "$got" = 0 ]; then
        check_failed "$name: $counter is ${got:-missing}, want > 0"
    fi
    kill -TERM "$MOCK_PID"
    wait_exit "$MOCK_PID" 10
}

defect none missing
defect drop missing
defect dup duplicates
defect key unexpected
defect value unexpected
defect partition misplaced
defect order out_of_order
defect header bad_headers
defect dlq_offset bad_headers
defect extra unexpected
defect stray_header bad_headers
defect dup_misplaced misplaced --allow-dups
finish
