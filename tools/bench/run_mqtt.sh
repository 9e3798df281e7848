#!/usr/bin/env bash
# MQTT bridge benchmark: READINGS published to a private Mosquitto as zigbee2mqtt
# messages and stored by plantmon_mqtt_bridge, against the same readings over
# StreamReadings, in one run. Usage: tools/bench/run_mqtt.sh [READINGS]
# PLANTMON_BENCH_BRIDGE: another build's plantmon_mqtt_bridge to measure instead.
source "$(dirname "$0")/lib.sh"
source tools/lib/mosquitto.sh
bazel build -c opt //mqtt:plantmon_mqtt_bridge >/dev/null 2>&1 || bazel build -c opt //mqtt:plantmon_mqtt_bridge
start_server
mqtt_port=$(pg_free_port)
mqtt_prepare_broker "$bench_dir/mosquitto" 127.0.0.1 "$mqtt_port" bench bench-broker
mqtt_start_broker "$bench_dir/mosquitto" "$mqtt_port"
# The broker's own account of its clients' connections, for a run that stored
# something twice (docs/benchmarks.md, "MQTT bridge").
broker_connections() {
  echo "broker log (connections):"
  grep -E 'New client|disconnect|Socket error|exceeded|closed its connection' \
    "$bench_dir/mosquitto/mosquitto.log" | sed 's/^/  /' || true
}
trap 'broker_connections; mqtt_stop_broker; bench_cleanup' EXIT
machine_line
echo "broker: $(mosquitto -h 2>&1 | head -1), persistence on, $(grep "^max_inflight_messages" "$bench_dir/mosquitto/mosquitto.conf")"
"$BIN/tools/bench/mqtt_bench" --port="$SERVER_PORT" --mqtt_port="$mqtt_port" --mqtt_user=bench \
  --mqtt_password=bench-broker --bridge="${PLANTMON_BENCH_BRIDGE:-$BIN/mqtt/plantmon_mqtt_bridge}" --readings="${1:-200000}"
