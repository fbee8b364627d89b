#!/usr/bin/env bash
# resubscribe.sh - a reload that adds a source topic and a destination
# takes effect without a restart: the subscription follows the new
# "sources", and the new destination receives what the new route sends.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"
command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"

E2E_BROKERS=1 start_mock_topics s.one:2 s.two:2 o.all:2 o.new:1

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
    topic_values "$1" | wc -l
}
wait_count() { # wait_count TOPIC N
    local i
    for i in $(seq 1 60); do
        [ "$(count "$1")" -ge "$2" ] && return 0
        sleep 0.5
    done
    return 1
}

start_admin_router "$WORK/rules.json"

wait_count o.all 100 || check_failed "s.one was not routed"
sleep 1
[ "$(count o.all)" = 100 ] || check_failed "s.two routed before it was a source"
code=$(curl -s -o "$WORK/put.out" -w '%{http_code}' -X PUT \
    --data-binary @"$WORK/rules2.json" "$URL/rules")
[ "$code" = 200 ] || check_failed "PUT: $code $(cat "$WORK/put.out")"
wait_count o.all 200 || check_failed "s.two not routed after the reload"
wait_count o.new 100 || check_failed "new destination o.new not fed"
stop_router 15
log "o.all $(count o.all), o.new $(count o.new)"
[ "$(count o.all)" = 200 ] || check_failed "o.all holds $(count o.all), want 200"
[ "$(count o.new)" = 100 ] || check_failed "o.new holds $(count o.new), want 100"
finish
