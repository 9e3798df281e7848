#!/usr/bin/env bash
# A Python gRPC client (Debian's python3-grpcio) against a live server, with
# stubs generated from proto/ at test time by protoc and grpc_python_plugin.
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
start_plantmon_server
generate_python_stubs
PYTHONPATH="$python_stubs" /usr/bin/python3 "$runfiles/tests/tools/python_client_scenario.py" "$PLANTMON_PORT"
echo PASS
