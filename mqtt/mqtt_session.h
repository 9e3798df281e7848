// The subscribing side of MQTT 3.1.1, written for the bridge: CONNECT with a
// persistent session, SUBSCRIBE at QoS 1, PUBLISH in, PUBACK out when the
// caller says, PINGREQ to keep the connection alive.
//
// Why our own and not a library: the bridge may acknowledge a QoS 1 message
// only once its readings committed, which is what makes the broker keep the
// message until then (docs/mqtt.md). Neither client library Debian ships can
// hold a PUBACK back: libmosquitto 2.0.11 sends it before it calls
// on_message (lib/handle_publish.c), and Eclipse Paho C 1.3.12 sends it as
// soon as it has queued the message for the application
// (MQTTProtocol_handlePublishes). The publishing side of the tests, the
// benchmark and the simulator uses libmosquitto.
#ifndef PLANTMON_MQTT_MQTT_SESSION_H_
#define PLANTMON_MQTT_MQTT_SESSION_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace plantmon::mqtt {

// mqtt://[user[:password]@]host[:port] (PLANTMON_MQTT_URL); port 1883 unless
// given. User and password may be percent-encoded.
struct BrokerAddress {
  std::string host;
  int port = 1883;
  std::string username;
  std::string password;
};
absl::StatusOr<BrokerAddress> ParseBrokerUrl(absl::string_view url);

// One PUBLISH the broker sent.
struct ReceivedMessage {
  std::string topic;
  // Empty when `oversized`: the payload was read and dropped unkept.
  std::string payload;
  size_t payload_size = 0;
  bool oversized = false;
  int qos = 0;
  // The broker may have sent it before (DUP): a redelivery after a
  // reconnect.
  bool redelivered = false;
  // Set for QoS 1; what Acknowledge takes.
  uint16_t packet_id = 0;
};

struct SessionOptions {
  std::string client_id;
  // false: the broker keeps the subscriptions and the unacknowledged
  // messages while the client is away, and delivers them again.
  bool clean_session = false;
  absl::Duration keep_alive = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(10);
  // Payloads above this are read and dropped (ReceivedMessage::oversized);
  // the message is still acknowledged by the caller.
  size_t max_payload_bytes = 256 * 1024;
};

class MqttSession {
 public:
  // Connects and waits for CONNACK. UNAVAILABLE when the broker cannot be
  // reached, UNAUTHENTICATED when it refuses our credentials.
  static absl::StatusOr<std::unique_ptr<MqttSession>> Connect(const BrokerAddress& broker,
                                                              const SessionOptions& options);
  ~MqttSession();
  MqttSession(const MqttSession&) = delete;
  MqttSession& operator=(const MqttSession&) = delete;

  // The broker still had our session (subscriptions, unacknowledged
  // messages) from before.
  bool session_present() const { return session_present_; }

  // Subscribes to `filters` at QoS 1 and waits for SUBACK; messages that
  // arrive meanwhile are kept for Next. FAILED_PRECONDITION naming a filter
  // the broker refused.
  absl::Status Subscribe(const std::vector<std::string>& filters);

  // The next message, waiting at most `timeout`; nullopt when none came.
  // Keeps the connection alive meanwhile. UNAVAILABLE once the connection
  // is lost (the broker went away, or stopped answering pings).
  absl::StatusOr<std::optional<ReceivedMessage>> Next(absl::Duration timeout);

  // Reads what arrives within `timeout` and keeps it for Next, and keeps
  // the connection alive: for a caller that cannot take messages now.
  absl::Status Poll(absl::Duration timeout);

  // PUBACK for a QoS 1 message: the broker forgets it.
  absl::Status Acknowledge(uint16_t packet_id);

  // DISCONNECT, then closes the socket.
  void Disconnect();

 private:
  MqttSession(int fd, SessionOptions options);

  absl::Status Send(const std::string& packet);
  // Reads what the socket has, waiting until `deadline` for something.
  absl::Status Fill(absl::Time deadline);
  // Takes complete packets out of the buffer; PUBLISH ones go to pending_.
  absl::Status ParsePackets();
  // ParsePackets' loop: `consumed` counts the buffer's bytes it used.
  absl::Status TakePackets(size_t& consumed);
  absl::Status HandlePacket(uint8_t header, absl::string_view body);
  absl::Status KeepAlive();

  int fd_;
  SessionOptions options_;
  bool session_present_ = false;
  std::string buffer_;
  // While an oversized PUBLISH is being dropped: bytes of it still to come.
  size_t discarding_ = 0;
  std::deque<ReceivedMessage> pending_;
  uint16_t next_packet_id_ = 1;
  std::optional<uint16_t> awaited_suback_;
  std::vector<uint8_t> suback_codes_;
  absl::Time last_sent_;
  absl::Time last_received_;
  bool ping_outstanding_ = false;
};

}  // namespace plantmon::mqtt

#endif  // PLANTMON_MQTT_MQTT_SESSION_H_
