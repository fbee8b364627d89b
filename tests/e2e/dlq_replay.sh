#!/usr/bin/env bash
# dlq_replay.sh - `router dlq replay`: the rules are fixed, the dead
# letters of one reason are replayed through them. A dry run produces
# nothing; a replay killed with SIGKILL mid-way and run again with the same
# --replay-id routes every selected message where the new rules say,
# nothing missing, duplicates within one commit interval; what is still
# anomalous is dead-lettered again with router.replay.id, and a replay
# does not pick up what it dead-lettered itself.
E2E_COUNT=${E2E_COUNT:-20000}
. "$(dirname "$0")/lib.sh"

command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"

DLQ=e2e.dlq
OUT=e2e.replayed
EVERY=50

mock_with --brokers 3 --e2e-topics --topic "$OUT:2" --topic e2e.rules:1
produce_dataset
start_router
wait_committed 120 >/dev/null || check_failed "the router did not commit"
stop_router 15

# The fixed rules: a missing /uid or a bad type is fine now, everything
# that is JSON goes to $OUT; not_json stays an anomaly.
cat >"$WORK/fixed.json" <<EOF
{"version": 1, "sources": ["e2e.src"], "dead_letter": {"topic": "$DLQ"},
 "anomalies": [{"name": "not_json", "if": {"not": {"json": true}}}],
 "routes": [{"name": "all", "if": {"json": true}, "to": "$OUT"}]}
EOF

# values REASON: the values of the dead letters of REASON (kcat).
values() {
    kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q -f '%h\t%s\n' \
        2>>"$WORK/kcat.log" | grep -a "router\.reason=$1[,	]" | cut -f2 | sort
}
count() { # count TOPIC
    kcat -b "$BS" -C -t "$1" -o beginning -e -q -f 'x\n' 2>>"$WORK/kcat.log" |
        wc -l
}
# replay_with RULES_ARGS... -- ARGS...: sets RC; output in
# $WORK/replay.out/.err. replay ARGS...: with -r fixed.json.
replay_with() {
    local rules=()
    while [ "$1" != -- ]; do
        rules+=("$1")
        shift
    done
    shift
    "$ROUTER" dlq replay -b "$BS" -t "$DLQ" "${rules[@]}" "$@" \
        >"$WORK/replay.out" 2>"$WORK/replay.err"
    RC=$?
}
replay() {
    replay_with -r "$WORK/fixed.json" -- "$@"
}

values bad_destination >"$WORK/want"
want=$(wc -l <"$WORK/want")
log "bad_destination dead letters to replay: $want"
[ "$want" -gt $((EVERY * 4)) ] || fail "too few dead letters ($want)"

# --- dry run: nothing produced, totals per destination ---------------------
replay --reason bad_destination --replay-id dry --dry-run
[ "$RC" = 0 ] || check_failed "dry run exit $RC: $(cat "$WORK/replay.err")"
grep -q "^  $OUT  *$want\$" "$WORK/replay.out" ||
    check_failed "dry run totals: $(tail -n 3 "$WORK/replay.out")"
[ "$(count "$OUT")" = 0 ] || check_failed "the dry run produced to $OUT"

# --- the same rules from a fleet's rules topic (--rules-topic -G) ----------
printf 'fixers\t%s\n' "$(jq -c . "$WORK/fixed.json")" |
    kcat -b "$BS" -P -t e2e.rules -p 0 -K '\t' 2>>"$WORK/kcat.log" ||
    fail "could not publish the rules to e2e.rules"
replay_with --rules-topic e2e.rules -G fixers -- \
    --reason bad_destination --replay-id dry-topic --dry-run
[ "$RC" = 0 ] && grep -q "^  $OUT  *$want\$" "$WORK/replay.out" ||
    check_failed "dry run with --rules-topic: exit $RC:" \
        "$(tail -n 3 "$WORK/replay.out") $(cat "$WORK/replay.err")"
replay_with --rules-topic e2e.rules -G nobody -- \
    --reason bad_destination --replay-id dry-none --dry-run
[ "$RC" = 2 ] && grep -q "no valid rules for group nobody" "$WORK/replay.err" ||
    check_failed "--rules-topic, a group without rules: exit $RC (want 2):" \
        "$(cat "$WORK/replay.err")"
[ "$(count "$OUT")" = 0 ] || check_failed "a dry run produced to $OUT"

# --- a replay killed mid-way, then resumed ---------------------------------
"$ROUTER" dlq replay -b "$BS" -t "$DLQ" -r "$WORK/fixed.json" \
    --reason bad_destination --replay-id r1 --rate 100 \
    --commit-every "$EVERY" >"$WORK/replay1.out" 2>"$WORK/replay1.err" &
RPID=$!
PIDS+=("$RPID")
n=0
for i in $(seq 1 300); do
    n=$(count "$OUT")
    [ "$n" -ge $((EVERY * 3)) ] && break
    alive "$RPID" || break
    sleep 0.2
done
alive "$RPID" || check_failed "the replay ended before the kill ($n in $OUT)"
disown "$RPID" 2>/dev/null
kill -KILL "$RPID" 2>/dev/null
wait_exit "$RPID" 10
forget "$RPID"
n=$(count "$OUT")
log "replay r1 killed with $n of $want in $OUT"
[ "$n" -lt "$want" ] || check_failed "the kill did not land mid-way"
replay --reason bad_destination --replay-id r1
[ "$RC" = 0 ] || check_failed "resumed replay exit $RC: $(cat "$WORK/replay.err")"
sed 's/^/    /' "$WORK/replay.out"
kcat -b "$BS" -C -t "$OUT" -o beginning -e -q -f '%s\n' 2>>"$WORK/kcat.log" |
    sort >"$WORK/got"
missing=$(comm -23 "$WORK/want" <(uniq "$WORK/got") | wc -l)
dups=$(($(wc -l <"$WORK/got") - $(uniq "$WORK/got" | wc -l)))
extra=$(comm -13 "$WORK/want" <(uniq "$WORK/got") | wc -l)
log "replay r1: $(wc -l <"$WORK/got") in $OUT, missing $missing," \
    "duplicates $dups (bound $EVERY), unexpected $extra"
[ "$missing" = 0 ] || check_failed "$missing replayed messages missing"
[ "$extra" = 0 ] || check_failed "$extra unexpected messages in $OUT"
[ "$dups" -le "$EVERY" ] || check_failed "$dups duplicates above $EVERY"
replay --reason bad_destination --replay-id r1
grep -q 'records read, 0 selected' "$WORK/replay.out" ||
    check_failed "a finished replay did more: $(head -n 1 "$WORK/replay.out")"

# --- still anomalous: dead-lettered again, once ----------------------------
bad=$(values not_json | wc -l)
replay --reason not_json --replay-id r2
[ "$RC" = 0 ] || check_failed "replay r2 exit $RC: $(cat "$WORK/replay.err")"
again() {
    kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q -f '%h\n' \
        2>>"$WORK/kcat.log" | grep -ac 'router\.replay\.id=r2'
}
n=$(again)
[ "$n" = "$bad" ] ||
    check_failed "not_json replayed: $n dead letters with replay id r2 (want $bad)"
replay --reason not_json --replay-id r2
[ "$(again)" = "$bad" ] ||
    check_failed "replay r2 picked up its own dead letters: $(again)"
kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q -f '%h\n' 2>>"$WORK/kcat.log" |
    grep -a 'router\.replay\.id=r2' | head -n 1 |
    grep -aq "router\.reason=not_json,.*router\.replay\.from=$DLQ/[0-9]*@[0-9]*" ||
    check_failed "a dead letter of the replay lacks its headers"
log "not_json: $bad replayed, dead-lettered again with router.replay.id"

# --- bad input ------------------------------------------------------------
"$ROUTER" dlq replay -b "$BS" -t "$DLQ" -r "$WORK/fixed.json" \
    >/dev/null 2>"$WORK/bad.err"
[ $? = 2 ] && grep -q 'replay-id' "$WORK/bad.err" ||
    check_failed "replay without --replay-id: $(cat "$WORK/bad.err")"
echo '{"version": 1, "sources": ["e2e.src"], "routes": [{"to": ""}]}' \
    >"$WORK/broken.json"
"$ROUTER" dlq replay -b "$BS" -t "$DLQ" -r "$WORK/broken.json" \
    --replay-id x >/dev/null 2>"$WORK/bad.err"
[ $? = 2 ] && grep -q 'broken.json: routes\[0\]' "$WORK/bad.err" ||
    check_failed "replay with broken rules: $(cat "$WORK/bad.err")"
echo "RESULT $SCENARIO replayed=$want duplicates=$dups"
finish
