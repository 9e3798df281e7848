#!/usr/bin/env bash
# Query benchmark: ListSensorData of one day in a 10-million-row table, client
# latency over gRPC beside the same storage query; with GROW_TO, measured again
# once the table holds that many rows (earlier weeks, in their partitions).
# Usage: tools/bench/run_query.sh [ROWS] [GROW_TO] [query_bench flags, e.g. --nowarm_first]
source "$(dirname "$0")/lib.sh"
start_server
machine_line
"$BIN/tools/bench/query_bench" --port="$SERVER_PORT" --rows="${1:-10080000}" --devices=1000 \
  --grow_to="${2:-0}" "${@:3}"
