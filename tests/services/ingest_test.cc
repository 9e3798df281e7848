// Gateway ingestion: per-reading rejections, bookkeeping, idempotent replay,
// API keys, and the alert engine driven by real readings.
#include <cmath>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/generic_calls.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class IngestTest : public ApiTest {
 protected:
  static v1::IncomingReading ById(int64_t device_id, double value, int64_t seconds) {
    v1::IncomingReading reading;
    reading.set_device_id(device_id);
    reading.set_measurement_value(value);
    reading.mutable_timestamp()->set_seconds(seconds);
    return reading;
  }
  static v1::IncomingReading ByIdentifier(const std::string& uid, double value, int64_t seconds) {
    v1::IncomingReading reading;
    reading.set_unique_identifier(uid);
    reading.set_measurement_value(value);
    reading.mutable_timestamp()->set_seconds(seconds);
    return reading;
  }

  static grpc::Status Upload(const std::string& token,
                             const std::vector<std::vector<v1::IncomingReading>>& batches,
                             v1::UploadReadingsResponse* response) {
    auto context = Context(token);
    auto writer = telemetry_->UploadReadings(context.get(), response);
    for (const auto& batch : batches) {
      v1::UploadReadingsRequest request;
      for (const auto& reading : batch) *request.add_readings() = reading;
      if (!writer->Write(request)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  // One StreamReadings batch on a stream of its own: its acknowledgement in
  // `ack`, the stream's status returned.
  static grpc::Status StreamOne(const std::string& token, const v1::StreamReadingsRequest& request,
                                v1::StreamReadingsResponse* ack) {
    auto context = Context(token);
    auto stream = telemetry_->StreamReadings(context.get());
    EXPECT_TRUE(stream->Write(request));
    stream->Read(ack);
    stream->WritesDone();
    return stream->Finish();
  }

  static int64_t Count(const std::string& where) {
    return database_->Query("SELECT count(*) FROM sensor_data WHERE " + where)[0][0].as<int64_t>();
  }

  // A plant with a device assigned in `role` and one rule; returns ids.
  struct Watched {
    int64_t plant = 0;
    int64_t device = 0;
    int64_t rule = 0;
  };
  Watched WatchedPlant(const SignedInUser& owner, const std::string& name, const std::string& role,
                       v1::AlertRule rule) {
    Watched w;
    w.plant = MakePlant(owner, MakePlantType(name + " species").id(), name).id();
    w.device = MakeDevice(owner, MakeDeviceType(name + " probe").id(), name + "-probe").id();
    AssignDevice(owner, w.plant, w.device, role);
    rule.set_plant_id(w.plant);
    rule.set_parameter_name(role);
    if (rule.rule_name().empty()) rule.set_rule_name(name + " rule");
    v1::CreateAlertRuleRequest create;
    *create.mutable_alert_rule() = rule;
    v1::AlertRule created;
    grpc::Status status = alerts_->CreateAlertRule(Context(owner.token).get(), create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    w.rule = created.id();
    return w;
  }

  static v1::StreamReadingsRequest GatewayBatch(const std::string& gateway, uint64_t sequence,
                                                std::vector<v1::IncomingReading> readings) {
    v1::StreamReadingsRequest request;
    request.set_gateway_id(gateway);
    request.set_sequence(sequence);
    for (v1::IncomingReading& reading : readings) *request.add_readings() = std::move(reading);
    return request;
  }

  // `count` batches of `size` readings of the device, sequences 1 to count:
  // reading i of batch s is worth s * 100 + i, at start + s * 60 + i.
  static std::vector<v1::StreamReadingsRequest> SequencedBatches(const std::string& gateway,
                                                                 int64_t device_id, int64_t start,
                                                                 int count, int size) {
    std::vector<v1::StreamReadingsRequest> batches;
    for (int sequence = 1; sequence <= count; ++sequence) {
      std::vector<v1::IncomingReading> readings;
      for (int i = 0; i < size; ++i) {
        readings.push_back(ById(device_id, sequence * 100 + i, start + int64_t{sequence} * 60 + i));
      }
      batches.push_back(
          GatewayBatch(gateway, static_cast<uint64_t>(sequence), std::move(readings)));
    }
    return batches;
  }

  // Sends `batches` on one stream: the first alone, and the rest while it
  // waits to be stored, so that they are read ahead and stored together
  // where they can be. The acknowledgements in `acks`, the status returned.
  static grpc::Status SendWhileTheFirstWaits(const std::string& token, int64_t device_id,
                                             const std::vector<v1::StreamReadingsRequest>& batches,
                                             std::vector<v1::StreamReadingsResponse>* acks) {
    DeviceRowLock lock(device_id);
    auto context = Context(token);
    auto stream = telemetry_->StreamReadings(context.get());
    EXPECT_TRUE(stream->Write(batches.front()));
    EXPECT_TRUE(WaitForABlockedBatch());
    // Written from a thread of their own: a write the server does not read
    // yet (past its read-ahead bound) waits until the first batch is stored.
    std::thread writer([&] {
      for (size_t i = 1; i < batches.size(); ++i) EXPECT_TRUE(stream->Write(batches[i]));
    });
    // Time for the server to read what it reads ahead; nothing to poll for,
    // as the batches are only in its memory.
    absl::SleepFor(absl::Milliseconds(500));
    lock.Release();
    writer.join();
    stream->WritesDone();
    v1::StreamReadingsResponse ack;
    while (stream->Read(&ack)) acks->push_back(ack);
    return stream->Finish();
  }

  static std::vector<v1::Alert> AlertsOfRule(const SignedInUser& owner, int64_t rule_id) {
    v1::ListAlertsResponse response;
    EXPECT_TRUE(alerts_->ListAlerts(Context(owner.token).get(), {}, &response).ok());
    std::vector<v1::Alert> alerts;
    for (const auto& alert : response.alerts()) {
      if (alert.rule_id() == rule_id) alerts.push_back(alert);
    }
    return alerts;
  }
};

TEST_F(IngestTest, UploadCountsAndRejectsBadReadingsOneByOne) {
  SignedInUser owner = SignUp("gateway_owner");
  SignedInUser other = SignUp("gateway_other");
  v1::DeviceType type = MakeDeviceType("Upload probe");  // %, range 0-100
  v1::Device device = MakeDevice(owner, type.id(), "up-1");
  v1::Device second = MakeDevice(owner, type.id(), "up-2");
  v1::Device foreign = MakeDevice(other, type.id(), "up-foreign");
  const int64_t now = std::time(nullptr);

  std::vector<v1::IncomingReading> first_batch = {
      ById(device.id(), 40, now - 120),           // 0 ok
      ByIdentifier("up-2", 41, now - 110),        // 1 ok, by identifier
      ById(foreign.id(), 42, now - 100),          // 2 someone else's device
      ById(987654, 43, now - 90),                 // 3 no such device
      ById(device.id(), std::nan(""), now - 80),  // 4 NaN
  };
  v1::IncomingReading bad_quality = ById(device.id(), 44, now - 70);
  bad_quality.set_data_quality(101);
  v1::IncomingReading future = ById(device.id(), 45, now + 3600);
  v1::IncomingReading no_time = ById(device.id(), 46, 0);
  no_time.clear_timestamp();
  v1::IncomingReading no_device;
  no_device.set_measurement_value(1);
  no_device.mutable_timestamp()->set_seconds(now);
  std::vector<v1::IncomingReading> second_batch = {
      bad_quality,                      // 5
      future,                           // 6
      no_time,                          // 7
      no_device,                        // 8
      ById(second.id(), 47, now - 60),  // 9 ok
  };
  v1::UploadReadingsResponse response;
  ASSERT_TRUE(Upload(owner.token, {first_batch, second_batch}, &response).ok());
  EXPECT_EQ(response.accepted_count(), 3);
  EXPECT_EQ(response.rejected_count(), 7);
  EXPECT_EQ(response.duplicate_count(), 0);
  std::vector<int64_t> rejected_indexes;
  for (const auto& rejected : response.rejected_readings()) {
    rejected_indexes.push_back(rejected.index());
    EXPECT_FALSE(rejected.reason().empty());
  }
  EXPECT_EQ(rejected_indexes, (std::vector<int64_t>{2, 3, 4, 5, 6, 7, 8}));
  // Someone else's device and a missing one read the same.
  EXPECT_EQ(response.rejected_readings(0).reason(), response.rejected_readings(1).reason());
  EXPECT_EQ(Count("device_id = " + std::to_string(device.id())), 1);
  EXPECT_EQ(Count("device_id = " + std::to_string(second.id())), 2);
  EXPECT_EQ(Count("device_id = " + std::to_string(foreign.id())), 0);
}

TEST_F(IngestTest, ServerBookkeepingDefaultsUnitsFlagsAnomaliesAndOnlyMovesLastDataForward) {
  SignedInUser owner = SignUp("bookkeeping");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Bookkeeping probe").id(), "book-1");
  const int64_t now = std::time(nullptr);
  v1::IncomingReading normal = ById(device.id(), 50, now - 10);
  v1::IncomingReading out_of_range = ById(device.id(), 150, now - 20);
  v1::IncomingReading low_quality = ById(device.id(), 50, now - 30);
  low_quality.set_data_quality(20);
  v1::IncomingReading flagged = ById(device.id(), 50, now - 40);
  flagged.set_is_anomaly(true);
  v1::IncomingReading with_unit = ById(device.id(), 50, now - 50);
  with_unit.set_measurement_unit("permille");
  v1::UploadReadingsResponse response;
  ASSERT_TRUE(
      Upload(owner.token, {{normal, out_of_range, low_quality, flagged, with_unit}}, &response)
          .ok());
  ASSERT_EQ(response.accepted_count(), 5);
  pqxx::result rows = database_->Query(
      "SELECT measurement_value, data_quality, is_anomaly, measurement_unit, "
      "received_at >= now() - interval '1 minute' FROM sensor_data WHERE device_id = " +
      std::to_string(device.id()) + " ORDER BY \"timestamp\" DESC");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_FALSE(rows[0][2].as<bool>());
  EXPECT_EQ(rows[0][1].as<int>(), 100) << "quality defaults to 100";
  EXPECT_EQ(rows[0][3].as<std::string>(), "%") << "unit defaults to the device type's";
  EXPECT_TRUE(rows[1][2].as<bool>()) << "outside the device type's range";
  EXPECT_TRUE(rows[2][2].as<bool>()) << "low quality";
  EXPECT_TRUE(rows[3][2].as<bool>()) << "the client's flag is kept";
  EXPECT_EQ(rows[4][3].as<std::string>(), "permille");
  EXPECT_TRUE(rows[0][4].as<bool>());

  v1::GetDeviceRequest get;
  get.set_id(device.id());
  v1::Device stored;
  ASSERT_TRUE(devices_->GetDevice(Context(owner.token).get(), get, &stored).ok());
  EXPECT_EQ(stored.last_data_received().seconds(), now - 10);
  // A late batch does not move it back.
  ASSERT_TRUE(Upload(owner.token, {{ById(device.id(), 1, now - 3600)}}, &response).ok());
  ASSERT_TRUE(devices_->GetDevice(Context(owner.token).get(), get, &stored).ok());
  EXPECT_EQ(stored.last_data_received().seconds(), now - 10);
}

TEST_F(IngestTest, ReplayAfterADroppedConnectionStoresNothingTwice) {
  SignedInUser owner = SignUp("replayer");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Replay probe").id(), "replay-1");
  const int64_t now = std::time(nullptr);
  auto batch = [&](uint64_t sequence) {
    v1::StreamReadingsRequest request;
    request.set_gateway_id("balcony-gateway");
    request.set_sequence(sequence);
    for (int i = 0; i < 10; ++i) {
      *request.add_readings() = ById(device.id(), sequence * 100 + i,
                                     now - 1000 + static_cast<int64_t>(sequence) * 10 + i);
    }
    return request;
  };
  std::set<uint64_t> acknowledged;
  {
    auto context = Context(owner.token);
    auto stream = telemetry_->StreamReadings(context.get());
    for (uint64_t sequence : {1, 2}) {
      ASSERT_TRUE(stream->Write(batch(sequence)));
      v1::StreamReadingsResponse ack;
      ASSERT_TRUE(stream->Read(&ack));
      EXPECT_EQ(ack.sequence(), sequence);
      EXPECT_EQ(ack.accepted_count(), 10);
      acknowledged.insert(ack.sequence());
    }
    // Batch 3 goes out, and the connection drops before its acknowledgement.
    stream->Write(batch(3));
    context->TryCancel();
    stream->Finish();
  }
  // Acknowledged batches are all there; batch 3 may or may not be.
  int64_t stored = Count("device_id = " + std::to_string(device.id()));
  EXPECT_GE(stored, 20);
  // The gateway reconnects and replays everything it has no acknowledgement
  // for, and (being careful) an acknowledged one too.
  auto context = Context(owner.token);
  auto stream = telemetry_->StreamReadings(context.get());
  int64_t duplicates = 0;
  for (uint64_t sequence : {2, 3, 4}) {
    ASSERT_TRUE(stream->Write(batch(sequence)));
    v1::StreamReadingsResponse ack;
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.sequence(), sequence);
    duplicates += ack.duplicate_count();
    if (sequence == 2) {
      EXPECT_EQ(ack.duplicate_count(), 10);
    }
    if (sequence == 4) {
      EXPECT_EQ(ack.accepted_count(), 10);
    }
  }
  stream->WritesDone();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(Count("device_id = " + std::to_string(device.id())), 40) << "every batch exactly once";
  EXPECT_EQ(database_
                ->Query("SELECT count(DISTINCT measurement_value) FROM sensor_data "
                        "WHERE device_id = " +
                        std::to_string(device.id()))[0][0]
                .as<int>(),
            40);
  EXPECT_GE(duplicates, 10);
}

// A gateway that reset its sequence numbers sends new readings under a key
// already committed: refused, naming the gateway and the sequence, instead of
// being acknowledged as a duplicate and lost.
TEST_F(IngestTest, AReplayedKeyWithOtherReadingsIsRefused) {
  SignedInUser owner = SignUp("resetter");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Reset probe").id(), "reset-1");
  const int64_t now = std::time(nullptr);
  auto batch = [&](double value) {
    v1::StreamReadingsRequest request;
    request.set_gateway_id("reset-gateway");
    request.set_sequence(1);
    *request.add_readings() = ById(device.id(), value, now - 60);
    return request;
  };
  auto send = [&](const v1::StreamReadingsRequest& request, v1::StreamReadingsResponse* ack) {
    return StreamOne(owner.token, request, ack);
  };
  v1::StreamReadingsResponse ack;
  ASSERT_TRUE(send(batch(1), &ack).ok());
  EXPECT_EQ(ack.accepted_count(), 1);
  // The same readings again: a duplicate, as before.
  ack.Clear();
  ASSERT_TRUE(send(batch(1), &ack).ok());
  EXPECT_EQ(ack.duplicate_count(), 1);
  // Other readings under the same key.
  grpc::Status refused = send(batch(2), &ack);
  EXPECT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION) << refused.error_message();
  EXPECT_NE(refused.error_message().find("reset-gateway"), std::string::npos)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("sequence 1"), std::string::npos)
      << refused.error_message();
  EXPECT_EQ(Count("device_id = " + std::to_string(device.id())), 1);
}

// A gateway relaying an MQTT broker (plantmon_mqtt_bridge) stopped after its
// batch committed but before it acknowledged the messages to the broker; the
// broker redelivers them, batched differently, marked redelivered. Those with
// a committed receipt are not stored again; a redelivered message the gateway
// never committed, and a first delivery reusing an id, are stored.
TEST_F(IngestTest, RedeliveredSourceMessagesAreStoredOnce) {
  SignedInUser owner = SignUp("relay");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Relay probe").id(), "relay-1");
  const int64_t now = std::time(nullptr);
  auto send = [&](const v1::StreamReadingsRequest& request, v1::StreamReadingsResponse* ack) {
    return StreamOne(owner.token, request, ack);
  };
  struct Message {
    uint32_t id;
    std::string digest;
    bool redelivered;
    std::vector<double> values;
  };
  auto batch = [&](uint64_t sequence, const std::vector<Message>& messages) {
    v1::StreamReadingsRequest request;
    request.set_gateway_id("mqtt-relay");
    request.set_sequence(sequence);
    for (const Message& message : messages) {
      v1::SourceMessage* source = request.add_source_messages();
      source->set_id(message.id);
      source->set_digest(message.digest);
      source->set_redelivered(message.redelivered);
      source->set_reading_count(static_cast<uint32_t>(message.values.size()));
      for (double value : message.values) {
        *request.add_readings() = ById(device.id(), value, now - 600 + static_cast<int>(value));
      }
    }
    return request;
  };
  v1::StreamReadingsResponse ack;
  ASSERT_TRUE(send(batch(1, {{1, "a", false, {1, 2}}, {2, "b", false, {3}}}), &ack).ok());
  EXPECT_EQ(ack.accepted_count(), 3);

  // 1 and 2 again after the restart, with 3 which was never committed, and 4
  // redelivered under a digest other than its receipt's (no receipt at all).
  ack.Clear();
  ASSERT_TRUE(send(batch(2, {{2, "b", true, {3}},
                             {3, "c", true, {4}},
                             {1, "a", true, {1, 2}},
                             {4, "d", true, {5}}}),
                   &ack)
                  .ok());
  EXPECT_EQ(ack.accepted_count(), 2);
  EXPECT_EQ(ack.duplicate_count(), 3);

  // Id 1 reused for a new message (a first delivery) with the same content:
  // stored; then that message redelivered: not.
  ack.Clear();
  ASSERT_TRUE(send(batch(3, {{1, "a", false, {6}}}), &ack).ok());
  EXPECT_EQ(ack.accepted_count(), 1);
  ack.Clear();
  ASSERT_TRUE(send(batch(4, {{1, "a", true, {6}}}), &ack).ok());
  EXPECT_EQ(ack.accepted_count(), 0);
  EXPECT_EQ(ack.duplicate_count(), 1);
  // A redelivered id whose receipt has another digest is another message.
  ack.Clear();
  ASSERT_TRUE(send(batch(5, {{2, "other", true, {7}}}), &ack).ok());
  EXPECT_EQ(ack.accepted_count(), 1);

  EXPECT_EQ(Count("device_id = " + std::to_string(device.id())), 7);
  for (int value = 1; value <= 7; ++value) {
    EXPECT_EQ(Count("device_id = " + std::to_string(device.id()) +
                    " AND measurement_value = " + std::to_string(value)),
              1)
        << value;
  }
  // Another user's receipts are theirs: the same gateway_id and id store.
  SignedInUser other = SignUp("relay_other");
  v1::Device theirs = MakeDevice(other, MakeDeviceType("Relay probe 2").id(), "relay-2");
  v1::StreamReadingsRequest foreign;
  foreign.set_gateway_id("mqtt-relay");
  foreign.set_sequence(1);
  *foreign.add_readings() = ById(theirs.id(), 1, now - 60);
  v1::SourceMessage* source = foreign.add_source_messages();
  source->set_id(2);
  source->set_digest("b");
  source->set_redelivered(true);
  source->set_reading_count(1);
  auto context = Context(other.token);
  auto stream = telemetry_->StreamReadings(context.get());
  ASSERT_TRUE(stream->Write(foreign));
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.accepted_count(), 1);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(IngestTest, SourceMessagesMustCoverTheBatch) {
  SignedInUser owner = SignUp("relay_bad");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Relay bad probe").id(), "relay-bad");
  const int64_t now = std::time(nullptr);
  auto refused = [&](const std::function<void(v1::StreamReadingsRequest&)>& spoil) {
    v1::StreamReadingsRequest request;
    request.set_gateway_id("relay-bad");
    request.set_sequence(1);
    *request.add_readings() = ById(device.id(), 1, now - 60);
    *request.add_readings() = ById(device.id(), 2, now - 60);
    v1::SourceMessage* source = request.add_source_messages();
    source->set_id(1);
    source->set_digest("x");
    source->set_reading_count(2);
    spoil(request);
    auto context = Context(owner.token);
    auto stream = telemetry_->StreamReadings(context.get());
    stream->Write(request);
    stream->WritesDone();
    v1::StreamReadingsResponse ack;
    EXPECT_FALSE(stream->Read(&ack));
    grpc::Status status = stream->Finish();
    return std::make_pair(status.error_code(), status.error_message());
  };
  auto [code, message] = refused(
      [](v1::StreamReadingsRequest& r) { r.mutable_source_messages(0)->set_reading_count(3); });
  EXPECT_EQ(code, StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(message.find("cover 3 readings; the batch has only 2"), std::string::npos) << message;
  std::tie(code, message) = refused([](v1::StreamReadingsRequest& r) {
    r.mutable_source_messages(0)->set_reading_count(1);
    *r.add_source_messages() = r.source_messages(0);
  });
  EXPECT_EQ(code, StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(message.find("appears twice"), std::string::npos) << message;
  std::tie(code, message) =
      refused([](v1::StreamReadingsRequest& r) { r.mutable_source_messages(0)->clear_digest(); });
  EXPECT_EQ(code, StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(message.find("digest must be 1-64 bytes"), std::string::npos) << message;
  EXPECT_EQ(Count("device_id = " + std::to_string(device.id())), 0);
}

TEST_F(IngestTest, StreamRejectsABatchWithoutItsKey) {
  SignedInUser owner = SignUp("keyless");
  auto context = Context(owner.token);
  auto stream = telemetry_->StreamReadings(context.get());
  v1::StreamReadingsRequest request;  // no gateway_id, no sequence
  stream->Write(request);
  stream->WritesDone();
  v1::StreamReadingsResponse ack;
  EXPECT_FALSE(stream->Read(&ack));
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::INVALID_ARGUMENT);
}

// gRPC's synchronous API reads an unparseable stream message as the end of
// the stream; the handlers must not then answer OK and drop what follows.
TEST_F(IngestTest, AnUnparseableMessageMidStreamStoresNothingAfterItAndUploadSaysSo) {
  SignedInUser owner = SignUp("garbled");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Garbled probe").id(), "garbled-1");
  const int64_t t = std::time(nullptr) - 3600;
  // gateway_id (field 2 of UploadReadingsRequest, 1 of StreamReadingsRequest)
  // holding bytes that are not UTF-8.
  const std::string garbled_upload("\x12\x02\xff\xfe", 4);
  const std::string garbled_stream("\x0a\x02\xff\xfe", 4);
  auto message = [&](auto request, int64_t sequence, int64_t seconds) {
    *request.add_readings() = ById(device.id(), 1, seconds);
    if (sequence > 0) {
      request.set_gateway_id("garbled-gateway");
      request.set_sequence(sequence);
    }
    return request.SerializeAsString();
  };
  bool stuck = false;
  // UploadReadings says so.
  grpc::Status status = testing::CallStreaming(
      channel_, "/plantmon.v1.TelemetryService/UploadReadings", "Bearer " + owner.token,
      {message(v1::UploadReadingsRequest(), 0, t), garbled_upload,
       message(v1::UploadReadingsRequest(), 0, t + 1)},
      std::chrono::seconds(5), &stuck);
  EXPECT_FALSE(stuck);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("message 2 of the stream is not a valid message"),
            std::string::npos)
      << status.error_message();
  // StreamReadings cannot wait to find out (docs/telemetry.md): the stream
  // ends there, the bad batch and all after it unacknowledged and unstored.
  status = testing::CallStreaming(channel_, "/plantmon.v1.TelemetryService/StreamReadings",
                                  "Bearer " + owner.token,
                                  {message(v1::StreamReadingsRequest(), 1, t + 2), garbled_stream,
                                   message(v1::StreamReadingsRequest(), 2, t + 3)},
                                  std::chrono::seconds(5), &stuck);
  EXPECT_FALSE(stuck);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(database_
                ->Query("SELECT count(*) FROM ingest_batches WHERE gateway_id = "
                        "'garbled-gateway'")[0][0]
                .as<int>(),
            1);
  // The first message of each call is stored; nothing after the bad one.
  const std::string of_device = absl::StrCat("device_id = ", device.id(), " AND timestamp IN ");
  EXPECT_EQ(Count(of_device + absl::StrCat("(to_timestamp(", t, "), to_timestamp(", t + 2, "))")),
            2);
  EXPECT_EQ(
      Count(of_device + absl::StrCat("(to_timestamp(", t + 1, "), to_timestamp(", t + 3, "))")), 0);
  // A stream that ends cleanly is still OK.
  v1::UploadReadingsResponse response;
  EXPECT_TRUE(Upload(owner.token, {{ById(device.id(), 1, t + 4)}}, &response).ok());
  EXPECT_EQ(response.accepted_count(), 1);
}

TEST_F(IngestTest, ApiKeysUploadForTheirOwnerOnlyAndNothingElse) {
  SignedInUser owner = SignUp("key_owner");
  SignedInUser other = SignUp("key_other");
  v1::DeviceType type = MakeDeviceType("Key probe");
  v1::Device mine = MakeDevice(owner, type.id(), "key-mine");
  v1::Device theirs = MakeDevice(other, type.id(), "key-theirs");
  v1::CreateApiKeyRequest create;
  create.set_name("balcony gateway");
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(users_->CreateApiKey(Context(owner.token).get(), create, &key).ok());
  EXPECT_EQ(key.secret().rfind("pmk_", 0), 0u);
  EXPECT_EQ(key.api_key().key_prefix(), key.secret().substr(0, 12));
  const int64_t now = std::time(nullptr);

  v1::UploadReadingsResponse response;
  ASSERT_TRUE(
      Upload(key.secret(), {{ById(mine.id(), 1, now), ById(theirs.id(), 2, now)}}, &response).ok());
  EXPECT_EQ(response.accepted_count(), 1);
  EXPECT_EQ(response.rejected_count(), 1);

  v1::ListDevicesResponse devices;
  EXPECT_EQ(devices_->ListDevices(Context(key.secret()).get(), {}, &devices).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::CreateApiKeyResponse nested;
  EXPECT_EQ(users_->CreateApiKey(Context(key.secret()).get(), create, &nested).error_code(),
            StatusCode::PERMISSION_DENIED);
  // Only a hash is stored.
  EXPECT_EQ(database_
                ->Query("SELECT count(*) FROM api_keys WHERE key_hash = sha256('" + key.secret() +
                        "'::bytea)")[0][0]
                .as<int>(),
            1);

  v1::ListApiKeysResponse keys;
  ASSERT_TRUE(users_->ListApiKeys(Context(owner.token).get(), {}, &keys).ok());
  ASSERT_EQ(keys.api_keys_size(), 1);
  EXPECT_TRUE(keys.api_keys(0).has_last_used_at());
  ASSERT_TRUE(users_->ListApiKeys(Context(other.token).get(), {}, &keys).ok());
  EXPECT_EQ(keys.api_keys_size(), 0);

  v1::RevokeApiKeyRequest revoke;
  revoke.set_id(key.api_key().id());
  v1::ApiKey revoked;
  EXPECT_EQ(users_->RevokeApiKey(Context(other.token).get(), revoke, &revoked).error_code(),
            StatusCode::NOT_FOUND);
  ASSERT_TRUE(users_->RevokeApiKey(Context(owner.token).get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.has_revoked_at());
  EXPECT_EQ(Upload(key.secret(), {{ById(mine.id(), 1, now)}}, &response).error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST_F(IngestTest, EveryOperatorAndRuleTypeRaisesAlertsWithSeedLikeMessages) {
  SignedInUser owner = SignUp("rules_everywhere");
  const int64_t now = std::time(nullptr);
  struct Case {
    std::string op;
    double threshold;
    double violating;
    double clear;
  };
  std::vector<Case> cases = {{"<", 25, 18, 30},  {">", 30, 35, 20}, {"<=", 25, 25, 26},
                             {">=", 30, 30, 29}, {"==", 0, 0, 1},   {"!=", 50, 49, 50}};
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.op);
    v1::AlertRule rule;
    rule.set_rule_type("threshold");
    rule.set_condition_operator(c.op);
    rule.set_threshold_value(c.threshold);
    Watched w = WatchedPlant(owner, "op" + std::to_string(++n), "soil_moisture", rule);
    v1::UploadReadingsResponse response;
    ASSERT_TRUE(Upload(owner.token, {{ById(w.device, c.clear, now - 30)}}, &response).ok());
    EXPECT_TRUE(AlertsOfRule(owner, w.rule).empty()) << "a clear reading raises nothing";
    ASSERT_TRUE(Upload(owner.token, {{ById(w.device, c.violating, now - 20)}}, &response).ok());
    std::vector<v1::Alert> alerts = AlertsOfRule(owner, w.rule);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_EQ(alerts[0].status(), v1::ALERT_STATUS_ACTIVE);
    EXPECT_EQ(alerts[0].triggered_value(), c.violating);
    EXPECT_EQ(alerts[0].threshold_value(), c.threshold);
  }

  v1::AlertRule low;
  low.set_rule_type("threshold");
  low.set_condition_operator("<");
  low.set_threshold_value(25);
  Watched moisture = WatchedPlant(owner, "seedlike", "soil_moisture", low);
  v1::UploadReadingsResponse response;
  ASSERT_TRUE(Upload(owner.token, {{ById(moisture.device, 18, now - 10)}}, &response).ok());
  std::vector<v1::Alert> alerts = AlertsOfRule(owner, moisture.rule);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].message(), "Soil moisture dropped to 18% (threshold: 25%)");

  v1::AlertRule range;
  range.set_rule_type("range");
  range.set_threshold_value(40);
  range.set_threshold_high(70);
  Watched humid = WatchedPlant(owner, "ranged", "humidity", range);
  ASSERT_TRUE(Upload(owner.token, {{ById(humid.device, 55, now - 9)}}, &response).ok());
  EXPECT_TRUE(AlertsOfRule(owner, humid.rule).empty());
  ASSERT_TRUE(Upload(owner.token, {{ById(humid.device, 82, now - 8)}}, &response).ok());
  alerts = AlertsOfRule(owner, humid.rule);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].message(), "Humidity is 82% (allowed: 40% to 70%)");

  // MakePlantType gives species an optimal temperature of 22.
  v1::AlertRule deviation;
  deviation.set_rule_type("deviation");
  deviation.set_threshold_value(3);
  Watched warm = WatchedPlant(owner, "deviating", "temperature", deviation);
  ASSERT_TRUE(Upload(owner.token, {{ById(warm.device, 24.5, now - 7)}}, &response).ok());
  EXPECT_TRUE(AlertsOfRule(owner, warm.rule).empty());
  ASSERT_TRUE(Upload(owner.token, {{ById(warm.device, 26, now - 6)}}, &response).ok());
  EXPECT_EQ(AlertsOfRule(owner, warm.rule).size(), 1u);

  // No species records a soil-moisture optimum: refused at creation.
  v1::CreateAlertRuleRequest impossible;
  impossible.mutable_alert_rule()->set_plant_id(moisture.plant);
  impossible.mutable_alert_rule()->set_rule_name("Moisture off optimum");
  impossible.mutable_alert_rule()->set_rule_type("deviation");
  impossible.mutable_alert_rule()->set_parameter_name("soil_moisture");
  impossible.mutable_alert_rule()->set_threshold_value(5);
  v1::AlertRule refused;
  EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), impossible, &refused).error_code(),
            StatusCode::FAILED_PRECONDITION);
  v1::CreateAlertRuleRequest open_range = impossible;
  open_range.mutable_alert_rule()->set_rule_type("range");
  EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), open_range, &refused).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "a range rule needs threshold_high";
}

TEST_F(IngestTest, RepeatedViolationsUpdateTheOpenAlertAndAClearReadingResolvesIt) {
  SignedInUser owner = SignUp("repeat");
  v1::AlertRule rule;
  rule.set_rule_type("threshold");
  rule.set_condition_operator("<");
  rule.set_threshold_value(25);
  rule.set_severity(v1::ALERT_SEVERITY_CRITICAL);
  Watched w = WatchedPlant(owner, "repeat", "soil_moisture", rule);
  const int64_t now = std::time(nullptr);
  v1::UploadReadingsResponse response;
  ASSERT_TRUE(Upload(owner.token,
                     {{ById(w.device, 20, now - 50), ById(w.device, 12, now - 40)},
                      {ById(w.device, 15, now - 30)}},
                     &response)
                  .ok());
  std::vector<v1::Alert> alerts = AlertsOfRule(owner, w.rule);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].occurrence_count(), 3);
  EXPECT_EQ(alerts[0].latest_value(), 15);
  EXPECT_EQ(alerts[0].worst_value(), 12);
  EXPECT_EQ(alerts[0].triggered_value(), 20);
  v1::GetPlantRequest get;
  get.set_id(w.plant);
  v1::Plant plant;
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get, &plant).ok());
  EXPECT_FALSE(plant.is_healthy());
  EXPECT_EQ(plant.health_status(), "critical alert open");

  ASSERT_TRUE(Upload(owner.token, {{ById(w.device, 40, now - 20)}}, &response).ok());
  alerts = AlertsOfRule(owner, w.rule);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].status(), v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(alerts[0].resolved_at().seconds(), now - 20);
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get, &plant).ok());
  EXPECT_TRUE(plant.is_healthy());
  EXPECT_EQ(plant.health_status(), "healthy");

  // A new violation after resolution opens a new alert.
  ASSERT_TRUE(Upload(owner.token, {{ById(w.device, 10, now - 10)}}, &response).ok());
  EXPECT_EQ(AlertsOfRule(owner, w.rule).size(), 2u);
}

// docs/telemetry.md, "Batches stored together". Batches a gateway sent while
// its first one was being stored are stored in one transaction, each with
// its own key, counts and rejections, and acknowledged in order.
TEST_F(IngestTest, BatchesWaitingTogetherAreStoredInOneTransaction) {
  SignedInUser owner = SignUp("together");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Together probe").id(), "together-1");
  const int64_t start = std::time(nullptr) - 3600;
  std::vector<v1::StreamReadingsRequest> batches =
      SequencedBatches("together-gateway", device.id(), start, 5, 10);
  *batches[2].mutable_readings(4) = ById(device.id() + 1000000, 1, start + 184);
  const double batches_before = MetricSample("plantmon_reading_batches_ingested_total");
  const double transactions_before = MetricSample("plantmon_ingest_transactions_total");
  std::vector<v1::StreamReadingsResponse> acks;
  grpc::Status status = SendWhileTheFirstWaits(owner.token, device.id(), batches, &acks);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(acks.size(), 5u);
  EXPECT_EQ(MetricSample("plantmon_reading_batches_ingested_total") - batches_before, 5);
  EXPECT_EQ(MetricSample("plantmon_ingest_transactions_total") - transactions_before, 2);
  for (size_t i = 0; i < acks.size(); ++i) {
    EXPECT_EQ(acks[i].sequence(), i + 1);
    EXPECT_EQ(acks[i].accepted_count(), i == 2 ? 9 : 10) << i;
    EXPECT_EQ(acks[i].rejected_count(), i == 2 ? 1 : 0) << i;
  }
  ASSERT_EQ(acks[2].rejected_readings_size(), 1);
  EXPECT_EQ(acks[2].rejected_readings(0).index(), 4);
  EXPECT_EQ(Count(absl::StrCat("device_id = ", device.id())), 49);
  // The first batch alone, the four sent while it waited together.
  EXPECT_EQ(TransactionsOf(device.id()), 2);
  EXPECT_EQ(database_
                ->Query(absl::StrCat("SELECT count(*), sum(accepted) FROM ingest_batches "
                                     "WHERE gateway_id = 'together-gateway' AND user_id = ",
                                     owner.user.id()))[0][1]
                .as<int64_t>(),
            49);
  // Replayed (all sent before any acknowledgement is read), every batch is a
  // replay again.
  auto context = Context(owner.token);
  auto stream = telemetry_->StreamReadings(context.get());
  for (const v1::StreamReadingsRequest& batch : batches) ASSERT_TRUE(stream->Write(batch));
  stream->WritesDone();
  v1::StreamReadingsResponse ack;
  uint64_t sequence = 0;
  while (stream->Read(&ack)) {
    EXPECT_EQ(ack.sequence(), ++sequence);
    EXPECT_EQ(ack.accepted_count(), 0);
    EXPECT_EQ(ack.duplicate_count(), ack.sequence() == 3 ? 9 : 10);
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(sequence, 5u);
  EXPECT_EQ(Count(absl::StrCat("device_id = ", device.id())), 49);
}

// The read-ahead's byte bound counts the batches being stored: while the
// first batch (1.2 MB) waits, the stream reads batches until they and it
// reach 4 MiB (three more), and the next ones only once those are taken to
// be stored.
TEST_F(IngestTest, BigBatchesAreReadAheadOnlyUpToTheByteBound) {
  SignedInUser owner = SignUp("big_batches");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Big batch probe").id(), "big-1");
  const int64_t start = std::time(nullptr) - 3600;
  std::vector<v1::StreamReadingsRequest> batches =
      SequencedBatches("big-gateway", device.id(), start, 7, 20);
  for (v1::StreamReadingsRequest& batch : batches) {
    for (v1::IncomingReading& reading : *batch.mutable_readings()) {
      reading.set_raw_data(std::string(60000, 'r'));
    }
  }
  std::vector<v1::StreamReadingsResponse> acks;
  grpc::Status status = SendWhileTheFirstWaits(owner.token, device.id(), batches, &acks);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(acks.size(), 7u);
  EXPECT_EQ(Count(absl::StrCat("device_id = ", device.id())), 140);
  const auto transaction_of = [&](int64_t sequence) {
    return database_
        ->Query(
            absl::StrCat("SELECT min(xmin::text) FROM sensor_data WHERE device_id = ", device.id(),
                         " AND \"timestamp\" = to_timestamp(", start + sequence * 60, ")"))[0][0]
        .as<std::string>();
  };
  EXPECT_NE(transaction_of(1), transaction_of(2));
  EXPECT_EQ(transaction_of(2), transaction_of(3));
  EXPECT_EQ(transaction_of(3), transaction_of(4));
  EXPECT_NE(transaction_of(4), transaction_of(5));
}

// Stored together or one at a time, the same batches raise the same alerts.
// The last batch is late (older than the one before it): it is stored in a
// transaction of its own, as evaluating it with the batch before would
// evaluate readings that one at a time are ignored (older than the newest
// already evaluated), and open an alert more.
TEST_F(IngestTest, BatchesStoredTogetherRaiseTheAlertsTheyWouldAlone) {
  const int64_t start = std::time(nullptr) - 3600;
  auto batches_for = [&](int64_t device) {
    const std::vector<std::vector<std::pair<int64_t, double>>> readings = {
        {{0, 50}, {1, 50}},    // fine
        {{10, 10}, {11, 12}},  // opens an alert
        {{20, 15}, {21, 50}},  // extends it, then resolves it
        {{30, 5}, {40, 6}},    // opens another
        {{35, 50}},            // late: one at a time, ignored by the rule
    };
    std::vector<v1::StreamReadingsRequest> batches;
    for (size_t b = 0; b < readings.size(); ++b) {
      std::vector<v1::IncomingReading> batch;
      for (const auto& [offset, value] : readings[b]) {
        batch.push_back(ById(device, value, start + offset));
      }
      batches.push_back(GatewayBatch("alerting-gateway", b + 1, std::move(batch)));
    }
    return batches;
  };
  auto alerts_of = [&](const SignedInUser& owner) {
    return database_
        ->Query(absl::StrCat(
            "SELECT string_agg(concat_ws(' ', status, occurrence_count, triggered_value, "
            "latest_value, worst_value, extract(epoch FROM triggered_at)::bigint - ",
            start, ", extract(epoch FROM resolved_at)::bigint - ", start,
            "), '; ' ORDER BY triggered_at) FROM alerts WHERE user_id = ", owner.user.id()))[0][0]
        .as<std::string>();
  };
  SignedInUser alone = SignUp("one_at_a_time");
  SignedInUser together = SignUp("stored_together");
  std::string expected;
  for (const SignedInUser* owner : {&alone, &together}) {
    const std::string& name = owner->user.username();
    const int64_t plant = MakePlant(*owner, MakePlantType(name + " fern").id(), name).id();
    const int64_t device =
        MakeDevice(*owner, MakeDeviceType(name + " probe").id(), name + "-1").id();
    AssignDevice(*owner, plant, device, "soil_moisture");
    MakeDryRule(*owner, plant, 20);
    const std::vector<v1::StreamReadingsRequest> batches = batches_for(device);
    if (owner == &alone) {
      for (const v1::StreamReadingsRequest& batch : batches) {
        v1::StreamReadingsResponse ack;
        ASSERT_TRUE(StreamOne(owner->token, batch, &ack).ok());
        ASSERT_EQ(ack.accepted_count(), batch.readings_size());
      }
      expected = alerts_of(*owner);
      EXPECT_EQ(expected, "resolved 3 10 15 10 10 21; active 2 5 6 5 30") << "one at a time";
    } else {
      std::vector<v1::StreamReadingsResponse> acks;
      grpc::Status status = SendWhileTheFirstWaits(owner->token, device, batches, &acks);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(acks.size(), batches.size());
      // The first alone, the next three together, the late one alone.
      EXPECT_EQ(TransactionsOf(device), 3);
      EXPECT_EQ(alerts_of(*owner), expected);
    }
  }
}

// A batch that cannot be stored, among batches stored together: those
// before it are stored and acknowledged, it ends the stream with its own
// error, and nothing after it is stored.
TEST_F(IngestTest, ABatchThatCannotBeStoredEndsTheStreamAfterThoseBeforeIt) {
  SignedInUser owner = SignUp("together_refused");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Refused probe").id(), "refused-1");
  const int64_t start = std::time(nullptr) - 3600;
  auto batch = [&](uint64_t sequence, double value, int64_t offset) {
    return GatewayBatch(
        "refused-gateway", sequence,
        {ById(device.id(), value, start + offset), ById(device.id(), value, start + offset + 1)});
  };
  // Batch 3 reuses sequence 1 with other readings.
  std::vector<v1::StreamReadingsRequest> batches = {batch(1, 1, 0), batch(2, 2, 10),
                                                    batch(1, 3, 20), batch(4, 4, 30)};
  std::vector<v1::StreamReadingsResponse> acks;
  grpc::Status status = SendWhileTheFirstWaits(owner.token, device.id(), batches, &acks);
  EXPECT_EQ(status.error_code(), StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_NE(status.error_message().find("sequence 1"), std::string::npos) << status.error_message();
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].sequence(), 1u);
  EXPECT_EQ(acks[1].sequence(), 2u);
  EXPECT_EQ(acks[1].accepted_count(), 2);
  EXPECT_EQ(Count(absl::StrCat("device_id = ", device.id())), 4);
  EXPECT_EQ(Count(absl::StrCat("device_id = ", device.id(), " AND measurement_value = 4")), 0);
}

// docs/telemetry.md, "Flap control". 2,000 readings wobbling around a
// "< 25" rule in one batch: without hysteresis each pair opens and resolves
// an alert (1,000 of them, written in a few statements); with hysteresis 5 the
// wobble stays inside the band and one alert stays open until a reading at
// 30 or more. A reading from an hour ago, sent after, changes nothing.
TEST_F(IngestTest, WobblingReadingsFlapOnlyWithoutHysteresis) {
  SignedInUser owner = SignUp("wobble");
  v1::AlertRule rule;
  rule.set_rule_type("threshold");
  rule.set_condition_operator("<");
  rule.set_threshold_value(25);
  Watched plain = WatchedPlant(owner, "wobble plain", "soil_moisture", rule);
  rule.set_hysteresis(5);
  Watched banded = WatchedPlant(owner, "wobble banded", "soil_moisture", rule);
  const int64_t start = std::time(nullptr) - 3 * 3600;
  std::vector<v1::IncomingReading> readings;
  for (int i = 0; i < 2000; ++i) {
    for (int64_t device : {plain.device, banded.device}) {
      readings.push_back(ById(device, i % 2 == 0 ? 20 : 27, start + i));
    }
  }
  v1::UploadReadingsResponse response;
  ASSERT_TRUE(Upload(owner.token, {readings}, &response).ok());
  EXPECT_EQ(response.accepted_count(), 4000);
  auto count = [&](int64_t rule_id, const std::string& where) {
    return database_
        ->Query(absl::StrCat("SELECT count(*) FROM alerts WHERE rule_id = ", rule_id, " AND ",
                             where))[0][0]
        .as<int64_t>();
  };
  EXPECT_EQ(count(plain.rule, "status = 'resolved' AND occurrence_count = 1"), 1000);
  EXPECT_EQ(count(plain.rule, "true"), 1000);
  EXPECT_EQ(count(banded.rule, "status = 'active' AND occurrence_count = 1000"), 1);
  EXPECT_EQ(count(banded.rule, "true"), 1);
  auto healthy = [&](int64_t plant) {
    return database_->Query(absl::StrCat("SELECT is_healthy FROM plants WHERE id = ", plant))[0][0]
        .as<bool>();
  };
  EXPECT_TRUE(healthy(plain.plant));
  EXPECT_FALSE(healthy(banded.plant));
  // The alerts' times are the readings': the first opened at the first
  // reading and resolved at the second.
  EXPECT_EQ(database_
                ->Query(absl::StrCat("SELECT extract(epoch FROM resolved_at - triggered_at)::int "
                                     "FROM alerts WHERE rule_id = ",
                                     plain.rule, " ORDER BY id LIMIT 1"))[0][0]
                .as<int>(),
            1);

  // An hour-old clear reading (a late batch) resolves nothing.
  ASSERT_TRUE(Upload(owner.token, {{ById(banded.device, 40, start - 3600)}}, &response).ok());
  EXPECT_EQ(count(banded.rule, "status = 'active'"), 1);
  EXPECT_FALSE(healthy(banded.plant));
  // At the band's edge it resolves.
  ASSERT_TRUE(Upload(owner.token, {{ById(banded.device, 30, start + 2000)}}, &response).ok());
  EXPECT_EQ(count(banded.rule, "status = 'resolved'"), 1);
  EXPECT_TRUE(healthy(banded.plant));
  // An hour-old violation does not open one either.
  ASSERT_TRUE(Upload(owner.token, {{ById(banded.device, 10, start - 3600)}}, &response).ok());
  EXPECT_EQ(count(banded.rule, "true"), 1);
}

// docs/telemetry.md, "Flap control": for_duration and clear_duration count
// by reading timestamps, across batches (the timers persist between them),
// and any reading that breaks the condition starts the timer again.
TEST_F(IngestTest, DurationsHoldAnAlertBackUntilTheConditionHasHeldLongEnough) {
  SignedInUser owner = SignUp("durations");
  v1::AlertRule rule;
  rule.set_rule_type("threshold");
  rule.set_condition_operator("<");
  rule.set_threshold_value(25);
  rule.mutable_for_duration()->set_seconds(600);
  rule.mutable_clear_duration()->set_seconds(300);
  Watched w = WatchedPlant(owner, "durations", "soil_moisture", rule);
  const int64_t t = std::time(nullptr) - 7200;
  v1::UploadReadingsResponse response;
  auto upload = [&](const std::vector<v1::IncomingReading>& batch) {
    ASSERT_TRUE(Upload(owner.token, {batch}, &response).ok());
  };
  auto alerts = [&] { return AlertsOfRule(owner, w.rule); };

  // Dry for 9 minutes, then a wet reading: the wait starts again.
  upload({ById(w.device, 20, t), ById(w.device, 19, t + 540)});
  EXPECT_TRUE(alerts().empty());
  upload({ById(w.device, 30, t + 560)});
  // Dry again from t + 600, over three batches: not at 9 minutes...
  upload({ById(w.device, 18, t + 600)});
  upload({ById(w.device, 17, t + 900), ById(w.device, 16, t + 1140)});
  EXPECT_TRUE(alerts().empty());
  // ... but at 10: the alert opens at that reading, counting from it.
  upload({ById(w.device, 15, t + 1200), ById(w.device, 14, t + 1260)});
  std::vector<v1::Alert> opened = alerts();
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].status(), v1::ALERT_STATUS_ACTIVE);
  EXPECT_EQ(opened[0].triggered_at().seconds(), t + 1200);
  EXPECT_EQ(opened[0].triggered_value(), 15);
  EXPECT_EQ(opened[0].occurrence_count(), 2);

  // Wet for 4 minutes, then dry once: still open, and the clear wait starts
  // again; wet for 5 minutes from t + 1600 resolves it, at that reading.
  upload({ById(w.device, 30, t + 1300), ById(w.device, 31, t + 1540)});
  upload({ById(w.device, 20, t + 1560)});
  EXPECT_EQ(alerts()[0].status(), v1::ALERT_STATUS_ACTIVE);
  EXPECT_EQ(alerts()[0].occurrence_count(), 3);
  upload({ById(w.device, 30, t + 1600)});
  upload({ById(w.device, 30, t + 1800)});
  EXPECT_EQ(alerts()[0].status(), v1::ALERT_STATUS_ACTIVE);
  upload({ById(w.device, 30, t + 1900)});
  ASSERT_EQ(alerts().size(), 1u);
  EXPECT_EQ(alerts()[0].status(), v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(alerts()[0].resolved_at().seconds(), t + 1900);

  // A pending wait is forgotten when the rule changes: 9 dry minutes, an
  // update, 2 more dry minutes open nothing.
  upload({ById(w.device, 20, t + 2000), ById(w.device, 20, t + 2540)});
  v1::UpdateAlertRuleRequest update;
  update.mutable_alert_rule()->set_id(w.rule);
  update.mutable_alert_rule()->set_threshold_value(24);
  update.mutable_update_mask()->add_paths("threshold_value");
  v1::AlertRule updated;
  ASSERT_TRUE(alerts_->UpdateAlertRule(Context(owner.token).get(), update, &updated).ok());
  EXPECT_EQ(updated.for_duration().seconds(), 600);
  upload({ById(w.device, 20, t + 2660)});
  EXPECT_EQ(alerts().size(), 1u);
  upload({ById(w.device, 20, t + 3260)});
  EXPECT_EQ(alerts().size(), 2u);

  // Durations out of bounds are refused, on create and on update.
  for (const auto& [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {-1, 0}, {31 * 86400, 0}, {1, -5}, {0, 1000000000}}) {
    update.mutable_alert_rule()->mutable_clear_duration()->set_seconds(seconds);
    update.mutable_alert_rule()->mutable_clear_duration()->set_nanos(nanos);
    update.mutable_update_mask()->clear_paths();
    update.mutable_update_mask()->add_paths("clear_duration");
    grpc::Status refused = alerts_->UpdateAlertRule(Context(owner.token).get(), update, &updated);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << seconds << " " << nanos;
    EXPECT_NE(refused.error_message().find("clear_duration"), std::string::npos)
        << refused.error_message();
  }
  v1::CreateAlertRuleRequest create;
  *create.mutable_alert_rule() = rule;
  create.mutable_alert_rule()->set_plant_id(w.plant);
  create.mutable_alert_rule()->set_parameter_name("soil_moisture");
  create.mutable_alert_rule()->set_rule_name("negative");
  create.mutable_alert_rule()->mutable_for_duration()->set_seconds(-60);
  v1::AlertRule created;
  EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), create, &created).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// docs/telemetry.md, "Watering": a plant that detects waterings records one
// when soil moisture jumps within the window, once per rise, never from an
// anomalous spike; last_watered follows; a plant without detection records
// nothing from the same readings.
TEST_F(IngestTest, ARiseInSoilMoistureIsRecordedAsADetectedWatering) {
  SignedInUser owner = SignUp("detector");
  v1::AlertRule rule;
  rule.set_rule_type("threshold");
  rule.set_condition_operator("<");
  rule.set_threshold_value(5);
  Watched detecting = WatchedPlant(owner, "detecting", "soil_moisture", rule);
  Watched plain = WatchedPlant(owner, "plain", "soil_moisture", rule);
  v1::UpdatePlantRequest update;
  update.mutable_plant()->set_id(detecting.plant);
  update.mutable_plant()->set_watering_detection_jump(15);
  update.mutable_plant()->mutable_watering_detection_window()->set_seconds(1800);
  update.mutable_update_mask()->add_paths("watering_detection_jump");
  update.mutable_update_mask()->add_paths("watering_detection_window");
  v1::Plant updated;
  grpc::Status status = plants_->UpdatePlant(Context(owner.token).get(), update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(updated.watering_detection_jump(), 15);
  EXPECT_EQ(updated.watering_detection_window().seconds(), 1800);

  const int64_t t = std::time(nullptr) - 6 * 3600;
  v1::UploadReadingsResponse response;
  for (int64_t device : {detecting.device, plain.device}) {
    // Dry, then a jump of 18 points within 20 minutes (over two batches), a
    // spike to 95 flagged as an anomaly, and two hours later a second
    // watering.
    v1::IncomingReading spike = ById(device, 95, t + 5400);
    spike.set_is_anomaly(true);
    ASSERT_TRUE(Upload(owner.token,
                       {{ById(device, 22, t), ById(device, 20, t + 600)},
                        {ById(device, 38, t + 1200), ById(device, 41, t + 1500)},
                        {ById(device, 40, t + 3600), spike, ById(device, 45, t + 5500)},
                        {ById(device, 19, t + 9000), ById(device, 37, t + 9300)}},
                       &response)
                    .ok());
  }
  auto waterings = [&](int64_t plant) {
    v1::ListWateringEventsRequest list;
    list.set_plant_id(plant);
    v1::ListWateringEventsResponse listed;
    EXPECT_TRUE(plants_->ListWateringEvents(Context(owner.token).get(), list, &listed).ok());
    return std::vector<v1::WateringEvent>(listed.watering_events().begin(),
                                          listed.watering_events().end());
  };
  std::vector<v1::WateringEvent> detected = waterings(detecting.plant);
  ASSERT_EQ(detected.size(), 2u);  // newest first
  EXPECT_TRUE(detected[0].detected());
  EXPECT_EQ(detected[0].watered_at().seconds(), t + 9300);
  EXPECT_EQ(detected[1].watered_at().seconds(), t + 1200);
  EXPECT_EQ(detected[1].note(), "Detected: soil moisture rose from 20% to 38%");
  EXPECT_TRUE(waterings(plain.plant).empty());
  v1::GetPlantRequest get;
  get.set_id(detecting.plant);
  v1::Plant plant;
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get, &plant).ok());
  EXPECT_EQ(plant.last_watered().seconds(), t + 9300);

  // A recorded watering is not detected: RecordWatering marks none.
  v1::RecordWateringRequest water;
  water.set_plant_id(plain.plant);
  v1::WateringEvent recorded;
  ASSERT_TRUE(plants_->RecordWatering(Context(owner.token).get(), water, &recorded).ok());
  EXPECT_FALSE(recorded.detected());

  // Nonsense settings are refused.
  for (double jump : {0.0, -5.0, 101.0}) {
    update.mutable_plant()->set_watering_detection_jump(jump);
    EXPECT_EQ(plants_->UpdatePlant(Context(owner.token).get(), update, &updated).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << jump;
  }
  update.mutable_plant()->set_watering_detection_jump(15);
  update.mutable_plant()->mutable_watering_detection_window()->set_seconds(2 * 86400);
  EXPECT_EQ(plants_->UpdatePlant(Context(owner.token).get(), update, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(IngestTest, TwoConcurrentStreamsShareOneOpenAlertPerRule) {
  SignedInUser owner = SignUp("concurrent");
  v1::AlertRule rule;
  rule.set_rule_type("threshold");
  rule.set_condition_operator("<");
  rule.set_threshold_value(25);
  Watched w = WatchedPlant(owner, "concurrent", "soil_moisture", rule);
  // A second probe on the same plant and role, fed by another gateway.
  v1::Device second = MakeDevice(owner, MakeDeviceType("Concurrent probe 2").id(), "conc-2");
  AssignDevice(owner, w.plant, second.id(), "soil_moisture");
  const int64_t now = std::time(nullptr);
  constexpr int kBatches = 20;
  auto gateway = [&](int64_t device, const std::string& name) {
    auto context = Context(owner.token);
    auto stream = telemetry_->StreamReadings(context.get());
    for (int b = 1; b <= kBatches; ++b) {
      v1::StreamReadingsRequest request;
      request.set_gateway_id(name);
      request.set_sequence(b);
      for (int i = 0; i < 5; ++i) *request.add_readings() = ById(device, 10, now - 500 + b * 5 + i);
      ASSERT_TRUE(stream->Write(request));
      v1::StreamReadingsResponse ack;
      ASSERT_TRUE(stream->Read(&ack));
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  };
  std::thread first([&] { gateway(w.device, "gateway-a"); });
  std::thread other([&] { gateway(second.id(), "gateway-b"); });
  first.join();
  other.join();
  std::vector<v1::Alert> alerts = AlertsOfRule(owner, w.rule);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].occurrence_count(), 2 * kBatches * 5);
}

}  // namespace
}  // namespace plantmon
