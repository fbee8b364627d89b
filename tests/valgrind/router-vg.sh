#!/bin/sh
# router-vg.sh - the router under valgrind memcheck, for the end-to-end
# scenarios (ROUTER=tests/valgrind/router-vg.sh): same arguments, same PID
# (exec), exit 99 on any memcheck error or definite leak, one log per run
# in VG_LOG_DIR (router.PID.vg.log), read by tests/valgrind/run.sh.
#
# Environment: VG_ROUTER (the router binary, default build/router),
# VG_LOG_DIR (default build/valgrind).
dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$dir/../.." && pwd)
router=${VG_ROUTER:-$root/build/router}
logs=${VG_LOG_DIR:-$root/build/valgrind}
mkdir -p "$logs" || exit 1
supp=
for f in "$dir"/*.supp; do
    [ -f "$f" ] && supp="$supp --suppressions=$f"
done
# shellcheck disable=SC2086 # $supp is a list of options
exec valgrind --tool=memcheck --leak-check=full \
    --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no \
    --num-callers=30 $supp --log-file="$logs/router.%p.vg.log" \
    "$router" "$@"
