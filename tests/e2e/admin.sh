#!/usr/bin/env bash
# admin.sh - the admin HTTP API on the real binary: every endpoint and
# status code, a bad rules body rejected while the old rules keep routing,
# the token enforced, 413 on a large body, /metrics checked line by line
# against the Prometheus text format with counters equal to what was
# routed, /anomalies filtered, PUT persisted across a restart, and a storm
# of 10,000 garbage requests that the router survives while routing.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"

# The router rewrites its rules file on PUT: give it a copy.
RULES_COPY=$WORK/rules.json
cp "$RULES" "$RULES_COPY"
echo "s3cret-token-$$" >"$WORK/token"
TOKEN=$(cat "$WORK/token")

# Admin args replace the "--admin off" of ROUTER_BASE_ARGS (last wins).
start_admin() {
    start_admin_router "$RULES_COPY" --admin-token-file "$WORK/token" \
        --admin-body-max 65536 --stats-interval 1
}

# expect_status WANT METHOD PATH [CURL ARGS...]: one request; the body is
# left in $WORK/body, headers in $WORK/headers.
expect_status() {
    local want=$1 method=$2 path=$3 got
    shift 3
    got=$(curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' \
        -X "$method" "$@" "$URL$path")
    if [ "$got" != "$want" ]; then
        check_failed "$method $path: status $got, want $want: $(head -c 300 "$WORK/body")"
        return 1
    fi
    return 0
}

header_of() {
    tr -d '\r' <"$WORK/headers" | sed -n "s/^$1: //Ip" | head -n 1
}

start_mock
produce_dataset
start_admin

# --- read-only endpoints --------------------------------------------------
wait_outputs "$EXPECTED" 120 || check_failed "outputs never reached $EXPECTED"
for i in $(seq 1 50); do
    curl -s "$URL/healthz" | grep -q '^ok' && break
    sleep 0.2
done
expect_status 200 GET /healthz && grep -q '^ok$' "$WORK/body" ||
    check_failed "/healthz body: $(cat "$WORK/body")"
expect_status 200 GET /rules
[ "$(jq -r .version "$WORK/body")" = 1 ] || check_failed "/rules version"
[ "$(jq -r .checksum "$WORK/body")" = \
  "$(sha256sum "$RULES_COPY" | cut -d' ' -f1)" ] ||
    check_failed "/rules checksum is not the file's sha256"
jq -e '.rules.routes | length == 10' "$WORK/body" >/dev/null ||
    check_failed "/rules does not hold the running rules"
expect_status 200 GET /stats
jq -e '.health == "ok" and .assigned > 0' "$WORK/body" >/dev/null ||
    check_failed "/stats: $(head -c 300 "$WORK/body")"

# Metrics: wait until the published counters hold the whole dataset (the
# routing thread publishes every 100 ms), then check the format line by
# line and the counters against the dataset.
for i in $(seq 1 300); do
    curl -s "$URL/metrics" >"$WORK/metrics.poll" &&
        grep -q "^router_messages_consumed_total{topic=\"e2e.src\"} $COUNT\$" \
            "$WORK/metrics.poll" &&
        [ "$(awk '/^router_messages_produced_total\{/ {s += $2}
                  END {print s+0}' "$WORK/metrics.poll")" = "$EXPECTED" ] &&
        break
    sleep 0.1
done
expect_status 200 GET /metrics
case $(header_of Content-Type) in
text/plain*version=0.0.4*) ;;
*) check_failed "/metrics Content-Type: $(header_of Content-Type)" ;;
esac
awk '
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { next }
    /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)$/ { typed[$3] = 1; next }
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$/ {
        name = $0; sub(/[{ ].*/, "", name)
        if (!(name in typed)) { print "untyped sample: " $0; bad = 1 }
        next
    }
    { print "bad line: " $0; bad = 1 }
    END { exit bad }' "$WORK/body" >"$WORK/metrics.check" ||
    check_failed "/metrics format: $(head -n 3 "$WORK/metrics.check")"
for name in router_messages_consumed_total router_messages_produced_total \
    router_route_matches_total router_anomalies_total router_unmatched_total \
    router_produce_errors_total router_consumer_lag router_inflight_messages \
    router_rules_version router_paused_partitions router_rules_reloads_total; do
    grep -q "^# TYPE $name " "$WORK/body" || check_failed "/metrics: no $name"
done
consumed=$(sed -n 's/^router_messages_consumed_total{topic="e2e.src"} //p' \
    "$WORK/body")
produced=$(awk '/^router_messages_produced_total\{/ {s += $2} END {print s+0}' \
    "$WORK/body")
[ "$consumed" = "$COUNT" ] ||
    check_failed "consumed_total $consumed, want $COUNT"
[ "$produced" = "$EXPECTED" ] ||
    check_failed "sum of produced_total $produced, want $EXPECTED"
log "metrics: consumed $consumed, produced $produced"
# /stats: the same figures as JSON.
expect_status 200 GET /stats
jq -e --argjson n "$COUNT" '.consumed == $n and
    ([.metrics.router_messages_consumed_total[] |
      select(.topic == "e2e.src") | .value] == [$n])' "$WORK/body" \
    >/dev/null || check_failed "/stats figures: $(head -c 300 "$WORK/body")"

expect_status 200 GET '/anomalies?reason=not_json&limit=5'
jq -e '.returned > 0 and .returned <= 5 and
       ([.anomalies[].reason] | all(. == "not_json"))' "$WORK/body" \
    >/dev/null || check_failed "/anomalies filter: $(head -c 300 "$WORK/body")"
expect_status 200 GET '/anomalies?q=NO-SUCH-KEYWORD-ANYWHERE'
jq -e '.returned == 0' "$WORK/body" >/dev/null ||
    check_failed "/anomalies keyword filter"
expect_status 400 GET '/anomalies?limit=abc'

# --- status codes ---------------------------------------------------------
expect_status 404 GET /nope
expect_status 405 DELETE /rules
header_of Allow | grep -q PUT || check_failed "405 without Allow: PUT"
expect_status 401 PUT /rules --data-binary @"$RULES_COPY"
header_of WWW-Authenticate | grep -qi bearer ||
    check_failed "401 without WWW-Authenticate: Bearer"
expect_status 401 POST /rules/reload -H "Authorization: Bearer wrong"
head -c 70000 /dev/zero | tr '\0' x >"$WORK/big"
expect_status 413 PUT /rules -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$WORK/big"

# A bad body: 400 with the place, and the old rules keep running.
sed 's/"to": "e2e.play"/"to": ""/' "$RULES_COPY" >"$WORK/bad.json"
expect_status 400 PUT /rules -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$WORK/bad.json"
jq -e '.error | startswith("routes[1].to")' "$WORK/body" >/dev/null ||
    check_failed "bad rules error does not name routes[1].to: $(cat "$WORK/body")"
printf '{"version": 1,\n "sources": [}' >"$WORK/syntax.json"
expect_status 400 POST /rules/validate -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$WORK/syntax.json"
jq -e '.line == 2 and .column > 0' "$WORK/body" >/dev/null ||
    check_failed "syntax error without line/column: $(cat "$WORK/body")"
expect_status 200 POST /rules/validate -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$RULES_COPY"
jq -e '.valid == true and .routes == 10' "$WORK/body" >/dev/null ||
    check_failed "validate of good rules: $(cat "$WORK/body")"
expect_status 200 GET /rules
[ "$(jq -r .version "$WORK/body")" = 1 ] ||
    check_failed "a rejected body changed the rules version"
cmp -s "$RULES" "$RULES_COPY" || check_failed "a rejected body was persisted"
expect_status 200 POST /rules/reload -H "Authorization: Bearer $TOKEN"
[ "$(jq -r .version "$WORK/body")" = 2 ] || check_failed "reload version"
[ "$(jq -r .checksum "$WORK/body")" = \
  "$(sha256sum "$RULES_COPY" | cut -d' ' -f1)" ] ||
    check_failed "reload checksum is not the file's sha256"

# --- garbage storm ----------------------------------------------------------
# 10,000 requests of garbage on raw connections (bash /dev/tcp): random
# methods, paths, headers, bodies, truncated requests, abrupt closes.
methods=(GET PUT POST DELETE HEAD PATCH OPTIONS BREW "" "G E T")
paths=(/ /rules /rules/reload /rules/validate /metrics /stats /healthz
    /anomalies "/anomalies?limit=-1&q=%ZZ" "/../../etc/passwd" "//rules"
    "/rules?x" "/$(head -c 300 /dev/zero | tr '\0' a)")
bodies=('{"version": 1, "sources": ["x"' '{}' '[' 'null' '{"routes": [{}]}'
    "$(head -c 2000 /dev/urandom | base64 -w0)")
RANDOM=7
sent=0
trap '' PIPE # the server may close first: EPIPE, not death
for i in $(seq 1 10000); do
    m=${methods[RANDOM % ${#methods[@]}]}
    p=${paths[RANDOM % ${#paths[@]}]}
    b=${bodies[RANDOM % ${#bodies[@]}]}
    case $((RANDOM % 6)) in
    0) req="$m $p HTTP/1.1\r\nHost: x\r\nContent-Length: ${#b}\r\n\r\n$b" ;;
    1) req="$m $p HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n$b" ;;
    2) req="$m $p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n$b" ;;
    3) req="$m $p HTTP/1.0\r\nAuthorization: Bearer $b\r\n\r\n" ;;
    4) req="$(head -c $((RANDOM % 200)) /dev/urandom | base64 -w0)\r\n\r\n" ;;
    5) req="$m $p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc" ;;
    esac
    if exec 3<>"/dev/tcp/127.0.0.1/$ADMIN" 2>/dev/null; then
        printf "$req" >&3 2>/dev/null
        exec 3>&-
        sent=$((sent + 1))
    fi
done
trap - PIPE
log "garbage storm: $sent of 10000 requests sent"
[ "$sent" -ge 9900 ] || check_failed "only $sent garbage requests connected"
alive "$ROUTER_PID" || fail "router died in the garbage storm"
expect_status 200 GET /healthz
expect_status 200 GET /rules
[ "$(jq -r .version "$WORK/body")" = 2 ] ||
    check_failed "the storm changed the rules (version $(jq -r .version "$WORK/body"))"

# --- SIGHUP reloads the file ---------------------------------------------
kill -HUP "$ROUTER_PID"
for i in $(seq 1 50); do
    curl -s "$URL/rules" | jq -e '.version == 3' >/dev/null && break
    sleep 0.1
done
curl -s "$URL/rules" | jq -e '.version == 3' >/dev/null ||
    check_failed "SIGHUP did not reload the rules (version 3)"
curl -s "$URL/metrics" | grep -q '^router_rules_reloads_total{result="ok"} 2$' ||
    check_failed "router_rules_reloads_total{result=ok} is not 2"

# --- PUT persists ---------------------------------------------------------
# New rules: drop the "typed" route; it must still hold after a restart.
jq 'del(.routes[9])' "$RULES" >"$WORK/new.json"
expect_status 200 PUT /rules -H "Authorization: Bearer $TOKEN" \
    --data-binary @"$WORK/new.json"
[ "$(jq -r .version "$WORK/body")" = 4 ] || check_failed "PUT version"
[ "$(jq -r .checksum "$WORK/body")" = \
  "$(sha256sum "$WORK/new.json" | cut -d' ' -f1)" ] ||
    check_failed "PUT checksum is not the body's sha256"
cmp -s "$WORK/new.json" "$RULES_COPY" ||
    check_failed "PUT did not persist the body to the rules file"
stop_router 15
start_admin
expect_status 200 GET /rules
jq -e '.version == 1 and (.rules.routes | length == 9)' "$WORK/body" \
    >/dev/null || check_failed "after a restart the PUT rules do not run"
stop_router 15

# Everything routed exactly as the original rules say (the reloads and
# restarts routed nothing new: the backlog was done before them).
verify || check_failed "$VERIFY_LINE"
finish
