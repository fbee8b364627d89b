# common.sh - shared steps of the fault scenarios (sourced after ../lib.sh):
# a mock cluster taking faults on stdin, the dataset, the router, faults at
# given points of the stream, then nothing may be lost.
#
# Environment (besides lib.sh's): E2E_COUNT defaults to 100000 here.

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

# fault_start [ROUTER ARGS...]: the mock (faults on stdin), the dataset and
# the router. Scenario setup (leaders...) goes between start_fault_mock and
# this, or after.
fault_start() {
    T_START=$SECONDS
    produce_dataset
    start_router "$@"
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
    verify --allow-dups || check_failed "$VERIFY_LINE"
    log "duplicates: $(verify_field duplicates)"
    echo "RESULT $SCENARIO duplicates=$(verify_field duplicates)" \
        "routed_s=$((SECONDS - T_START))"
}
