# Shell helpers for a private Eclipse Mosquitto broker; sourced by tools/run and
# the MQTT benchmark. The settings match the tests' broker (tests/testing/mosquitto.cc).

MOSQUITTO_BIN=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}

# mqtt_prepare_broker DIR LISTEN_ADDR PORT USER PASSWORD: writes DIR/mosquitto.conf and
# DIR/passwd (persistence in DIR, so queued QoS 1 messages survive a restart).
mqtt_prepare_broker() {
  local dir=$1 listen=$2 port=$3 user=$4 password=$5
  mkdir -p "$dir"
  chmod 700 "$dir"
  rm -f "$dir/passwd"
  mosquitto_passwd -b -c "$dir/passwd" "$user" "$password" >/dev/null 2>&1
  chmod 600 "$dir/passwd"
  cat >"$dir/mosquitto.conf" <<CONF
listener $port $listen
allow_anonymous false
password_file $dir/passwd
persistence true
persistence_location $dir/
autosave_interval 60
# The bridge acknowledges a batch of messages at once, after they committed
# (docs/mqtt.md): let many be in flight to it, and queue plenty while it is away.
max_inflight_messages 1000
max_queued_messages 1000000
message_size_limit 1048576
log_dest file $dir/mosquitto.log
log_type error
log_type warning
log_type notice
CONF
  if [[ $EUID -eq 0 ]]; then echo "user root" >>"$dir/mosquitto.conf"; fi
}

# mqtt_start_broker DIR PORT: starts the broker in the background (its pid in
# MQTT_BROKER_PID) and waits until it accepts connections.
mqtt_start_broker() {
  local dir=$1 port=$2
  "$MOSQUITTO_BIN" -c "$dir/mosquitto.conf" 2>>"$dir/mosquitto.log" &
  MQTT_BROKER_PID=$!
  local i
  for i in $(seq 1 100); do
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$MQTT_BROKER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "mosquitto did not start; its log:" >&2
  tail -20 "$dir/mosquitto.log" >&2
  return 1
}

mqtt_stop_broker() {
  if [[ -n "${MQTT_BROKER_PID:-}" ]] && kill -0 "$MQTT_BROKER_PID" 2>/dev/null; then
    kill -TERM "$MQTT_BROKER_PID" 2>/dev/null || true
    wait "$MQTT_BROKER_PID" 2>/dev/null || true
  fi
  MQTT_BROKER_PID=""
}
