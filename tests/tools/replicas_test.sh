#!/usr/bin/env bash
# Stateless replicas: two server processes on one database behind gRPC's
# client-side round_robin, with a Python client (Debian's python3-grpcio) and
# a Node.js client (@grpc/grpc-js from npm, installed by tools/bootstrap).
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
[[ -f "${PLANTMON_NODE_MODULES:-}/@grpc/grpc-js/package.json" ]] ||
  fail "@grpc/grpc-js is missing (tools/bootstrap installs it; run through tools/test)"
export PLANTMON_METRICS_ADDR=127.0.0.1:0
start_plantmon_server
port_a=$PLANTMON_PORT
metrics_a=$(metrics_port_of "$PLANTMON_SERVER_LOG")
start_plantmon_server
port_b=$PLANTMON_PORT
pid_b=$server_pid
metrics_b=$(metrics_port_of "$PLANTMON_SERVER_LOG")
generate_python_stubs
scenario="$runfiles/tests/tools/replicas_scenario"
PYTHONPATH="$python_stubs" /usr/bin/python3 "$scenario.py" spread "$port_a" "$port_b" \
  "$metrics_a" "$metrics_b"
NODE_PATH="$PLANTMON_NODE_MODULES" node "$scenario.js" "$runfiles/proto" "$port_a" "$port_b" \
  "$metrics_a" "$metrics_b"
kill -TERM "$pid_b"
wait "$pid_b" 2>/dev/null || true
PYTHONPATH="$python_stubs" /usr/bin/python3 "$scenario.py" survivor "$port_a" "$port_b"
echo PASS
