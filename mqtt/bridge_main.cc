// plantmon_mqtt_bridge: forwards what households' gateways publish to an MQTT
// broker to the Plantmon server (docs/mqtt.md). Configured by environment:
// PLANTMON_MQTT_URL, PLANTMON_SERVER_ADDR, PLANTMON_API_KEY,
// PLANTMON_MQTT_TOPICS, PLANTMON_MQTT_KEYS, PLANTMON_MQTT_CLIENT_ID,
// PLANTMON_MQTT_BATCH_READINGS, PLANTMON_MQTT_BATCH_WAIT_MS.
#include <csignal>
#include <iostream>

#include "mqtt/bridge.h"

namespace {

std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested = true; }

}  // namespace

int main() {
  absl::StatusOr<plantmon::mqtt::BridgeConfig> config =
      plantmon::mqtt::BridgeConfigFromEnvironment();
  if (!config.ok()) {
    std::cerr << "plantmon_mqtt_bridge: " << config.status().message() << std::endl;
    return 2;
  }
  std::signal(SIGTERM, RequestStop);
  std::signal(SIGINT, RequestStop);
  std::signal(SIGPIPE, SIG_IGN);
  plantmon::mqtt::Bridge bridge(*std::move(config));
  bridge.Run(stop_requested);
  std::cerr << "plantmon_mqtt_bridge: stopped" << std::endl;
  return 0;
}
