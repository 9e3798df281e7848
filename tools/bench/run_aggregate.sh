#!/usr/bin/env bash
# Aggregate benchmark: AggregateSensorData of 30 days in hourly buckets over
# gRPC, beside its rollup statement and the raw-scan statement on a plain
# connection. Usage: tools/bench/run_aggregate.sh [DEVICES] [DAYS]
source "$(dirname "$0")/lib.sh"
start_server
machine_line
"$BIN/tools/bench/aggregate_bench" --port="$SERVER_PORT" --devices="${1:-20}" --days="${2:-60}"
