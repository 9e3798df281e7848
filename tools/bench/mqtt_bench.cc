// MQTT bridge benchmark (issue 11): N readings published to Mosquitto as
// zigbee2mqtt messages (a Sonoff SNZB-02's state: temperature, humidity and
// link quality, dated by last_seen) and stored end to end by
// plantmon_mqtt_bridge, against the same readings sent over StreamReadings by
// one gateway stream in the same run. End to end = from the first publish
// until every reading is in sensor_data.
//
// Needs a running plantmon_server (--port), its database in POSTGRES_DB_*, a
// broker (--mqtt_port, --mqtt_user, --mqtt_password) and the bridge binary
// (--bridge); tools/bench/run_mqtt.sh sets all of that up.

#include <grpcpp/grpcpp.h>
#include <mosquitto.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "postgres/database_config.h"
#include "tools/bench/bench_support.h"

ABSL_FLAG(int, port, 50051, "plantmon_server port");
ABSL_FLAG(int, mqtt_port, 1883, "broker port");
ABSL_FLAG(std::string, mqtt_user, "plantmon", "broker user");
ABSL_FLAG(std::string, mqtt_password, "", "broker password");
ABSL_FLAG(std::string, bridge, "", "plantmon_mqtt_bridge binary");
ABSL_FLAG(int64_t, readings, 200000, "readings to store each way");
ABSL_FLAG(int, devices, 1000, "devices");
ABSL_FLAG(int, batch, 1000, "readings per batch: the bridge's and the gateway's");

namespace {

// Two readings per message, as an SNZB-02 reports.
constexpr int kReadingsPerMessage = 2;

struct Message {
  int device = 0;
  double temperature = 0;
  double humidity = 0;
  int64_t millis = 0;
};

std::string DeviceName(int device) { return absl::StrCat("bench-snzb-", device); }

int64_t CountReadings(pqxx::connection& connection) {
  pqxx::nontransaction query(connection);
  return query.exec1("SELECT count(*) FROM sensor_data").front().as<int64_t>();
}

void Truncate(pqxx::connection& connection) {
  pqxx::work clear(connection);
  clear.exec("TRUNCATE sensor_data, ingest_batches, ingest_source_receipts");
  clear.commit();
}

// Readings the committed batch keys account for: the same figure as a count
// of sensor_data while the bridge stores each reading once, from a table of
// one row per batch. Counting sensor_data every 20 ms while the bridge leg
// ran took a share of PostgreSQL's CPU that grew with the table, which the
// StreamReadings legs (timed by their acknowledgements) did not pay.
int64_t CountAccepted(pqxx::connection& connection) {
  pqxx::nontransaction query(connection);
  return query.exec1("SELECT coalesce(sum(accepted), 0) FROM ingest_batches").front().as<int64_t>();
}

// Waits until `want` readings are stored; the time it took since `start`.
absl::Duration WaitForReadings(pqxx::connection& connection, int64_t want, absl::Time start) {
  const absl::Time give_up = absl::Now() + absl::Minutes(10);
  while (CountAccepted(connection) < want && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::Now() - start;
}

// Readings stored more than once (same device, parameter and time), and when
// their copies were stored: received_at is each storing transaction's start.
void ReportDuplicates(pqxx::connection& connection, absl::Time start) {
  pqxx::nontransaction query(connection);
  const pqxx::row row = query.exec_params1(
      R"sql(SELECT count(*), coalesce(sum(copies - 1), 0), count(DISTINCT last_at),
                   coalesce(extract(epoch FROM min(first_at)) - $1, 0),
                   coalesce(extract(epoch FROM max(last_at)) - $1, 0),
                   coalesce(extract(epoch FROM max(last_at - first_at)), 0)
            FROM (SELECT count(*) AS copies, min(received_at) AS first_at,
                         max(received_at) AS last_at
                  FROM sensor_data GROUP BY device_id, parameter_name, "timestamp"
                  HAVING count(*) > 1) AS twice)sql",
      absl::ToDoubleSeconds(start - absl::UnixEpoch()));
  if (row[0].as<int64_t>() == 0) return;
  std::printf(
      "stored twice: %lld readings (%lld extra rows) whose later copies came in %lld "
      "transactions, the first copy %.2f s and the last %.2f s after the start, at most %.2f s "
      "apart\n",
      static_cast<long long>(row[0].as<int64_t>()), static_cast<long long>(row[1].as<int64_t>()),
      static_cast<long long>(row[2].as<int64_t>()), row[3].as<double>(), row[4].as<double>(),
      row[5].as<double>());
}

}  // namespace

// NOLINTNEXTLINE(bugprone-exception-escape): a bench stops on the first exception.
int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int64_t total = absl::GetFlag(FLAGS_readings);
  const int device_count = absl::GetFlag(FLAGS_devices);
  const int batch = absl::GetFlag(FLAGS_batch);
  const int64_t message_count = total / kReadingsPerMessage;
  const plantmon::postgres::DatabaseConfig config = plantmon::bench::DatabaseConfigOrExit();
  pqxx::connection admin(plantmon::postgres::LibpqConnectionString(config));

  const std::string server = absl::StrCat("127.0.0.1:", absl::GetFlag(FLAGS_port));
  auto channel = grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
  std::optional<plantmon::v1::LoginResponse> login =
      plantmon::bench::SignUpAndLogin(channel, "mqttbench", "bench-password");
  if (!login) {
    std::fprintf(stderr, "cannot log in\n");
    return 1;
  }
  {
    pqxx::work setup(admin);
    setup.exec("INSERT INTO manufacturers (name) VALUES ('Bench Sonoff') ON CONFLICT DO NOTHING");
    setup.exec(
        "INSERT INTO device_types (manufacturer_id, name, device_type, data_unit, min_value, "
        "max_value) SELECT id, 'Bench SNZB-02', 'sensor', '°C', -20, 60 FROM manufacturers "
        "WHERE name = 'Bench Sonoff' ON CONFLICT DO NOTHING");
    setup.exec(
        "INSERT INTO device_type_measurements (device_type_id, parameter_name, position) "
        "SELECT t.id, v.p, v.pos FROM device_types t, (VALUES ('temperature', 0), "
        "('humidity', 1)) v(p, pos) WHERE t.name = 'Bench SNZB-02' ON CONFLICT DO NOTHING");
    setup.exec_params(
        "INSERT INTO devices (user_id, device_type_id, unique_identifier, device_name) "
        "SELECT $1, t.id, 'bench-snzb-' || g, 'SNZB ' || g FROM generate_series(0, $2 - 1) g, "
        "device_types t WHERE t.name = 'Bench SNZB-02' ON CONFLICT DO NOTHING",
        login->user().id(), device_count);
    setup.commit();
  }
  auto users = plantmon::v1::UserService::NewStub(channel);
  plantmon::v1::CreateApiKeyRequest key_request;
  key_request.set_name("mqtt bench");
  plantmon::v1::CreateApiKeyResponse key;
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + login->access_token());
    if (!users->CreateApiKey(&context, key_request, &key).ok()) {
      std::fprintf(stderr, "cannot create an API key\n");
      return 1;
    }
  }

  // The same messages both ways.
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> temperature(15, 30);
  std::uniform_real_distribution<double> humidity(30, 80);
  const int64_t start_millis = absl::ToUnixMillis(absl::Now() - absl::Hours(24));
  std::vector<Message> messages;
  messages.reserve(message_count);
  for (int64_t i = 0; i < message_count; ++i) {
    messages.push_back({static_cast<int>(i % device_count),
                        std::round(temperature(random) * 100) / 100,
                        std::round(humidity(random) * 10) / 10, start_millis + i});
  }

  // --- baseline: one gateway stream, batches pipelined, devices named by
  // unique_identifier as the bridge names them; run again with a source
  // message per MQTT message, as the bridge sends them, for what the
  // receipts cost (docs/telemetry.md, "Source messages") ----------------------------
  auto telemetry = plantmon::v1::TelemetryService::NewStub(channel);
  auto stream_all = [&](bool with_receipts, int64_t& acknowledged) {
    Truncate(admin);
    acknowledged = 0;
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + key.secret());
    auto stream = telemetry->StreamReadings(&context);
    const int64_t per_batch = batch / kReadingsPerMessage;
    const int64_t batches = (message_count + per_batch - 1) / per_batch;
    std::thread reader([&] {
      plantmon::v1::StreamReadingsResponse ack;
      for (int64_t b = 0; b < batches && stream->Read(&ack); ++b) {
        acknowledged += ack.accepted_count();
      }
    });
    for (int64_t b = 0; b < batches; ++b) {
      plantmon::v1::StreamReadingsRequest request;
      request.set_gateway_id(with_receipts ? "bench-gateway-receipts" : "bench-gateway");
      request.set_sequence(b + 1);
      for (int64_t i = b * per_batch; i < std::min(message_count, (b + 1) * per_batch); ++i) {
        const Message& m = messages[i];
        if (with_receipts) {
          plantmon::v1::SourceMessage* source = request.add_source_messages();
          source->set_id(static_cast<uint32_t>(i % 65535 + 1));
          source->set_digest(absl::StrCat("digest-", i));
          source->set_reading_count(kReadingsPerMessage);
        }
        for (int k = 0; k < kReadingsPerMessage; ++k) {
          plantmon::v1::IncomingReading* reading = request.add_readings();
          reading->set_unique_identifier(DeviceName(m.device));
          reading->set_parameter_name(k == 0 ? "temperature" : "humidity");
          reading->set_measurement_value(k == 0 ? m.temperature : m.humidity);
          reading->mutable_timestamp()->set_seconds(m.millis / 1000);
          reading->mutable_timestamp()->set_nanos(static_cast<int>(m.millis % 1000) * 1000000);
        }
      }
      if (!stream->Write(request)) break;
    }
    stream->WritesDone();
    reader.join();
    grpc::Status status = stream->Finish();
    if (!status.ok()) std::fprintf(stderr, "stream: %s\n", status.error_message().c_str());
    return absl::Now() - start;
  };
  int64_t acknowledged = 0;
  const absl::Duration stream_time = stream_all(false, acknowledged);
  const int64_t stream_stored = CountReadings(admin);
  int64_t receipts_acknowledged = 0;
  const absl::Duration receipts_time = stream_all(true, receipts_acknowledged);
  const int64_t receipts_stored = CountReadings(admin);

  // --- the bridge -----------------------------------------------------------------
  Truncate(admin);
  const std::string log = "/tmp/plantmon-mqtt-bench-bridge.log";
  std::remove(log.c_str());
  const std::string url = absl::StrCat("mqtt://", absl::GetFlag(FLAGS_mqtt_user), ":",
                                       absl::GetFlag(FLAGS_mqtt_password),
                                       "@127.0.0.1:", absl::GetFlag(FLAGS_mqtt_port));
  pid_t bridge = fork();
  if (bridge == 0) {
    setenv("PLANTMON_MQTT_URL", url.c_str(), 1);
    setenv("PLANTMON_SERVER_ADDR", server.c_str(), 1);
    setenv("PLANTMON_API_KEY", key.secret().c_str(), 1);
    setenv("PLANTMON_MQTT_TOPICS", "zigbee2mqtt:zigbee2mqtt/#", 1);
    setenv("PLANTMON_MQTT_BATCH_READINGS", std::to_string(batch).c_str(), 1);
    setenv("PLANTMON_MQTT_CLIENT_ID", "bench-bridge", 1);
    freopen(log.c_str(), "a", stderr);
    const std::string path = absl::GetFlag(FLAGS_bridge);
    execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  absl::SleepFor(absl::Seconds(1));  // subscribed (the log says so)
  mosquitto_lib_init();
  struct mosquitto* publisher = mosquitto_new("bench-publisher", true, nullptr);
  mosquitto_username_pw_set(publisher, absl::GetFlag(FLAGS_mqtt_user).c_str(),
                            absl::GetFlag(FLAGS_mqtt_password).c_str());
  mosquitto_max_inflight_messages_set(publisher, 1000);
  // A publisher that reconnects sends its unacknowledged messages again, and
  // the broker passes them on as new ones: counted, to tell that from the
  // bridge storing a message twice.
  static std::atomic<int> publisher_connects{0};
  mosquitto_connect_callback_set(publisher, [](struct mosquitto*, void*, int code) {
    if (code == 0) ++publisher_connects;
  });
  if (mosquitto_connect(publisher, "127.0.0.1", absl::GetFlag(FLAGS_mqtt_port), 60) !=
          MOSQ_ERR_SUCCESS ||
      mosquitto_loop_start(publisher) != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "cannot connect to the broker\n");
    kill(bridge, SIGKILL);
    return 1;
  }
  // Nothing is published before the CONNACK: libmosquitto 2.0.11 resets its
  // send quota on CONNACK outside its lock, and QoS 1 messages this thread
  // sent beyond the in-flight limit meanwhile are sent again, as new messages
  // the broker forwards twice (docs/mqtt.md, "Publishers"). Runs that did so
  // stored 45-296 of the messages twice.
  const absl::Time connack_deadline = absl::Now() + absl::Seconds(10);
  while (publisher_connects == 0 && absl::Now() < connack_deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (publisher_connects == 0) {
    std::fprintf(stderr, "the broker did not accept the publisher\n");
    kill(bridge, SIGKILL);
    return 1;
  }
  const absl::Time mqtt_start = absl::Now();
  for (const Message& m : messages) {
    const std::string topic = "zigbee2mqtt/" + DeviceName(m.device);
    const std::string payload =
        absl::StrFormat(R"({"temperature":%.2f,"humidity":%.1f,"linkquality":120,"last_seen":%d})",
                        m.temperature, m.humidity, m.millis);
    while (mosquitto_publish(publisher, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), 1, false) == MOSQ_ERR_NOMEM) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  const absl::Duration publish_time = absl::Now() - mqtt_start;
  const absl::Duration mqtt_time = WaitForReadings(admin, total, mqtt_start);
  absl::SleepFor(absl::Seconds(1));
  const int64_t mqtt_stored = CountReadings(admin);
  mosquitto_disconnect(publisher);
  mosquitto_loop_stop(publisher, false);
  mosquitto_destroy(publisher);
  kill(bridge, SIGTERM);
  waitpid(bridge, nullptr, 0);

  const double stream_rate = total / absl::ToDoubleSeconds(stream_time);
  const double mqtt_rate = total / absl::ToDoubleSeconds(mqtt_time);
  std::printf("readings=%lld (%lld zigbee2mqtt messages of %d) devices=%d batch=%d\n",
              static_cast<long long>(total), static_cast<long long>(message_count),
              kReadingsPerMessage, device_count, batch);
  std::printf("stream_readings: %.2f s, %.0f readings/s, acknowledged=%lld stored=%lld\n",
              absl::ToDoubleSeconds(stream_time), stream_rate, static_cast<long long>(acknowledged),
              static_cast<long long>(stream_stored));
  const double receipts_rate = total / absl::ToDoubleSeconds(receipts_time);
  std::printf(
      "stream_readings_with_source_messages: %.2f s, %.0f readings/s (%.2f of without), "
      "stored=%lld\n",
      absl::ToDoubleSeconds(receipts_time), receipts_rate, receipts_rate / stream_rate,
      static_cast<long long>(receipts_stored));
  std::printf("mqtt_bridge: %.2f s, %.0f readings/s (publishing took %.2f s), stored=%lld\n",
              absl::ToDoubleSeconds(mqtt_time), mqtt_rate, absl::ToDoubleSeconds(publish_time),
              static_cast<long long>(mqtt_stored));
  std::printf("ratio: %.2f (bridge / StreamReadings)\n", mqtt_rate / stream_rate);
  std::printf("publisher connections: %d\n", publisher_connects.load());
  ReportDuplicates(admin, mqtt_start);
  return stream_stored == total && receipts_stored == total && mqtt_stored == total ? 0 : 1;
}
