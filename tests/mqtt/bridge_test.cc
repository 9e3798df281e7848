// plantmon_mqtt_bridge end to end (docs/mqtt.md): a real Mosquitto, the real
// bridge binary as a child process, a real server on port 0 and a fresh
// database. Messages are published with libmosquitto, as the households'
// gateways would publish them.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/mosquitto.h"

namespace plantmon {
namespace {

using ::plantmon::testing::ApiTest;
using ::plantmon::testing::MosquittoBroker;
using ::plantmon::testing::MqttPublisher;
using ::plantmon::testing::ReadFile;
using ::plantmon::testing::SignedInUser;
using ::plantmon::testing::TempPath;

constexpr char kBrokerUser[] = "plantmon";
constexpr char kBrokerPassword[] = "broker-secret";

std::string BridgeBinary() {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(root != nullptr ? root : ".", "/", workspace != nullptr ? workspace : "",
                      "/mqtt/plantmon_mqtt_bridge");
}

class BridgeTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    ApiTest::SetUpTestSuite();
    broker_ = MosquittoBroker::Start(kBrokerUser, kBrokerPassword).release();
    ASSERT_NE(broker_, nullptr);
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
    ApiTest::TearDownTestSuite();
  }

  void TearDown() override {
    for (pid_t pid : bridges_) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
    // Under --config=asan or tsan the bridge is instrumented too; what it
    // reports lands in its log, not in this test's.
    for (const std::string& log : logs_) {
      const std::string text = ReadFile(TempPath(log));
      EXPECT_FALSE(absl::StrContains(text, "Sanitizer")) << log << ":\n" << text;
    }
  }

  // A device type measuring `parameters` (the catalogue's bounds).
  static v1::DeviceType MakeMultiSensor(const std::string& name,
                                        const std::vector<std::string>& parameters) {
    std::vector<v1::DeviceMeasurement> measurements;
    for (const std::string& parameter : parameters) measurements.push_back(Measures(parameter));
    return MakeDeviceTypeMeasuring(name, measurements);
  }

  static std::string ApiKey(const SignedInUser& owner) {
    v1::CreateApiKeyRequest request;
    request.set_name("mqtt bridge");
    v1::CreateApiKeyResponse key;
    EXPECT_TRUE(users_->CreateApiKey(Context(owner.token).get(), request, &key).ok());
    return key.secret();
  }

  // Starts the bridge binary; its log goes to `log` (a file in TEST_TMPDIR).
  pid_t StartBridge(const std::string& api_key, const std::string& client_id,
                    const std::string& log,
                    std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> environment = {
        {"PLANTMON_MQTT_URL", broker_->Url()},
        {"PLANTMON_SERVER_ADDR", absl::StrCat("127.0.0.1:", server_->port())},
        {"PLANTMON_API_KEY", api_key},
        {"PLANTMON_MQTT_CLIENT_ID", client_id},
    };
    for (auto& entry : extra) environment.push_back(std::move(entry));
    const pid_t pid = testing::Spawn(BridgeBinary(), environment, TempPath(log));
    logs_.push_back(log);
    bridges_.push_back(pid);
    // Subscribed (and so receiving what is published from now on) once it says so.
    const std::string subscribed = "subscribed to";
    for (int i = 0; i < 400; ++i) {
      if (ReadFile(TempPath(log)).find(subscribed) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_NE(ReadFile(TempPath(log)).find(subscribed), std::string::npos)
        << ReadFile(TempPath(log));
    return pid;
  }

  // Waits up to `seconds` for `done`.
  static bool WaitFor(const std::function<bool()>& done, int seconds = 30) {
    const absl::Time deadline = absl::Now() + absl::Seconds(seconds);
    while (absl::Now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  int64_t PublishFourWhileTheFirstIsHeld(const std::string& name, std::string& log,
                                         const std::function<void()>& while_held);

  static int64_t Readings(int64_t device_id, const std::string& where = "true") {
    return database_
        ->Query(absl::StrCat("SELECT count(*) FROM sensor_data WHERE device_id = ", device_id,
                             " AND ", where))[0][0]
        .as<int64_t>();
  }

  // parameter -> value of the device's stored readings (one per parameter).
  static std::map<std::string, double> Values(int64_t device_id) {
    std::map<std::string, double> values;
    for (const auto& row : database_->Query(absl::StrCat(
             "SELECT parameter_name, measurement_value FROM sensor_data WHERE device_id = ",
             device_id))) {
      values[row[0].as<std::string>()] = row[1].as<double>();
    }
    return values;
  }

  static MosquittoBroker* broker_;
  std::vector<pid_t> bridges_;
  std::vector<std::string> logs_;
};

MosquittoBroker* BridgeTest::broker_ = nullptr;

// Each format with a payload shaped as its project documents it.
TEST_F(BridgeTest, EachFormatEndToEnd) {
  SignedInUser owner = SignUp("formats");
  v1::DeviceType flora =
      MakeMultiSensor("Mi Flora HHCCJCY01 (formats)",
                      {"soil_moisture", "temperature", "light", "conductivity", "battery"});
  v1::DeviceType climate = MakeMultiSensor("Climate (formats)", {"temperature", "humidity"});
  v1::DeviceType soil =
      MakeMultiSensor("Zigbee soil (formats)", {"soil_moisture", "temperature", "battery"});
  v1::Device z2m = MakeDevice(owner, soil.id(), "balcony/soil sensor");
  v1::Device tasmota = MakeDevice(owner, climate.id(), "tasmota_5A1B2C");
  v1::Device omg = MakeDevice(owner, flora.id(), "C4:7C:8D:6A:3F:01");
  v1::Device esphome = MakeDevice(owner, climate.id(), "greenhouse-node");
  v1::Device native = MakeDevice(owner, flora.id(), "native-flora");
  StartBridge(ApiKey(owner), "formats-bridge", "formats.log");

  MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
  ASSERT_TRUE(publisher.connected());
  // https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html and
  // https://www.zigbee2mqtt.io/devices/TS0601_soil.html
  publisher.Publish("zigbee2mqtt/balcony/soil sensor",
                    R"({"soil_moisture":31,"temperature":21.4,"battery":96,"linkquality":120})");
  // https://tasmota.github.io/docs/AM2301/
  publisher.Publish("tele/tasmota_5A1B2C/SENSOR",
                    R"({"Time":"2026-12-01T12:00:00","AM2301":{"Temperature":22.3,)"
                    R"("Humidity":45.1,"DewPoint":9.9},"TempUnit":"C"})");
  // https://docs.openmqttgateway.com/use/ble.html
  publisher.Publish("home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3F01",
                    R"({"id":"C4:7C:8D:6A:3F:01","name":"Flower care","rssi":-78,)"
                    R"("model":"HHCCJCY01HHCC","tempc":24.4,"tempf":75.92,"moi":26,"lux":155,)"
                    R"("fer":211,"batt":97})");
  // https://esphome.io/components/mqtt.html
  publisher.Publish("greenhouse-node/sensor/temperature/state", "19.5");
  publisher.Publish("greenhouse-node/sensor/humidity/state", "71");
  // docs/mqtt.md
  publisher.Publish("plantmon/balcony/readings",
                    R"({"readings":[{"uniqueIdentifier":"native-flora","parameterName":"light",)"
                    R"("measurementValue":1200,"timestamp":"2026-12-01T11:59:00Z"},)"
                    R"({"uniqueIdentifier":"native-flora","parameterName":"battery",)"
                    R"("measurementValue":80}]})");
  ASSERT_TRUE(publisher.Flush());

  ASSERT_TRUE(WaitFor([&] {
    return Readings(z2m.id()) == 3 && Readings(tasmota.id()) == 2 && Readings(omg.id()) == 5 &&
           Readings(esphome.id()) == 2 && Readings(native.id()) == 2;
  })) << ReadFile(TempPath("formats.log"));
  EXPECT_EQ(Values(z2m.id()), (std::map<std::string, double>{
                                  {"battery", 96}, {"soil_moisture", 31}, {"temperature", 21.4}}));
  EXPECT_EQ(Values(tasmota.id()),
            (std::map<std::string, double>{{"humidity", 45.1}, {"temperature", 22.3}}));
  EXPECT_EQ(Values(omg.id()), (std::map<std::string, double>{{"battery", 97},
                                                             {"conductivity", 211},
                                                             {"light", 155},
                                                             {"soil_moisture", 26},
                                                             {"temperature", 24.4}}));
  EXPECT_EQ(Values(esphome.id()),
            (std::map<std::string, double>{{"humidity", 71}, {"temperature", 19.5}}));
  EXPECT_EQ(Values(native.id()), (std::map<std::string, double>{{"battery", 80}, {"light", 1200}}));
  // The native reading's own timestamp is kept.
  EXPECT_EQ(Readings(native.id(),
                     "parameter_name = 'light' AND \"timestamp\" = "
                     "'2026-12-01T11:59:00Z'"),
            1);
  // And the readings took the server's path: the device's last_data_received moved.
  v1::GetDeviceRequest get;
  get.set_id(z2m.id());
  v1::Device after;
  ASSERT_TRUE(devices_->GetDevice(Context(owner.token).get(), get, &after).ok());
  EXPECT_TRUE(after.has_last_data_received());
}

// kill -9 of the bridge while messages flow, then a restart: every QoS 1
// message is stored exactly once. Run twice: killed at a moment chosen by the
// clock, and stopped right after a batch committed and before its messages
// were acknowledged to the broker (PLANTMON_MQTT_CRASH_AFTER_BATCHES), the
// moment that makes the broker deliver committed messages again.
class BridgeCrashTest : public BridgeTest, public ::testing::WithParamInterface<bool> {};

TEST_P(BridgeCrashTest, EveryMessageIsStoredExactlyOnceAcrossAKill) {
  const bool crash_after_commit = GetParam();
  const std::string name = crash_after_commit ? "crash_commit" : "crash_kill";
  SignedInUser owner = SignUp(name);
  v1::DeviceType type = MakeMultiSensor("Crash probe " + name, {"temperature"});
  v1::Device device = MakeDevice(owner, type.id(), name + "-sensor");
  const std::string key = ApiKey(owner);
  const std::string log = name + ".log";
  std::vector<std::pair<std::string, std::string>> first_run = {
      {"PLANTMON_MQTT_BATCH_READINGS", "50"}};
  if (crash_after_commit) first_run.emplace_back("PLANTMON_MQTT_CRASH_AFTER_BATCHES", "3");
  pid_t bridge = StartBridge(key, name + "-bridge", log, first_run);

  constexpr int kMessages = 3000;
  MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
  ASSERT_TRUE(publisher.connected());
  std::thread publishing([&] {
    for (int i = 0; i < kMessages; ++i) {
      // No last_seen: the bridge's clock dates these, so a message stored
      // twice would not even share its timestamp.
      publisher.Publish("zigbee2mqtt/" + name + "-sensor",
                        absl::StrCat(R"({"temperature":)", i, "}"));
      if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  if (crash_after_commit) {
    int status = 0;
    ASSERT_TRUE(WaitFor([&] { return waitpid(bridge, &status, WNOHANG) == bridge; }));
    EXPECT_NE(ReadFile(TempPath(log)).find("CRASH_AFTER_BATCHES reached"), std::string::npos);
  } else {
    ASSERT_TRUE(WaitFor([&] { return Readings(device.id()) >= 500; }));
    kill(bridge, SIGKILL);
    waitpid(bridge, nullptr, 0);
  }
  const int64_t before_restart = Readings(device.id());
  EXPECT_LT(before_restart, kMessages) << "the kill came after everything was stored";
  StartBridge(key, name + "-bridge", log);
  publishing.join();
  ASSERT_TRUE(publisher.Flush());
  ASSERT_TRUE(WaitFor([&] { return Readings(device.id()) >= kMessages; }, 60))
      << Readings(device.id()) << " of " << kMessages << "\n"
      << ReadFile(TempPath(log));
  // Let anything still in flight land before counting.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Readings(device.id()), kMessages);
  EXPECT_EQ(database_
                ->Query(absl::StrCat("SELECT count(DISTINCT measurement_value) FROM sensor_data "
                                     "WHERE device_id = ",
                                     device.id()))[0][0]
                .as<int64_t>(),
            kMessages);
}

INSTANTIATE_TEST_SUITE_P(Crashes, BridgeCrashTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "AfterACommit" : "KillNine";
                         });

// Four messages to a device `name`, each a batch of its own
// (PLANTMON_MQTT_BATCH_READINGS=1): the first is held in its COPY by a row
// lock while the bridge sends the other three; `while_held` runs before the
// lock goes. The device's id, and the bridge's log in `log`.
int64_t BridgeTest::PublishFourWhileTheFirstIsHeld(const std::string& name, std::string& log,
                                                   const std::function<void()>& while_held) {
  SignedInUser owner = SignUp(name);
  v1::DeviceType type = MakeMultiSensor(name + " probe", {"temperature"});
  v1::Device device = MakeDevice(owner, type.id(), name);
  log = name + ".log";
  StartBridge(ApiKey(owner), name + "-bridge", log, {{"PLANTMON_MQTT_BATCH_READINGS", "1"}});
  MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
  EXPECT_TRUE(publisher.connected());
  const std::string topic = "zigbee2mqtt/" + name;
  DeviceRowLock lock(device.id());
  publisher.Publish(topic, R"({"temperature":20})");
  EXPECT_TRUE(WaitForABlockedBatch()) << ReadFile(TempPath(log));
  for (int i = 1; i <= 3; ++i) {
    publisher.Publish(topic, absl::StrCat(R"({"temperature":)", 20 + i, "}"));
  }
  EXPECT_TRUE(publisher.Flush());
  // Time for the bridge to send them and the server to read them; nothing
  // to poll for, as they are only in the server's memory.
  absl::SleepFor(absl::Seconds(1));
  while_held();
  lock.Release();
  return device.id();
}

// The bridge sends a batch without waiting for the acknowledgements of those
// before it: batches that come while one is being stored wait on the stream
// and are stored together, in one transaction.
TEST_F(BridgeTest, BatchesSentWhileOneIsStoredAreStoredTogether) {
  std::string log;
  const int64_t device = PublishFourWhileTheFirstIsHeld("in-flight", log, [] {});
  ASSERT_TRUE(WaitFor([&] { return Readings(device) == 4; })) << ReadFile(TempPath(log));
  // The first alone, the three sent while it waited together.
  EXPECT_EQ(TransactionsOf(device), 2);
}

// The server goes away with batches on the bridge's stream, the first of
// them being stored: those it left unacknowledged are sent again, in order,
// once a server is back, and every message is stored once.
TEST_F(BridgeTest, BatchesLeftOnABrokenStreamAreSentAgain) {
  const int port = server_->port();
  std::string log;
  std::thread stop;
  const int64_t device = PublishFourWhileTheFirstIsHeld("broken-stream", log, [&] {
    // The server's shutdown waits for the batch being stored: the lock goes
    // once the shutdown has begun.
    stop = std::thread([] { StopServer(); });
    absl::SleepFor(absl::Milliseconds(200));
  });
  stop.join();
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(ReadFile(TempPath(log)), "retrying with backoff");
  })) << ReadFile(TempPath(log));
  options_->listen_address = absl::StrCat("127.0.0.1:", port);
  RestartServer();
  options_->listen_address = "127.0.0.1:0";
  ASSERT_TRUE(WaitFor([&] { return Readings(device) == 4; })) << ReadFile(TempPath(log));
  // Nothing comes later, a second time.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Readings(device), 4);
  EXPECT_EQ(Readings(device, "measurement_value = 23"), 1);
}

// The bridge writes with its key's owner's rights: another user's device of
// the same name is not found, and nothing is stored for it.
TEST_F(BridgeTest, AnApiKeyWritesOnlyItsOwnersDevices) {
  SignedInUser owner = SignUp("bridge_owner");
  SignedInUser other = SignUp("bridge_other");
  v1::DeviceType type = MakeMultiSensor("Isolation probe", {"temperature"});
  v1::Device mine = MakeDevice(owner, type.id(), "iso-mine");
  v1::Device theirs = MakeDevice(other, type.id(), "iso-theirs");
  const std::string log = "isolation.log";
  StartBridge(ApiKey(owner), "isolation-bridge", log);
  MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
  ASSERT_TRUE(publisher.connected());
  publisher.Publish("zigbee2mqtt/iso-theirs", R"({"temperature":30})");
  publisher.Publish(
      "plantmon/gw/readings",
      absl::StrCat(R"({"readings":[{"deviceId":")", theirs.id(), R"(","measurementValue":31}]})"));
  publisher.Publish("zigbee2mqtt/iso-mine", R"({"temperature":20})");
  ASSERT_TRUE(publisher.Flush());
  ASSERT_TRUE(WaitFor([&] { return Readings(mine.id()) == 1; }));
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(ReadFile(TempPath(log)), "device \"iso-theirs\""); }));
  EXPECT_EQ(Readings(theirs.id()), 0);
  const std::string text = ReadFile(TempPath(log));
  EXPECT_NE(text.find("device not found"), std::string::npos) << text;
}

// Bad input is counted and logged once per source, never a crash; a broker
// that goes away and comes back is reconnected to.
TEST_F(BridgeTest, BadInputAndALostBrokerDoNotStopTheBridge) {
  SignedInUser owner = SignUp("bad_input");
  v1::DeviceType type = MakeMultiSensor("Bad input probe", {"temperature", "humidity"});
  v1::Device device = MakeDevice(owner, type.id(), "bad-input");
  const std::string log = "bad_input.log";
  pid_t bridge = StartBridge(ApiKey(owner), "bad-input-bridge", log);
  {
    MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
    ASSERT_TRUE(publisher.connected());
    for (int i = 0; i < 5; ++i) {
      publisher.Publish("zigbee2mqtt/malformed", "{not json");
      publisher.Publish("zigbee2mqtt/wrong-type", R"({"temperature":"warm"})");
      publisher.Publish("zigbee2mqtt/unknown-device", R"({"temperature":20})");
      publisher.Publish("esphome-node/sensor/temperature/state", "hot");
      publisher.Publish("tele/x/SENSOR", "[1,2,3]");
    }
    publisher.Publish("zigbee2mqtt/huge", std::string(300 * 1024, '{'));
    publisher.Publish("zigbee2mqtt/bad-input", R"({"humidity":40,"linkquality":9,"voltage":3})");
    // Undeclared parameter: a per-reading rejection.
    publisher.Publish("zigbee2mqtt/bad-input", R"({"co2":400})");
    // QoS 0 is forwarded too (nothing to acknowledge).
    publisher.Publish("zigbee2mqtt/bad-input", R"({"temperature":21})", 0);
    ASSERT_TRUE(publisher.Flush());
  }
  ASSERT_TRUE(WaitFor([&] { return Readings(device.id()) == 2; })) << ReadFile(TempPath(log));
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(ReadFile(TempPath(log)), "not one device type");
  })) << ReadFile(TempPath(log));
  int status = 0;
  EXPECT_EQ(waitpid(bridge, &status, WNOHANG), 0) << "the bridge exited";
  std::string text = ReadFile(TempPath(log));
  for (const char* topic : {"zigbee2mqtt/malformed", "zigbee2mqtt/wrong-type", "tele/x/SENSOR",
                            "esphome-node/sensor/temperature/state", "zigbee2mqtt/huge"}) {
    const std::string subject = absl::StrCat("topic \"", topic, "\"");
    const size_t first = text.find(subject);
    EXPECT_NE(first, std::string::npos) << subject << "\n" << text;
    EXPECT_EQ(text.find(subject, first + 1), std::string::npos) << "logged twice: " << subject;
  }
  const std::string unknown = "device \"unknown-device\"";
  ASSERT_NE(text.find(unknown), std::string::npos) << text;
  EXPECT_EQ(text.find(unknown, text.find(unknown) + 1), std::string::npos) << text;

  // The broker goes away and comes back; messages published after are stored.
  broker_->Stop();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ASSERT_TRUE(broker_->Restart());
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(ReadFile(TempPath(log)), "session resumed");
  })) << ReadFile(TempPath(log));
  MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
  ASSERT_TRUE(publisher.connected());
  publisher.Publish("zigbee2mqtt/bad-input", R"({"temperature":22})");
  ASSERT_TRUE(publisher.Flush());
  ASSERT_TRUE(WaitFor([&] { return Readings(device.id()) == 3; })) << ReadFile(TempPath(log));
  EXPECT_EQ(waitpid(bridge, &status, WNOHANG), 0) << "the bridge exited";
}

// A bridge whose key is wrong holds its messages instead of dropping them:
// once it runs with a good key, they are stored.
TEST_F(BridgeTest, MessagesWaitForAServerThatRefusesTheKey) {
  SignedInUser owner = SignUp("bad_key");
  v1::DeviceType type = MakeMultiSensor("Bad key probe", {"temperature"});
  v1::Device device = MakeDevice(owner, type.id(), "bad-key");
  const std::string log = "bad_key.log";
  pid_t bridge = StartBridge("pmk_not_a_key", "bad-key-bridge", log);
  MqttPublisher publisher(broker_->port(), kBrokerUser, kBrokerPassword);
  ASSERT_TRUE(publisher.connected());
  publisher.Publish("zigbee2mqtt/bad-key", R"({"temperature":18})");
  ASSERT_TRUE(publisher.Flush());
  ASSERT_TRUE(WaitFor([&] {
    return absl::StrContains(ReadFile(TempPath(log)), "retrying with backoff");
  })) << ReadFile(TempPath(log));
  EXPECT_EQ(Readings(device.id()), 0);
  kill(bridge, SIGTERM);
  waitpid(bridge, nullptr, 0);
  StartBridge(ApiKey(owner), "bad-key-bridge", log);
  ASSERT_TRUE(WaitFor([&] { return Readings(device.id()) == 1; })) << ReadFile(TempPath(log));
}

}  // namespace
}  // namespace plantmon
