#!/usr/bin/env bash
# A Python gRPC client (Debian's python3-grpcio) against a live server, with
# stubs generated from proto/ at test time by protoc and grpc_python_plugin.
source "$TEST_SRCDIR/$TEST_WORKSPACE/tests/tools/server_harness.sh"
start_plantmon_server
gen="$TEST_TMPDIR/gen"
mkdir -p "$gen"
protoc -I"$runfiles/proto" -I/usr/include \
  --python_out="$gen" --grpc_out="$gen" --plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin \
  "$runfiles"/proto/plantmon/v1/*.proto
PYTHONPATH="$gen" /usr/bin/python3 "$runfiles/tests/tools/python_client_scenario.py" "$PLANTMON_PORT"
echo PASS
