#!/usr/bin/env bash
# Migrations 0011-0013 (readings get a parameter) on a large sensor_data while
# a writer keeps ingesting. Usage: tools/bench/run_backfill.sh [ROWS]
source "$(dirname "$0")/lib.sh"
bazel build -c opt //tools/bench:backfill_bench >/dev/null 2>&1 || bazel build -c opt //tools/bench:backfill_bench
machine_line
# A database of its own, migrated by the benchmark itself to just before 0011.
PGPASSWORD=bench psql -X -q -h 127.0.0.1 -p "$POSTGRES_DB_PORT" -U bench -d postgres \
  -c "CREATE DATABASE plantmon_backfill"
POSTGRES_DB_NAME=plantmon_backfill "$BIN/tools/bench/backfill_bench" --rows="${1:-5000000}"
