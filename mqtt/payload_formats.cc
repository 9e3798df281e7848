#include "mqtt/payload_formats.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace plantmon::mqtt {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr std::pair<Format, absl::string_view> kNames[] = {
    {Format::kZigbee2Mqtt, "zigbee2mqtt"},
    {Format::kTasmota, "tasmota"},
    {Format::kOpenMqttGateway, "openmqttgateway"},
    {Format::kEsphome, "esphome"},
    {Format::kNative, "native"},
};

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

// JSON through protobuf's parser (the stack already has it): any JSON value.
absl::StatusOr<Value> ParseJson(absl::string_view payload) {
  Value value;
  google::protobuf::util::JsonParseOptions options;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(payload.data(), payload.size()), &value, options);
  if (!status.ok()) return Invalid("the payload is not JSON");
  return value;
}

// The fields of a JSON object, read through reflection. Not through
// Struct::fields(): the map's inline code, compiled into this file, crashed
// under ThreadSanitizer on a map that Debian's uninstrumented libprotobuf
// filled (tests/mqtt with --config=tsan); reflection keeps every access to
// that map inside the library.
std::vector<std::pair<std::string, const Value*>> FieldsOf(const Struct& object) {
  const google::protobuf::Reflection* reflection = object.GetReflection();
  const google::protobuf::FieldDescriptor* fields =
      object.GetDescriptor()->FindFieldByNumber(Struct::kFieldsFieldNumber);
  std::vector<std::pair<std::string, const Value*>> out;
  const int count = reflection->FieldSize(object, fields);
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    const google::protobuf::Message& entry = reflection->GetRepeatedMessage(object, fields, i);
    const google::protobuf::Reflection* entry_reflection = entry.GetReflection();
    const google::protobuf::Descriptor* entry_type = entry.GetDescriptor();
    out.emplace_back(entry_reflection->GetString(entry, entry_type->FindFieldByNumber(1)),
                     static_cast<const Value*>(
                         &entry_reflection->GetMessage(entry, entry_type->FindFieldByNumber(2))));
  }
  return out;
}

// The field `name` of `object`, or null.
const Value* FindField(const Struct& object, absl::string_view name) {
  for (const auto& [key, value] : FieldsOf(object)) {
    if (key == name) return value;
  }
  return nullptr;
}

// The payload as a JSON object, as every JSON format but the native one sends.
absl::StatusOr<Value> ParseJsonObject(absl::string_view payload) {
  absl::StatusOr<Value> json = ParseJson(payload);
  if (!json.ok()) return json.status();
  if (json->kind_case() != Value::kStructValue) return Invalid("the payload is not a JSON object");
  return json;
}

// A reading of `parameter` from a JSON number; INVALID_ARGUMENT for any
// other type, since the key says it is a measurement.
absl::Status AddReading(const std::string& key, const Value& value, const std::string& parameter,
                        absl::Time when, ParsedMessage& out) {
  if (value.kind_case() != Value::kNumberValue) {
    return Invalid(absl::StrCat("\"", key, "\" is not a number"));
  }
  v1::IncomingReading& reading = out.readings.emplace_back();
  reading.set_parameter_name(parameter);
  reading.set_measurement_value(value.number_value());
  reading.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(when));
  reading.mutable_timestamp()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(when - absl::FromUnixSeconds(absl::ToUnixSeconds(when)))));
  return absl::OkStatus();
}

// Every key of a flat object that the table knows becomes a reading; nested
// objects are left to the caller.
absl::Status AddFlatReadings(const Struct& object, const std::map<std::string, std::string>& keys,
                             absl::Time when, ParsedMessage& out) {
  for (const auto& [key, value] : FieldsOf(object)) {
    auto it = keys.find(key);
    if (it == keys.end()) {
      if (value->kind_case() == Value::kNumberValue) out.unknown_keys.push_back(key);
      continue;
    }
    if (absl::Status added = AddReading(key, *value, it->second, when, out); !added.ok()) {
      return added;
    }
  }
  return absl::OkStatus();
}

// zigbee2mqtt's optional last_seen: epoch milliseconds or an ISO 8601 time
// with its offset, depending on its `last_seen` setting.
absl::Time Zigbee2MqttTime(const Struct& object, absl::Time received) {
  const Value* last_seen = FindField(object, "last_seen");
  if (last_seen == nullptr) return received;
  if (last_seen->kind_case() == Value::kNumberValue) {
    return absl::FromUnixMillis(static_cast<int64_t>(last_seen->number_value()));
  }
  absl::Time parsed;
  std::string error;
  if (last_seen->kind_case() == Value::kStringValue &&
      absl::ParseTime(absl::RFC3339_full, last_seen->string_value(), &parsed, &error)) {
    return parsed;
  }
  return received;
}

absl::StatusOr<ParsedMessage> ParseZigbee2Mqtt(absl::string_view topic, absl::string_view payload,
                                               const KeyTable& keys, absl::Time received) {
  // <base>/<friendly name>, where friendly names may hold slashes; the
  // bridge's own topics and the set/get/availability ones carry no readings.
  std::vector<absl::string_view> levels = absl::StrSplit(topic, '/');
  if (levels.size() < 2 || levels[1] == "bridge" || levels.back() == "set" ||
      levels.back() == "get" || levels.back() == "availability") {
    return Invalid("not a zigbee2mqtt device topic");
  }
  ParsedMessage out;
  out.device = std::string(topic.substr(levels[0].size() + 1));
  absl::StatusOr<Value> object_or = ParseJsonObject(payload);
  if (!object_or.ok()) return object_or.status();
  const Struct& object = object_or->struct_value();
  if (absl::Status added = AddFlatReadings(object, keys.at(Format::kZigbee2Mqtt),
                                           Zigbee2MqttTime(object, received), out);
      !added.ok()) {
    return added;
  }
  return out;
}

absl::StatusOr<ParsedMessage> ParseTasmota(absl::string_view topic, absl::string_view payload,
                                           const KeyTable& keys, absl::Time received) {
  // tele/<topic>/SENSOR; one nested object per attached sensor. Its "Time"
  // is the device's local time without an offset, so the bridge's clock is
  // used instead.
  std::vector<absl::string_view> levels = absl::StrSplit(topic, '/');
  if (levels.size() != 3 || levels[0] != "tele" || levels[2] != "SENSOR") {
    return Invalid("not a Tasmota tele/<topic>/SENSOR topic");
  }
  ParsedMessage out;
  out.device = std::string(levels[1]);
  absl::StatusOr<Value> object = ParseJsonObject(payload);
  if (!object.ok()) return object.status();
  const auto& table = keys.at(Format::kTasmota);
  for (const auto& [sensor, value] : FieldsOf(object->struct_value())) {
    if (value->kind_case() != Value::kStructValue) continue;  // Time, TempUnit, ...
    if (absl::Status added = AddFlatReadings(value->struct_value(), table, received, out);
        !added.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(sensor, ": ", added.message()));
    }
  }
  return out;
}

absl::StatusOr<ParsedMessage> ParseOpenMqttGateway(absl::string_view topic,
                                                   absl::string_view payload, const KeyTable& keys,
                                                   absl::Time received) {
  // home/<gateway>/BTtoMQTT/<MAC without colons>; the payload's "id" is the
  // MAC as people write it (C4:7C:8D:...), which is what devices register.
  std::vector<absl::string_view> levels = absl::StrSplit(topic, '/');
  if (levels.size() != 4 || levels[2] != "BTtoMQTT") {
    return Invalid("not an OpenMQTTGateway <base>/<gateway>/BTtoMQTT/<MAC> topic");
  }
  absl::StatusOr<Value> object_or = ParseJsonObject(payload);
  if (!object_or.ok()) return object_or.status();
  const Struct& object = object_or->struct_value();
  ParsedMessage out;
  const Value* id = FindField(object, "id");
  out.device = id != nullptr && id->kind_case() == Value::kStringValue ? id->string_value()
                                                                       : std::string(levels[3]);
  if (absl::Status added =
          AddFlatReadings(object, keys.at(Format::kOpenMqttGateway), received, out);
      !added.ok()) {
    return added;
  }
  return out;
}

absl::StatusOr<ParsedMessage> ParseEsphome(absl::string_view topic, absl::string_view payload,
                                           const KeyTable& keys, absl::Time received) {
  // <node>/sensor/<object id>/state, the state a plain number.
  std::vector<absl::string_view> levels = absl::StrSplit(topic, '/');
  if (levels.size() != 4 || levels[1] != "sensor" || levels[3] != "state") {
    return Invalid("not an ESPHome <node>/sensor/<name>/state topic");
  }
  ParsedMessage out;
  out.device = std::string(levels[0]);
  const std::string sensor(levels[2]);
  const auto& table = keys.at(Format::kEsphome);
  auto it = table.find(sensor);
  if (it == table.end()) {
    out.unknown_keys.push_back(sensor);
    return out;
  }
  double number = 0;
  if (!absl::SimpleAtod(absl::StripAsciiWhitespace(payload), &number)) {
    return Invalid(absl::StrCat("the state of \"", sensor, "\" is not a number"));
  }
  Value value;
  value.set_number_value(number);
  if (absl::Status added = AddReading(sensor, value, it->second, received, out); !added.ok()) {
    return added;
  }
  return out;
}

absl::StatusOr<ParsedMessage> ParseNative(absl::string_view topic, absl::string_view payload,
                                          absl::Time received) {
  // plantmon/<gateway_id>/readings: a StreamReadingsRequest in protobuf's
  // JSON mapping (docs/mqtt.md); its readings name their devices.
  std::vector<absl::string_view> levels = absl::StrSplit(topic, '/');
  if (levels.size() != 3 || levels[2] != "readings") {
    return Invalid("not a plantmon/<gateway_id>/readings topic");
  }
  v1::StreamReadingsRequest request;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(payload.data(), payload.size()), &request);
  if (!status.ok()) {
    return Invalid(absl::StrCat("the payload is not a StreamReadingsRequest in JSON: ",
                                std::string(status.message())));
  }
  ParsedMessage out;
  for (v1::IncomingReading& reading : *request.mutable_readings()) {
    if (!reading.has_timestamp()) {
      reading.mutable_timestamp()->set_seconds(absl::ToUnixSeconds(received));
    }
    out.readings.push_back(std::move(reading));
  }
  return out;
}

}  // namespace

absl::string_view FormatName(Format format) {
  for (const auto& [value, name] : kNames) {
    if (value == format) return name;
  }
  return "";
}

std::optional<Format> FormatFromName(absl::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

std::string DefaultTopicFilter(Format format) {
  switch (format) {
    case Format::kZigbee2Mqtt:
      return "zigbee2mqtt/#";
    case Format::kTasmota:
      return "tele/+/SENSOR";
    case Format::kOpenMqttGateway:
      return "home/+/BTtoMQTT/+";
    case Format::kEsphome:
      return "+/sensor/+/state";
    case Format::kNative:
      return "plantmon/+/readings";
  }
  return "";
}

const KeyTable& DefaultKeyTable() {
  // docs/mqtt.md lists the same table, with where each key is documented.
  static const auto* table = new KeyTable{
      {Format::kZigbee2Mqtt,
       {{"soil_moisture", "soil_moisture"},
        {"temperature", "temperature"},
        {"humidity", "humidity"},
        {"illuminance", "light"},
        {"illuminance_lux", "light"},
        {"battery", "battery"},
        {"pressure", "pressure"},
        {"co2", "co2"},
        {"soil_temperature", "soil_temperature"},
        {"conductivity", "conductivity"}}},
      {Format::kTasmota,
       {{"Temperature", "temperature"},
        {"Humidity", "humidity"},
        {"Pressure", "pressure"},
        {"Illuminance", "light"},
        {"CarbonDioxide", "co2"},
        {"Moisture", "soil_moisture"}}},
      {Format::kOpenMqttGateway,
       {{"tempc", "temperature"},
        {"hum", "humidity"},
        {"moi", "soil_moisture"},
        {"lux", "light"},
        {"fer", "conductivity"},
        {"batt", "battery"},
        {"pres", "pressure"}}},
      {Format::kEsphome,
       {{"temperature", "temperature"},
        {"humidity", "humidity"},
        {"soil_moisture", "soil_moisture"},
        {"illuminance", "light"},
        {"battery_level", "battery"},
        {"pressure", "pressure"},
        {"co2", "co2"},
        {"conductivity", "conductivity"},
        {"soil_temperature", "soil_temperature"}}},
      {Format::kNative, {}},
  };
  return *table;
}

absl::Status ExtendKeyTable(absl::string_view entries, KeyTable& table) {
  for (absl::string_view entry : absl::StrSplit(entries, ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::pair<absl::string_view, absl::string_view> format_rest = absl::StrSplit(entry, ':');
    std::pair<absl::string_view, absl::string_view> key_parameter =
        absl::StrSplit(format_rest.second, '=');
    std::optional<Format> format = FormatFromName(format_rest.first);
    if (!format || *format == Format::kNative || key_parameter.first.empty() ||
        key_parameter.second.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PLANTMON_MQTT_KEYS entry \"", entry,
                       "\" is not format:key=parameter (formats: zigbee2mqtt, tasmota, "
                       "openmqttgateway, esphome)"));
    }
    table[*format][std::string(key_parameter.first)] = std::string(key_parameter.second);
  }
  return absl::OkStatus();
}

absl::StatusOr<ParsedMessage> ParseMessage(Format format, absl::string_view topic,
                                           absl::string_view payload, const KeyTable& keys,
                                           absl::Time received) {
  if (payload.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the payload is ", payload.size(), " bytes, over the ", kMaxPayloadBytes, "-byte cap"));
  }
  switch (format) {
    case Format::kZigbee2Mqtt:
      return ParseZigbee2Mqtt(topic, payload, keys, received);
    case Format::kTasmota:
      return ParseTasmota(topic, payload, keys, received);
    case Format::kOpenMqttGateway:
      return ParseOpenMqttGateway(topic, payload, keys, received);
    case Format::kEsphome:
      return ParseEsphome(topic, payload, keys, received);
    case Format::kNative:
      return ParseNative(topic, payload, received);
  }
  return absl::InvalidArgumentError("unknown format");
}

}  // namespace plantmon::mqtt
