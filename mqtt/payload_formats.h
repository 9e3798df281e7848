// What the MQTT bridge hears: the topics and payloads of the projects
// households run (zigbee2mqtt, Tasmota, OpenMQTTGateway, ESPHome) and our own
// native format, turned into readings for TelemetryService.StreamReadings.
// Which payload key is which measurement parameter is one table
// (DefaultKeyTable, docs/mqtt.md), which PLANTMON_MQTT_KEYS extends without
// code.
#ifndef PLANTMON_MQTT_PAYLOAD_FORMATS_H_
#define PLANTMON_MQTT_PAYLOAD_FORMATS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "plantmon/v1/telemetry.pb.h"

namespace plantmon::mqtt {

enum class Format { kZigbee2Mqtt, kTasmota, kOpenMqttGateway, kEsphome, kNative };

// "zigbee2mqtt", "tasmota", "openmqttgateway", "esphome", "native".
absl::string_view FormatName(Format format);
std::optional<Format> FormatFromName(absl::string_view name);

// The topic filter each format publishes under by default (docs/mqtt.md).
std::string DefaultTopicFilter(Format format);

// Payload key -> measurement parameter, per format. Keys not in the table are
// ignored (and counted): link quality, voltages, dew points and the like.
using KeyTable = std::map<Format, std::map<std::string, std::string>>;
const KeyTable& DefaultKeyTable();

// Adds "format:key=parameter" entries, comma-separated (PLANTMON_MQTT_KEYS),
// to `table`; INVALID_ARGUMENT naming the entry that does not parse.
absl::Status ExtendKeyTable(absl::string_view entries, KeyTable& table);

// What one message said.
struct ParsedMessage {
  // The device as the format names it (friendly name, Tasmota topic, MAC,
  // ESPHome node), matched against devices' unique_identifier; empty for the
  // native format, whose readings name their own devices.
  std::string device;
  // With parameter_name set; timestamp set from the payload when it carries
  // one, else from `received`.
  std::vector<v1::IncomingReading> readings;
  // Keys that are not in the table (not an error: the formats carry more
  // than readings).
  std::vector<std::string> unknown_keys;
};

// Payloads above this are refused unread.
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;

// Parses one message of `format` published on `topic`. INVALID_ARGUMENT (the
// reason for the log) for a topic the format does not publish readings on,
// a payload that is not what the format sends (malformed JSON, a value of the
// wrong type), or one over kMaxPayloadBytes.
absl::StatusOr<ParsedMessage> ParseMessage(Format format, absl::string_view topic,
                                           absl::string_view payload, const KeyTable& keys,
                                           absl::Time received);

}  // namespace plantmon::mqtt

#endif  // PLANTMON_MQTT_PAYLOAD_FORMATS_H_
