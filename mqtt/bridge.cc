#include "mqtt/bridge.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/sha256.h"
#include "common/sync.h"
#include "plantmon/v1/telemetry.grpc.pb.h"

namespace plantmon::mqtt {
namespace {

// Distinct problems remembered for "log once"; beyond this they are counted
// only, so a flood of new topic names cannot grow the bridge without bound.
constexpr size_t kMaxRememberedProblems = 10000;
constexpr absl::Duration kCountersLogInterval = absl::Seconds(60);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(250);
constexpr absl::Duration kMaxBackoff = absl::Seconds(30);
// Batches on their way to the server at once, besides the one being
// collected. The server stores a stream's batches that wait together in one
// transaction (docs/telemetry.md, "Batches stored together"), so several on
// the stream make fewer, larger transactions; each holds its messages
// unacknowledged at the broker, whose max_inflight_messages must leave room
// for them (docs/mqtt.md).
constexpr int kMaxBatchesInFlight = 4;

std::string Environment(const char* name, const std::string& fallback = "") {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

absl::Status ReadInt(const char* name, int low, int high, int& value) {
  const std::string text = Environment(name);
  if (text.empty()) return absl::OkStatus();
  if (!absl::SimpleAtoi(text, &value) || value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be a number from ", low, " to ", high, ", not \"", text, "\""));
  }
  return absl::OkStatus();
}

// Sleeps `delay` (with jitter, so that bridges restarted together do not
// reconnect together) unless `stop` is set first.
void Backoff(absl::Duration& delay, const std::atomic<bool>& stop) {
  static absl::BitGen random;
  const absl::Duration jittered = delay * absl::Uniform(random, 0.5, 1.0);
  const absl::Time until = absl::Now() + jittered;
  while (!stop && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
  delay = std::min(delay * 2, kMaxBackoff);
}

}  // namespace

// A message and what it became, until its batch commits.
struct HeldMessage {
  ReceivedMessage message;
  std::vector<v1::IncomingReading> readings;
};

// Messages on their way to the server as one StreamReadings batch, and what
// came back.
struct Batch {
  std::vector<HeldMessage> held;
  v1::StreamReadingsRequest request;
  // For each reading of the request, the message (in held) it came from.
  std::vector<size_t> message_of_reading;
  absl::StatusOr<v1::StreamReadingsResponse> outcome = absl::UnknownError("not sent");
  // The outcome is final (acknowledged, refused, nothing to send, or given
  // up on when stopping).
  bool settled = false;
};

// The StreamReadings stream, opened when first needed and again after it
// broke. One thread writes and one reads, as gRPC's synchronous streams
// allow; Open and Finish are the writer's, with no read under way.
class ServerLink {
 public:
  ServerLink(const std::string& address, std::string api_key) : api_key_(std::move(api_key)) {
    grpc::ChannelArguments arguments;
    // Finds a server that went away while the stream is idle.
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
    arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
    arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    channel_ = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
    stub_ = v1::TelemetryService::NewStub(channel_);
  }

  ~ServerLink() {
    if (stream_ == nullptr) return;
    Cancel();
    Finish();
  }

  void Open() {
    context_ = std::make_unique<grpc::ClientContext>();
    context_->AddMetadata("authorization", "Bearer " + api_key_);
    stream_ = stub_->StreamReadings(context_.get());
  }
  bool Write(const v1::StreamReadingsRequest& batch) { return stream_->Write(batch); }
  bool Read(v1::StreamReadingsResponse& ack) { return stream_->Read(&ack); }
  // From either thread: ends the stream, so that a blocked Read returns.
  void Cancel() { context_->TryCancel(); }
  grpc::Status Finish() {
    grpc::Status status = stream_->Finish();
    stream_.reset();
    context_.reset();
    return status;
  }

 private:
  std::string api_key_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::TelemetryService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::StreamReadingsRequest, v1::StreamReadingsResponse>>
      stream_;
};

// Sends batches to the server on its own thread, without waiting for the
// acknowledgements before them, and reads those on another, so that the
// bridge reads and parses the next messages meanwhile and the server finds
// several batches waiting. A batch is sent until it is stored: when the
// stream breaks, the batches it left unacknowledged are sent again, in
// order, on a new stream after a backoff (a batch that had committed comes
// back as a duplicate under its key, not as a second copy). Batches are done
// in the order they were submitted, so PUBACKs go out in the order the
// messages came (MQTT 3.1.1, 4.6).
class Committer {
 public:
  Committer(ServerLink& server, std::function<void(const std::string&)> problem,
            const std::atomic<bool>& stop)
      : server_(server), problem_(std::move(problem)), stop_(stop), thread_([this] { Loop(); }) {}

  // Once every submitted batch is done (Bridge::RunSession waits for that).
  ~Committer() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shutting_down_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  void Submit(std::unique_ptr<Batch> batch) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++in_flight_;
      pending_.push_back(std::move(batch));
    }
    changed_.notify_all();
  }

  // The batches done since the last call, in order; waits up to `timeout`
  // for one when there are none.
  std::vector<std::unique_ptr<Batch>> TakeDone(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (timeout > absl::ZeroDuration()) {
      common::WaitUntil(changed_, lock, absl::Now() + timeout, [this] { return !done_.empty(); });
    }
    std::vector<std::unique_ptr<Batch>> done;
    for (auto& batch : done_) done.push_back(std::move(batch));
    done_.clear();
    in_flight_ -= static_cast<int>(done.size());
    return done;
  }

  // Submitted and not yet taken back.
  int in_flight() {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_flight_;
  }

 private:
  // The writer.
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] {
        return stream_ended_ || sent_ < pending_.size() || (shutting_down_ && pending_.empty());
      });
      if (stream_ended_) {
        Recover(lock);
        continue;
      }
      if (sent_ == pending_.size()) break;  // shutting down, nothing left
      Batch& batch = *pending_[sent_++];
      if (batch.request.readings_size() == 0) {
        batch.outcome = v1::StreamReadingsResponse();
        batch.settled = true;
        SettleLocked();
        continue;
      }
      if (!reading_) {
        // Opening may wait for a connection: not under the lock the bridge's
        // thread takes to hand over batches and take them back.
        lock.unlock();
        server_.Open();
        lock.lock();
        reading_ = true;
        reader_ = std::thread([this] { ReadAcknowledgements(); });
      }
      lock.unlock();
      // A write that fails means the stream is over, which the reader sees.
      // The batch may be acknowledged, and freed by the bridge, before Write
      // returns; that cannot happen before gRPC serialized the request,
      // which it does before anything is sent (the channel has no
      // interceptor that could look at the request later).
      server_.Write(batch.request);
      lock.lock();
    }
    if (reading_) {
      server_.Cancel();
      lock.unlock();
      reader_.join();
      server_.Finish();
    }
  }

  // The reader: one acknowledgement per batch, in the order they were sent.
  void ReadAcknowledgements() {
    v1::StreamReadingsResponse ack;
    while (server_.Read(ack)) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (sent_ == 0 || pending_.front()->request.sequence() != ack.sequence()) {
        mismatch_ = absl::InternalError(absl::StrCat(
            "the server acknowledged sequence ", ack.sequence(), " while ",
            sent_ == 0 ? "no batch was waiting"
                       : absl::StrCat("batch ", pending_.front()->request.sequence(), " was")));
        server_.Cancel();
        break;
      }
      pending_.front()->outcome = std::move(ack);
      pending_.front()->settled = true;
      backoff_ = kFirstBackoff;
      SettleLocked();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stream_ended_ = true;
    }
    changed_.notify_all();
  }

  // After the reader saw the stream end: finishes it, settles a batch the
  // server refused, and has the rest sent again.
  void Recover(std::unique_lock<std::mutex>& lock) {
    lock.unlock();
    reader_.join();
    const grpc::Status finished = server_.Finish();
    lock.lock();
    reading_ = false;
    stream_ended_ = false;
    absl::Status ended = !mismatch_.ok() ? mismatch_
                         : finished.ok()
                             ? absl::UnavailableError("the server ended the stream")
                             : absl::Status(static_cast<absl::StatusCode>(finished.error_code()),
                                            finished.error_message());
    mismatch_ = absl::OkStatus();
    if (sent_ == 0) return;  // an idle stream ended: the next batch opens another
    if (ended.code() == absl::StatusCode::kInvalidArgument) {
      // The server refuses a batch as a whole, which no retry changes. It
      // acknowledges every batch before one it refuses, so the refused one
      // is the first unacknowledged; those after it go again.
      pending_.front()->outcome = ended;
      pending_.front()->settled = true;
      SettleLocked();
      sent_ = 0;
      return;
    }
    sent_ = 0;
    problem_(absl::StrCat(ended.message(),
                          " (retrying with backoff; nothing is acknowledged to the broker "
                          "meanwhile)"));
    absl::Duration delay = backoff_;
    lock.unlock();
    Backoff(delay, stop_);
    lock.lock();
    backoff_ = delay;
    if (stop_) {
      for (auto& batch : pending_) {
        if (!batch->settled) batch->outcome = absl::CancelledError("stopping");
        batch->settled = true;
      }
      sent_ = pending_.size();
      SettleLocked();
    }
  }

  // Moves the settled batches at the front, among those sent, to done_.
  void SettleLocked() {
    bool moved = false;
    while (sent_ > 0 && pending_.front()->settled) {
      done_.push_back(std::move(pending_.front()));
      pending_.pop_front();
      --sent_;
      moved = true;
    }
    if (moved) changed_.notify_all();
  }

  ServerLink& server_;
  std::function<void(const std::string&)> problem_;
  const std::atomic<bool>& stop_;
  std::mutex mutex_;  // std::mutex rather than absl::Mutex: see common/sync.h.
  std::condition_variable changed_;
  // Guarded by mutex_, as are the members below it: the submitted batches
  // not yet done, in order; the first sent_ of them are on the stream.
  std::deque<std::unique_ptr<Batch>> pending_;
  size_t sent_ = 0;
  std::deque<std::unique_ptr<Batch>> done_;
  int in_flight_ = 0;
  bool shutting_down_ = false;
  bool reading_ = false;       // the reader runs, on an open stream
  bool stream_ended_ = false;  // the reader saw the stream end
  absl::Status mismatch_;      // an acknowledgement for another batch
  absl::Duration backoff_ = kFirstBackoff;
  std::thread reader_;
  std::thread thread_;  // last: started once the members above are
};

bool TopicMatches(absl::string_view filter, absl::string_view topic) {
  const std::vector<absl::string_view> want = absl::StrSplit(filter, '/');
  const std::vector<absl::string_view> have = absl::StrSplit(topic, '/');
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == "#") return true;
    if (i >= have.size()) return false;
    if (want[i] != "+" && want[i] != have[i]) return false;
  }
  return want.size() == have.size();
}

absl::StatusOr<BridgeConfig> BridgeConfigFromEnvironment() {
  BridgeConfig config;
  absl::StatusOr<BrokerAddress> broker =
      ParseBrokerUrl(Environment("PLANTMON_MQTT_URL", "mqtt://127.0.0.1:1883"));
  if (!broker.ok()) return broker.status();
  config.broker = *broker;
  config.server_address = Environment("PLANTMON_SERVER_ADDR", "127.0.0.1:50051");
  config.api_key = Environment("PLANTMON_API_KEY");
  if (config.api_key.empty()) {
    return absl::InvalidArgumentError(
        "PLANTMON_API_KEY is required: an API key of the user whose devices the bridge feeds "
        "(UserService.CreateApiKey)");
  }
  config.client_id = Environment("PLANTMON_MQTT_CLIENT_ID", config.client_id);
  const std::string topics = Environment("PLANTMON_MQTT_TOPICS");
  if (topics.empty()) {
    for (Format format : {Format::kZigbee2Mqtt, Format::kTasmota, Format::kOpenMqttGateway,
                          Format::kEsphome, Format::kNative}) {
      config.topics.emplace_back(format, DefaultTopicFilter(format));
    }
  } else {
    for (absl::string_view entry : absl::StrSplit(topics, ',', absl::SkipWhitespace())) {
      std::pair<absl::string_view, absl::string_view> parts =
          absl::StrSplit(entry, absl::MaxSplits(':', 1));
      std::optional<Format> format = FormatFromName(parts.first);
      if (!format.has_value() || parts.second.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "PLANTMON_MQTT_TOPICS entries are format:filter with a format of zigbee2mqtt, "
            "tasmota, openmqttgateway, esphome or native; \"",
            entry, "\" is not"));
      }
      config.topics.emplace_back(*format, std::string(parts.second));
    }
  }
  config.keys = DefaultKeyTable();
  if (absl::Status extended = ExtendKeyTable(Environment("PLANTMON_MQTT_KEYS"), config.keys);
      !extended.ok()) {
    return extended;
  }
  if (absl::Status read =
          ReadInt("PLANTMON_MQTT_BATCH_READINGS", 1, 10000, config.max_batch_readings);
      !read.ok()) {
    return read;
  }
  int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(config.max_batch_wait));
  if (absl::Status read = ReadInt("PLANTMON_MQTT_BATCH_WAIT_MS", 0, 10000, wait_ms); !read.ok()) {
    return read;
  }
  config.max_batch_wait = absl::Milliseconds(wait_ms);
  if (absl::Status read =
          ReadInt("PLANTMON_MQTT_CRASH_AFTER_BATCHES", 0, 1000000, config.crash_after_batches);
      !read.ok()) {
    return read;
  }
  return config;
}

Bridge::Bridge(BridgeConfig config)
    : config_(std::move(config)),
      server_(std::make_unique<ServerLink>(config_.server_address, config_.api_key)),
      last_counters_log_(absl::Now()),
      // Batch keys must not repeat across restarts (a committed key with other
      // readings is refused): start from the clock, in microseconds.
      next_sequence_(static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()))) {}

void Bridge::Run(const std::atomic<bool>& stop) {
  committer_ = std::make_unique<Committer>(
      *server_,
      [this](const std::string& problem) {
        Problem(absl::StrCat("server ", config_.server_address), problem);
      },
      stop);
  RunSessions(stop);
  committer_.reset();
}

Bridge::~Bridge() = default;

void Bridge::Problem(const std::string& subject, const std::string& problem) {
  std::lock_guard<std::mutex> lock(problems_mutex_);
  auto it = problems_.find(subject);
  if (it != problems_.end()) {
    ++it->second;
    return;
  }
  if (problems_.size() >= kMaxRememberedProblems) return;
  problems_.emplace(subject, 1);
  std::cerr << "plantmon_mqtt_bridge: " << subject << ": " << problem
            << " (logged once; later problems of this "
            << "source are counted)" << std::endl;
}

void Bridge::MaybeLogCounters() {
  if (absl::Now() - last_counters_log_ < kCountersLogInterval) return;
  last_counters_log_ = absl::Now();
  const BridgeCounters& c = counters_;
  if (c.messages == logged_counters_.messages) return;
  logged_counters_ = c;
  std::cerr << "plantmon_mqtt_bridge: " << c.messages << " messages (" << c.refused_messages
            << " refused, " << c.unknown_keys << " unknown keys), " << c.readings_sent
            << " readings sent: " << c.accepted << " stored, " << c.duplicates << " duplicates, "
            << c.rejected << " rejected" << std::endl;
}

void Bridge::RunSessions(const std::atomic<bool>& stop) {
  absl::Duration delay = kFirstBackoff;
  while (!stop) {
    const absl::Time started = absl::Now();
    absl::Status ended = RunSession(stop);
    if (stop) break;
    std::cerr << "plantmon_mqtt_bridge: " << ended.message() << "; reconnecting" << std::endl;
    // A connection that lived a while starts the backoff again.
    if (absl::Now() - started > kMaxBackoff) delay = kFirstBackoff;
    Backoff(delay, stop);
  }
}

absl::Status Bridge::RunSession(const std::atomic<bool>& stop) {
  SessionOptions options;
  options.client_id = config_.client_id;
  options.max_payload_bytes = kMaxPayloadBytes;
  absl::StatusOr<std::unique_ptr<MqttSession>> connected =
      MqttSession::Connect(config_.broker, options);
  if (!connected.ok()) return connected.status();
  MqttSession& session = **connected;
  std::vector<std::string> filters;
  for (const auto& [format, filter] : config_.topics) filters.push_back(filter);
  if (absl::Status subscribed = session.Subscribe(filters); !subscribed.ok()) return subscribed;
  std::cerr << "plantmon_mqtt_bridge: subscribed to " << absl::StrJoin(filters, ", ") << " on "
            << config_.broker.host << ":" << config_.broker.port
            << (session.session_present() ? " (session resumed)" : "") << std::endl;
  absl::Status ended = Forward(session, stop);
  // Batches still with the server are not acknowledged on this connection:
  // the broker delivers their messages again, and the receipts committed
  // with them keep those from being stored twice.
  while (committer_->in_flight() > 0) Conclude(committer_->TakeDone(absl::Milliseconds(100)));
  concluded_.clear();
  if (stop) session.Disconnect();
  return ended;
}

absl::Status Bridge::Forward(MqttSession& session, const std::atomic<bool>& stop) {
  // Acknowledges the messages of the batches that are done.
  auto acknowledge = [&](std::vector<std::unique_ptr<Batch>> done) -> absl::Status {
    for (const Batch* batch : Conclude(std::move(done))) {
      for (const HeldMessage& entry : batch->held) {
        if (entry.message.qos == 0) continue;
        if (absl::Status acked = session.Acknowledge(entry.message.packet_id); !acked.ok()) {
          return acked;
        }
      }
    }
    concluded_.clear();
    return absl::OkStatus();
  };
  std::unique_ptr<Batch> current;
  int readings = 0;
  absl::Time deadline;
  while (!stop) {
    MaybeLogCounters();
    if (absl::Status acked = acknowledge(committer_->TakeDone(absl::ZeroDuration())); !acked.ok()) {
      return acked;
    }
    if (current != nullptr && (readings >= config_.max_batch_readings || absl::Now() >= deadline)) {
      if (committer_->in_flight() < kMaxBatchesInFlight) {
        Submit(std::move(current));
        current = nullptr;
        readings = 0;
        continue;
      }
      // The server is busy with earlier batches: wait for one, answering
      // the broker's pings meanwhile (what arrives is kept for later).
      if (absl::Status polled = session.Poll(absl::ZeroDuration()); !polled.ok()) return polled;
      if (absl::Status acked = acknowledge(committer_->TakeDone(absl::Milliseconds(10)));
          !acked.ok()) {
        return acked;
      }
      continue;
    }
    absl::Duration wait = absl::Seconds(1);
    if (current != nullptr) {
      wait = std::max(deadline - absl::Now(), absl::ZeroDuration());
    } else if (committer_->in_flight() > 0) {
      wait = absl::Milliseconds(5);  // back soon to acknowledge what commits
    }
    absl::StatusOr<std::optional<ReceivedMessage>> next = session.Next(wait);
    if (!next.ok()) return next.status();  // what is held is delivered again
    if (!next->has_value()) continue;
    if (current == nullptr) {
      current = std::make_unique<Batch>();
      deadline = absl::Now() + config_.max_batch_wait;
    }
    readings += Hold(std::move(**next), *current);
  }
  // A batch still being collected is not acknowledged: delivered again.
  return absl::CancelledError("stopping");
}

int Bridge::Hold(ReceivedMessage message, Batch& batch) {
  ++counters_.messages;
  HeldMessage entry{std::move(message), {}};
  const ReceivedMessage& received = entry.message;
  const auto route =
      std::find_if(config_.topics.begin(), config_.topics.end(),
                   [&](const auto& topic) { return TopicMatches(topic.second, received.topic); });
  absl::StatusOr<ParsedMessage> parsed =
      received.oversized
          ? absl::InvalidArgumentError(absl::StrCat("a payload of ", received.payload_size,
                                                    " bytes (at most ", kMaxPayloadBytes, ")"))
      : route == config_.topics.end()
          ? absl::InvalidArgumentError("no format subscribed to this topic")
          : ParseMessage(route->first, received.topic, received.payload, config_.keys, absl::Now());
  if (!parsed.ok()) {
    ++counters_.refused_messages;
    Problem(absl::StrCat("topic \"", received.topic, "\""), std::string(parsed.status().message()));
  } else {
    counters_.unknown_keys += static_cast<int64_t>(parsed->unknown_keys.size());
    for (v1::IncomingReading& reading : parsed->readings) {
      if (!parsed->device.empty()) reading.set_unique_identifier(parsed->device);
      entry.readings.push_back(std::move(reading));
    }
  }
  const int count = static_cast<int>(entry.readings.size());
  batch.held.push_back(std::move(entry));
  return count;
}

void Bridge::Submit(std::unique_ptr<Batch> batch) {
  // QoS 1 messages first, as source messages; QoS 0 readings (nothing to
  // acknowledge, nothing delivered again) after them.
  v1::StreamReadingsRequest& request = batch->request;
  request.set_gateway_id("mqtt:" + config_.client_id);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t m = 0; m < batch->held.size(); ++m) {
      const HeldMessage& entry = batch->held[m];
      if ((entry.message.qos > 0) != (pass == 0)) continue;
      if (pass == 0) {
        v1::SourceMessage* source = request.add_source_messages();
        source->set_id(entry.message.packet_id);
        source->set_digest(common::Sha256(absl::StrCat(
            entry.message.topic.size(), ":", entry.message.topic, entry.message.payload)));
        source->set_redelivered(entry.message.redelivered);
        source->set_reading_count(static_cast<uint32_t>(entry.readings.size()));
      }
      for (const v1::IncomingReading& reading : entry.readings) {
        *request.add_readings() = reading;
        batch->message_of_reading.push_back(m);
      }
    }
  }
  if (request.readings_size() > 0) {
    request.set_sequence(next_sequence_++);
    counters_.readings_sent += request.readings_size();
  }
  committer_->Submit(std::move(batch));
}

std::vector<const Batch*> Bridge::Conclude(std::vector<std::unique_ptr<Batch>> done) {
  std::vector<const Batch*> committed;
  for (std::unique_ptr<Batch>& batch : done) {
    const v1::StreamReadingsRequest& request = batch->request;
    if (request.readings_size() == 0) {
      // Nothing to store (refused or reading-less messages): acknowledged.
    } else if (batch->outcome.ok()) {
      const v1::StreamReadingsResponse& ack = *batch->outcome;
      counters_.accepted += ack.accepted_count();
      counters_.duplicates += ack.duplicate_count();
      counters_.rejected += ack.rejected_count();
      for (const v1::RejectedReading& rejected : ack.rejected_readings()) {
        if (rejected.index() < 0 || rejected.index() >= request.readings_size()) continue;
        const HeldMessage& from = batch->held[batch->message_of_reading[rejected.index()]];
        const v1::IncomingReading& reading = request.readings(rejected.index());
        Problem(reading.has_device_id() ? absl::StrCat("device ", reading.device_id())
                                        : absl::StrCat("device \"", reading.unique_identifier(),
                                                       "\" (topic \"", from.message.topic, "\")"),
                rejected.reason());
      }
      if (++batches_committed_ == config_.crash_after_batches) {
        std::cerr << "plantmon_mqtt_bridge: PLANTMON_MQTT_CRASH_AFTER_BATCHES reached; "
                     "exiting before the acknowledgements"
                  << std::endl;
        _exit(9);
      }
    } else if (batch->outcome.status().code() == absl::StatusCode::kInvalidArgument) {
      // The server refuses the batch as a whole, which no retry changes: say
      // so and let its messages go rather than hold them for ever.
      std::cerr << "plantmon_mqtt_bridge: the server refused a batch of " << request.readings_size()
                << " readings: " << batch->outcome.status().message() << std::endl;
      counters_.rejected += request.readings_size();
    } else {
      continue;  // not stored (stopping): not acknowledged, delivered again
    }
    concluded_.push_back(std::move(batch));
    committed.push_back(concluded_.back().get());
  }
  return committed;
}

}  // namespace plantmon::mqtt
