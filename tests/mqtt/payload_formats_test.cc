// Each format's topics and payloads as the project documents them.
#include "mqtt/payload_formats.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace plantmon::mqtt {
namespace {

const absl::Time kReceived = absl::FromUnixSeconds(1764590000);

// parameter -> value of a parsed message's readings.
std::map<std::string, double> Values(const ParsedMessage& message) {
  std::map<std::string, double> values;
  for (const v1::IncomingReading& reading : message.readings) {
    values[reading.parameter_name()] = reading.measurement_value();
  }
  return values;
}

// https://www.zigbee2mqtt.io/devices/TS0601_soil.html ("Exposes": temperature,
// soil_moisture, battery) and the MQTT topics page
// (https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html):
// zigbee2mqtt/<FRIENDLY_NAME> carries the device's state as one JSON object.
TEST(PayloadFormatsTest, Zigbee2MqttDeviceState) {
  absl::StatusOr<ParsedMessage> parsed =
      ParseMessage(Format::kZigbee2Mqtt, "zigbee2mqtt/0xa4c1380f2e9b1c77",
                   R"({"soil_moisture":31,"temperature":21.4,"battery":96,"linkquality":120})",
                   DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->device, "0xa4c1380f2e9b1c77");
  EXPECT_EQ(Values(*parsed), (std::map<std::string, double>{
                                 {"battery", 96}, {"soil_moisture", 31}, {"temperature", 21.4}}));
  EXPECT_EQ(parsed->unknown_keys, std::vector<std::string>{"linkquality"});
  EXPECT_EQ(parsed->readings[0].timestamp().seconds(), 1764590000) << "no last_seen: now";

  // Friendly names may hold slashes; last_seen (epoch ms) dates the readings.
  parsed = ParseMessage(Format::kZigbee2Mqtt, "zigbee2mqtt/living room/SNZB-02",
                        R"({"temperature":22.1,"humidity":48,"last_seen":1764589990000})",
                        DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->device, "living room/SNZB-02");
  EXPECT_EQ(parsed->readings[0].timestamp().seconds(), 1764589990);

  for (const char* topic :
       {"zigbee2mqtt/bridge/state", "zigbee2mqtt/plant/set", "zigbee2mqtt/plant/availability"}) {
    EXPECT_EQ(ParseMessage(Format::kZigbee2Mqtt, topic, "{}", DefaultKeyTable(), kReceived)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << topic;
  }
}

// https://tasmota.github.io/docs/AM2301/: tele/<topic>/SENSOR, one object
// per sensor.
TEST(PayloadFormatsTest, TasmotaTelemetry) {
  absl::StatusOr<ParsedMessage> parsed =
      ParseMessage(Format::kTasmota, "tele/tasmota_5A1B2C/SENSOR",
                   R"({"Time":"2026-12-01T12:00:00","AM2301":{"Temperature":22.3,"Humidity":45.1,)"
                   R"("DewPoint":9.9},"TempUnit":"C"})",
                   DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->device, "tasmota_5A1B2C");
  EXPECT_EQ(Values(*parsed),
            (std::map<std::string, double>{{"humidity", 45.1}, {"temperature", 22.3}}));
  EXPECT_EQ(parsed->unknown_keys, std::vector<std::string>{"DewPoint"});
}

// https://docs.openmqttgateway.com/use/ble.html: a Mi Flora (HHCCJCY01)
// heard by the gateway, the MAC in the topic without colons and in "id"
// with them.
TEST(PayloadFormatsTest, OpenMqttGatewayMiFlora) {
  absl::StatusOr<ParsedMessage> parsed = ParseMessage(
      Format::kOpenMqttGateway, "home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3F01",
      R"({"id":"C4:7C:8D:6A:3F:01","name":"Flower care","rssi":-78,"model":"HHCCJCY01HHCC",)"
      R"("model_id":"HHCCJCY01HHCC","tempc":24.4,"tempf":75.92,"moi":26,"lux":155,"fer":211,)"
      R"("batt":97})",
      DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->device, "C4:7C:8D:6A:3F:01");
  EXPECT_EQ(Values(*parsed), (std::map<std::string, double>{{"battery", 97},
                                                            {"conductivity", 211},
                                                            {"light", 155},
                                                            {"soil_moisture", 26},
                                                            {"temperature", 24.4}}));
}

// https://esphome.io/components/mqtt.html: <node>/sensor/<name>/state, the
// state a plain number.
TEST(PayloadFormatsTest, EsphomeSensorState) {
  absl::StatusOr<ParsedMessage> parsed =
      ParseMessage(Format::kEsphome, "balcony-node/sensor/soil_moisture/state", "42.5",
                   DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->device, "balcony-node");
  EXPECT_EQ(Values(*parsed), (std::map<std::string, double>{{"soil_moisture", 42.5}}));
  parsed = ParseMessage(Format::kEsphome, "balcony-node/sensor/wifi_signal/state", "-61",
                        DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->readings.empty());
  EXPECT_EQ(parsed->unknown_keys, std::vector<std::string>{"wifi_signal"});
  EXPECT_EQ(ParseMessage(Format::kEsphome, "balcony-node/sensor/soil_moisture/state", "wet",
                         DefaultKeyTable(), kReceived)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// docs/mqtt.md: plantmon/<gateway_id>/readings, StreamReadingsRequest in
// protobuf's JSON mapping.
TEST(PayloadFormatsTest, NativeReadings) {
  absl::StatusOr<ParsedMessage> parsed = ParseMessage(
      Format::kNative, "plantmon/balcony/readings",
      R"({"readings":[{"uniqueIdentifier":"C4:7C:8D:6A:3F:01","parameterName":"light",)"
      R"("measurementValue":1200,"timestamp":"2026-12-01T11:59:00Z"},)"
      R"({"deviceId":"7","measurementValue":33}]})",
      DefaultKeyTable(), kReceived);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->readings.size(), 2u);
  EXPECT_EQ(parsed->readings[0].unique_identifier(), "C4:7C:8D:6A:3F:01");
  EXPECT_EQ(parsed->readings[0].parameter_name(), "light");
  EXPECT_EQ(parsed->readings[1].device_id(), 7);
  EXPECT_FALSE(parsed->readings[1].has_parameter_name()) << "the type's primary measurement";
  EXPECT_EQ(parsed->readings[1].timestamp().seconds(), 1764590000);
}

TEST(PayloadFormatsTest, BadPayloadsAreRefusedWithAReason) {
  const KeyTable& keys = DefaultKeyTable();
  for (const char* payload :
       {"{not json", "[1,2,3]", "42", R"({"temperature":"warm"})", R"({"temperature":null})"}) {
    absl::StatusOr<ParsedMessage> parsed =
        ParseMessage(Format::kZigbee2Mqtt, "zigbee2mqtt/plant", payload, keys, kReceived);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << payload;
    EXPECT_FALSE(parsed.status().message().empty());
  }
  const std::string huge = R"({"temperature":1,"pad":")" + std::string(70000, 'x') + "\"}";
  EXPECT_EQ(ParseMessage(Format::kZigbee2Mqtt, "zigbee2mqtt/plant", huge, keys, kReceived)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseMessage(Format::kNative, "plantmon/gw/readings", R"({"readings":"x"})", keys, kReceived)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(PayloadFormatsTest, TheKeyTableExtendsWithoutCode) {
  KeyTable keys = DefaultKeyTable();
  ASSERT_TRUE(
      ExtendKeyTable("zigbee2mqtt:leaf_wetness=leaf_wetness, tasmota:Distance=level", keys).ok());
  absl::StatusOr<ParsedMessage> parsed = ParseMessage(Format::kZigbee2Mqtt, "zigbee2mqtt/leaf",
                                                      R"({"leaf_wetness":12})", keys, kReceived);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(Values(*parsed), (std::map<std::string, double>{{"leaf_wetness", 12}}));
  for (const char* bad : {"zigbee2mqtt:leaf", "nosuch:a=b", "native:a=b", "tasmota:=x"}) {
    EXPECT_EQ(ExtendKeyTable(bad, keys).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace plantmon::mqtt
