#!/usr/bin/env bash
# dlq_tools.sh - `router dlq stats | search` on the dead-letter topic the
# router filled: stats counts exactly what an independent reader (kcat)
# counts, by reason, source and rules version; search finds a given dead
# letter by reason and keyword (ASCII case ignored); time ranges select;
# bad input gets exit 1 or 2 and one clear line; GET /anomalies?scan=topic
# returns exactly the dead letters of a reason that kcat reads.
E2E_COUNT=${E2E_COUNT:-20000}
. "$(dirname "$0")/lib.sh"

command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"

DLQ=e2e.dlq

# dlq ARGS...: run `router dlq ARGS` on the cluster; sets DLQ_RC, output in
# $WORK/dlq.out, stderr in $WORK/dlq.err.
dlq() {
    "$ROUTER" dlq "$@" >"$WORK/dlq.out" 2>"$WORK/dlq.err"
    DLQ_RC=$?
}

start_mock
produce_dataset
start_router
wait_committed 120 || check_failed "the router did not commit the source"
stop_router 15

# The independent count: every dead letter's router.reason, with kcat.
kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q \
    -f '%p %o %h\n' >"$WORK/kcat.out" 2>>"$WORK/kcat.log" ||
    fail "kcat could not read $DLQ"
total=$(wc -l <"$WORK/kcat.out")
grep -o 'router\.reason=[^,]*' "$WORK/kcat.out" | cut -d= -f2 | sort |
    uniq -c | awk '{print $2, $1}' >"$WORK/want.reasons"
log "kcat: $total dead letters: $(tr '\n' ' ' <"$WORK/want.reasons")"
[ "$total" -gt 0 ] || fail "no dead letter to count"
[ "$(wc -l <"$WORK/want.reasons")" -ge 3 ] ||
    check_failed "fewer than 3 reasons in the dataset's dead letters"

# --- stats ----------------------------------------------------------------
t0=$(now_ms)
dlq stats -b "$BS" -t "$DLQ" --json
ms=$(($(now_ms) - t0))
[ "$DLQ_RC" = 0 ] || check_failed "stats exit $DLQ_RC: $(cat "$WORK/dlq.err")"
jq -r '.by_reason | to_entries[] | "\(.key) \(.value)"' "$WORK/dlq.out" |
    sort >"$WORK/got.reasons"
diff "$WORK/want.reasons" "$WORK/got.reasons" >"$WORK/reasons.diff" ||
    check_failed "stats by_reason differs from kcat's count:" \
        "$(tr '\n' ' ' <"$WORK/reasons.diff")"
jq -e --argjson n "$total" '.total == $n and
    .by_source == {"e2e.src": $n} and .by_rules_version == {"1": $n} and
    (.first | test("^20[0-9-]+T")) and (.last >= .first) and
    ([.histogram.counts[]] | add) == $n' "$WORK/dlq.out" >/dev/null ||
    check_failed "stats totals: $(head -c 400 "$WORK/dlq.out")"
log "stats: $total dead letters read and counted in $ms ms"
dlq stats -b "$BS" -t "$DLQ"
[ "$DLQ_RC" = 0 ] && grep -q "^$DLQ: $total dead letters selected" \
    "$WORK/dlq.out" || check_failed "stats table: $(head -n 2 "$WORK/dlq.out")"
sed 's/^/    /' "$WORK/dlq.out" | head -n 12

# Selection narrows stats: one reason.
read -r reason n <<<"$(head -n 1 "$WORK/want.reasons")"
dlq stats -b "$BS" -t "$DLQ" --json --reason "$reason"
jq -e --arg r "$reason" --argjson n "$n" \
    '.total == $n and .by_reason == {($r): $n}' "$WORK/dlq.out" >/dev/null ||
    check_failed "stats --reason $reason: $(head -c 300 "$WORK/dlq.out")"

# Time ranges, checked against the timestamps kcat reads: the whole span,
# nothing past it, and a cut in the middle (the dead letters keep their
# source's timestamp: the dataset's, in the past).
kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q -f '%T\n' \
    2>>"$WORK/kcat.log" | sort -n >"$WORK/times"
first=$(head -n 1 "$WORK/times")
last=$(tail -n 1 "$WORK/times")
mid=$(sed -n "$((total / 2))p" "$WORK/times")
n_mid=$(awk -v m="$mid" '$1 <= m' "$WORK/times" | wc -l)
range_total() { # range_total WANT ARGS...: stats over a range counts WANT
    local want=$1
    shift
    dlq stats -b "$BS" -t "$DLQ" --json "$@"
    jq -e --argjson n "$want" '.total == $n' "$WORK/dlq.out" >/dev/null ||
        check_failed "stats $*: $(jq -c .total "$WORK/dlq.out") (want $want)"
}
range_total "$total" --since "$first" --until "$last"
range_total 0 --since "$((last + 1))"
range_total 0 --until "$((first - 1))"
range_total "$n_mid" --until "$mid"
range_total $((total - n_mid)) --since "$((mid + 1))"
iso=$(jq -r .first "$WORK/dlq.out")
range_total $((total - n_mid)) --since "$iso"
range_total 0 --since 1h
log "ranges: $first..$last, $n_mid up to $mid"

# --- search ---------------------------------------------------------------
# A dead letter with a key: found by its reason and its key, upper-cased.
read -r part off key <<<"$(kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q \
    -f '%p %o %k\n' 2>>"$WORK/kcat.log" | awk 'NF == 3' | tail -n 1)"
want_reason=$(awk -v p="$part" -v o="$off" '$1 == p && $2 == o' \
    "$WORK/kcat.out" | grep -o 'router\.reason=[^,]*' | cut -d= -f2)
[ -n "$key" ] && [ -n "$want_reason" ] || fail "no keyed dead letter found"
dlq search -b "$BS" -t "$DLQ" --reason "$want_reason" \
    --q "$(echo "$key" | tr '[:lower:]' '[:upper:]')" --json --limit 1000
[ "$DLQ_RC" = 0 ] || check_failed "search exit $DLQ_RC: $(cat "$WORK/dlq.err")"
jq -e -s --argjson p "$part" --argjson o "$off" --arg r "$want_reason" \
    'any(.[]; .partition == $p and .offset == $o and .reason == $r and
         .source.topic == "e2e.src" and .rules_version == "1")' \
    "$WORK/dlq.out" >/dev/null ||
    check_failed "search did not find $DLQ [$part] @$off ($want_reason," \
        "key $key)"
jq -e -s --arg r "$want_reason" 'length >= 1 and all(.[]; .reason == $r)' \
    "$WORK/dlq.out" >/dev/null || check_failed "search returned other reasons"
log "search: $DLQ [$part] @$off found by reason $want_reason and key $key"
# Oldest first, at most --limit.
dlq search -b "$BS" -t "$DLQ" --json --limit 5
jq -e -s 'length == 5 and ([.[].timestamp] == ([.[].timestamp] | sort))' \
    "$WORK/dlq.out" >/dev/null ||
    check_failed "search --limit 5 is not the 5 oldest in order"
dlq search -b "$BS" -t "$DLQ" --q NO-SUCH-KEYWORD-ANYWHERE --json
[ "$DLQ_RC" = 0 ] && [ ! -s "$WORK/dlq.out" ] ||
    check_failed "search for a missing keyword: $(head -c 200 "$WORK/dlq.out")"

# A reason no dead letter has: a warning that names the reasons there are.
dlq stats -b "$BS" -t "$DLQ" --json --reason no_sure_reason
[ "$DLQ_RC" = 0 ] && jq -e '.total == 0' "$WORK/dlq.out" >/dev/null &&
    grep -q "no dead letter in the range has reason \"no_sure_reason\"; its reasons: .*$reason" \
        "$WORK/dlq.err" ||
    check_failed "stats --reason no_sure_reason: $(cat "$WORK/dlq.err")"

# --- bad input: exit code and one clear line -------------------------------
bad() { # bad WANT_RC PATTERN ARGS...
    local want=$1 pat=$2
    shift 2
    dlq "$@"
    if [ "$DLQ_RC" != "$want" ] ||
        ! grep -q "^router: error: dlq.*$pat" "$WORK/dlq.err"; then
        check_failed "dlq $*: exit $DLQ_RC (want $want):" \
            "$(tail -n 1 "$WORK/dlq.err")"
    else
        log "exit $want: $(tail -n 1 "$WORK/dlq.err")"
    fi
}
bad 2 'not a dead-letter topic' stats -b "$BS" -t e2e.play
bad 2 'is not a time' search -b "$BS" -t "$DLQ" --since tomorrow
bad 2 'unknown subcommand' replay-everything -b "$BS" -t "$DLQ"
bad 1 'no broker' stats -b 127.0.0.1:1 -t "$DLQ" --timeout 2
# --- GET /anomalies?scan=topic ---------------------------------------------
# The router again, with its admin endpoint: it has nothing left to route
# (the source is committed), and its ring is empty, but the topic answers.
command -v curl >/dev/null || fail "curl is missing (make deps)"
start_admin_router "$RULES"
# anomalies QUERY: GET /anomalies?QUERY into $WORK/anom.json; sets ANOM_ST.
anomalies() {
    ANOM_ST=$(curl -s -o "$WORK/anom.json" -w '%{http_code}' \
        "$URL/anomalies?$1")
}
# Every reason, each against kcat's own list of its dead letters (the
# partition and offset of each, in the topic).
while read -r r n; do
    awk -v r="$r" '$3 ~ ("(^|,)router\\.reason=" r "(,|$)") {print $1, $2}' \
        "$WORK/kcat.out" | sort >"$WORK/want.pos"
    [ "$(wc -l <"$WORK/want.pos")" = "$n" ] ||
        fail "kcat lines of reason $r: $(wc -l <"$WORK/want.pos") (want $n)"
    anomalies "scan=topic&reason=$r&limit=10000"
    [ "$ANOM_ST" = 200 ] ||
        { check_failed "scan=topic&reason=$r: status $ANOM_ST:" \
            "$(head -c 300 "$WORK/anom.json")"; continue; }
    jq -r '.anomalies[] | "\(.dead_letter.partition) \(.dead_letter.offset)"' \
        "$WORK/anom.json" | sort >"$WORK/got.pos"
    cmp -s "$WORK/want.pos" "$WORK/got.pos" ||
        check_failed "scan=topic&reason=$r: not the $n dead letters kcat" \
            "read ($(wc -l <"$WORK/got.pos") returned;" \
            "$(diff "$WORK/want.pos" "$WORK/got.pos" | head -n 4 | tr '\n' ' '))"
    jq -e --arg r "$r" --argjson n "$n" --argjson t "$total" \
        '.source == "topic" and .topic == "e2e.dlq" and .truncated == false
         and .scanned == $t and .total == $t and .matched == $n
         and .returned == $n and all(.anomalies[]; .reason == $r and
             .topic == "e2e.src" and .rules_version == "1" and
             (.partition | type) == "number" and (.offset >= 0) and
             has("detail") and has("route") and has("key") and
             has("value") and has("value_size") and has("timestamp"))
         and ([.anomalies[].dead_letter.timestamp] as $ts |
              $ts == ($ts | sort | reverse))' \
        "$WORK/anom.json" >/dev/null ||
        check_failed "scan=topic&reason=$r: $(head -c 400 "$WORK/anom.json")"
done <"$WORK/want.reasons"
log "scan=topic: every reason's dead letters, as kcat reads them"
# Newest first, at most limit; the keyword ASCII case ignored.
anomalies "scan=topic&limit=5"
jq -e --argjson last "$last" --argjson t "$total" '.returned == 5 and
    .matched == $t and .anomalies[0].dead_letter.timestamp == $last' \
    "$WORK/anom.json" >/dev/null ||
    check_failed "scan=topic&limit=5: $(head -c 300 "$WORK/anom.json")"
anomalies "scan=topic&q=$(echo "$key" | tr '[:lower:]' '[:upper:]')&limit=10000"
jq -e --argjson p "$part" --argjson o "$off" 'any(.anomalies[];
    .dead_letter.partition == $p and .dead_letter.offset == $o)' \
    "$WORK/anom.json" >/dev/null ||
    check_failed "scan=topic&q=$key did not find [$part] @$off"
# A time range: since= in the future holds none; the whole span all.
anomalies "since=$(($(now_ms) + 3600000))"
[ "$ANOM_ST" = 200 ] && jq -e '.source == "topic" and .returned == 0 and
    .matched == 0 and .anomalies == []' "$WORK/anom.json" >/dev/null ||
    check_failed "since= in the future: $ANOM_ST $(head -c 300 "$WORK/anom.json")"
anomalies "since=$first&until=$last&limit=1"
jq -e --argjson t "$total" '.matched == $t' "$WORK/anom.json" >/dev/null ||
    check_failed "since..until the whole span: $(head -c 300 "$WORK/anom.json")"
anomalies "until=$mid&limit=1"
jq -e --argjson n "$n_mid" '.matched == $n' "$WORK/anom.json" >/dev/null ||
    check_failed "until=$mid: $(head -c 300 "$WORK/anom.json") (want $n_mid)"
# Without scan=, since= or until=: the ring, empty after the restart.
anomalies "reason=$reason"
jq -e '.source == "ring" and .returned == 0' "$WORK/anom.json" >/dev/null ||
    check_failed "the ring by default: $(head -c 300 "$WORK/anom.json")"
anomalies "scan=ring&since=1h"
[ "$ANOM_ST" = 400 ] && grep -q '"since: the ring has no time range' \
    "$WORK/anom.json" || check_failed "scan=ring&since=1h: $ANOM_ST"
anomalies "since=yesterday"
[ "$ANOM_ST" = 400 ] && grep -q '"since: ' "$WORK/anom.json" ||
    check_failed "since=yesterday: $ANOM_ST $(cat "$WORK/anom.json")"
log "scan=topic: limit, keyword, since/until and the ring by default"
# The cluster still holds just as many dead letters (the second run
# routed nothing).
[ "$(kcat -b "$BS" -C -t "$DLQ" -o beginning -e -q -f '%o\n' \
    2>>"$WORK/kcat.log" | wc -l)" = "$total" ] ||
    check_failed "the second router run dead-lettered more"
stop_router 15

echo "RESULT $SCENARIO dead_letters=$total stats_ms=$ms"
finish
