#!/usr/bin/env bash
# Unary benchmark: authenticated GetPlant beside Health/Check, one call at a
# time and with 8 concurrent clients. Usage: tools/bench/run_unary.sh
source "$(dirname "$0")/lib.sh"
start_server
machine_line
"$BIN/tools/bench/unary_bench" --port="$SERVER_PORT" "$@"
