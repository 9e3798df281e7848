#!/usr/bin/env bash
# Retention benchmark: gateway ingest while a partition-keeper round drops the
# weekly partitions past a 14-day retention; acknowledgement latencies of the
# batches that overlapped the round beside the others, in the same run.
# Usage: tools/bench/run_retention.sh [DEVICES] [WEEKS]
source "$(dirname "$0")/lib.sh"
start_server
machine_line
"$BIN/tools/bench/retention_bench" --port="$SERVER_PORT" --devices="${1:-200}" --weeks="${2:-5}"
