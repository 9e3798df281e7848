#!/usr/bin/env bash
# Soak: ten minutes (or SECONDS) of mixed load with memory sampled every ten
# seconds. Usage: tools/bench/run_soak.sh [SECONDS]
source "$(dirname "$0")/lib.sh"
start_server
machine_line
"$BIN/tools/bench/soak" --port="$SERVER_PORT" --server_pid="$server_pid" --seconds="${1:-600}"
