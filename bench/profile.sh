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
VG=(valgrind --tool=callgrind --separate-threads=yes)

say() { echo "profile: $*" >&2; }
die() { say "$*"; exit 1; }
for t in valgrind callgrind_annotate jq; do
    command -v "$t" >/dev/null || die "$t is needed (make deps)"
done
[ -x "$RB" ] && [ -x "$ROUTER" ] || die "build first: make"
# xargs_of [preload]: the bench's -X settings, as arguments.
xargs_of() {
    local s
    "$RB" settings "$@" | while read -r s; do printf -- '-X\n%s\n' "$s"; done
}
mapfile -t X < <(xargs_of)
mapfile -t XPRE < <(xargs_of preload)
[ "${#X[@]}" -gt 0 ] && [ "${#XPRE[@]}" -gt 0 ] || die "no bench settings"

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
DESTS=
for t in $(jq -r '.routes[0:10][].to' "$OUT/rules.json"); do
    create "$t" "$DP"
    create "prof.f.${t#prof.r.}" "$DP"
    DESTS=${DESTS:+$DESTS,}$t
done
say "preloading $N events of 200 B into $P partitions"
"$RB" produce -b "$BS" -t bench.src -n "$N" --size 200 "${XPRE[@]}" \
    </dev/null >/dev/null

say "fan-out floor under callgrind"
"${VG[@]}" --callgrind-out-file="$OUT/floor.cg" \
    "$RB" fanout -b "$BS" -t bench.src -d prof.f -n "$N" "${X[@]}" \
    </dev/null >/dev/null 2>"$OUT/floor.log" ||
    die "the floor failed: $OUT/floor.log"

# As in the bench: no admin endpoint (so no librdkafka statistics); the
# backlog is routed when the destinations hold it.
say "router ($R rules) under callgrind"
"${VG[@]}" --callgrind-out-file="$OUT/router.cg" \
    "$ROUTER" -b "$BS" -G prof -r "$OUT/rules.json" --admin off "${X[@]}" \
    2>"$OUT/router.log" &
rpid=$!
pids+=("$rpid")
"$RB" wait -b "$BS" -t "$DESTS" -n "$N" ||
    die "the router did not route $N messages: $OUT/router.log"
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
