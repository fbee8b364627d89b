#!/usr/bin/env bash
# fleet.sh - routers in one group sharing their rules through a rules
# topic (--rules-topic), while paced traffic flows: three start (the
# first publishes its rules file as the first version), a fourth joins
# mid-stream, a PUT /rules on one instance switches the fleet from rules
# A (everything to f.out.a) to rules B (everything to f.out.b), one
# instance is stopped with SIGTERM, one killed with SIGKILL and restarted
# (its local file, rules A, must not come back). Each step comes after a
# given amount of routed work, before the rest of the source exists.
#
# An independent consumer (kcat) then checks: nothing missing; duplicates
# only from the SIGKILL (counted); per key, first appearances in source
# order; per source partition, the messages routed by A only all come
# before those routed by B only (versions never go backwards, even when
# a partition moved); every instance ran the new version within a bound
# after the PUT (the time is measured and printed). Then: a record
# written by hand that does not load is refused by every instance (shown
# in GET /rules and /healthz, the running rules stay); an invalid PUT
# publishes nothing, and one that cannot be written answers 503 and
# changes nothing; when the rules topic's end cannot be read, every
# instance says so in /healthz, and recovers; a rules topic of four
# partitions, and a group with no rules and no -r, exit 2.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || fail "curl is missing (make deps)"
command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v jq >/dev/null || fail "jq is missing (make deps)"

PARTS=8                       # source partitions
PER=${FLEET_PER:-500}         # messages per partition per chunk
CHUNKS=8
TOTAL=$((PARTS * PER * CHUNKS))
RT=f.rules                    # the rules topic
PROPAGATION_BOUND_MS=30000

rules_for() { # rules_for a|b
    cat <<EOF
{"version": 1, "sources": ["f.src"],
 "routes": [{"name": "all-$1", "if": {"all": []}, "to": "f.out.$1"}]}
EOF
}
rules_for a >"$WORK/a.json"
rules_for b >"$WORK/b.json"

start_fault_mock --topic f.src:$PARTS --topic f.out.a:4 --topic f.out.b:4 \
    --topic $RT:1 --topic f.rules4:4

# chunk I: messages I*PER..(I+1)*PER-1 of every partition, value
# p<P>-<seq>, key k<P>-<seq mod 8> (eight keys per partition).
CHUNK_AT=0
produce_chunk() {
    local c=$1 p
    for p in $(seq 0 $((PARTS - 1))); do
        seq $((c * PER)) $(((c + 1) * PER - 1)) |
            awk -v p="$p" '{printf "k%d-%d:p%d-%06d\n", p, $1 % 8, p, $1}' |
            kcat -b "$BS" -P -t f.src -p "$p" -K: -X linger.ms=20 \
                2>>"$WORK/kcat.log" || return 1
    done
}
chunk() {
    produce_chunk "$CHUNK_AT" || fail "could not produce chunk $CHUNK_AT"
    CHUNK_AT=$((CHUNK_AT + 1))
}
chunk_bg() {
    produce_chunk "$CHUNK_AT" &
    CHUNK_PID=$!
    PIDS+=("$CHUNK_PID")
    CHUNK_AT=$((CHUNK_AT + 1))
}
chunk_join() {
    wait "$CHUNK_PID" || fail "producing chunk $((CHUNK_AT - 1)) failed"
    forget "$CHUNK_PID"
}

# Every instance: -r a.json (a seed: published only when the topic has
# no rules for the group), admin on a free port.
declare -A RPID RLOG RURL
RUNS=0
fleet_start() { # fleet_start NAME [ARGS...]
    local name=$1 port
    shift
    RUNS=$((RUNS + 1))
    RLOG[$name]=$WORK/router.$name.$RUNS.log
    "$ROUTER" -b "$BS" -G "$GROUP" "${ROUTER_BASE_ARGS[@]}" \
        --admin 127.0.0.1:0 --rules-topic "$RT" -r "$WORK/a.json" "$@" \
        >"${RLOG[$name]}" 2>&1 &
    RPID[$name]=$!
    PIDS+=("${RPID[$name]}")
    port=$(admin_port_of "${RLOG[$name]}" "${RPID[$name]}" "router $name") ||
        exit 1
    RURL[$name]=http://127.0.0.1:$port
    log "router $name started (pid ${RPID[$name]}, ${RURL[$name]})"
}
live() {
    local n
    for n in "${!RPID[@]}"; do
        alive "${RPID[$n]}" && echo "$n"
    done | sort
}
rules_version() { # rules_version NAME: the version GET /rules shows
    curl -s -m 5 "${RURL[$1]}/rules" | jq -r '.version // empty' 2>/dev/null
}
# wait_routing NAME: until its /healthz is 200 (it routes).
wait_routing() {
    local i
    for i in $(seq 1 600); do
        [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
            "${RURL[$1]}/healthz")" = 200 ] && return 0
        alive "${RPID[$1]}" || fail "router $1 died"
        sleep 0.1
    done
    fail "router $1 not healthy in 60 s: $(curl -s "${RURL[$1]}/healthz")"
}
# wait_out N: until the output topics hold N messages (duplicates count).
wait_out() {
    "$TOOL" progress -b "$BS" --source f.src --until "$1" --timeout 180 \
        --stall 60 >/dev/null ||
        check_failed "the outputs did not reach $1 messages"
}
# propagate NAME FILE: PUT FILE on NAME; the ms until every live instance
# runs the version it answered (PROP_MS), checked against the bound.
propagate() {
    local name=$1 file=$2 t0 v n ok i code
    t0=$(now_ms)
    code=$(curl -s -m 40 -o "$WORK/put.out" -w '%{http_code}' -X PUT \
        --data-binary @"$file" "${RURL[$name]}/rules")
    v=$(jq -r '.version // empty' "$WORK/put.out" 2>/dev/null)
    [ "$code" = 200 ] && [ -n "$v" ] || {
        check_failed "PUT $file on $name: $code $(cat "$WORK/put.out")"
        return
    }
    for i in $(seq 1 $((PROPAGATION_BOUND_MS / 20))); do
        ok=1
        for n in $(live); do
            [ "$(rules_version "$n")" = "$v" ] || { ok=0; break; }
        done
        [ "$ok" = 1 ] && break
        sleep 0.02
    done
    PROP_MS=$(($(now_ms) - t0))
    [ "$ok" = 1 ] ||
        check_failed "not every instance ran version $v within" \
            "$PROPAGATION_BOUND_MS ms"
    PROPS+=("$PROP_MS")
    log "PUT $(basename "$file") on $name: version $v on every live" \
        "instance ($(live | tr '\n' ' ')) after $PROP_MS ms"
    LAST_VERSION=$v
}
PROPS=()

# ---- refusals at the start --------------------------------------------
"$ROUTER" -b "$BS" -G "$GROUP" --admin off --rules-topic f.rules4 \
    -r "$WORK/a.json" >"$WORK/four.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q 'has 4 partitions' "$WORK/four.log" ||
    check_failed "a rules topic of 4 partitions: exit $rc, want 2:" \
        "$(cat "$WORK/four.log")"
"$ROUTER" -b "$BS" -G "$GROUP-none" --admin off --rules-topic "$RT" \
    >"$WORK/none.log" 2>&1
rc=$?
[ "$rc" = 2 ] && grep -q 'no valid rules for this group' "$WORK/none.log" ||
    check_failed "no rules anywhere: exit $rc, want 2: $(cat "$WORK/none.log")"

# ---- the stream --------------------------------------------------------
chunk
fleet_start r1
wait_routing r1
v0=$(rules_version r1)
fleet_start r2
fleet_start r3
wait_routing r2
wait_routing r3
for n in r2 r3; do
    [ "$(rules_version "$n")" = "$v0" ] ||
        check_failed "$n runs version $(rules_version "$n"), want $v0"
done
log "three routers on rules version $v0 (A, published by r1)"
wait_out $((PARTS * PER))

# A fourth instance joins mid-stream.
chunk_bg
fleet_start r4
chunk_join
wait_routing r4
wait_out $((2 * PARTS * PER))

# The rules change on one instance while the stream runs.
chunk_bg
propagate r2 "$WORK/b.json"
VB=$LAST_VERSION
chunk_join
wait_out $((3 * PARTS * PER))

# SIGTERM one instance mid-stream: it drains, commits and exits 0.
chunk_bg
kill -TERM "${RPID[r1]}"
wait_exit "${RPID[r1]}" 60
[ "$EXIT_RC" = 0 ] || check_failed "r1 exited $EXIT_RC after SIGTERM"
log "r1 stopped by SIGTERM: exit $EXIT_RC in $EXIT_MS ms"
chunk_join
wait_out $((4 * PARTS * PER))

# SIGKILL another once half the next chunk is routed; restart it.
chunk
wait_out $((4 * PARTS * PER + PARTS * PER / 2))
disown "${RPID[r3]}" 2>/dev/null
kill -KILL "${RPID[r3]}"
wait_exit "${RPID[r3]}" 10
forget "${RPID[r3]}"
log "r3 killed with SIGKILL"
chunk_bg
fleet_start r3
chunk_join
wait_routing r3
[ "$(rules_version r3)" = "$VB" ] ||
    check_failed "restarted r3 runs version $(rules_version r3), want $VB" \
        "(its file holds A: it must not come back)"
while [ "$CHUNK_AT" -lt "$CHUNKS" ]; do
    chunk
done

# ---- every message routed ---------------------------------------------
dump() {
    kcat -b "$BS" -C -t f.out.a -o beginning -e -q -f 'a %p %k %s\n' \
        2>/dev/null
    kcat -b "$BS" -C -t f.out.b -o beginning -e -q -f 'b %p %k %s\n' \
        2>/dev/null
}
for i in $(seq 1 180); do
    dump >"$WORK/out.txt"
    got=$(awk '{print $4}' "$WORK/out.txt" | sort -u | wc -l)
    [ "$got" -ge "$TOTAL" ] && break
    sleep 1
done
log "outputs: $(wc -l <"$WORK/out.txt") messages, $got distinct of $TOTAL"

# One awk pass over the outputs (topic, out partition, key, value; f.out.a
# first):
# missing, duplicates, per-key order, per-source-partition versions.
awk -v parts="$PARTS" -v total=$((PER * CHUNKS)) '
{
    split($4, v, "-"); p = substr(v[1], 2) + 0; s = v[2] + 0
    n[$4]++; if (n[$4] > 1) dups++
    if ($1 == "a") inA[p, s] = 1; else inB[p, s] = 1
    # Per key and output topic, in output order: first appearances rise.
    # A message in both topics appeared first in f.out.a (dumped first):
    # its copy in f.out.b is a duplicate, not a first appearance.
    k = $1 SUBSEP $3
    if ($1 == "b" && ((p, s) in inA)) next
    if (!(($1, $4) in seen)) {
        seen[$1, $4] = 1
        if ((k in last) && s < last[k]) {
            order++
            if (order <= 5) printf "order: %s %s: %d after %d\n", $1, $3, s, last[k]
        }
        last[k] = s
    }
}
END {
    for (p = 0; p < parts; p++) {
        maxA = -1; minB = -1
        for (s = 0; s < total; s++) {
            if (!((p, s) in inA) && !((p, s) in inB)) {
                missing++
                if (missing <= 5) printf "missing: p%d-%06d\n", p, s
            }
            if (((p, s) in inA) && !((p, s) in inB)) maxA = s
            if (((p, s) in inB) && !((p, s) in inA) && minB < 0) minB = s
            if (((p, s) in inA) && ((p, s) in inB)) both++
        }
        if (minB >= 0 && maxA > minB) {
            back++
            printf "versions: partition %d routed by A at %d after B at %d\n",
                p, maxA, minB
        }
        if (minB < 0) noB++
    }
    printf "fleet: missing=%d duplicates=%d order=%d backwards=%d both=%d partitions_without_b=%d\n",
        missing, dups, order, back, both, noB
}' "$WORK/out.txt" >"$WORK/check.txt"
sed 's/^/    /' "$WORK/check.txt"
line=$(tail -n 1 "$WORK/check.txt")
field() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(field missing)" = 0 ] || check_failed "messages missing"
[ "$(field order)" = 0 ] || check_failed "per-key order broken"
[ "$(field backwards)" = 0 ] || check_failed "a partition went back to A"
[ "$(field partitions_without_b)" = 0 ] ||
    check_failed "a partition was never routed by B"
DUPS=$(field duplicates)
# Duplicates (at-least-once) come from what was routed and not committed
# when a partition moved: the SIGKILLed instance's share, and the share of
# any commit the coordinator refused because a rebalance was under way
# (the SIGTERMed instance's final commit, a revoke commit: librdkafka
# 2.0.2 says COMMITFAIL, the router "final commit: ..."). Each is about a
# commit interval of traffic, so how many depends on the timing of the
# rebalances: 3,500 to 8,500 of 32,000 seen. The bound catches a replay
# of the topic (every message again).
REFUSED=$(cat "$WORK"/router.*.log 2>/dev/null |
    grep -c -E 'COMMITFAIL|final commit:' || true)
[ "$DUPS" -le $((TOTAL / 2)) ] ||
    check_failed "$DUPS duplicates of $TOTAL: more than the kill and" \
        "$REFUSED refused commits can explain"
log "duplicates: $DUPS of $TOTAL ($REFUSED commits refused in a rebalance)"

# ---- a record that does not load --------------------------------------
before=$(kcat -b "$BS" -C -t "$RT" -o beginning -e -q -f '.\n' | wc -l)
code=$(curl -s -o "$WORK/bad.out" -w '%{http_code}' -X PUT \
    --data-binary '{"version": 1, "routes": [{"to": 3}]}' "${RURL[r2]}/rules")
after=$(kcat -b "$BS" -C -t "$RT" -o beginning -e -q -f '.\n' | wc -l)
[ "$code" = 400 ] && [ "$before" = "$after" ] ||
    check_failed "invalid PUT: $code (want 400), rules topic $before -> $after"
echo "$GROUP:{\"version\": 1, \"bogus\": true}" |
    kcat -b "$BS" -P -t "$RT" -p 0 -K: 2>>"$WORK/kcat.log" ||
    fail "could not write the bad record"
for n in $(live); do
    for i in $(seq 1 300); do
        curl -s "${RURL[$n]}/rules" | jq -e '.refused.error' >/dev/null &&
            break
        sleep 0.1
    done
    err=$(curl -s "${RURL[$n]}/rules" | jq -r '.refused.error // empty')
    hc=$(curl -s -o "$WORK/health.out" -w '%{http_code}' "${RURL[$n]}/healthz")
    [ -n "$err" ] && [ "$hc" = 503 ] &&
        [ "$(rules_version "$n")" = "$VB" ] ||
        check_failed "$n: bad record: refused='$err' healthz=$hc" \
            "version=$(rules_version "$n") (want $VB)"
done
log "bad record refused everywhere: $err; /healthz: $(cat "$WORK/health.out")"

# The rules topic cannot be written (the next Produce the cluster gets,
# the rules producer's, is refused; nothing else produces now): PUT
# answers 503 and nothing changes.
PRODUCE=0
before=$(kcat -b "$BS" -C -t "$RT" -o beginning -e -q -f '.\n' | wc -l)
vbefore=$(rules_version r2)
mock_cmd "errors $PRODUCE 29" # TOPIC_AUTHORIZATION_FAILED, once
code=$(curl -s -m 60 -o "$WORK/put503.out" -w '%{http_code}' -X PUT \
    --data-binary @"$WORK/a.json" "${RURL[r2]}/rules")
after=$(kcat -b "$BS" -C -t "$RT" -o beginning -e -q -f '.\n' | wc -l)
[ "$code" = 503 ] && [ "$before" = "$after" ] &&
    [ "$(rules_version r2)" = "$vbefore" ] ||
    check_failed "PUT with the rules topic unwritable: $code (want 503)," \
        "rules topic $before -> $after records, version" \
        "$vbefore -> $(rules_version r2): $(cat "$WORK/put503.out")"
log "PUT with the rules topic unwritable: $code $(cat "$WORK/put503.out")"

# More changes, for the propagation figure (no traffic: timing only).
# The first comes right after the refused one, on the same instance: the
# rules topic is writable again, so it must succeed at once (librdkafka
# keeps a topic's produce error until its metadata is refreshed, which
# the router does after a failed publish).
for f in a b a b; do
    propagate r2 "$WORK/$f.json"
done
for n in $(live); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "${RURL[$n]}/healthz")" = 200 ] ||
        check_failed "$n unhealthy after a valid version followed the bad one"
done

# The rules topic's end cannot be read (ListOffsets refused by every
# broker, 160 times: well over the 10 s after which it is unhealthy):
# every instance says so in /healthz, and recovers once it can.
LIST_OFFSETS=2
for b in 1 2 3; do
    mock_cmd "broker_errors $b $LIST_OFFSETS 160 29" # TOPIC_AUTHORIZATION_FAILED
done
for n in $(live); do
    for i in $(seq 1 300); do
        curl -s "${RURL[$n]}/healthz" | grep -q 'rules topic' && break
        sleep 0.1
    done
    curl -s "${RURL[$n]}/healthz" | grep -q "rules topic $RT not read" ||
        check_failed "$n: /healthz does not say the rules topic is" \
            "unreadable: $(curl -s "${RURL[$n]}/healthz")"
done
log "rules topic unreadable: $(curl -s "${RURL[r2]}/healthz")"
for n in $(live); do
    for i in $(seq 1 900); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "${RURL[$n]}/healthz")" = 200 ] &&
            break
        sleep 0.1
    done
    [ "$(curl -s -o /dev/null -w '%{http_code}' "${RURL[$n]}/healthz")" = 200 ] ||
        check_failed "$n: still unhealthy once the rules topic reads again:" \
            "$(curl -s "${RURL[$n]}/healthz")"
done


sorted=$(printf '%s\n' "${PROPS[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
max=$(echo "$sorted" | tail -n 1)
holds=$(cat "$WORK"/router.*.log | grep -c 'after a hold of')
hold_max=$(cat "$WORK"/router.*.log |
    sed -n 's/.*after a hold of \([0-9]*\) ms.*/\1/p' | sort -n | tail -n 1)
log "propagation PUT -> every instance: median $median ms, max $max ms" \
    "(${#PROPS[@]} changes); partition holds: $holds, longest $hold_max ms;" \
    "duplicates from the SIGKILL: $DUPS"
echo "RESULT $SCENARIO propagation_median_ms=$median propagation_max_ms=$max" \
    "hold_max_ms=$hold_max duplicates=$DUPS"
for n in $(live); do
    kill -TERM "${RPID[$n]}"
    wait_exit "${RPID[$n]}" 60
    [ "$EXIT_RC" = 0 ] || check_failed "$n exited $EXIT_RC after SIGTERM"
done
finish
