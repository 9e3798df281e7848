#!/usr/bin/env bash
# Flap benchmark: one batch of 2,000 readings alternating across 5 rules'
# threshold against the same batch with no rules, in one run.
# Usage: tools/bench/run_flap.sh [extra flap_bench flags, e.g. --hysteresis=5]
source "$(dirname "$0")/lib.sh"
start_server
machine_line
"$BIN/tools/bench/flap_bench" --port="$SERVER_PORT" "$@"
