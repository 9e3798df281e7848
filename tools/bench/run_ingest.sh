#!/usr/bin/env bash
# Ingest benchmark: end-to-end gateway streaming vs a raw stream_to copy of the
# same rows, measured in one run. Usage: tools/bench/run_ingest.sh [READINGS] [FLAGS...]
# (ingest_bench's, e.g. --hours_ago=1)
source "$(dirname "$0")/lib.sh"
start_server
machine_line
# The access log is on, as in production.
"$BIN/tools/bench/ingest_bench" --port="$SERVER_PORT" --server_pid="$server_pid" \
  --readings="${1:-1000000}" --devices=1000 --streams=4 --batch=1000 "${@:2}"
