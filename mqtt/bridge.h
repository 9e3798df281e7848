// plantmon_mqtt_bridge: a gateway between an MQTT broker and
// TelemetryService.StreamReadings (docs/mqtt.md).
//
// It subscribes at QoS 1 in a persistent session, turns each message into
// readings (mqtt/payload_formats.h), sends many messages per batch, and
// acknowledges a message to the broker only once the batch that carries it
// committed. A message the broker delivers again after a crash is stored
// once: each batch lists its source messages, whose receipts the server
// commits with the readings (docs/telemetry.md, "Source messages").
#ifndef PLANTMON_MQTT_BRIDGE_H_
#define PLANTMON_MQTT_BRIDGE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mqtt/mqtt_session.h"
#include "mqtt/payload_formats.h"

namespace plantmon::mqtt {

struct BridgeConfig {
  BrokerAddress broker;                                // PLANTMON_MQTT_URL
  std::string server_address;                          // PLANTMON_SERVER_ADDR
  std::string api_key;                                 // PLANTMON_API_KEY (an ingest-only key)
  std::vector<std::pair<Format, std::string>> topics;  // PLANTMON_MQTT_TOPICS
  KeyTable keys;                                       // DefaultKeyTable + PLANTMON_MQTT_KEYS
  // PLANTMON_MQTT_CLIENT_ID: the broker keeps the session under it, and the
  // server the message receipts (as gateway_id "mqtt:<client id>").
  std::string client_id = "plantmon-bridge";
  // PLANTMON_MQTT_BATCH_READINGS, PLANTMON_MQTT_BATCH_WAIT_MS: a batch is
  // sent when it holds this many readings or its first message has waited
  // this long.
  int max_batch_readings = 1000;
  absl::Duration max_batch_wait = absl::Milliseconds(100);
  // PLANTMON_MQTT_CRASH_AFTER_BATCHES, a fault for tests: the process exits
  // at once after this many batches committed, before it acknowledges the
  // last one's messages to the broker (the one moment where a crash leaves
  // committed messages unacknowledged, which a kill -9 hits only by luck).
  int crash_after_batches = 0;
};

// Reads the variables above; INVALID_ARGUMENT naming the one that is wrong.
absl::StatusOr<BridgeConfig> BridgeConfigFromEnvironment();

// Does an MQTT topic filter ("+" one level, "#" the rest) match `topic`?
bool TopicMatches(absl::string_view filter, absl::string_view topic);

// What the bridge has seen, for its periodic log line.
struct BridgeCounters {
  int64_t messages = 0;
  int64_t refused_messages = 0;  // malformed, oversized, wrong types, no format
  int64_t unknown_keys = 0;
  int64_t readings_sent = 0;
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;  // unknown devices, undeclared parameters, ...
};

class ServerLink;
class Committer;
struct Batch;

class Bridge {
 public:
  explicit Bridge(BridgeConfig config);
  ~Bridge();

  // Runs until `stop` is set: connects (again, with backoff, whenever the
  // broker goes away), forwards, acknowledges.
  void Run(const std::atomic<bool>& stop);

 private:
  void RunSessions(const std::atomic<bool>& stop);
  // One connection's life; returns why it ended.
  absl::Status RunSession(const std::atomic<bool>& stop);
  // Batches messages, hands them to the committer, acknowledges what
  // committed; returns when the connection is lost or `stop` is set.
  absl::Status Forward(MqttSession& session, const std::atomic<bool>& stop);
  // Parses a message into `batch`; how many readings it gave.
  int Hold(ReceivedMessage message, Batch& batch);
  void Submit(std::unique_ptr<Batch> batch);
  // Counts and logs what the server said about each done batch; those whose
  // messages may be acknowledged (kept in concluded_ until they are).
  std::vector<const Batch*> Conclude(std::vector<std::unique_ptr<Batch>> done);
  // Logs `problem` for `subject` (a topic, a device, the server) the first
  // time only.
  void Problem(const std::string& subject, const std::string& problem);
  void MaybeLogCounters();

  BridgeConfig config_;
  std::unique_ptr<ServerLink> server_;
  std::unique_ptr<Committer> committer_;
  std::vector<std::unique_ptr<Batch>> concluded_;
  BridgeCounters counters_;
  // Problems come from the committer's thread too. std::mutex rather than
  // absl::Mutex: see common/sync.h.
  std::mutex problems_mutex_;
  std::map<std::string, int64_t> problems_;  // guarded by problems_mutex_
  absl::Time last_counters_log_;
  BridgeCounters logged_counters_;
  uint64_t next_sequence_;
  int batches_committed_ = 0;
};

}  // namespace plantmon::mqtt

#endif  // PLANTMON_MQTT_BRIDGE_H_
