#!/usr/bin/env bash
# The metrics endpoint of a live server (tests/tools/metrics_scenario.py).
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
export PLANTMON_METRICS_ADDR=127.0.0.1:0
start_plantmon_server
metrics_port=$(metrics_port_of "$PLANTMON_SERVER_LOG")
generate_python_stubs
PYTHONPATH="$python_stubs" /usr/bin/python3 "$runfiles/tests/tools/metrics_scenario.py" \
  "$PLANTMON_PORT" "$metrics_port"
echo PASS
