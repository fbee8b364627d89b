#!/usr/bin/env bash
# pathological.sh - crafted inputs through the real router, interleaved
# with normal events: a regex that backtracks catastrophically, JSON nested
# 100,000 deep, a 10 MB value, empty and null keys and values, invalid
# UTF-8 in value, key and headers, 1,000 headers. Each lands in exactly the
# topics the rules imply (dead letters with the right router.reason), every
# message is accounted for, the normal events keep flowing, peak RSS stays
# bounded and SIGTERM exits 0. A second run with the producer's default
# message.max.bytes: the 10 MB dead letter is too large for it and goes
# without its value (router.value.omitted); its partition goes on.
#
# Mock cluster limit that shapes the data: a partition keeps about 5 MB;
# appending a larger message set to a partition that is not empty drops
# the older ones and the new one too (librdkafka 2.0.2 sets the log start
# past it), and appending to one that holds it drops it. So the 10 MB
# message is alone in its source partition (p.src [1]) and its dead letter
# gets a p.dlq partition of its own (every other dead letter has the key
# "dl").
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/patho/gen.sh"

command -v kcat >/dev/null || fail "kcat is missing (make deps)"
command -v curl >/dev/null || fail "curl is missing (make deps)"
export LC_ALL=C # keys, values and headers are bytes

RULES=$E2E_DIR/rules-pathological.json
SRC=p.src
BIG_BYTES=$((10 * 1024 * 1024))
BIG_KEY=big           # its p.dlq partition differs from key "dl"'s
RSS_LIMIT_KB=$((200 * 1024))
OUT_TOPICS=(p.play:1 p.regex:1 p.key.empty:1 p.key.null:1 p.accent:1
    p.hdr:1 p.hdr.re:1 p.t.a:1 p.unmatched:1 p.dlq:2)
RUN2_TOPICS=(p2.src:2 p2.play:1 p2.unmatched:1 p2.dlq:1)
EXP=$WORK/expected # "TAG TOPIC REASON" per output message ("-": routed)
: >"$EXP"
IN=$WORK/in
mkdir -p "$IN"

# expect TAG TOPIC [REASON]: one output message.
expect() {
    echo "$1 $2 ${3:--}" >>"$EXP"
}

# kcat producing to SRC (each call waits for its deliveries).
pk() {
    kcat -P -b "$BS" -t "$SRC" "$@" 2>>"$WORK/kcat.log" ||
        fail "kcat -P $* failed: $(tail -n 1 "$WORK/kcat.log")"
}

# send_file TAG PART FILE [KCAT ARGS...]: FILE as one message.
send_file() {
    local tag=$1 part=$2 file=$3
    shift 3
    pk -p "$part" -H "tag=$tag" "$@" "$file"
}

# send_line TAG PART KEY VALUE [KCAT ARGS...]: one message from a
# "key<TAB>value" line (-Z: an empty key or value is NULL).
send_line() {
    local tag=$1 part=$2 key=$3 value=$4
    shift 4
    printf '%s\t%s\n' "$key" "$value" |
        pk -p "$part" -K '\t' -H "tag=$tag" "$@"
}

# normal TAG PART FIRST N: N normal events (play -> p.play, skip ->
# unmatched).
normal() {
    local tag=$1 part=$2 first=$3 n=$4 i
    normal_events "$first" "$n" | pk -p "$part" -K '\t' -H "tag=$tag"
    for i in $(seq "$first" $((first + n - 1))); do
        if [ $((i % 2)) = 0 ]; then
            expect "$tag" "${OUT_PREFIX}play"
        else
            expect "$tag" "${OUT_PREFIX}unmatched"
        fi
    done
}

# Sum of the end offsets of TOPIC:PARTS... (nothing is deleted from them).
end_offsets() {
    local args=() t i
    for t in "$@"; do
        for i in $(seq 0 $((${t#*:} - 1))); do
            args+=(-t "${t%:*}:$i:-1")
        done
    done
    kcat -Q -b "$BS" "${args[@]}" 2>/dev/null |
        awk '/offset/ {s += $NF} END {print s + 0}'
}

# wait_total N SECONDS TOPIC:PARTS...: until the topics hold N messages.
wait_total() {
    local want=$1 limit=$2 t0 got
    shift 2
    t0=$SECONDS
    while :; do
        got=$(end_offsets "$@")
        [ "$got" -ge "$want" ] && break
        [ $((SECONDS - t0)) -ge "$limit" ] && break
        alive "$ROUTER_PID" || break
        sleep 0.2
    done
    log "outputs hold $got messages (want $want) after $((SECONDS - t0)) s"
    [ "$got" = "$want" ]
}

# dump TOPIC: "TAG TOPIC REASON" per message, from its headers (the tag
# header is the input's, router.reason the router's).
dump() {
    kcat -C -b "$BS" -t "$1" -o beginning -e -q -f '%h\n' 2>/dev/null |
        awk -F, -v t="$1" '{
            tag = "?"; reason = "-"
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^tag=/) tag = substr($i, 5)
                if ($i ~ /^router\.reason=/) reason = substr($i, 15)
            }
            print tag, t, reason
        }'
}

# one TOPIC TAG FORMAT: kcat's FORMAT for the message tagged TAG in TOPIC
# (the first: tags of single messages are unique). The topic's index is
# read once: call it when the topic is complete.
one() {
    local where idx=$WORK/index.$1
    [ -s "$idx" ] ||
        kcat -C -b "$BS" -t "$1" -o beginning -e -q -f '%p %o %h\n' \
            >"$idx" 2>/dev/null
    where=$(grep -a -E "[ ,]tag=$2(,|\$)" "$idx" | head -n 1 |
        cut -d' ' -f1,2)
    [ -n "$where" ] || return 1
    kcat -C -b "$BS" -t "$1" -p "${where% *}" -o "${where#* }" -c 1 -e -q \
        -f "$3" 2>/dev/null
}

# same_value TOPIC TAG FILE: the value of TAG in TOPIC is FILE, byte for
# byte.
same_value() {
    one "$1" "$2" '%s' >"$WORK/got.value" &&
        cmp -s "$WORK/got.value" "$3" ||
        check_failed "$2 in $1: the value is not the input's"
}

# header_of TOPIC TAG NAME: the last header NAME of TAG's message in TOPIC.
header_of() {
    one "$1" "$2" '%h\n' | tr ',' '\n' | sed -n "s/^$3=//p" | tail -n 1
}

# --- the data -------------------------------------------------------------
log "writing test data"
for n in 30 40 1000 5000; do
    backtrack "$n" "$IN/rb$n"
done
printf '{"type":"x","s":"%s"}' "$(repeat_str a 20)" >"$IN/re-match"
printf '{"type":"x","s":"aaaaaaab"}' >"$IN/re-short"
deep_array 100000 "$IN/deep-arr"
deep_object 100000 "$IN/deep-obj"
deep_array 30000 "$IN/deep-arr30k"
deep_play 512 "$IN/deep-512"
deep_play 513 "$IN/deep-513"
printf '{"type":"play","s":"caf\xe9"}' >"$IN/utf8-val"
printf '\xc3\x28\xff\xfe' >"$IN/utf8-raw"
printf 'not json' >"$IN/notjson"
PLAY='{"type":"play","uid":"p"}'
big_play "$BIG_BYTES" "$IN/big"
BIG_SIZE=$(stat -c %s "$IN/big")
H999=()
for i in $(seq 1 999); do
    H999+=(-H "h=nope$i")
done
H1000=()
for i in $(seq 1 1000); do
    H1000+=(-H "h=x$i")
done

# --- run 1: the producer can send the 10 MB dead letter -----------------
OUT_PREFIX=p.
start_mock_topics p.src:2 "${OUT_TOPICS[@]}" "${RUN2_TOPICS[@]}"
T_START=$(now_ms)
start_router -X producer.message.max.bytes=$((BIG_SIZE + 1048576))

log "phase A: every small pathological input, between normal events"
normal n1 0 0 20
for n in 30 40 1000 5000; do
    send_file "rb$n" 0 "$IN/rb$n" -k dl
    expect "rb$n" p.dlq regex_limit
done
send_file re-match 0 "$IN/re-match" -k dl
expect re-match p.regex
send_file re-short 0 "$IN/re-short" -k dl
expect re-short p.unmatched
normal n2 0 100 20
send_file deep-arr 0 "$IN/deep-arr" -k dl
expect deep-arr p.dlq not_json
send_file deep-obj 0 "$IN/deep-obj" -k dl
expect deep-obj p.dlq not_json
send_file deep-arr30k 0 "$IN/deep-arr30k" -k dl
expect deep-arr30k p.dlq not_json
send_file deep-512 0 "$IN/deep-512" -k dl
expect deep-512 p.play
send_file deep-513 0 "$IN/deep-513" -k dl
expect deep-513 p.dlq not_json
normal n3 0 200 20
send_line key-empty 0 '' "$PLAY"
expect key-empty p.play
expect key-empty p.key.empty
send_line key-null 0 '' "$PLAY" -Z
expect key-null p.play
expect key-null p.key.null
send_line value-empty 0 dl ''
expect value-empty p.dlq empty
send_line value-null 0 dl '' -Z
expect value-null p.dlq not_json
normal n4 0 300 20
send_file utf8-val 0 "$IN/utf8-val" -k dl
expect utf8-val p.dlq not_json
send_file utf8-raw 0 "$IN/utf8-raw" -k dl
expect utf8-raw p.dlq not_json
send_line utf8-key 0 $'\xff\xfe\xc3\xa9' "$PLAY"
expect utf8-key p.play
expect utf8-key p.accent
send_line utf8-key-cut 0 $'\xc3' "$PLAY"
expect utf8-key-cut p.play
send_line utf8-hdr 0 dl "$PLAY" -H $'h=x\xfe\xff'
expect utf8-hdr p.play
expect utf8-hdr p.hdr
send_line hdr-null 0 dl "$PLAY" -H h
expect hdr-null p.play
send_line hdr-re-bad 0 dl "$PLAY" -H $'r=ok\xff'
expect hdr-re-bad p.play
send_line hdr-re-ok 0 dl "$PLAY" -H $'r=ok\xc3\xa9'
expect hdr-re-ok p.play
expect hdr-re-ok p.hdr.re
send_line tmpl-bad 0 dl "$PLAY" -H $'t=\xff'
expect tmpl-bad p.play
expect tmpl-bad p.dlq bad_destination
send_line tmpl-ok 0 dl "$PLAY" -H t=a
expect tmpl-ok p.play
expect tmpl-ok p.t.a
normal n5 0 400 20
send_line hdr1000 0 dl "$PLAY" "${H999[@]}" -H h=xyes
expect hdr1000 p.play
expect hdr1000 p.hdr
send_line hdr1000-first 0 dl "$PLAY" -H h=xyes "${H999[@]}"
expect hdr1000-first p.play
send_line hdr1000-dl 0 dl 'not json' "${H1000[@]}"
expect hdr1000-dl p.dlq not_json
normal n6 0 500 20
T_PRODUCED=$(now_ms)
WANT_A=$(wc -l <"$EXP")
wait_total "$WANT_A" 30 "${OUT_TOPICS[@]}" ||
    check_failed "phase A: outputs never held $WANT_A messages"
T_A=$(now_ms)
log "phase A: $WANT_A outputs in $((T_A - T_PRODUCED)) ms after the last send"

log "phase B: the 10 MB value (alone in p.src [1]), then normal events"
send_file big 1 "$IN/big" -k "$BIG_KEY" \
    -X message.max.bytes=$((BIG_SIZE + 1048576))
expect big p.dlq oversize
normal n7 0 600 20
WANT=$(wc -l <"$EXP")
wait_total "$WANT" 30 "${OUT_TOPICS[@]}" ||
    check_failed "phase B: outputs never held $WANT messages"
log "phase B routed in $(($(now_ms) - T_A)) ms"
alive "$ROUTER_PID" || check_failed "router died while routing"
RSS=$(peak_rss_kb "$ROUTER_PID")

# Every message in exactly the topics the rules imply, nothing else.
for t in "${OUT_TOPICS[@]}"; do
    dump "${t%:*}"
done | sort >"$WORK/actual"
sort "$EXP" >"$WORK/expected.sorted"
if ! cmp -s "$WORK/expected.sorted" "$WORK/actual"; then
    check_failed "outputs differ from the rules' (< expected, > actual):"
    diff "$WORK/expected.sorted" "$WORK/actual" | grep '^[<>]' | sort |
        uniq -c | head -n 40
fi
log "$(wc -l <"$WORK/actual") outputs checked against $WANT expected"

# Details, bytes and headers of the crafted ones.
header_of p.dlq rb5000 router.detail |
    grep -q 'routes\[1\]\.if\.regex: match limit hit' ||
    check_failed "rb5000 detail: $(header_of p.dlq rb5000 router.detail)"
header_of p.dlq deep-arr router.detail | grep -q 'nesting deeper than 512' ||
    check_failed "deep-arr detail: $(header_of p.dlq deep-arr router.detail)"
header_of p.dlq big router.detail | grep -q "$BIG_SIZE bytes" ||
    check_failed "big detail: $(header_of p.dlq big router.detail)"
[ "$(header_of p.dlq tmpl-bad router.route)" = tmpl ] ||
    check_failed "tmpl-bad: router.route is not tmpl"
same_value p.dlq big "$IN/big"
same_value p.dlq deep-obj "$IN/deep-obj"
same_value p.dlq utf8-raw "$IN/utf8-raw"
[ "$(one p.dlq big '%k')" = "$BIG_KEY" ] || check_failed "big: key changed"
[ "$(one p.dlq value-null '%S')" = -1 ] ||
    check_failed "value-null: the dead letter's value is not NULL"
[ "$(one p.dlq value-empty '%S')" = 0 ] ||
    check_failed "value-empty: the dead letter's value is not empty"
[ "$(one p.key.null key-null '%K')" = -1 ] ||
    check_failed "key-null: the key is not NULL in p.key.null"
[ "$(one p.key.empty key-empty '%K')" = 0 ] ||
    check_failed "key-empty: the key is not empty in p.key.empty"
one p.accent utf8-key '%k' | cmp -s - <(printf '\xff\xfe\xc3\xa9') ||
    check_failed "utf8-key: the key is not the input's bytes"
header_of p.hdr utf8-hdr h | cmp -s - <(printf 'x\xfe\xff\n') ||
    check_failed "utf8-hdr: header h is not the input's bytes"
n=$(one p.hdr hdr1000 '%h\n' | tr ',' '\n' | grep -c '^h=')
[ "$n" = 1000 ] || check_failed "hdr1000: $n h headers in p.hdr, want 1000"
n=$(one p.dlq hdr1000-dl '%h\n' | tr ',' '\n' | grep -c '^h=x')
[ "$n" = 1000 ] || check_failed "hdr1000-dl: $n h headers kept, want 1000"
# The 10 MB dead letter has a p.dlq partition of its own (see the top).
p_big=$(one p.dlq big '%p')
n=$(kcat -C -b "$BS" -t p.dlq -p "$p_big" -o beginning -e -q -f 'x\n' |
    wc -l)
[ "$n" = 1 ] ||
    check_failed "p.dlq [$p_big] holds $n messages: pick another BIG_KEY"

log "router peak RSS ${RSS:-?} kB (limit $RSS_LIMIT_KB kB)"
[ -n "$RSS" ] && [ "$RSS" -lt "$RSS_LIMIT_KB" ] ||
    check_failed "peak RSS ${RSS:-unknown} kB, limit $RSS_LIMIT_KB kB"
stop_router 15
"$TOOL" committed -b "$BS" -G "$GROUP" -t p.src --wait 10 \
    >"$WORK/committed1.out" 2>&1 ||
    check_failed "run 1: offsets are not committed to the end"
sed 's/^/    /' "$WORK/committed1.out"
T_RUN1=$(($(now_ms) - T_START))

# --- run 2: default producer message.max.bytes ---------------------------
# The 10 MB dead letter is larger than the producer allows
# (MSG_SIZE_TOO_LARGE, local). Rather than park the partition for good, the
# router sends it without its value: same key, headers and router.*
# headers, router.value.omitted = the value's size, the reason in
# router.detail. Its partition goes on and is committed; health stays
# green. (A dead letter that fails for any other reason still parks its
# partition: faults/dlq_down.)
log "run 2: default producer message.max.bytes"
SRC=p2.src
OUT_PREFIX=p2.
: >"$EXP"
sed 's/"p\.src"/"p2.src"/; s/"p\.dlq"/"p2.dlq"/; s/"p\.play"/"p2.play"/;
     s/"p\.unmatched"/"p2.unmatched"/' "$RULES" >"$WORK/rules2.json"
GROUP=$GROUP-2
start_admin_router "$WORK/rules2.json" --drain-timeout 3
normal m1 0 0 10
send_file big 1 "$IN/big" -k "$BIG_KEY" \
    -X message.max.bytes=$((BIG_SIZE + 1048576))
expect big p2.dlq oversize
normal m2 0 100 10
WANT=$(wc -l <"$EXP")
RUN2_OUT=(p2.play:1 p2.unmatched:1 p2.dlq:1)
wait_total "$WANT" 30 "${RUN2_OUT[@]}" ||
    check_failed "run 2: outputs never held $WANT messages"
grep -a 'too large' "$ROUTER_LOG" | head -n 1 | sed 's/^/    /'
grep -q 'dead letter (oversize) too large .*sent without its value' \
    "$ROUTER_LOG" || check_failed "run 2: no 'sent without its value' line"
[ "$(one p2.dlq big '%S')" = -1 ] ||
    check_failed "run 2: the big dead letter has a value ($(one p2.dlq big '%S'))"
[ "$(one p2.dlq big '%k')" = "$BIG_KEY" ] ||
    check_failed "run 2: the big dead letter lost its key"
hdrs=$(one p2.dlq big '%h')
case $hdrs in
*"router.value.omitted=$BIG_SIZE"*) ;;
*) check_failed "run 2: no router.value.omitted=$BIG_SIZE header" ;;
esac
case $hdrs in
*"router.detail="*"value of $BIG_SIZE bytes left out"*) ;;
*) check_failed "run 2: router.detail does not say the value was left out" ;;
esac
code=$(curl -s -o "$WORK/health" -w '%{http_code}' "$URL/healthz")
log "run 2: /healthz $code: $(head -c 200 "$WORK/health")"
[ "$code" = 200 ] || check_failed "run 2: /healthz is $code, not 200"
for t in "${RUN2_OUT[@]}"; do
    dump "${t%:*}"
done | sort >"$WORK/actual"
if ! sort "$EXP" | cmp -s - "$WORK/actual"; then
    check_failed "run 2: outputs differ (< expected, > actual):"
    diff <(sort "$EXP") "$WORK/actual" | grep '^[<>]' | sort | uniq -c |
        head -n 20
fi
alive "$ROUTER_PID" || check_failed "run 2: the router died"
stop_router 15
"$TOOL" committed -b "$BS" -G "$GROUP" -t p2.src >"$WORK/committed2.out" 2>&1
sed 's/^/    /' "$WORK/committed2.out"
grep -q 'p2.src \[0\] .* committed 20 high 20 ' "$WORK/committed2.out" ||
    check_failed "run 2: p2.src [0] is not committed to its end (20)"
grep -q 'p2.src \[1\] .* committed 1 high 1 ' "$WORK/committed2.out" ||
    check_failed "run 2: p2.src [1] is not committed past the 10 MB message"

echo "RESULT pathological run1_ms=$T_RUN1 phaseA_outputs=$WANT_A" \
    "peak_rss_kb=${RSS:-?} total_s=$(($(now_ms) / 1000 - T_START / 1000))"
finish
