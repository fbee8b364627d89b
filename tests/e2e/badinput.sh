#!/usr/bin/env bash
# badinput.sh - bad command lines and configuration: the router must exit
# with the right code (2 for usage/config errors, 1 when the brokers cannot
# be reached), say what is wrong in one clear line on stderr (its last
# line, an error of the router's own, not a client library log line), not
# crash (exit code < 124) and not hang.
. "$(dirname "$0")/lib.sh"

need "$ROUTER"

# bad_case NAME WANT_RC MAX_SECONDS STDERR_REGEX ARGS...: run the router
# with ARGS and check exit code, time and the last line of stderr (the
# router's own verdict comes after the client library's log lines).
bad_case() {
    local name=$1 want=$2 max=$3 re=$4 t0 rc ms line
    shift 4
    t0=$(now_ms)
    timeout -k 5 $((max + 10)) "$ROUTER" "$@" \
        >"$WORK/$name.out" 2>"$WORK/$name.log" </dev/null
    rc=$?
    ms=$(($(now_ms) - t0))
    line=$(tail -n 1 "$WORK/$name.log")
    log "$name: exit $rc in $ms ms; stderr: $line"
    if [ "$rc" -ge 124 ]; then
        check_failed "$name: hung or crashed (exit $rc)"
    elif [ "$rc" != "$want" ]; then
        check_failed "$name: exit $rc, want $want"
    fi
    [ "$ms" -le $((max * 1000)) ] ||
        check_failed "$name: took $ms ms (limit $max s)"
    echo "$line" | grep -q -E -i -- "error: .*($re)" ||
        check_failed "$name: last stderr line is not an error matching /$re/"
    case $line in
    *rdkafka#*) check_failed "$name: last stderr line is librdkafka's" ;;
    esac
}

UNREACHABLE=(-b 127.0.0.1:1 -G "$GROUP" "${ROUTER_BASE_ARGS[@]}")

bad_case unreachable 1 20 '127\.0\.0\.1:1' \
    "${UNREACHABLE[@]}" -r "$RULES" --connect-timeout 5

bad_case missing_rules 2 10 'nope\.json' \
    "${UNREACHABLE[@]}" -r "$WORK/nope.json"

cat >"$WORK/empty_to.json" <<'JSON'
{
  "version": 1,
  "sources": ["e2e.src"],
  "dead_letter": {"topic": "e2e.dlq"},
  "routes": [
    {"name": "r0", "if": {"json": true}, "to": ""}
  ]
}
JSON
bad_case empty_to 2 10 'routes\[0\]\.to' \
    "${UNREACHABLE[@]}" -r "$WORK/empty_to.json"

sed 's/"to": ""/"to": "e2e.x", "stopp": true/' "$WORK/empty_to.json" \
    >"$WORK/unknown_key.json"
bad_case unknown_key 2 10 'routes\[0\].*stopp' \
    "${UNREACHABLE[@]}" -r "$WORK/unknown_key.json"

printf '{\n  "version": 1,\n  "sources": ["e2e.src"\n' >"$WORK/truncated.json"
bad_case not_json 2 10 'truncated\.json:[0-9]+' \
    "${UNREACHABLE[@]}" -r "$WORK/truncated.json"

bad_case unknown_option 2 10 'no-such-option' \
    "${UNREACHABLE[@]}" -r "$RULES" --no-such-option

bad_case bad_property 2 10 'no\.such\.property' \
    "${UNREACHABLE[@]}" -r "$RULES" -X no.such.property=1

finish
