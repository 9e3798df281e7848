// plantmon_mqtt_simulator: live, plausible readings for the demo devices
// (storage/demo_data.sql), published to the broker the way the gateways they
// stand for publish them, so that someone trying `tools/run --seed
// --simulate` sees values move and alerts open and resolve (docs/mqtt.md).
//
//   Mi Flora C4:7C:8D:6A:3F:01     OpenMQTTGateway  home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3F01
//   Sonoff SNZB-02                 zigbee2mqtt      zigbee2mqtt/0x00124b0022a1b2c3
//   Tuya TS0601 soil sensor        zigbee2mqtt      zigbee2mqtt/0xa4c1380f2e9b1c77
//   Shelly Plus H&T                native           plantmon/demo-gateway/readings
//
// PLANTMON_MQTT_URL names the broker; PLANTMON_SIMULATE_INTERVAL_MS (5000)
// how often each device reports; PLANTMON_SIMULATE_DAY_S (600) how long a
// simulated day lasts: soil dries out and is watered, air dries and recovers,
// so the demo rules (moisture below 25 % / 40 %, humidity below 50 %,
// conductivity below 350 µS/cm) fire and clear within minutes.
#include <mosquitto.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "mqtt/mqtt_session.h"

namespace {

std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested = true; }

int EnvironmentInt(const char* name, int fallback) {
  const char* text = std::getenv(name);
  int value = 0;
  return text != nullptr && absl::SimpleAtoi(text, &value) && value > 0 ? value : fallback;
}

}  // namespace

int main() {
  const char* url = std::getenv("PLANTMON_MQTT_URL");
  absl::StatusOr<plantmon::mqtt::BrokerAddress> broker =
      plantmon::mqtt::ParseBrokerUrl(url != nullptr ? url : "mqtt://127.0.0.1:1883");
  if (!broker.ok()) {
    std::cerr << "plantmon_mqtt_simulator: " << broker.status().message() << std::endl;
    return 2;
  }
  const int interval_ms = EnvironmentInt("PLANTMON_SIMULATE_INTERVAL_MS", 5000);
  const double day_seconds = EnvironmentInt("PLANTMON_SIMULATE_DAY_S", 600);
  std::signal(SIGTERM, RequestStop);
  std::signal(SIGINT, RequestStop);

  mosquitto_lib_init();
  struct mosquitto* client = mosquitto_new("plantmon-simulator", true, nullptr);
  if (!broker->username.empty()) {
    mosquitto_username_pw_set(client, broker->username.c_str(), broker->password.c_str());
  }
  // libmosquitto reconnects by itself (with its own backoff) from its thread.
  mosquitto_reconnect_delay_set(client, 1, 30, true);
  if (mosquitto_connect_async(client, broker->host.c_str(), broker->port, 30) != MOSQ_ERR_SUCCESS ||
      mosquitto_loop_start(client) != MOSQ_ERR_SUCCESS) {
    std::cerr << "plantmon_mqtt_simulator: cannot reach " << broker->host << ":" << broker->port
              << std::endl;
    return 1;
  }
  std::cerr << "plantmon_mqtt_simulator: publishing demo readings every " << interval_ms
            << " ms to " << broker->host << ":" << broker->port << std::endl;

  std::mt19937 random(std::random_device{}());
  std::normal_distribution<double> noise(0, 1);
  auto publish = [&](const std::string& topic, const std::string& payload) {
    mosquitto_publish(client, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                      payload.data(), 1, false);
  };
  const absl::Time start = absl::Now();
  while (!stop_requested) {
    const double phase = 2 * M_PI * absl::ToDoubleSeconds(absl::Now() - start) / day_seconds;
    // The Monstera's Mi Flora: soil dries below 25 % before it is watered,
    // fertility sags below 350 µS/cm once a day.
    publish("home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3F01",
            absl::StrFormat(R"({"id":"C4:7C:8D:6A:3F:01","name":"Flower care",)"
                            R"("model":"HHCCJCY01HHCC","rssi":%d,"tempc":%.1f,"moi":%.0f,)"
                            R"("lux":%.0f,"fer":%.0f,"batt":87})",
                            -62 + static_cast<int>(noise(random) * 3),
                            23 + 3 * std::sin(phase - 1) + 0.2 * noise(random),
                            30 + 12 * std::cos(phase) + noise(random),
                            std::max(0.0, 900 * std::sin(phase) + 300 + 20 * noise(random)),
                            420 + 110 * std::cos(phase + 0.5) + 5 * noise(random)));
    // The living room's Sonoff SNZB-02, as zigbee2mqtt publishes it.
    publish("zigbee2mqtt/0x00124b0022a1b2c3",
            absl::StrFormat(R"({"temperature":%.2f,"humidity":%.1f,"battery":95,)"
                            R"("voltage":3000,"linkquality":%d})",
                            22 + 2 * std::sin(phase - 1) + 0.1 * noise(random),
                            52 + 6 * std::sin(phase + 2) + 0.5 * noise(random),
                            120 + static_cast<int>(noise(random) * 10)));
    // The fern's Tuya soil probe: dries below 40 % for part of the day.
    publish("zigbee2mqtt/0xa4c1380f2e9b1c77",
            absl::StrFormat(R"({"soil_moisture":%.0f,"soil_temperature":%.1f,"battery":64,)"
                            R"("linkquality":%d})",
                            47 + 11 * std::cos(phase + 2) + noise(random),
                            19 + 1.5 * std::sin(phase - 1) + 0.1 * noise(random),
                            90 + static_cast<int>(noise(random) * 10)));
    // The bathroom's Shelly Plus H&T through the native format: air below
    // 50 % in the afternoon.
    publish("plantmon/demo-gateway/readings",
            absl::StrFormat(R"({"readings":[)"
                            R"({"uniqueIdentifier":"shellyplusht-d4d4da7c1e10",)"
                            R"("parameterName":"humidity","measurementValue":%.1f},)"
                            R"({"uniqueIdentifier":"shellyplusht-d4d4da7c1e10",)"
                            R"("parameterName":"temperature","measurementValue":%.1f}]})",
                            57 + 10 * std::sin(phase + 3) + 0.5 * noise(random),
                            24 + 2 * std::sin(phase - 1) + 0.1 * noise(random)));
    const absl::Time next = absl::Now() + absl::Milliseconds(interval_ms);
    while (!stop_requested && absl::Now() < next) absl::SleepFor(absl::Milliseconds(100));
  }
  mosquitto_disconnect(client);
  mosquitto_loop_stop(client, false);
  mosquitto_destroy(client);
  mosquitto_lib_cleanup();
  return 0;
}
