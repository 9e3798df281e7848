// Webhooks end to end (docs/notifications.md): a real server delivering to
// real HTTP receivers on 127.0.0.1, over a real PostgreSQL.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "plantmon/v1/webhook.pb.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/eventually.h"
#include "tests/testing/http_receiver.h"

namespace plantmon {
namespace {

using ::plantmon::testing::Eventually;

using ::plantmon::testing::HttpReceiver;
using ::plantmon::testing::ReceivedRequest;
using ::plantmon::testing::SignedInUser;

constexpr char kSecret[] = "a-webhook-secret-of-some-length";

// The receiver's check, written from docs/notifications.md: HMAC-SHA256
// under the secret of "<t>.<body>", hex, in "t=<t>,v1=<hex>".
bool SignatureHolds(const ReceivedRequest& request, const std::string& secret) {
  auto header = request.headers.find("plantmon-signature");
  if (header == request.headers.end()) return false;
  std::string timestamp;
  std::string mac_hex;
  for (absl::string_view part : absl::StrSplit(header->second, ',')) {
    if (absl::ConsumePrefix(&part, "t=")) timestamp = std::string(part);
    if (absl::ConsumePrefix(&part, "v1=")) mac_hex = std::string(part);
  }
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(timestamp, &seconds) ||
      absl::AbsDuration(absl::FromUnixSeconds(seconds) - absl::Now()) > absl::Minutes(5)) {
    return false;
  }
  const std::string text = timestamp + "." + request.body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &length);
  return mac_hex ==
         absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), length));
}

v1::WebhookPayload Payload(const ReceivedRequest& request) {
  v1::WebhookPayload payload;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &payload).ok())
      << request.body;
  return payload;
}

class WebhookTest : public testing::ApiTest {
 protected:
  static void SetUpTestSuite() {
    StartSuite(/*access_log=*/false, [](services::ServerOptions& options) {
      options.webhooks.deliver = true;
      options.webhooks.url_policy.allow_http = true;
      options.webhooks.url_policy.allow_private = true;  // the receivers are on 127.0.0.1
      options.webhooks.timeout = absl::Seconds(1);
      options.webhooks.retry_base = absl::Milliseconds(100);
      options.webhooks.retry_cap = absl::Milliseconds(400);
      options.webhooks.max_attempts = 4;
      options.webhooks.poll_interval = absl::Milliseconds(50);
    });
  }

  // A user with a plant watched by a "soil_moisture < 20" rule and a device
  // reporting it.
  struct Garden {
    SignedInUser owner;
    int64_t plant_id = 0;
    int64_t device_id = 0;
    int64_t rule_id = 0;
  };

  static Garden MakeGarden(const std::string& name) {
    Garden garden{SignUp(name)};
    const v1::DeviceType type =
        MakeDeviceTypeMeasuring(name + " probe", {Measures("soil_moisture", 0, 100)});
    garden.device_id = MakeDevice(garden.owner, type.id(), name + "-probe").id();
    garden.plant_id = MakePlant(garden.owner, MakePlantType(name + " fern").id(), "Fern").id();
    AssignDevice(garden.owner, garden.plant_id, garden.device_id, "soil_moisture");
    garden.rule_id = MakeDryRule(garden.owner, garden.plant_id, 20).id();
    return garden;
  }

  static v1::NotificationChannel MakeChannel(
      const Garden& garden, const std::string& url,
      const std::function<void(v1::NotificationChannel&)>& adjust = nullptr) {
    v1::CreateNotificationChannelRequest request;
    request.mutable_notification_channel()->set_name("phone");
    request.mutable_notification_channel()->set_url(url);
    request.mutable_notification_channel()->set_secret(kSecret);
    if (adjust) adjust(*request.mutable_notification_channel());
    v1::NotificationChannel channel;
    grpc::Status status =
        alerts_->CreateNotificationChannel(Context(garden.owner.token).get(), request, &channel);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return channel;
  }

  static void Reading(const Garden& garden, double value) {
    v1::RecordReadingRequest request;
    request.mutable_sensor_data()->set_device_id(garden.device_id);
    request.mutable_sensor_data()->set_measurement_value(value);
    request.mutable_sensor_data()->set_parameter_name("soil_moisture");
    // Each reading newer than the last: a reading no newer than one already
    // judged changes no alert (docs/telemetry.md).
    static std::atomic<int64_t> last_micros{0};
    int64_t micros = absl::ToUnixMicros(absl::Now());
    int64_t seen = last_micros.load();
    while (!last_micros.compare_exchange_weak(seen, std::max(seen + 1000, micros))) {
    }
    micros = std::max(seen + 1000, micros);
    *request.mutable_sensor_data()->mutable_timestamp() =
        google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(micros);
    v1::SensorData stored;
    grpc::Status status =
        telemetry_->RecordReading(Context(garden.owner.token).get(), request, &stored);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  static std::vector<v1::WebhookDelivery> Deliveries(const Garden& garden, int64_t channel_id) {
    v1::ListWebhookDeliveriesRequest request;
    request.set_channel_id(channel_id);
    v1::ListWebhookDeliveriesResponse response;
    grpc::Status status =
        alerts_->ListWebhookDeliveries(Context(garden.owner.token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.webhook_deliveries().begin(), response.webhook_deliveries().end()};
  }
};

TEST_F(WebhookTest, OpenedAndResolvedAlertsArriveSignedWithTheAlertPlantAndReading) {
  HttpReceiver receiver;
  const Garden garden = MakeGarden("wanda");
  const v1::NotificationChannel channel = MakeChannel(garden, receiver.Url());
  EXPECT_TRUE(channel.secret().empty()) << "the secret is write-only";
  EXPECT_EQ(channel.min_severity(), v1::ALERT_SEVERITY_INFO);

  Reading(garden, 12);  // opens the alert
  Reading(garden, 9);   // the same alert, still ACTIVE: nothing new to say
  Reading(garden, 50);  // resolves it
  ASSERT_TRUE(receiver.WaitFor(2, absl::Seconds(20)));
  absl::SleepFor(absl::Milliseconds(500));
  const std::vector<ReceivedRequest> requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 2u);

  const v1::WebhookPayload opened = Payload(requests[0]);
  EXPECT_EQ(opened.kind(), "opened");
  EXPECT_EQ(opened.alert().rule_id(), garden.rule_id);
  EXPECT_EQ(opened.alert().status(), v1::ALERT_STATUS_ACTIVE);
  EXPECT_EQ(opened.plant().id(), garden.plant_id);
  EXPECT_EQ(opened.plant().plant_name(), "Fern");
  EXPECT_EQ(opened.reading().parameter_name(), "soil_moisture");
  EXPECT_DOUBLE_EQ(opened.reading().value(), 12);
  EXPECT_TRUE(opened.has_event_id());
  const v1::WebhookPayload resolved = Payload(requests[1]);
  EXPECT_EQ(resolved.kind(), "resolved");
  EXPECT_EQ(resolved.alert().id(), opened.alert().id());
  EXPECT_EQ(resolved.alert().status(), v1::ALERT_STATUS_RESOLVED);
  EXPECT_GT(resolved.event_id(), opened.event_id());

  for (const ReceivedRequest& request : requests) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.path, "/hook");
    EXPECT_EQ(request.headers.at("content-type"), "application/json");
    EXPECT_TRUE(SignatureHolds(request, kSecret)) << request.headers.at("plantmon-signature");
    EXPECT_FALSE(SignatureHolds(request, "another-secret-entirely"));
    EXPECT_EQ(request.headers.at("plantmon-delivery"),
              absl::StrCat(Payload(request).delivery_id()));
  }
  // The owner's delivery log: newest first, both delivered once.
  const std::vector<v1::WebhookDelivery> log = Deliveries(garden, channel.id());
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].kind(), "resolved");
  EXPECT_EQ(log[1].kind(), "opened");
  for (const v1::WebhookDelivery& delivery : log) {
    EXPECT_EQ(delivery.status(), "delivered");
    EXPECT_EQ(delivery.attempts(), 1);
    EXPECT_EQ(delivery.last_http_status(), 200);
  }
}

TEST_F(WebhookTest, AFailedAttemptIsRetriedWithTheSameBodyUntilItIsDelivered) {
  HttpReceiver receiver;
  receiver.Script({500, 503});
  const Garden garden = MakeGarden("rita");
  const v1::NotificationChannel channel = MakeChannel(garden, receiver.Url());
  Reading(garden, 5);
  ASSERT_TRUE(receiver.WaitFor(3, absl::Seconds(20)));
  const std::vector<ReceivedRequest> requests = receiver.Requests();
  EXPECT_EQ(requests[0].body, requests[1].body);
  EXPECT_EQ(requests[1].body, requests[2].body);
  EXPECT_EQ(requests[0].headers.at("plantmon-delivery"),
            requests[2].headers.at("plantmon-delivery"));
  // Backoff: the retries wait (100 ms, then 200 ms, less up to a fifth).
  EXPECT_GE(requests[1].at - requests[0].at, absl::Milliseconds(75));
  EXPECT_GE(requests[2].at - requests[1].at, absl::Milliseconds(150));
  ASSERT_TRUE(Eventually(
      [&] {
        std::vector<v1::WebhookDelivery> log = Deliveries(garden, channel.id());
        return log.size() == 1 && log[0].status() == "delivered";
      },
      absl::Seconds(10)));
  const v1::WebhookDelivery delivery = Deliveries(garden, channel.id())[0];
  EXPECT_EQ(delivery.attempts(), 3);
  EXPECT_EQ(delivery.last_http_status(), 200);
}

TEST_F(WebhookTest, AnEndpointThatNeverAnswersFailsAfterItsAttemptsAndHoldsUpNoOneElse) {
  HttpReceiver dead;
  dead.Script(std::vector<int>(100, 0));  // never answers
  HttpReceiver healthy;
  const Garden stuck = MakeGarden("stan");
  const Garden fine = MakeGarden("fay");
  const v1::NotificationChannel dead_channel = MakeChannel(stuck, dead.Url());
  MakeChannel(fine, healthy.Url());
  // The dead endpoint gets a delivery first; ingest carries on at once.
  Reading(stuck, 3);
  ASSERT_TRUE(dead.WaitFor(1, absl::Seconds(20)));
  const absl::Time start = absl::Now();
  for (int i = 0; i < 4; ++i) Reading(stuck, i % 2 == 0 ? 50 : 3);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "ingest waited for a webhook";
  // Another user's delivery is not queued behind the dead one.
  const absl::Time sent = absl::Now();
  Reading(fine, 4);
  ASSERT_TRUE(healthy.WaitFor(1, absl::Seconds(10)));
  EXPECT_LT(healthy.Requests()[0].at - sent, absl::Seconds(3));
  // The channel's five deliveries take turns, an attempt of a second at a
  // time, never two at once; after its fourth attempt a delivery has failed
  // for good.
  ASSERT_TRUE(Eventually(
      [&] {
        for (const v1::WebhookDelivery& delivery : Deliveries(stuck, dead_channel.id())) {
          if (delivery.status() == "failed") return delivery.attempts() == 4;
        }
        return false;
      },
      absl::Seconds(60)));
  EXPECT_FALSE(Deliveries(stuck, dead_channel.id())[0].has_last_http_status());
  EXPECT_EQ(dead.max_in_flight(), 1) << "a channel had two attempts in flight";
}

TEST_F(WebhookTest, TwoServersDeliverEachChangeOnceAndOneAttemptAtATimePerChannel) {
  // A second server process on the same database, delivering too.
  services::ServerOptions second_options = *options_;
  second_options.listen_address = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<services::PlantmonServer>> second =
      services::PlantmonServer::Start(second_options);
  ASSERT_TRUE(second.ok()) << second.status();
  HttpReceiver receiver;
  receiver.Script({503, 503, 503});  // retries, so both deliverers find work due
  const Garden garden = MakeGarden("twin");
  const v1::NotificationChannel channel = MakeChannel(garden, receiver.Url());
  for (int i = 0; i < 6; ++i) Reading(garden, i % 2 == 0 ? 3 : 50);  // 3 opened, 3 resolved
  ASSERT_TRUE(Eventually(
      [&] {
        const std::vector<v1::WebhookDelivery> deliveries = Deliveries(garden, channel.id());
        return deliveries.size() == 6 &&
               std::all_of(deliveries.begin(), deliveries.end(),
                           [](const v1::WebhookDelivery& d) { return d.status() == "delivered"; });
      },
      absl::Seconds(30)));
  (*second)->Shutdown(absl::Seconds(1));
  (*second)->Wait();
  const std::vector<ReceivedRequest> requests = receiver.Requests();
  // Three refused attempts, then each delivery answered 200 exactly once.
  ASSERT_EQ(requests.size(), 9u);
  std::set<std::string> delivered;
  for (size_t i = 3; i < requests.size(); ++i) {
    EXPECT_TRUE(delivered.insert(requests[i].headers.at("plantmon-delivery")).second)
        << "delivery " << requests[i].headers.at("plantmon-delivery") << " sent after its 200";
  }
  EXPECT_EQ(delivered.size(), 6u);
  EXPECT_EQ(receiver.max_in_flight(), 1) << "two attempts for one channel at once";
}

TEST_F(WebhookTest, WhatFallsInQuietHoursWaitsForTheirEnd) {
  HttpReceiver receiver;
  const Garden garden = MakeGarden("quinn");
  // Quiet from a minute before now until two hours after, in Berlin.
  const absl::TimeZone berlin = [] {
    absl::TimeZone zone;
    EXPECT_TRUE(absl::LoadTimeZone("Europe/Berlin", &zone));
    return zone;
  }();
  const absl::CivilMinute now = absl::ToCivilMinute(absl::Now(), berlin);
  const int minute = now.hour() * 60 + now.minute();
  const int start = (minute + 1440 - 1) % 1440;
  const int end = (minute + 120) % 1440;
  const v1::NotificationChannel channel =
      MakeChannel(garden, receiver.Url(), [&](v1::NotificationChannel& value) {
        value.set_quiet_hours_start(start);
        value.set_quiet_hours_end(end);
        value.set_time_zone("Europe/Berlin");
      });
  EXPECT_EQ(channel.time_zone(), "Europe/Berlin");
  Reading(garden, 2);
  ASSERT_TRUE(
      Eventually([&] { return Deliveries(garden, channel.id()).size() == 1; }, absl::Seconds(10)));
  const v1::WebhookDelivery delivery = Deliveries(garden, channel.id())[0];
  EXPECT_EQ(delivery.status(), "pending");
  const absl::Time next = absl::FromUnixSeconds(delivery.next_attempt_at().seconds());
  const absl::CivilMinute due = absl::ToCivilMinute(next, berlin);
  EXPECT_EQ(due.hour() * 60 + due.minute(), end);
  EXPECT_GT(next, absl::Now() + absl::Minutes(100));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(receiver.Requests().empty());
}

TEST_F(WebhookTest, AnAlertStillActiveIsSentAgainAfterTheRenotifyInterval) {
  HttpReceiver receiver;
  const Garden garden = MakeGarden("remy");
  const v1::NotificationChannel channel = MakeChannel(
      garden, receiver.Url(),
      [](v1::NotificationChannel& value) { value.mutable_renotify_interval()->set_seconds(60); });
  Reading(garden, 1);
  ASSERT_TRUE(receiver.WaitFor(1, absl::Seconds(20)));
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(receiver.Requests().size(), 1u) << "sent again before the interval";
  // As if the interval had passed.
  database_->Query(absl::StrCat(
      "UPDATE notification_alert_states SET last_notified_at = now() - interval '61 seconds' "
      "WHERE channel_id = ",
      channel.id()));
  ASSERT_TRUE(receiver.WaitFor(2, absl::Seconds(20)));
  const v1::WebhookPayload again = Payload(receiver.Requests()[1]);
  EXPECT_EQ(again.kind(), "renotify");
  EXPECT_FALSE(again.has_event_id());
  EXPECT_EQ(again.alert().status(), v1::ALERT_STATUS_ACTIVE);
}

TEST_F(WebhookTest, BelowTheMinimumSeverityNothingIsSent) {
  HttpReceiver receiver;
  const Garden garden = MakeGarden("mina");
  MakeChannel(garden, receiver.Url(), [](v1::NotificationChannel& value) {
    value.set_min_severity(v1::ALERT_SEVERITY_CRITICAL);  // the dry rule is a warning
  });
  Reading(garden, 1);
  Reading(garden, 60);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(receiver.Requests().empty());
}

TEST_F(WebhookTest, PendingDeliveriesSurviveARestart) {
  HttpReceiver receiver;
  receiver.Script({500});
  const Garden garden = MakeGarden("sam");
  const v1::NotificationChannel channel = MakeChannel(garden, receiver.Url());
  Reading(garden, 4);
  ASSERT_TRUE(receiver.WaitFor(1, absl::Seconds(20)));
  RestartServer();
  ASSERT_TRUE(receiver.WaitFor(2, absl::Seconds(20)));
  const std::vector<ReceivedRequest> requests = receiver.Requests();
  EXPECT_EQ(requests[0].body, requests[1].body);
  ASSERT_TRUE(Eventually(
      [&] {
        std::vector<v1::WebhookDelivery> log = Deliveries(garden, channel.id());
        return log.size() == 1 && log[0].status() == "delivered";
      },
      absl::Seconds(10)));
}

TEST_F(WebhookTest, ChannelsAreValidatedAndOwned) {
  const Garden garden = MakeGarden("val");
  const SignedInUser other = SignUp("otto");
  auto create = [&](const std::function<void(v1::NotificationChannel&)>& adjust) {
    v1::CreateNotificationChannelRequest request;
    v1::NotificationChannel* value = request.mutable_notification_channel();
    value->set_name("n");
    value->set_url("http://127.0.0.1:1/plantmon");  // nothing is sent: no alert changes
    value->set_secret(kSecret);
    adjust(*value);
    v1::NotificationChannel channel;
    return alerts_->CreateNotificationChannel(Context(garden.owner.token).get(), request, &channel);
  };
  EXPECT_EQ(create([](v1::NotificationChannel& c) { c.set_url("ftp://x/y"); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::NotificationChannel& c) { c.set_url("not a url"); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::NotificationChannel& c) { c.set_secret("short"); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::NotificationChannel& c) { c.set_quiet_hours_start(60); }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      create([](v1::NotificationChannel& c) { c.set_time_zone("Mars/Olympus"); }).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create([](v1::NotificationChannel& c) {
              c.mutable_renotify_interval()->set_seconds(5);
            }).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(create([](v1::NotificationChannel&) {}).ok());
  EXPECT_EQ(create([](v1::NotificationChannel&) {}).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  v1::ListNotificationChannelsResponse mine;
  ASSERT_TRUE(alerts_->ListNotificationChannels(Context(garden.owner.token).get(), {}, &mine).ok());
  ASSERT_EQ(mine.notification_channels_size(), 1);
  EXPECT_TRUE(mine.notification_channels(0).secret().empty());
  const int64_t id = mine.notification_channels(0).id();
  v1::GetNotificationChannelRequest get;
  get.set_id(id);
  v1::NotificationChannel seen;
  EXPECT_EQ(alerts_->GetNotificationChannel(Context(other.token).get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListWebhookDeliveriesRequest log;
  log.set_channel_id(id);
  v1::ListWebhookDeliveriesResponse deliveries;
  EXPECT_EQ(
      alerts_->ListWebhookDeliveries(Context(other.token).get(), log, &deliveries).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace plantmon
