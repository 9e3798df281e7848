// The bridge's MQTT 3.1.1 subscriber against a real Mosquitto: a QoS 1
// message not acknowledged is delivered again, marked redelivered, to the
// same persistent session; one acknowledged is not.
#include "mqtt/mqtt_session.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/mosquitto.h"

namespace plantmon::mqtt {
namespace {

using ::plantmon::testing::MosquittoBroker;
using ::plantmon::testing::MqttPublisher;

constexpr char kUser[] = "session-user";
constexpr char kPassword[] = "p@ss:word";

class MqttSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = MosquittoBroker::Start(kUser, kPassword).release();
    ASSERT_NE(broker_, nullptr);
  }
  static void TearDownTestSuite() { delete broker_; }

  static BrokerAddress Broker() {
    BrokerAddress address;
    address.host = "127.0.0.1";
    address.port = broker_->port();
    address.username = kUser;
    address.password = kPassword;
    return address;
  }

  static std::unique_ptr<MqttSession> Connect(const std::string& client_id) {
    SessionOptions options;
    options.client_id = client_id;
    options.max_payload_bytes = 1024;
    absl::StatusOr<std::unique_ptr<MqttSession>> session = MqttSession::Connect(Broker(), options);
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *std::move(session) : nullptr;
  }

  static std::optional<ReceivedMessage> Next(MqttSession& session) {
    absl::StatusOr<std::optional<ReceivedMessage>> next = session.Next(absl::Seconds(5));
    EXPECT_TRUE(next.ok()) << next.status();
    return next.ok() ? *next : std::nullopt;
  }

  static MosquittoBroker* broker_;
};

MosquittoBroker* MqttSessionTest::broker_ = nullptr;

TEST(BrokerUrlTest, Parses) {
  absl::StatusOr<BrokerAddress> url = ParseBrokerUrl("mqtt://bridge:s%40cret%3A1@broker.lan:1884");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "broker.lan");
  EXPECT_EQ(url->port, 1884);
  EXPECT_EQ(url->username, "bridge");
  EXPECT_EQ(url->password, "s@cret:1");
  url = ParseBrokerUrl("mqtt://localhost");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->port, 1883);
  EXPECT_TRUE(url->username.empty());
  for (const char* bad : {"tcp://localhost:1883", "mqtt://", "mqtt://host:0", "mqtt://host:x"}) {
    EXPECT_EQ(ParseBrokerUrl(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(MqttSessionTest, UnacknowledgedMessagesComeBackToThePersistentSession) {
  {
    std::unique_ptr<MqttSession> session = Connect("redelivery");
    ASSERT_NE(session, nullptr);
    ASSERT_TRUE(session->Subscribe({"probe/#"}).ok());
    session->Disconnect();
  }
  MqttPublisher publisher(broker_->port(), kUser, kPassword);
  ASSERT_TRUE(publisher.connected());
  publisher.Publish("probe/a", "first");
  publisher.Publish("probe/b", "second");
  ASSERT_TRUE(publisher.Flush());

  std::unique_ptr<MqttSession> session = Connect("redelivery");
  ASSERT_NE(session, nullptr);
  EXPECT_TRUE(session->session_present());
  std::optional<ReceivedMessage> first = Next(*session);
  std::optional<ReceivedMessage> second = Next(*session);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(first->topic, "probe/a");
  EXPECT_EQ(first->payload, "first");
  EXPECT_EQ(first->qos, 1);
  EXPECT_FALSE(first->redelivered);
  EXPECT_EQ(second->payload, "second");
  // Only the first is acknowledged before the connection drops.
  ASSERT_TRUE(session->Acknowledge(first->packet_id).ok());
  session.reset();

  session = Connect("redelivery");
  ASSERT_NE(session, nullptr);
  std::optional<ReceivedMessage> again = Next(*session);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->payload, "second");
  EXPECT_TRUE(again->redelivered);
  EXPECT_EQ(again->packet_id, second->packet_id);
  ASSERT_TRUE(session->Acknowledge(again->packet_id).ok());
  absl::StatusOr<std::optional<ReceivedMessage>> none = session->Next(absl::Milliseconds(500));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value()) << (*none)->payload;
  session->Disconnect();
}

TEST_F(MqttSessionTest, OversizedPayloadsAreDroppedAndTheStreamGoesOn) {
  std::unique_ptr<MqttSession> session = Connect("oversized");
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Subscribe({"big/+"}).ok());
  MqttPublisher publisher(broker_->port(), kUser, kPassword);
  ASSERT_TRUE(publisher.connected());
  publisher.Publish("big/one", std::string(200 * 1024, 'x'));
  publisher.Publish("big/two", "small");
  ASSERT_TRUE(publisher.Flush());
  std::optional<ReceivedMessage> big = Next(*session);
  ASSERT_TRUE(big.has_value());
  EXPECT_TRUE(big->oversized);
  EXPECT_EQ(big->topic, "big/one");
  EXPECT_EQ(big->payload_size, 200u * 1024);
  EXPECT_TRUE(big->payload.empty());
  std::optional<ReceivedMessage> small = Next(*session);
  ASSERT_TRUE(small.has_value());
  EXPECT_FALSE(small->oversized);
  EXPECT_EQ(small->payload, "small");
  EXPECT_TRUE(session->Acknowledge(big->packet_id).ok());
  EXPECT_TRUE(session->Acknowledge(small->packet_id).ok());
}

TEST_F(MqttSessionTest, RefusalsHaveTheirCodes) {
  SessionOptions options;
  options.client_id = "refused";
  BrokerAddress wrong = Broker();
  wrong.password = "wrong";
  EXPECT_EQ(MqttSession::Connect(wrong, options).status().code(),
            absl::StatusCode::kUnauthenticated);
  BrokerAddress nobody = Broker();
  nobody.port = 1;  // nothing listens there
  EXPECT_EQ(MqttSession::Connect(nobody, options).status().code(), absl::StatusCode::kUnavailable);
  options.client_id.clear();
  EXPECT_EQ(MqttSession::Connect(Broker(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(MqttSessionTest, ABrokerThatGoesAwayIsReportedUnavailable) {
  std::unique_ptr<MqttSession> session = Connect("goes-away");
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(session->Subscribe({"away/#"}).ok());
  broker_->Stop();
  absl::StatusOr<std::optional<ReceivedMessage>> next = session->Next(absl::Seconds(5));
  EXPECT_EQ(next.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(broker_->Restart());
}

}  // namespace
}  // namespace plantmon::mqtt
