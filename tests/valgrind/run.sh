#!/usr/bin/env bash
# run.sh - end-to-end scenarios with the router under valgrind memcheck
# (router-vg.sh), then every memcheck log read back: fails if a scenario
# failed (a router exiting 99 fails its scenario), if any log reports an
# error or a definite leak, or if no log was written at all.
#
#   BUILD=build bash tests/valgrind/run.sh [SCENARIO...]
#
# A SCENARIO may say its dataset size: sigterm:60000. Default scenarios:
# routing sigterm:60000 admin badinput backpressure, the others with
# E2E_COUNT (default 20000). sigterm needs a backlog the router is still
# reading when SIGTERM lands, and the router reads far ahead of what it
# has produced. Not sigkill (a killed valgrind writes no summary to check)
# and not reload (it PUTs as soon as the admin port answers, before the
# slower router has a pipeline, and it drains 200,000 messages).
# VG_LOG_DIR (default $BUILD/valgrind) is emptied first and keeps the
# logs afterwards.
set -u

DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$DIR/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
export VG_ROUTER=${VG_ROUTER:-$BUILD/router}
export VG_LOG_DIR=${VG_LOG_DIR:-$BUILD/valgrind}
export ROUTER=$DIR/router-vg.sh
COUNT=${E2E_COUNT:-20000}
[ $# -gt 0 ] || set -- routing sigterm:60000 admin badinput backpressure

if ! command -v valgrind >/dev/null; then
    echo "valgrind is missing (make deps)"
    exit 2
fi
[ -x "$VG_ROUTER" ] || { echo "$VG_ROUTER is missing"; exit 2; }
rm -rf "$VG_LOG_DIR"
mkdir -p "$VG_LOG_DIR" || exit 2

e2e_rc=0
for arg in "$@"; do
    name=${arg%%:*}
    count=$COUNT
    [ "$name" != "$arg" ] && count=${arg#*:}
    E2E_COUNT=$count bash "$ROOT/tests/e2e/run.sh" "$name" || e2e_rc=1
done

# Each log ends with "ERROR SUMMARY: N errors" and, for a run that got as
# far as the leak check, "definitely lost: N bytes in M blocks" (absent
# when nothing leaked at all: "All heap blocks were freed").
bad=0
logs=0
for f in "$VG_LOG_DIR"/*.vg.log; do
    [ -f "$f" ] || continue
    logs=$((logs + 1))
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9][0-9]*\) errors.*/\1/p' "$f" |
        tail -n 1)
    lost=$(sed -n 's/.*definitely lost: \([0-9,][0-9,]*\) bytes.*/\1/p' "$f" |
        tail -n 1 | tr -d ,)
    cmd=$(sed -n 's/.*Command: //p' "$f" | head -n 1 | cut -c1-100)
    if [ -z "$errors" ]; then
        echo "valgrind: $f: no ERROR SUMMARY (killed?): $cmd"
        bad=$((bad + 1))
    elif [ "$errors" != 0 ] || [ "${lost:-0}" != 0 ]; then
        echo "valgrind: $f: $errors errors," \
            "${lost:-0} bytes definitely lost: $cmd"
        bad=$((bad + 1))
    else
        echo "valgrind: $(basename "$f"): 0 errors, 0 bytes definitely lost"
    fi
done
[ "$logs" -gt 0 ] || { echo "valgrind: no log in $VG_LOG_DIR"; bad=1; }
echo "valgrind: $logs router runs checked, $bad with errors or leaks" \
    "(logs in $VG_LOG_DIR)"
[ "$e2e_rc" = 0 ] && [ "$bad" = 0 ]
