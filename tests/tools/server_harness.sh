# Sourced by shell tests: a fresh database and a live plantmon_server on a free
# port, both removed on exit. Needs the PostgreSQL that tools/test starts.
#   start_plantmon_server   # sets PLANTMON_PORT and PLANTMON_SERVER_LOG
set -euo pipefail

runfiles="$TEST_SRCDIR/$TEST_WORKSPACE"
: "${PLANTMON_TEST_PGHOST:?run through tools/test}"
export POSTGRES_DB_HOST=$PLANTMON_TEST_PGHOST
export POSTGRES_DB_PORT=$PLANTMON_TEST_PGPORT
export POSTGRES_DB_USER=$PLANTMON_TEST_PGUSER
export POSTGRES_DB_PASSWORD=$PLANTMON_TEST_PGPASSWORD
# Not $$ and $RANDOM: every test sandbox has its own PID namespace, and bash
# seeds RANDOM from the PID and the time, so parallel tests would collide.
unique_suffix() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
export POSTGRES_DB_NAME="plantmon_e2e_$(unique_suffix)"
export PLANTMON_BCRYPT_COST=10
export PGPASSWORD=$PLANTMON_TEST_PGPASSWORD
cd "$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

psql_admin() {
  psql -X -q -t -A -h "$POSTGRES_DB_HOST" -p "$POSTGRES_DB_PORT" -U "$POSTGRES_DB_USER" "$@"
}

server_pid=""
server_pids=()
stop_plantmon_server() {
  local pid
  for pid in "${server_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  server_pids=()
  server_pid=""
  psql_admin -d postgres -c "DROP DATABASE IF EXISTS $POSTGRES_DB_NAME WITH (FORCE)" >/dev/null || true
}
trap stop_plantmon_server EXIT

# Each call starts one more server process on the same database (the first
# creates and seeds it) and sets PLANTMON_PORT, PLANTMON_SERVER_LOG and
# server_pid to that process's.
start_plantmon_server() {
  if ((${#server_pids[@]} == 0)); then
    "$runfiles/tools/plantmon_db" init >/dev/null
    "$runfiles/tools/plantmon_db" seed >/dev/null
    PLANTMON_SERVER_LOG="$TEST_TMPDIR/server.log"
  else
    PLANTMON_SERVER_LOG="$TEST_TMPDIR/server$((${#server_pids[@]} + 1)).log"
  fi
  # Created here, not by the background job's redirection: the loop below may
  # read it before that job has run.
  : >"$PLANTMON_SERVER_LOG"
  PLANTMON_LISTEN_ADDR=127.0.0.1:0 "$runfiles/services/plantmon_server" >"$PLANTMON_SERVER_LOG" 2>&1 &
  server_pid=$!
  server_pids+=("$server_pid")
  for _ in $(seq 1 200); do
    PLANTMON_PORT=$(sed -n 's/^plantmon: serving on port \([0-9]*\).*/\1/p' "$PLANTMON_SERVER_LOG")
    [[ -n "$PLANTMON_PORT" ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$PLANTMON_SERVER_LOG" >&2; fail "server exited"; }
    sleep 0.05
  done
  cat "$PLANTMON_SERVER_LOG" >&2
  fail "server did not start"
}

# Python stubs of proto/ (Debian's protoc and grpc_python_plugin) in
# $python_stubs, for PYTHONPATH.
generate_python_stubs() {
  python_stubs="$TEST_TMPDIR/gen"
  mkdir -p "$python_stubs"
  protoc -I"$runfiles/proto" -I/usr/include \
    --python_out="$python_stubs" --grpc_out="$python_stubs" \
    --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin "$runfiles"/proto/plantmon/v1/*.proto
}

# The metrics port a server logged (started with PLANTMON_METRICS_ADDR).
metrics_port_of() {  # server log
  local port
  port=$(sed -n 's/^plantmon: metrics on port \([0-9]*\).*/\1/p' "$1")
  [[ -n "$port" ]] || { cat "$1" >&2; fail "the server did not report its metrics port"; }
  echo "$port"
}
