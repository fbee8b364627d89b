#!/usr/bin/env bash
# reload.sh - hot reload under load: while the router drains a backlog of
# 200,000 messages (and more arrive), PUT alternates 50 times between
# ruleset A (everything to out.a and out.a2) and ruleset B (out.b and
# out.b2), then once more to B before the last 1,000 messages arrive. At
# the end every message is in exactly one pair, in both of its topics,
# once: no loss, no double routing, no message split between two
# versions. Both versions must have routed something (A before the first
# reload, B the last messages).
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"
command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"
N=${RELOAD_COUNT:-200000}
HALF=$((N / 2))
RELOADS=50

rules_for() { # rules_for a|b
    cat <<EOF
{"version": 1, "sources": ["r.src"],
 "routes": [{"name": "all-$1", "if": {"all": []},
             "to": ["out.$1", "out.${1}2"]}]}
EOF
}
rules_for a >"$WORK/rules.json"
rules_for a >"$WORK/a.json"
rules_for b >"$WORK/b.json"

start_mock_topics r.src:4 out.a:4 out.a2:2 out.b:4 out.b2:2

# Messages m0000001..: key k<n>, value m<n>, small (the mock keeps ~100k
# per partition).
produce_range() {
    seq "$1" "$2" | awk '{printf "k%d:m%07d\n", $1, $1}' |
        kcat -b "$BS" -P -t r.src -K: -X linger.ms=20 2>>"$WORK/kcat.log"
}
produce_range 1 "$HALF" || fail "could not produce the backlog"
log "backlog: $HALF messages, $HALF more while reloading"

start_admin_router "$WORK/rules.json"
# PUT /rules answers 503 until the router routes: wait for it (slow under
# valgrind or the sanitizers).
for i in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] &&
        break
    sleep 0.1
done

# Version A has routed something before the first reload.
for i in $(seq 1 600); do
    [ "$(topic_values out.a | head -n 1 | wc -l)" = 1 ] && break
    alive "$ROUTER_PID" || break
    sleep 0.1
done
[ "$(topic_values out.a | head -n 1 | wc -l)" = 1 ] ||
    check_failed "rules A routed nothing in 60 s"

# The second half but its last TAIL messages arrives while the rules
# change.
TAIL=1000
produce_range $((HALF + 1)) $((N - TAIL)) &
PRODUCER=$!
PIDS+=("$PRODUCER")
ok=0
for i in $(seq 1 $RELOADS); do
    f=$WORK/b.json
    [ $((i % 2)) = 0 ] && f=$WORK/a.json
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
        --data-binary @"$f" "$URL/rules")
    [ "$code" = 200 ] && ok=$((ok + 1))
    sleep 0.05
done
wait "$PRODUCER" || check_failed "producing the second half failed"
forget "$PRODUCER"
# Version B routes the tail: it is produced after B is running.
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
    --data-binary @"$WORK/b.json" "$URL/rules")
[ "$code" = 200 ] && ok=$((ok + 1))
produce_range $((N - TAIL + 1)) "$N" || check_failed "producing the tail failed"
[ "$ok" = $((RELOADS + 1)) ] ||
    check_failed "only $ok of $((RELOADS + 1)) reloads answered 200"
version=$(curl -s "$URL/rules" | jq .version)
[ "$version" = $((RELOADS + 2)) ] ||
    check_failed "rules version $version, want $((RELOADS + 2))"

# Wait until every message is in one pair (out.a + out.b count N each
# side), then stop.
for i in $(seq 1 120); do
    total=$(( $(topic_values out.a | wc -l) + $(topic_values out.b | wc -l) ))
    [ "$total" -ge "$N" ] && break
    sleep 1
done
stop_router 15

for t in out.a out.a2 out.b out.b2; do
    topic_values "$t" | sort >"$WORK/$t"
done
sort -m "$WORK/out.a" "$WORK/out.b" >"$WORK/first"
sort -m "$WORK/out.a2" "$WORK/out.b2" >"$WORK/second"
seq 1 "$N" | awk '{printf "m%07d\n", $1}' >"$WORK/want"
dups=$(uniq -d "$WORK/first" | wc -l)
missing=$(comm -23 "$WORK/want" <(uniq "$WORK/first") | wc -l)
split=$( (comm -3 "$WORK/out.a" "$WORK/out.a2"; comm -3 "$WORK/out.b" \
    "$WORK/out.b2") | wc -l)
na=$(wc -l <"$WORK/out.a")
nb=$(wc -l <"$WORK/out.b")
log "reloads $ok, out.a $na, out.b $nb, missing $missing, duplicates $dups," \
    "split $split"
[ "$missing" = 0 ] || check_failed "$missing messages missing"
[ "$dups" = 0 ] || check_failed "$dups messages routed twice"
[ "$split" = 0 ] || check_failed "$split messages split between versions"
cmp -s "$WORK/first" "$WORK/second" ||
    check_failed "the two topics of a version differ"
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] ||
    check_failed "one version routed nothing (a $na, b $nb)"
finish
