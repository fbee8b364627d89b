# lib.sh - shared helpers of the end-to-end scenarios (sourced): one mock
# cluster per scenario, the router as a child process, cleanup of every
# process started (by PID, even on failure), logs kept on failure.
#
# Environment: BUILD (default build: where router and e2e_tool are),
# ROUTER (default $BUILD/router), E2E_COUNT (dataset size, default 50000),
# E2E_SEED (default 42), E2E_KEEP=1 keeps the work directory. The mock
# keeps about 5 MB per partition and drops the oldest messages beyond
# that (verify then fails with trimmed=N): at 100,000 messages e2e.search
# (one partition) holds 3.3 MB, so a replay of more than about half the
# stream overflows it.

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
ROUTER=${ROUTER:-$BUILD/router}
TOOL=$BUILD/e2e_tool
RULES=$E2E_DIR/rules-e2e.json
COUNT=${E2E_COUNT:-50000}
SEED=${E2E_SEED:-42}
SCENARIO=$(basename "$0" .sh)
GROUP=e2e-$SCENARIO-$$-$RANDOM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/e2e-$SCENARIO.XXXXXX") || exit 1
PIDS=()          # every process started and not yet reaped
FAILURES=()      # checks that failed (the scenario goes on, then fails)
ROUTER_RUN=0     # router runs so far (log file numbering)
ROUTER_PID=
BS=

# Options every router run gets: no admin port (scenarios may overlap with
# other tests), read the backlog from the start, notice a killed member
# quickly, commit often.
ROUTER_BASE_ARGS=(
    -X consumer.auto.offset.reset=earliest
    -X consumer.session.timeout.ms=6000
    -X consumer.heartbeat.interval.ms=500
    -X consumer.auto.commit.interval.ms=1000)

# The admin server may not be built in yet: only switch it off if it is.
if [ -x "$ROUTER" ] && "$ROUTER" --help 2>&1 | grep -q -- '--admin'; then
    ROUTER_BASE_ARGS+=(--admin off)
fi

log() {
    echo "[$SCENARIO $(date +%T)] $*"
}

# Record a failed check; the scenario fails at the end (finish).
check_failed() {
    log "CHECK FAILED: $*"
    FAILURES+=("$*")
}

# Stop here: the scenario failed.
fail() {
    log "FAIL: $*"
    exit 1
}

now_ms() {
    local t=${EPOCHREALTIME/./}
    echo $((t / 1000))
}

forget() {
    local pid=$1 i
    for i in "${!PIDS[@]}"; do
        [ "${PIDS[$i]}" = "$pid" ] && unset "PIDS[$i]"
    done
    PIDS=("${PIDS[@]}")
}

# 0 while pid runs (a zombie does not count).
alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ]
}

# wait_exit PID SECONDS: wait for a child; sets EXIT_RC (124 if it is still
# running after SECONDS: it is left running) and EXIT_MS.
wait_exit() {
    local pid=$1 limit_ms=$(($2 * 1000)) t0
    t0=$(now_ms)
    EXIT_RC=124
    while alive "$pid"; do
        EXIT_MS=$(($(now_ms) - t0))
        [ "$EXIT_MS" -ge "$limit_ms" ] && return 0
        sleep 0.05
    done
    wait "$pid" 2>/dev/null
    EXIT_RC=$?
    EXIT_MS=$(($(now_ms) - t0))
    forget "$pid"
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait_exit "$pid" 5
        [ "$EXIT_RC" = 124 ] && kill -KILL "$pid" 2>/dev/null
    done
    if [ "$rc" -ne 0 ] || [ "${E2E_KEEP:-0}" = 1 ]; then
        log "logs kept in $WORK"
        for f in "$WORK"/*.log; do
            [ -s "$f" ] || continue
            echo "--- $f (last 25 lines)"
            tail -n 25 "$f"
        done
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

need() {
    [ -x "$1" ] || fail "$1 is missing (make $(basename "$1")?)"
}

# mock_with [--faults] ARGS...: start a mock cluster (e2e_tool mock ARGS)
# and wait for its bootstrap servers; sets BS and MOCK_PID. With --faults
# its stdin is a fifo kept open in MOCK_FD, for mock_cmd; else it has none.
mock_with() {
    local i in=/dev/null opts=(--no-stdin)
    if [ "${1-}" = --faults ]; then
        shift
        in=$WORK/mock.in
        opts=()
        mkfifo "$in" || fail "mkfifo failed"
    fi
    need "$TOOL"
    "$TOOL" mock "$@" "${opts[@]}" --portfile "$WORK/bootstrap" \
        --die-with-parent <"$in" >"$WORK/mock.out" 2>"$WORK/mock.log" &
    MOCK_PID=$!
    PIDS+=("$MOCK_PID")
    # Opening the write end unblocks the mock's open of the read end.
    if [ "$in" != /dev/null ]; then
        exec {MOCK_FD}>"$in" || fail "cannot open the mock's fifo"
    fi
    for i in $(seq 1 150); do
        [ -s "$WORK/bootstrap" ] && break
        alive "$MOCK_PID" || fail "mock cluster did not start"
        sleep 0.1
    done
    [ -s "$WORK/bootstrap" ] || fail "mock cluster did not start in 15 s"
    BS=$(cat "$WORK/bootstrap")
    log "mock cluster at $BS"
}

# Start a mock cluster with every test topic; sets BS.
start_mock() {
    mock_with --brokers 3 --e2e-topics
}

# The dataset (e2e_tool produce) can be produced whole or in stages: a
# fault or a stop placed between two stages lands mid-stream whatever the
# machine's speed. SOURCE_AT counts the messages produced so far.
SOURCE_AT=0

# expect_dataset: sets EXPECTED (the outputs the whole dataset must
# yield) without producing anything.
expect_dataset() {
    EXPECTED=$(expected_of "$COUNT")
    log "dataset: $COUNT messages, $EXPECTED expected outputs"
}

# Produce the whole dataset to e2e.src; sets EXPECTED and SOURCE_AT.
produce_dataset() {
    expect_dataset
    source_to "$COUNT"
}

# source_to N: produce dataset messages SOURCE_AT..N-1 (at most COUNT).
source_to() {
    local n=$1
    [ "$n" -gt "$COUNT" ] && n=$COUNT
    [ "$n" -gt "$SOURCE_AT" ] || return 0
    "$TOOL" produce -b "$BS" -t e2e.src --from "$SOURCE_AT" --count "$n" \
        --seed "$SEED" >>"$WORK/produce.out" 2>&1 ||
        fail "could not produce messages $SOURCE_AT..$((n - 1))"
    SOURCE_AT=$n
}

# source_bg N: source_to N in the background (a fault may hold it up);
# source_join waits for it.
source_bg() {
    source_to "$1" &
    SOURCE_PID=$!
    SOURCE_BG_TO=$1
    PIDS+=("$SOURCE_PID")
}
source_join() {
    wait "$SOURCE_PID" || fail "producing the source up to $SOURCE_BG_TO failed"
    forget "$SOURCE_PID"
    SOURCE_AT=$SOURCE_BG_TO
    [ "$SOURCE_AT" -gt "$COUNT" ] && SOURCE_AT=$COUNT
}

# expected_of N: the outputs the first N messages of the dataset yield.
expected_of() {
    [ "$1" -gt 0 ] || { echo 0; return 0; }
    "$TOOL" expect --count "$1" --seed "$SEED" --total ||
        fail "e2e_tool expect failed"
}

# kill_campaign KILLS PCT SPAN [ROUTER ARGS...]: KILLS runs of the router,
# each killed with SIGKILL mid-stream: before run k the source grows to
# k/(KILLS+1) of the dataset, and the run is killed once it produced
# PCT..PCT+SPAN-1 % of the outputs of the source as it stands (replayed
# ones count: a kill while replaying is a kill too). Then the source is
# produced whole.
kill_campaign() {
    local kills=$1 lo=$2 span=$3 k base pct
    shift 3
    for k in $(seq 1 "$kills"); do
        source_to $((COUNT * k / (kills + 1)))
        start_router "$@"
        base=$(outputs_now)
        pct=$((lo + RANDOM % span))
        wait_outputs $((base + $(expected_of "$SOURCE_AT") * pct / 100)) \
            90 5 || log "run $k did not produce $pct% more before stalling"
        alive "$ROUTER_PID" || check_failed "run $k: router died by itself"
        kill9_router
        log "kill -9 number $k after $((OUTPUTS - base)) outputs of this run"
    done
    source_to "$COUNT"
}

# start_router [ARGS...]: run the router in the background; sets
# ROUTER_PID, ROUTER_LOG, ROUTER_ARGS (ARGS, for a restart).
start_router() {
    need "$ROUTER"
    ROUTER_ARGS=("$@")
    ROUTER_RUN=$((ROUTER_RUN + 1))
    ROUTER_LOG=$WORK/router.$ROUTER_RUN.log
    "$ROUTER" -b "$BS" -G "$GROUP" -r "$RULES" "${ROUTER_BASE_ARGS[@]}" \
        "$@" >"$ROUTER_LOG" 2>&1 &
    ROUTER_PID=$!
    PIDS+=("$ROUTER_PID")
    log "router run $ROUTER_RUN started (pid $ROUTER_PID)"
}

# stop_router SECONDS: SIGTERM; it must exit 0 within SECONDS.
stop_router() {
    local limit=$1
    if ! alive "$ROUTER_PID"; then
        wait_exit "$ROUTER_PID" 1
        check_failed "router exited before SIGTERM (exit $EXIT_RC)"
        return
    fi
    kill -TERM "$ROUTER_PID"
    wait_exit "$ROUTER_PID" "$limit"
    if [ "$EXIT_RC" = 124 ]; then
        check_failed "router still running ${limit} s after SIGTERM"
        kill -KILL "$ROUTER_PID" 2>/dev/null
        wait_exit "$ROUTER_PID" 5
    elif [ "$EXIT_RC" != 0 ]; then
        check_failed "router exited $EXIT_RC after SIGTERM (want 0)"
    else
        log "router stopped by SIGTERM: exit 0 in ${EXIT_MS} ms"
    fi
}

# kill9_router: SIGKILL the router and wait until it is gone (disowned
# first: bash would print a "Killed" job notice).
kill9_router() {
    disown "$ROUTER_PID" 2>/dev/null
    kill -KILL "$ROUTER_PID" 2>/dev/null
    wait_exit "$ROUTER_PID" 10
    forget "$ROUTER_PID"
}

# wait_outputs N TIMEOUT [STALL]: until the output topics hold N messages;
# gives up after TIMEOUT seconds, or when they stopped growing for STALL
# (default 20) seconds once they moved. Sets OUTPUTS.
wait_outputs() {
    local rc
    OUTPUTS=$("$TOOL" progress -b "$BS" --until "$1" --timeout "$2" \
        --stall "${3:-20}")
    rc=$?
    log "output topics hold $OUTPUTS messages (waiting for $1)"
    return $rc
}

# The number of messages in the output topics now.
outputs_now() {
    "$TOOL" progress -b "$BS"
}

# wait_committed TIMEOUT: until the group committed the whole source.
wait_committed() {
    "$TOOL" committed -b "$BS" -G "$GROUP" -t e2e.src --wait "$1" \
        >"$WORK/committed.out" 2>&1
    local rc=$?
    sed 's/^/    /' "$WORK/committed.out"
    return $rc
}

# verify [ARGS...]: compare outputs with the dataset; sets VERIFY_LINE.
verify() {
    "$TOOL" verify -b "$BS" --count "$COUNT" --seed "$SEED" --timeout 5 \
        "$@" >"$WORK/verify.out" 2>&1
    local rc=$?
    sed 's/^/    /' "$WORK/verify.out" | head -n 80
    VERIFY_LINE=$(grep '^verify: expected=' "$WORK/verify.out" | tail -n 1)
    return $rc
}

# A field of VERIFY_LINE, e.g. verify_field duplicates.
verify_field() {
    echo "$VERIFY_LINE" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

# Peak resident set of a process, in kB (VmHWM), empty if unknown.
peak_rss_kb() {
    awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# End of a scenario: pass only if no check failed.
finish() {
    if [ "${#FAILURES[@]}" -gt 0 ]; then
        log "${#FAILURES[@]} check(s) failed:"
        printf '    %s\n' "${FAILURES[@]}"
        exit 1
    fi
    log "all checks passed"
    exit 0
}

# start_mock_topics NAME:PARTS...: a mock cluster with just these topics
# (brokers: E2E_BROKERS, default 3); sets BS.
start_mock_topics() {
    local args=() t
    for t in "$@"; do
        args+=(--topic "$t")
    done
    mock_with --brokers "${E2E_BROKERS:-3}" "${args[@]}"
}

# admin_port_of LOG PID NAME: the admin port a router (PID, logging to
# LOG) says it bound with --admin 127.0.0.1:0, waiting up to 30 s for the
# line. Returns 1 (said on stderr) if it dies or never says: the caller
# stops the scenario (it runs in a command substitution).
admin_port_of() {
    local port i
    for i in $(seq 1 300); do
        port=$(sed -n 's/.*admin endpoint on .* (port \([0-9]*\)).*/\1/p' \
            "$1" | head -n 1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        alive "$2" || { log "FAIL: $3 died at start" >&2; return 1; }
        sleep 0.1
    done
    log "FAIL: $3 did not say its admin port" >&2
    return 1
}

# start_admin_router RULES_FILE [ARGS...]: start_router with that rules
# file and an admin endpoint on a free loopback port; sets ADMIN (the
# port) and URL.
start_admin_router() {
    local rules=$1
    shift
    RULES=$rules start_router --admin 127.0.0.1:0 "$@"
    ADMIN=$(admin_port_of "$ROUTER_LOG" "$ROUTER_PID" router) || exit 1
    URL=http://127.0.0.1:$ADMIN
    log "admin endpoint at $URL"
}

# topic_values TOPIC: every value in TOPIC, one a line (kcat).
topic_values() {
    kcat -b "$BS" -C -t "$1" -o beginning -e -q -f '%s\n' 2>/dev/null
}

# start_fault_mock [MOCK ARGS...]: start_mock (every test topic, or the
# given --topic NAME:PARTS args) taking faults on stdin (mock_cmd); sets
# BS.
start_fault_mock() {
    local args=("$@")
    [ "${#args[@]}" -gt 0 ] || args=(--e2e-topics)
    mock_with --faults --brokers "${E2E_BROKERS:-3}" "${args[@]}"
}

# mock_cmd LINE...: send fault commands to the mock (see e2e_tool mock)
# and wait until it applied them all (fails the scenario if it refused one).
mock_cmd() {
    local pat='mock: \(applied\|cannot apply\)' before i line
    before=$(grep -c "$pat" "$WORK/mock.log")
    for line in "$@"; do
        echo "$line" >&"$MOCK_FD" || fail "cannot write to the mock"
    done
    for i in $(seq 1 200); do
        if [ "$(grep -c "$pat" "$WORK/mock.log")" -ge $((before + $#)) ]
        then
            grep "$pat" "$WORK/mock.log" | tail -n +$((before + 1)) |
                grep 'cannot apply' && fail "the mock refused a fault"
            log "fault: $*"
            return 0
        fi
        sleep 0.05
    done
    fail "the mock did not apply \"$*\" in 10 s"
}
