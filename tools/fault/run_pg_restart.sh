#!/usr/bin/env bash
# Fault drill: restart PostgreSQL (pg_ctl restart -m fast) while four gateways
# stream readings and a client reads. Usage: tools/fault/run_pg_restart.sh
source "$(dirname "$0")/../bench/lib.sh"
bazel build -c opt //tools/fault:all >/dev/null 2>&1 || bazel build -c opt //tools/fault:all
start_server
machine_line
restart="$(declare -f pg_as_owner); PG_BIN=$PG_BIN; pg_as_owner $PG_BIN/pg_ctl --pgdata=$bench_dir/pg --mode=fast --wait restart >/dev/null"
"$BIN/tools/fault/ingest_under_fault" --port="$SERVER_PORT" --fault_command="bash -c '$restart'"
echo "server log (errors and health only):"
grep -v '^access ' "$bench_dir/server.log" | tail -n 20
