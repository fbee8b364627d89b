#!/usr/bin/env bash
# short.sh - a short run of each libFuzzer target (make fuzz-short, part of
# make check): each over a copy of its corpus (tests/fuzz/corpus-TARGET,
# if any, and tests/fuzz/seeds/TARGET) in a temporary directory, so the
# tree is never written to; prints each target's executions (libFuzzer's
# final stat::number_of_executed_units) and fails if any target crashed,
# leaked, hung or printed no final stats.
#
#   FUZZ_SECONDS=60 FUZZ_BUILD=build-fuzz bash tests/fuzz/short.sh TARGET...
#
# A crash's input is kept as FUZZ_BUILD/artifacts/TARGET-crash-SHA1; to
# keep it as a regression, copy it to tests/fuzz/seeds/TARGET (make fuzz
# and this script replay every seed).
set -u

DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$DIR/../.." && pwd)
SECONDS_EACH=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD:-build-fuzz}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
ARTIFACTS=$BUILD/artifacts
# A UBSan finding stops the run (the fuzz build may let UBSan recover);
# leaks are on (libFuzzer's -detect_leaks needs ASan's leak detection).
export UBSAN_OPTIONS=${UBSAN_OPTIONS-}:halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS-}:detect_leaks=1

[ $# -gt 0 ] || { echo "usage: $0 TARGET..."; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-short.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$ARTIFACTS" || exit 2

failed=0
results=()
for t in "$@"; do
    bin=$BUILD/$t
    out=$TMP/$t.log
    mkdir -p "$TMP/$t"
    for src in "$DIR/corpus-$t" "$DIR/seeds/$t"; do
        [ -d "$src" ] && cp -p "$src"/. "$TMP/$t/" -R
    done
    before=$(find "$TMP/$t" -type f | wc -l)
    if [ ! -x "$bin" ]; then
        results+=("FAIL $t: $bin is missing")
        failed=$((failed + 1))
        continue
    fi
    echo "== $t for $SECONDS_EACH s ($before inputs)"
    # -timeout: one input taking 10 s is a hang; the outer timeout bounds
    # the whole run should libFuzzer itself hang.
    timeout -k 10 $((SECONDS_EACH + 120)) "$bin" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$ARTIFACTS/$t-" "$TMP/$t" >"$out" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' \
        "$out" | tail -n 1)
    after=$(find "$TMP/$t" -type f | wc -l)
    if [ "$rc" != 0 ] || [ -z "$execs" ]; then
        echo "--- $t: exit $rc; last lines of its output:"
        grep -v -e "^#[0-9]" -e "Test unit written" "$out" | tail -n 40
        grep -h 'Test unit written to' "$out"
        results+=("FAIL $t: exit $rc, ${execs:-no} executions")
        failed=$((failed + 1))
    else
        line="PASS $t: $execs executions in $SECONDS_EACH s,"
        results+=("$line corpus $before -> $after inputs")
    fi
done
echo "fuzz-short:"
printf '  %s\n' "${results[@]}"
[ "$failed" = 0 ]
