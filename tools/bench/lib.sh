# Sourced by the benchmark scripts: a throwaway PostgreSQL with default
# (durable) settings, a migrated database, and a plantmon_server process.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
tools/bootstrap
source tools/lib/postgres.sh
bazel build -c opt //services:plantmon_server //tools:plantmon_db //tools/bench:all >/dev/null 2>&1 ||
  bazel build -c opt //services:plantmon_server //tools:plantmon_db //tools/bench:all
BIN=$(bazel info -c opt bazel-bin 2>/dev/null)
# The server and database manager under test; PLANTMON_BENCH_SERVER_BIN points
# at another build's bazel-bin (say an older commit's) to measure it instead.
SERVER_BIN=${PLANTMON_BENCH_SERVER_BIN:-$BIN}

bench_dir=$(mktemp -d /tmp/plantmon-bench.XXXXXX)
chmod 755 "$bench_dir"
server_pid=""
bench_cleanup() {
  [[ -n "$server_pid" ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  pg_stop_cluster "$bench_dir/pg"
  rm -rf "$bench_dir"
}
trap bench_cleanup EXIT

export POSTGRES_DB_HOST=127.0.0.1
export POSTGRES_DB_PORT=$(pg_free_port)
export POSTGRES_DB_USER=bench
export POSTGRES_DB_PASSWORD=bench
export POSTGRES_DB_NAME=plantmon_bench
export PLANTMON_BCRYPT_COST=10
pg_init_cluster "$bench_dir/pg" bench bench
pg_start_cluster "$bench_dir/pg" "$POSTGRES_DB_PORT" shared_buffers=1GB max_wal_size=4GB
"$SERVER_BIN/tools/plantmon_db" init >/dev/null

start_server() {
  # Emptied first: the loop must neither miss the file nor read an earlier
  # server's port.
  : >"$bench_dir/server.log"
  PLANTMON_LISTEN_ADDR=127.0.0.1:0 "$SERVER_BIN/services/plantmon_server" >"$bench_dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 200); do
    SERVER_PORT=$(sed -n 's/^plantmon: serving on port \([0-9]*\).*/\1/p' "$bench_dir/server.log")
    [[ -n "$SERVER_PORT" ]] && return 0
    sleep 0.05
  done
  cat "$bench_dir/server.log" >&2
  return 1
}

machine_line() {
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/ {print $2}') GiB;" \
    "PostgreSQL $(psql --version | awk '{print $3}'), shared_buffers=1GB; client, server and database on one host"
}
