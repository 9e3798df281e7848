#!/usr/bin/env bash
# The edge (tools/edge: HAProxy from Debian) in front of a live server: calls
# pass through; idle connections past its cap do not stop it accepting; an
# endless header block and a rapid-reset flood are cut before they cost the
# server memory or CPU (tests/tools/edge_scenario.py).
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
start_plantmon_server
[[ -x /usr/sbin/haproxy ]] || fail "HAProxy is missing (tools/bootstrap installs it)"

edge_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
edge_log="$TEST_TMPDIR/edge.log"
PLANTMON_EDGE_LISTEN="127.0.0.1:$edge_port" PLANTMON_EDGE_BACKEND="127.0.0.1:$PLANTMON_PORT" \
  PLANTMON_EDGE_MAX_CONNECTIONS=100 PLANTMON_EDGE_MAX_CONNECTIONS_PER_SOURCE=1000 \
  "$runfiles/tools/edge/run" >"$edge_log" 2>&1 &
edge_pid=$!
trap 'kill -TERM $edge_pid 2>/dev/null || true; wait $edge_pid 2>/dev/null || true; stop_plantmon_server' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$edge_port") 2>/dev/null && break
  kill -0 "$edge_pid" 2>/dev/null || { cat "$edge_log" >&2; fail "the edge exited"; }
  sleep 0.05
done
# The master process forks the worker that serves; the scenario watches it.
worker_pid=$(pgrep -P "$edge_pid" haproxy | head -1)
[[ -n "$worker_pid" ]] || { cat "$edge_log" >&2; fail "no HAProxy worker"; }
generate_python_stubs
PYTHONPATH="$python_stubs" /usr/bin/python3 "$runfiles/tests/tools/edge_scenario.py" "$edge_port" "$server_pid" "$worker_pid" ||
  { cat "$edge_log" >&2; fail "edge scenario"; }
echo PASS
