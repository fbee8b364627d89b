#!/usr/bin/env bash
# profile.sh - where the router's instructions go, per message, against the
# fan-out floor's: both run under callgrind on the same backlog of a mock
# cluster (the bench's events, rule set and client settings), one after
# the other. The routing work per message (pl_route and below) does not
# depend on the machine's load, so two builds compare exactly
# (ROUTER=/other/router bench/profile.sh); the all-thread totals include
# librdkafka's polling, which grows on a loaded machine: compare those
# from runs on an idle one.
#
#   bench/profile.sh [MESSAGES] [RULES]      (default 50000 100)
#
# Prints instructions per message: each process (all threads), the routing
# thread, and the routing thread's main parts; keeps the callgrind files
# (callgrind_annotate them) in the directory it names.
set -euo pipefail

BUILD=${BUILD:-build}
RB=$BUILD/bench/router-bench
ROUTER=${ROUTER:-$BUILD/router}
N=${1:-50000}
R=${2:-100}
P=16  # source partitions, as the bench's base configuration
DP=4  # partitions of each destination
OUT=$(mktemp -d /tmp/router-profile.XXXXXX)
CONS=(-X consumer.fetch.wait.max.ms=10 -X consumer.queued.max.messages.kbytes=131072
      -X consumer.queued.min.messages=1000000)
PROD=(-X producer.enable.idempotence=true -X producer.acks=all
      -X producer.partitioner=murmur2_random -X producer.linger.ms=5
      -X producer.batch.num.messages=10000
      -X producer.queue.buffering.max.messages=100000)
VG=(valgrind --tool=callgrind --separate-threads=yes)

say() { echo "profile: $*" >&2; }
die() { say "$*"; exit 1; }
for t in valgrind callgrind_annotate jq curl; do
    command -v "$t" >/dev/null || die "$t is needed (make deps)"
done
[ -x "$RB" ] && [ -x "$ROUTER" ] || die "build first: make"

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    exec {MOCK_IN}>&- 2>/dev/null || true
}
trap cleanup EXIT

# The mock cluster: "topic NAME PARTITIONS" on its stdin, "ok" back.
coproc MOCK { exec "$RB" mock; }
pids+=("$MOCK_PID")
MOCK_IN=${MOCK[1]}
read -r -t 30 word BS <&"${MOCK[0]}" || die "the mock did not start"
[ "$word" = bootstraps ] || die "the mock said: $word $BS"
create() {
    local ans
    echo "topic $1 $2" >&"$MOCK_IN"
    read -r -t 30 ans <&"${MOCK[0]}" || die "no answer creating $1"
    [ "$ans" = ok ] || die "creating $1: $ans"
}

"$RB" rules "$R" prof.r prof.r.live "$OUT/rules.json"
create bench.src "$P"
create prof.r.live "$P"
create prof.r.dead 1
for t in $(jq -r '.routes[0:10][].to' "$OUT/rules.json"); do
    create "$t" "$DP"
    create "prof.f.${t#prof.r.}" "$DP"
done
say "preloading $N events of 200 B into $P partitions"
"$RB" produce -b "$BS" -t bench.src -n "$N" --size 200 \
    -X producer.linger.ms=200 -X producer.batch.size=1000000 \
    -X producer.batch.num.messages=100000 -X producer.acks=1 \
    -X producer.enable.idempotence=false \
    -X producer.queue.buffering.max.messages=1000000 \
    -X producer.queue.buffering.max.kbytes=1048576 </dev/null >/dev/null

say "fan-out floor under callgrind"
"${VG[@]}" --callgrind-out-file="$OUT/floor.cg" \
    "$RB" fanout -b "$BS" -t bench.src -d prof.f -n "$N" \
    "${CONS[@]}" "${PROD[@]}" </dev/null >/dev/null 2>"$OUT/floor.log" ||
    die "the floor failed: $OUT/floor.log"

# The admin endpoint says when the backlog is routed; its librdkafka
# statistics (lag, every 5 s) are off, as with the bench's --admin off.
say "router ($R rules) under callgrind"
"${VG[@]}" --callgrind-out-file="$OUT/router.cg" \
    "$ROUTER" -b "$BS" -G prof -r "$OUT/rules.json" \
    --admin 127.0.0.1:0 "${CONS[@]}" "${PROD[@]}" \
    -X statistics.interval.ms=0 2>"$OUT/router.log" &
rpid=$!
pids+=("$rpid")
port=
for _ in $(seq 1 600); do
    port=$(sed -n 's/.*admin endpoint on .* (port \([0-9]*\)).*/\1/p' \
        "$OUT/router.log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$rpid" 2>/dev/null || die "the router died: $OUT/router.log"
    sleep 0.2
done
[ -n "$port" ] || die "the router did not say its admin port"
done_=0
for _ in $(seq 1 3000); do # 10 minutes at most
    st=$(curl -sf "http://127.0.0.1:$port/stats" || true)
    if [ -n "$st" ] &&
        [ "$(jq -r --argjson n "$N" \
            '.consumed >= $n and .inflight == 0' <<<"$st")" = true ]; then
        done_=1
        break
    fi
    kill -0 "$rpid" 2>/dev/null || die "the router died: $OUT/router.log"
    sleep 0.2
done
[ "$done_" = 1 ] || die "the router did not route $N messages in 10 min"
kill -TERM "$rpid"
wait "$rpid" || die "the router exited with $?: $OUT/router.log"

# total FILE...: the instructions of callgrind files, summed.
total() {
    local f s=0 n
    for f in "$@"; do
        n=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f")
        s=$((s + ${n:-0}))
    done
    echo "$s"
}
# incl FILE FUNCTION: the inclusive instructions of FUNCTION in FILE.
incl() {
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
        awk -v fn="$2" '$0 ~ ":" fn " " { gsub(",", "", $1); print $1; exit }'
}
per() { awk -v a="${1:-0}" -v n="$N" 'BEGIN { printf "%8.0f", a / n }'; }

rt=$(grep -l "fn=.*pl_route$" "$OUT"/router.cg-* | head -n 1)
ft=$(grep -l "fn=.*bench_cmd_fanout$\|fn=.*consume_cmd$" "$OUT"/floor.cg-* |
    head -n 1)
[ -n "$rt" ] && [ -n "$ft" ] || die "no routing thread in $OUT"
echo "instructions per message ($N messages, $R rules, 200 B, $P partitions)"
printf '%-42s %s\n' "router, all threads" "$(per "$(total "$OUT"/router.cg-*)")"
printf '%-42s %s\n' "copy-fanout, all threads" "$(per "$(total "$OUT"/floor.cg-*)")"
printf '%-42s %s\n' "router, routing thread" "$(per "$(total "$rt")")"
printf '%-42s %s\n' "copy-fanout, its loop's thread" "$(per "$(total "$ft")")"
echo "router's routing thread, inclusive:"
for fn in pl_route rules_eval jsonscan_parse rd_kafka_producev \
    rd_kafka_message_headers tracker_add pl_ctx_release pl_serve_producer \
    rd_kafka_consume_batch_queue pl_offsets_flush pl_parts_reap pl_publish; do
    printf '  %-40s %s\n' "$fn" "$(per "$(incl "$rt" "$fn")")"
done
echo "callgrind files: $OUT"
