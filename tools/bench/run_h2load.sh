#!/usr/bin/env bash
# Throughput as issue 10 measures it: h2load (nghttp2, from Debian) sends
# prebuilt gRPC request bodies, so the client costs almost nothing per call.
# Authenticated PlantService.GetPlant beside the no-op grpc.health.v1.Health/Check,
# same flags, same run. Usage: tools/bench/run_h2load.sh [seconds per phase]
source "$(dirname "$0")/lib.sh"
seconds=${1:-10}
start_server
machine_line
read -r token plant_id < <("$BIN/tools/bench/unary_bench" --port="$SERVER_PORT" --setup_only)
# A gRPC message: a 0 byte (not compressed), its length (4 bytes, big-endian),
# then the protobuf. GetPlantRequest is field 1 (id) as a varint.
/usr/bin/python3 - "$bench_dir" "$plant_id" <<'PY'
import struct, sys
folder, plant_id = sys.argv[1], int(sys.argv[2])
def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80]); n >>= 7
    return out + bytes([n])
def message(body):
    return b"\0" + struct.pack(">I", len(body)) + body
open(f"{folder}/get_plant.bin", "wb").write(message(b"\x08" + varint(plant_id)))
open(f"{folder}/health.bin", "wb").write(message(b""))
PY
# The same request through a gRPC client first: h2load counts every HTTP 200,
# and a gRPC error is one too.
/usr/bin/python3 - "$SERVER_PORT" "$token" "$plant_id" <<'PY'
import sys, grpc
port, token, plant_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    call = channel.unary_unary("/plantmon.v1.PlantService/GetPlant")
    varint = b""
    n = plant_id
    while n >= 0x80:
        varint += bytes([n & 0x7F | 0x80]); n >>= 7
    varint += bytes([n])
    plant = call(b"\x08" + varint, metadata=[("authorization", "Bearer " + token)], timeout=10)
    assert b"Bench plant" in plant, plant
PY
grpc_headers=(-H "content-type: application/grpc" -H "te: trailers")
run() {  # name, body, path, extra headers...
  local name=$1 body=$2 path=$3; shift 3
  local out
  out=$(h2load -D "$seconds" -c 8 -m 8 -t 1 -d "$body" "${grpc_headers[@]}" "$@" \
    "http://127.0.0.1:$SERVER_PORT$path")
  local rate
  rate=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  local ok
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
  echo "$name: $rate req/s ($ok succeeded)" >&2
  echo "$rate"
}
# Warm (sessions, caches, connections), then measure.
h2load -n 2000 -c 8 -m 8 -t 1 -d "$bench_dir/get_plant.bin" "${grpc_headers[@]}" \
  -H "authorization: Bearer $token" "http://127.0.0.1:$SERVER_PORT/plantmon.v1.PlantService/GetPlant" >/dev/null
plant=$(run "GetPlant (authenticated)" "$bench_dir/get_plant.bin" /plantmon.v1.PlantService/GetPlant \
  -H "authorization: Bearer $token")
health=$(run "Health/Check" "$bench_dir/health.bin" /grpc.health.v1.Health/Check)
echo "h2load -D $seconds -c 8 -m 8 -t 1: GetPlant $plant req/s, Health/Check $health req/s," \
  "ratio $(echo "scale=0; 100 * $plant / $health" | bc)%"
# One call at a time (-c 1 -m 1): h2load's mean time per request for each.
latency() {  # name, body, path, extra headers...
  local name=$1 body=$2 path=$3; shift 3
  local line
  line=$(h2load -D "$seconds" -c 1 -m 1 -t 1 -d "$body" "${grpc_headers[@]}" "$@" \
    "http://127.0.0.1:$SERVER_PORT$path" | grep '^time for request:')
  echo "$name one at a time: $line" >&2
}
latency "GetPlant (authenticated)" "$bench_dir/get_plant.bin" /plantmon.v1.PlantService/GetPlant \
  -H "authorization: Bearer $token"
latency "Health/Check" "$bench_dir/health.bin" /grpc.health.v1.Health/Check
