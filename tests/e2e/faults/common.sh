# common.sh - shared steps of the fault scenarios (sourced after ../lib.sh):
# a mock cluster taking faults on stdin, the router, the dataset produced
# in stages with faults between them, then nothing may be lost.
#
# Environment (besides lib.sh's): E2E_COUNT defaults to 100000 here;
# FAULT_ROUTER_ARGS (word-split) replaces a scenario's default router
# arguments (fault_start), e.g. FAULT_ROUTER_ARGS= for none. A scenario
# may set the array VERIFY_ARGS: more arguments of the final verify.

VERIFY_ARGS=()

# The source is produced in stages, so that every fault lands with part
# of the stream still to come, however fast or slow the machine:
# fault_point PCT produces the dataset up to PCT+FAULT_AHEAD %, waits
# until the outputs of its first PCT % are there, and the fault that
# follows is applied before the rest is produced (source_to, lib.sh).
FAULT_AHEAD=${FAULT_AHEAD:-10}

# fault_point PCT: produce the source up to PCT+FAULT_AHEAD %, wait until
# the outputs of its first PCT % are there; the fault that follows lands
# mid-stream by construction (the rest of the source is not produced yet).
fault_point() {
    local upto=$((COUNT * ($1 + FAULT_AHEAD) / 100)) want
    [ "$upto" -lt "$COUNT" ] ||
        fail "fault_point $1: no room left for a fault mid-stream"
    source_to "$upto"
    want=$(expected_of $((COUNT * $1 / 100)))
    wait_outputs "$want" 60 20 ||
        check_failed "outputs never reached those of the first $1% ($want)" \
            "before the fault"
    alive "$ROUTER_PID" || check_failed "router died before the fault at $1%"
    log "fault at $1%: the source holds $SOURCE_AT of $COUNT messages"
}

# fault_start [DEFAULT ROUTER ARGS...]: the router, with FAULT_ROUTER_ARGS
# when set, else these arguments, on a source that fault_point and
# fault_settle produce (EXPECTED: the whole dataset's outputs). Scenario
# setup (leaders...) goes between start_fault_mock and this, or after.
fault_start() {
    T_START=$SECONDS
    expect_dataset
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

# outage ID SECONDS [PCT]: broker ID goes down for SECONDS (the fault's
# length, not a wait for the router) while the source grows to PCT % of
# the dataset (default: 25 points past what it holds), then comes back.
outage() {
    local to=${3:-$((SOURCE_AT * 100 / COUNT + 25))} before
    before=$SOURCE_AT
    mock_cmd "down $1"
    source_bg $((COUNT * to / 100))
    sleep "$2"
    mock_cmd "up $1"
    source_join
    log "outage of broker $1: the source grew from $before to $SOURCE_AT" \
        "messages meanwhile"
}

# fault_settle SECONDS: the router must commit the whole source within
# SECONDS after the faults, stop cleanly, and every expected output must be
# there (duplicates allowed: at-least-once); logs the duplicates.
fault_settle() {
    source_to "$COUNT"
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
    source_to "$COUNT"
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
