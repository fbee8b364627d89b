#!/usr/bin/env bash
# resubscribe.sh - a reload that adds a source topic and a destination
# takes effect without a restart: the subscription follows the new
# "sources", and the new destination receives what the new route sends.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"
command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"

need "$TOOL"
"$TOOL" mock --brokers 1 --topic s.one:2 --topic s.two:2 --topic o.all:2 \
    --topic o.new:1 --portfile "$WORK/bootstrap" --no-stdin \
    --die-with-parent >"$WORK/mock.out" 2>"$WORK/mock.log" &
PIDS+=($!)
for i in $(seq 1 150); do
    [ -s "$WORK/bootstrap" ] && break
    sleep 0.1
done
BS=$(cat "$WORK/bootstrap") || fail "mock cluster did not start"

cat >"$WORK/rules.json" <<'EOF'
{"version": 1, "sources": ["s.one"],
 "routes": [{"name": "all", "if": {"all": []}, "to": "o.all"}]}
EOF
cat >"$WORK/rules2.json" <<'EOF'
{"version": 1, "sources": ["s.one", "s.two"],
 "routes": [{"name": "all", "if": {"all": []}, "to": "o.all"},
            {"name": "two", "if": {"topic": true, "eq": "s.two"},
             "to": "o.new"}]}
EOF
seq 1 100 | sed 's/^/one-/' | kcat -b "$BS" -P -t s.one 2>>"$WORK/kcat.log"
seq 1 100 | sed 's/^/two-/' | kcat -b "$BS" -P -t s.two 2>>"$WORK/kcat.log"

count() {
    kcat -b "$BS" -C -t "$1" -o beginning -e -q -f '%s\n' 2>/dev/null | wc -l
}
wait_count() { # wait_count TOPIC N
    local i
    for i in $(seq 1 60); do
        [ "$(count "$1")" -ge "$2" ] && return 0
        sleep 0.5
    done
    return 1
}

ROUTER_LOG=$WORK/router.log
"$ROUTER" -b "$BS" -G "$GROUP" -r "$WORK/rules.json" \
    "${ROUTER_BASE_ARGS[@]}" --admin 127.0.0.1:0 >"$ROUTER_LOG" 2>&1 &
ROUTER_PID=$!
PIDS+=("$ROUTER_PID")
for i in $(seq 1 100); do
    PORT=$(sed -n 's/.*admin endpoint on .* (port \([0-9]*\)).*/\1/p' \
        "$ROUTER_LOG" | head -n 1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || fail "router did not say its admin port"

wait_count o.all 100 || check_failed "s.one was not routed"
sleep 1
[ "$(count o.all)" = 100 ] || check_failed "s.two routed before it was a source"
code=$(curl -s -o "$WORK/put.out" -w '%{http_code}' -X PUT \
    --data-binary @"$WORK/rules2.json" "http://127.0.0.1:$PORT/rules")
[ "$code" = 200 ] || check_failed "PUT: $code $(cat "$WORK/put.out")"
wait_count o.all 200 || check_failed "s.two not routed after the reload"
wait_count o.new 100 || check_failed "new destination o.new not fed"
stop_router 15
log "o.all $(count o.all), o.new $(count o.new)"
[ "$(count o.all)" = 200 ] || check_failed "o.all holds $(count o.all), want 200"
[ "$(count o.new)" = 100 ] || check_failed "o.new holds $(count o.new), want 100"
finish
