#!/usr/bin/env bash
# Clients that never read their responses hold a bounded share of the
# server's memory (tests/tools/unread_responses_scenario.py).
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
export PLANTMON_MAX_UNREAD_RESPONSE_MIB=24
export PLANTMON_METRICS_ADDR=127.0.0.1:0
start_plantmon_server
metrics_port=$(metrics_port_of "$PLANTMON_SERVER_LOG")
generate_python_stubs
PYTHONPATH="$python_stubs" /usr/bin/python3 "$runfiles/tests/tools/unread_responses_scenario.py" \
  "$PLANTMON_PORT" "$server_pid" "$metrics_port"
echo PASS
