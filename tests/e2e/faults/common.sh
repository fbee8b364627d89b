# common.sh - shared steps of the fault scenarios (sourced after ../lib.sh):
# a mock cluster taking faults on stdin, the dataset, the router, faults at
# given points of the stream, then nothing may be lost.
#
# Environment (besides lib.sh's): E2E_COUNT defaults to 100000 here;
# FAULT_ROUTER_ARGS (word-split) replaces a scenario's default router
# arguments (fault_start), e.g. FAULT_ROUTER_ARGS= for none. A scenario
# may set the array VERIFY_ARGS: more arguments of the final verify.

VERIFY_ARGS=()

# fault_point PCT: wait until the outputs reach PCT% of EXPECTED; the fault
# that follows must land mid-stream (a check fails if routing was over).
fault_point() {
    local want=$((EXPECTED * $1 / 100))
    wait_outputs "$want" 60 20 ||
        check_failed "outputs never reached $1% ($want) before the fault"
    [ "$OUTPUTS" -lt "$EXPECTED" ] ||
        check_failed "routing was over before the fault at $1%"
    alive "$ROUTER_PID" || check_failed "router died before the fault at $1%"
}

# fault_start [DEFAULT ROUTER ARGS...]: the dataset and the router, with
# FAULT_ROUTER_ARGS when set, else these arguments. Scenario setup
# (leaders...) goes between start_fault_mock and this, or after.
fault_start() {
    T_START=$SECONDS
    produce_dataset
    start_router ${FAULT_ROUTER_ARGS-"$@"}
}

# victim_leads ID [LINE...]: broker ID leads source partitions 0 and 2,
# partitions of several destination topics and dead-letter partition 0;
# then the mock commands LINE... are applied too.
victim_leads() {
    local v=$1
    shift
    mock_cmd "leader e2e.src 0 $v" "leader e2e.src 2 $v" \
        "leader e2e.audit 0 $v" "leader e2e.play 1 $v" \
        "leader e2e.type.play 0 $v" "leader e2e.search 0 $v" \
        "leader e2e.dlq 0 $v" "$@"
}

# wait_first_commit SECONDS: until the group committed an offset on every
# source partition (logs them); returns 1 on timeout.
wait_first_commit() {
    local end=$((SECONDS + $1)) n parts pat
    parts=$("$TOOL" topics | sed -n 's/^e2e\.src://p')
    while :; do
        "$TOOL" committed -b "$BS" -G "$GROUP" -t e2e.src \
            >"$WORK/first_commit.out" 2>&1
        n=$(grep -c ' committed [0-9]' "$WORK/first_commit.out")
        [ "$n" -ge "$parts" ] && break
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
    pat='^committed: \(.*\) group .* \(committed [0-9]* high [0-9]*\).*'
    sed -n "s/$pat/    \1 \2/p" "$WORK/first_commit.out"
}

# outage ID SECONDS: broker ID goes down for SECONDS, then comes back.
outage() {
    mock_cmd "down $1"
    sleep "$2"
    mock_cmd "up $1"
}

# fault_settle SECONDS: the router must commit the whole source within
# SECONDS after the faults, stop cleanly, and every expected output must be
# there (duplicates allowed: at-least-once); logs the duplicates.
fault_settle() {
    wait_committed "$1" ||
        check_failed "the whole source was not committed in $1 s"
    alive "$ROUTER_PID" || check_failed "router died during the faults"
    log "source committed $((SECONDS - T_START)) s after the start"
    stop_router 15
    verify --allow-dups "${VERIFY_ARGS[@]}" || check_failed "$VERIFY_LINE"
    log "duplicates: $(verify_field duplicates)"
    echo "RESULT $SCENARIO duplicates=$(verify_field duplicates)" \
        "routed_s=$((SECONDS - T_START))"
}

# fault_settle_eos SECONDS: fault_settle for --exactly-once on the mock,
# which keeps no transactional offsets (nothing to wait for there) and
# shows aborted transactions: wait until the outputs stop growing (at most
# SECONDS), then nothing may be missing; duplicates are reported.
#
# librdkafka 2.0.2 on the mock sometimes cannot abort a transaction (a
# retried request loses its sequence to the abort's purge, and the abort
# waits for it for good). The router bounds its abort (3 calls of 5 s),
# then exits 1 and says so, for its supervisor to restart it: this plays
# the supervisor, at most twice. The outputs stop growing meanwhile: the
# stall window (20 s) is longer than that bound.
fault_settle_eos() {
    local restarts=0
    while :; do
        wait_outputs $((EXPECTED * 10)) "$1" 20 >/dev/null
        alive "$ROUTER_PID" && break
        wait_exit "$ROUTER_PID" 1
        if [ "$EXIT_RC" != 1 ] || [ "$restarts" -ge 2 ] ||
            ! grep -q "transaction could not be aborted" "$ROUTER_LOG"; then
            check_failed "router died during the faults (exit $EXIT_RC)"
            break
        fi
        restarts=$((restarts + 1))
        log "router exited 1, a transaction could not be aborted:" \
            "restart $restarts"
        start_router "${ROUTER_ARGS[@]}"
    done
    log "outputs settled $((SECONDS - T_START)) s after the start" \
        "($restarts restart(s))"
    alive "$ROUTER_PID" && stop_router 15
    verify --allow-dups "${VERIFY_ARGS[@]}" || check_failed "$VERIFY_LINE"
    log "duplicates (aborted transactions, visible on the mock):" \
        "$(verify_field duplicates)"
    echo "RESULT $SCENARIO duplicates_on_mock=$(verify_field duplicates)" \
        "routed_s=$((SECONDS - T_START))"
}
