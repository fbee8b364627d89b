#!/usr/bin/env bash
# emulated-router.sh - a stand-in for the router: takes the router's command
# line, runs "e2e_tool emulate" (outputs worked out from the dataset, no
# rule engine) in its place. Rehearses the scenario scripts and proves that
# verify catches defects (E2E_DEFECT=drop|dup|key|...):
#   ROUTER=tests/e2e/emulated-router.sh bash tests/e2e/run.sh routing
bs=
group=
while [ $# -gt 0 ]; do
    case $1 in
    -b) bs=$2; shift 2 ;;
    -G) group=$2; shift 2 ;;
    -r | -X | --admin | --stats-interval | --connect-timeout) shift 2 ;;
    *) shift ;;
    esac
done
build=${BUILD:-$(dirname "$0")/../../build}
exec "$build/e2e_tool" emulate -b "$bs" -G "$group" \
    --defect "${E2E_DEFECT:-none}"
