#include <deque>
#include <iterator>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "alerting/rules.h"
#include "common/sha256.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "services/callback_stream.h"
#include "services/grpc_status.h"
#include "services/handler.h"
#include "services/pagination.h"
#include "services/plantmon_services.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"
#include "storage/partition_keeper.h"

namespace plantmon::services {
namespace {

// Clocks of gateways drift; a reading further in the future is refused.
constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
// Readings are small: a day at one a minute fits one page.
constexpr PageSizeLimits kReadingPageLimits{1000, 10000};
constexpr int64_t kMaxBuckets = 10000;
constexpr size_t kMaxLatestDevices = 1000;

// The shortest a calendar bucket can be, for the bucket cap: an hour of a
// zone that moves its clocks by 30 minutes, a day or week that loses an hour,
// the shortest month.
struct CalendarUnit {
  const char* name;
  absl::Duration shortest;
};
constexpr CalendarUnit kCalendarUnits[] = {
    {"hour", absl::Minutes(30)},
    {"day", absl::Hours(23)},
    {"week", absl::Hours(7 * 24 - 1)},
    {"month", absl::Hours(28 * 24 - 1)},
};

// Fills `query`'s buckets from the request (bucket_width, or calendar_unit
// and time_zone) and returns how many the range could make at most.
absl::StatusOr<int64_t> CheckBuckets(const v1::AggregateSensorDataRequest& request,
                                     absl::Time start, absl::Time end,
                                     storage::AggregateQuery& query) {
  const absl::Duration width = absl::Seconds(request.bucket_width().seconds()) +
                               absl::Nanoseconds(request.bucket_width().nanos());
  if (request.calendar_unit().empty()) {
    if (!request.time_zone().empty()) {
      return absl::InvalidArgumentError("time_zone applies to calendar_unit buckets only");
    }
    if (width < absl::Minutes(1) || width > absl::Hours(24)) {
      return absl::InvalidArgumentError(
          "bucket_width must be from one minute to one day (or use calendar_unit)");
    }
    query.bucket_width = width;
    return absl::Ceil(end - start, width) / width;
  }
  if (request.has_bucket_width()) {
    return absl::InvalidArgumentError("set bucket_width or calendar_unit, not both");
  }
  const CalendarUnit* unit = nullptr;
  for (const CalendarUnit& candidate : kCalendarUnits) {
    if (request.calendar_unit() == candidate.name) unit = &candidate;
  }
  if (unit == nullptr) {
    return absl::InvalidArgumentError(
        R"(calendar_unit must be one of "hour", "day", "week" and "month")");
  }
  RETURN_IF_ERROR(CheckTimeZone(request.time_zone(), "time_zone"));
  query.calendar_unit = unit->name;
  query.time_zone = request.time_zone().empty() ? "UTC" : request.time_zone();
  // The range may begin and end inside a bucket: one more on each side.
  return absl::Ceil(end - start, unit->shortest) / unit->shortest + 2;
}

// The checks every reading passes before it reaches storage, whichever
// method brought it. A failure is the reason reported for that reading.
// `retention` is how long raw readings are kept, if not forever
// (storage/partition_keeper.h): an older reading has no partition to go to.
absl::Status CheckReading(const storage::IncomingReading& reading, absl::Time now,
                          const std::optional<absl::Duration>& retention) {
  if (reading.device_id) {
    RETURN_IF_ERROR(CheckId(*reading.device_id, "device_id"));
  } else if (reading.unique_identifier) {
    RETURN_IF_ERROR(CheckText(*reading.unique_identifier, "unique_identifier", 255, true));
  } else {
    return absl::InvalidArgumentError("device_id or unique_identifier is required");
  }
  RETURN_IF_ERROR(CheckFinite(reading.measurement_value, "measurement_value"));
  if (reading.measurement_unit) {
    RETURN_IF_ERROR(CheckText(*reading.measurement_unit, "measurement_unit", 50, false));
  }
  RETURN_IF_ERROR(CheckRange(reading.data_quality, "data_quality", 0, 100));
  if (reading.parameter_name) {
    RETURN_IF_ERROR(alerting::CheckParameterName(*reading.parameter_name, "parameter_name"));
  }
  if (reading.raw_data) {
    RETURN_IF_ERROR(CheckText(*reading.raw_data, "raw_data", kMaxTextBytes, false));
  }
  if (reading.timestamp > now + kMaxClockSkew) {
    return absl::InvalidArgumentError("timestamp is more than 5 minutes in the future");
  }
  if (reading.timestamp < storage::OldestAcceptedReading(now, retention)) {
    const int64_t days = absl::ToInt64Hours(*retention) / 24;
    return absl::InvalidArgumentError(absl::StrCat(
        "timestamp is more than ", days, " days old: raw readings are kept for ", days, " days"));
  }
  return absl::OkStatus();
}

absl::StatusOr<storage::IncomingReading> FromIncoming(
    const v1::IncomingReading& in, int64_t index, absl::Time now,
    const std::optional<absl::Duration>& retention) {
  storage::IncomingReading reading;
  reading.index = index;
  if (in.device_case() == v1::IncomingReading::kDeviceId) reading.device_id = in.device_id();
  if (in.device_case() == v1::IncomingReading::kUniqueIdentifier) {
    reading.unique_identifier = in.unique_identifier();
  }
  reading.measurement_value = in.measurement_value();
  reading.measurement_unit = OptionalField(in.has_measurement_unit(), in.measurement_unit());
  reading.data_quality = in.has_data_quality() ? in.data_quality() : 100;
  reading.is_anomaly = OptionalField(in.has_is_anomaly(), in.is_anomaly());
  if (!in.has_timestamp()) return absl::InvalidArgumentError("timestamp is required");
  ASSIGN_OR_RETURN(reading.timestamp, TimeFromProto(in.timestamp(), "timestamp"));
  reading.raw_data = OptionalField(in.has_raw_data(), in.raw_data());
  reading.parameter_name = OptionalField(in.has_parameter_name(), in.parameter_name());
  RETURN_IF_ERROR(CheckReading(reading, now, retention));
  return reading;
}

// Validates a batch: good readings to store, bad ones rejected with reasons.
void SplitBatch(const google::protobuf::RepeatedPtrField<v1::IncomingReading>& batch,
                int64_t first_index, const std::optional<absl::Duration>& retention,
                std::vector<storage::IncomingReading>& valid,
                std::vector<storage::RejectedReading>& rejected) {
  const absl::Time now = absl::Now();
  valid.reserve(batch.size());
  int64_t index = first_index;
  for (const v1::IncomingReading& in : batch) {
    absl::StatusOr<storage::IncomingReading> reading = FromIncoming(in, index, now, retention);
    if (reading.ok()) {
      valid.push_back(*std::move(reading));
    } else {
      rejected.push_back({index, std::string(reading.status().message())});
    }
    ++index;
  }
}

template <typename Response>
void AddRejections(const storage::IngestResult& result, Response* response) {
  for (const storage::RejectedReading& rejection : result.rejections) {
    v1::RejectedReading* out = response->add_rejected_readings();
    out->set_index(rejection.index);
    out->set_reason(rejection.reason);
  }
}

// A gateway batch's idempotency key: a gateway_id and a positive sequence,
// with the digest of the readings it carries (a replay must carry the same).
absl::StatusOr<storage::BatchKey> BatchKeyOf(
    const std::string& gateway_id, uint64_t sequence,
    const google::protobuf::RepeatedPtrField<v1::IncomingReading>& readings) {
  RETURN_IF_ERROR(CheckText(gateway_id, "gateway_id", 255, true));
  if (sequence == 0 || sequence > INT64_MAX) {
    return absl::InvalidArgumentError("sequence must be positive with a gateway_id");
  }
  // Each reading as serialized, length first, so that no two batches share
  // the bytes hashed.
  std::string content;
  for (const v1::IncomingReading& reading : readings) {
    const std::string bytes = reading.SerializeAsString();
    absl::StrAppend(&content, bytes.size(), ":", bytes);
  }
  return storage::BatchKey{gateway_id, static_cast<int64_t>(sequence), common::Sha256(content)};
}

// The source messages of a StreamReadings batch (docs/telemetry.md, "Source
// messages"): unique ids, digests of 1-64 bytes, counts covering at most the
// batch's readings.
absl::Status AddSourceMessages(const v1::StreamReadingsRequest& request, storage::BatchKey& key) {
  std::set<uint32_t> ids;
  int64_t next_index = 0;
  for (int i = 0; i < request.source_messages_size(); ++i) {
    const v1::SourceMessage& message = request.source_messages(i);
    const std::string field = absl::StrCat("source_messages[", i, "]");
    if (!ids.insert(message.id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".id ", message.id(), " appears twice in the batch"));
    }
    if (message.digest().empty() || message.digest().size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".digest must be 1-64 bytes"));
    }
    key.source_messages.push_back({message.id(), message.digest(), message.redelivered(),
                                   next_index, message.reading_count()});
    next_index += message.reading_count();
  }
  // Readings after the last covered one came from no tracked message (MQTT
  // QoS 0: nothing is acknowledged or redelivered).
  if (next_index > request.readings_size()) {
    return absl::InvalidArgumentError(absl::StrCat("source_messages cover ", next_index,
                                                   " readings; the batch has only ",
                                                   request.readings_size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> RequiredTime(bool present, const google::protobuf::Timestamp& value,
                                        absl::string_view field) {
  if (!present) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  return TimeFromProto(value, field);
}

// What the per-device reading queries check alike: the device id, the
// optional quality floor and parameter, and the required time range, which it
// returns.
template <typename Request>
absl::StatusOr<TimeRange> CheckReadingQuery(const Request& request) {
  RETURN_IF_ERROR(CheckId(request.device_id(), "device_id"));
  if (request.has_min_quality()) {
    RETURN_IF_ERROR(CheckRange(request.min_quality(), "min_quality", 0, 100));
  }
  if (request.has_parameter_name()) {
    RETURN_IF_ERROR(alerting::CheckParameterName(request.parameter_name(), "parameter_name"));
  }
  return RequiredTimeRange(request);
}

// gRPC reports a stream message that does not parse (a string field that is
// not UTF-8) just like the end of the stream: the read fails either way, and
// the call would end OK with every later message silently dropped. One more
// read tells the two apart whenever something follows the bad message; a bad
// last message still looks like the end (nothing after it is lost then).
// Only for client streams: their client half-closes before it waits for the
// answer, so the extra read cannot wait on a client that is itself waiting.
absl::Status UnparseableMessage(int64_t messages_read) {
  return absl::InvalidArgumentError(
      absl::StrCat("message ", messages_read + 1,
                   " of the stream is not a valid message (for example, a string field that is not "
                   "UTF-8); the messages before it were processed, the rest were not"));
}

// A stream's batch checked reading by reading (SplitBatch), with its key
// when it has one.
storage::BatchToStore BatchOf(
    const google::protobuf::RepeatedPtrField<v1::IncomingReading>& readings, int64_t first_index,
    const std::optional<absl::Duration>& retention, std::optional<storage::BatchKey> key) {
  storage::BatchToStore batch;
  SplitBatch(readings, first_index, retention, batch.readings, batch.rejected);
  batch.key = std::move(key);
  return batch;
}

// UploadReadings: messages are read one at a time and each is stored on the
// database executor before the next is read; the totals are the answer.
class UploadStream final
    : public CallbackStream<grpc::ServerReadReactor<v1::UploadReadingsRequest>> {
 public:
  UploadStream(CallRuntime& runtime, storage::IngestRepository& ingest,
               std::optional<absl::Duration> retention, grpc::CallbackServerContext* context,
               v1::UploadReadingsResponse* response)
      : CallbackStream(runtime, context, Access::kIngestion),
        ingest_(ingest),
        retention_(retention),
        response_(response) {
    Open();
  }

  void OnReadDone(bool ok) override {
    if (context().IsCancelled()) {
      Stop(absl::CancelledError("the client went away"));
    } else if (checking_end_) {
      Stop(ok ? UnparseableMessage(messages_read_) : absl::OkStatus());
    } else if (!ok) {
      checking_end_ = true;
      IfRunning([this] { StartRead(&request_); });
    } else {
      ++messages_read_;
      Submit([this] { StoreMessage(); });
    }
  }

 private:
  void Opened() override {
    IfRunning([this] { StartRead(&request_); });
  }

  void StoreMessage() {
    absl::Status stored = [&]() -> absl::Status {
      std::optional<storage::BatchKey> key;
      if (!request_.gateway_id().empty() || request_.sequence() != 0) {
        ASSIGN_OR_RETURN(
            key, BatchKeyOf(request_.gateway_id(), request_.sequence(), request_.readings()));
      }
      const int64_t first_index = next_index_;
      next_index_ += request_.readings_size();
      // Nothing a stream sends after its credential was revoked is stored.
      if (lease().revoked()) return RevokedCredential();
      ASSIGN_OR_RETURN(
          storage::IngestResult result,
          ingest_.Ingest(lease().caller().user_id(),
                         BatchOf(request_.readings(), first_index, retention_, std::move(key)),
                         [this] { return ending(); }));
      response_->set_accepted_count(response_->accepted_count() + result.accepted);
      response_->set_duplicate_count(response_->duplicate_count() + result.duplicate);
      response_->set_rejected_count(response_->rejected_count() + result.rejected);
      AddRejections(result, response_);
      return absl::OkStatus();
    }();
    if (!stored.ok()) {
      Stop(stored);
      return;
    }
    IfRunning([this] { StartRead(&request_); });
  }

  storage::IngestRepository& ingest_;
  const std::optional<absl::Duration> retention_;
  v1::UploadReadingsResponse* const response_;
  // One message at a time: request_ is read, then stored, then the next read.
  v1::UploadReadingsRequest request_;
  int64_t messages_read_ = 0;
  int64_t next_index_ = 0;
  bool checking_end_ = false;  // the read after the last one (UnparseableMessage)
};

// StreamReadings: an open gateway stream holds no thread. Batches are read
// ahead of their storing, a bounded few (kBatchesAhead, kBytesAhead); those
// waiting when the executor takes them are stored together
// (IngestRepository::IngestBatches: one transaction for batches that follow
// one another in time), and each is acknowledged, in order, once committed.
// A revoked credential ends the stream with UNAUTHENTICATED at once, whatever
// it is waiting for, and nothing it sends after that is stored.
//
// No extra read (UnparseableMessage) here: a gateway that sends a batch and
// waits for its acknowledgement must not wait on it. An unparseable batch
// ends the stream instead, unacknowledged with all after it
// (docs/telemetry.md). So does a batch that cannot be stored, once the
// batches before it are acknowledged.
class GatewayStream final
    : public CallbackStream<
          grpc::ServerBidiReactor<v1::StreamReadingsRequest, v1::StreamReadingsResponse>> {
 public:
  // Beside the batches being stored: the batches a stream holds read and not
  // yet stored, or stored and not yet acknowledged. And the bytes of the
  // batches read and not yet committed, the next read aside: a stream holds
  // under kBytesAhead plus one message (docs/telemetry.md, "Batches stored
  // together"). The next batches are read while a group is stored, so that
  // they wait for the next transaction together.
  static constexpr size_t kBatchesAhead = 8;
  static constexpr size_t kBytesAhead = size_t{4} << 20;

  GatewayStream(CallRuntime& runtime, storage::IngestRepository& ingest,
                std::optional<absl::Duration> retention, grpc::CallbackServerContext* context)
      : CallbackStream(runtime, context, Access::kIngestion),
        ingest_(ingest),
        retention_(retention) {
    Open();
  }

  void OnReadDone(bool ok) override {
    bool store = false;
    {
      std::lock_guard<std::mutex> lock(mutex());
      reading_ = false;
      if (!ok) {
        // The gateway closed its side (or went away): the stream ends once
        // every batch it sent is answered.
        read_closed_ = true;
        cancelled_ = context().IsCancelled();
      } else {
        received_bytes_ += incoming_.ByteSizeLong();
        received_.push_back(std::move(incoming_));
        incoming_.Clear();
        store = !storing_;
        storing_ = true;
        StartReadLocked();
      }
    }
    if (store) Submit([this] { StoreReceived(); });
    FinishWhenAnswered();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Stop(absl::CancelledError("the client went away"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex());
      writing_ = false;
      acks_.pop_front();
      StartWriteLocked();
      StartReadLocked();
    }
    FinishWhenAnswered();
  }

 private:
  void Opened() override {
    std::lock_guard<std::mutex> lock(mutex());
    StartReadLocked();
  }

  // With mutex() held, as every Start...Locked: reads the next batch unless
  // one is being read, the gateway closed its side, the stream failed, or
  // the stream holds its bound.
  void StartReadLocked() {
    const size_t held = received_.size() + acks_.size();
    const size_t uncommitted_bytes = received_bytes_ + storing_bytes_;
    const bool room = (held == 0 && uncommitted_bytes == 0) ||
                      (held < kBatchesAhead && uncommitted_bytes < kBytesAhead);
    if (finished_locked() || reading_ || read_closed_ || failure_.has_value() || !room) return;
    reading_ = true;
    StartRead(&incoming_);
  }

  void StartWriteLocked() {
    if (finished_locked() || writing_ || acks_.empty()) return;
    writing_ = true;
    StartWrite(&acks_.front());
  }

  // On the database executor, one task at a time: stores what was received,
  // and again while more arrived meanwhile.
  void StoreReceived() {
    std::vector<v1::StreamReadingsRequest> batches;
    {
      std::lock_guard<std::mutex> lock(mutex());
      TakeReceivedLocked(batches);
    }
    while (!batches.empty()) {
      std::vector<v1::StreamReadingsResponse> acks;
      const absl::Status stored = StoreBatches(batches, acks);
      batches.clear();
      std::lock_guard<std::mutex> lock(mutex());
      storing_bytes_ = 0;
      for (v1::StreamReadingsResponse& ack : acks) acks_.push_back(std::move(ack));
      if (!stored.ok()) failure_ = stored;
      // The next group is taken before reading resumes, so that the bytes
      // bound counts it.
      TakeReceivedLocked(batches);
      StartWriteLocked();
      StartReadLocked();
    }
    FinishWhenAnswered();
  }

  // Moves what waits to be stored into `batches`; when there is nothing (or
  // the stream is over), the storing task ends.
  void TakeReceivedLocked(std::vector<v1::StreamReadingsRequest>& batches) {
    if (received_.empty() || finished_locked() || failure_.has_value()) {
      storing_ = false;
      return;
    }
    batches.assign(std::make_move_iterator(received_.begin()),
                   std::make_move_iterator(received_.end()));
    received_.clear();
    storing_bytes_ = received_bytes_;
    received_bytes_ = 0;
  }

  // Stores `batches` in order and adds the acknowledgement of each one
  // committed to `acks`; the status is that of the first batch that could
  // not be stored (those after it are not).
  absl::Status StoreBatches(const std::vector<v1::StreamReadingsRequest>& batches,
                            std::vector<v1::StreamReadingsResponse>& acks) {
    std::vector<storage::BatchToStore> to_store;
    absl::Status invalid;
    for (const v1::StreamReadingsRequest& request : batches) {
      absl::StatusOr<storage::BatchKey> key =
          BatchKeyOf(request.gateway_id(), request.sequence(), request.readings());
      invalid = key.ok() ? AddSourceMessages(request, *key) : key.status();
      if (!invalid.ok()) break;
      to_store.push_back(BatchOf(request.readings(), 0, retention_, *std::move(key)));
    }
    if (lease().revoked()) return RevokedCredential();
    if (to_store.empty()) return invalid;
    const std::vector<absl::StatusOr<storage::IngestResult>> results =
        ingest_.IngestBatches(lease().caller().user_id(), to_store, [this] { return ending(); });
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) return results[i].status();
      v1::StreamReadingsResponse& ack = acks.emplace_back();
      ack.set_sequence(batches[i].sequence());
      ack.set_accepted_count(results[i]->accepted);
      ack.set_duplicate_count(results[i]->duplicate);
      ack.set_rejected_count(results[i]->rejected);
      AddRejections(*results[i], &ack);
    }
    return invalid;
  }

  // Ends the stream once nothing is left to store or acknowledge: with the
  // failure that stopped it, or when the gateway closed its side.
  void FinishWhenAnswered() {
    std::optional<absl::Status> status;
    {
      std::lock_guard<std::mutex> lock(mutex());
      if (storing_ || writing_ || !acks_.empty()) return;
      if (failure_.has_value()) {
        status = *failure_;
      } else if (read_closed_ && received_.empty()) {
        status = cancelled_ ? absl::CancelledError("the client went away") : absl::OkStatus();
      }
    }
    if (status.has_value()) Stop(*status);
  }

  storage::IngestRepository& ingest_;
  const std::optional<absl::Duration> retention_;
  // Guarded by mutex() (but for incoming_, which the read in flight owns).
  v1::StreamReadingsRequest incoming_;
  std::deque<v1::StreamReadingsRequest> received_;  // read, not yet stored
  size_t received_bytes_ = 0;                       // of received_
  size_t storing_bytes_ = 0;                        // of the batches being stored
  std::deque<v1::StreamReadingsResponse> acks_;     // the front one is being written when writing_
  bool reading_ = false;
  bool storing_ = false;  // a StoreReceived task is submitted or running
  bool writing_ = false;
  bool read_closed_ = false;
  bool cancelled_ = false;
  std::optional<absl::Status> failure_;
};

// plantmon.v1.TelemetryService: readings in (one at a time, uploaded or streamed by gateways) and
// out (pages, latest, aggregates).
class TelemetryService final : public RpcService {
 public:
  TelemetryService(Backends& backends, CallRuntime& runtime)
      : RpcService(v1::TelemetryService::service_full_name(), runtime),
        telemetry_(backends.telemetry),
        ingest_(backends.ingest),
        raw_retention_(backends.raw_retention) {
    AddIngestMethods();
    AddQueryMethods();
  }

 private:
  void AddIngestMethods();
  void AddQueryMethods();

  storage::TelemetryRepository& telemetry_;
  storage::IngestRepository& ingest_;
  const std::optional<absl::Duration> raw_retention_;
};

void TelemetryService::AddIngestMethods() {
  Ingestion(
      "RecordReading",
      [this](const auth::Caller& caller, const v1::RecordReadingRequest& request,
             v1::SensorData* response) -> absl::Status {
        const v1::SensorData& value = request.sensor_data();
        storage::IncomingReading reading;
        reading.device_id = value.device_id();
        reading.measurement_value = value.measurement_value();
        reading.measurement_unit =
            OptionalField(value.has_measurement_unit(), value.measurement_unit());
        // Unset means 100, as on the other ingest paths; 0 ("unusable") is valid.
        reading.data_quality = value.has_data_quality() ? value.data_quality() : 100;
        if (value.is_anomaly()) reading.is_anomaly = true;
        reading.raw_data = OptionalField(value.has_raw_data(), value.raw_data());
        reading.parameter_name = OptionalField(value.has_parameter_name(), value.parameter_name());
        ASSIGN_OR_RETURN(reading.timestamp, RequiredTime(value.has_timestamp(), value.timestamp(),
                                                         "sensor_data.timestamp"));
        if (absl::Status valid = CheckReading(reading, absl::Now(), raw_retention_); !valid.ok()) {
          return absl::InvalidArgumentError(absl::StrCat("sensor_data.", valid.message()));
        }
        ASSIGN_OR_RETURN(storage::SensorReading stored,
                         ingest_.IngestOne(caller.user_id(), reading));
        *response = ToProto(stored);
        return absl::OkStatus();
      });

  CallbackClientStream<v1::UploadReadingsRequest, v1::UploadReadingsResponse>(
      "UploadReadings",
      [this](grpc::CallbackServerContext* context, v1::UploadReadingsResponse* response) {
        return new UploadStream(runtime(), ingest_, raw_retention_, context, response);
      });

  CallbackBidiStream<v1::StreamReadingsRequest, v1::StreamReadingsResponse>(
      "StreamReadings", [this](grpc::CallbackServerContext* context) {
        return new GatewayStream(runtime(), ingest_, raw_retention_, context);
      });
}

void TelemetryService::AddQueryMethods() {
  SignedIn(
      "ListSensorData",
      [this](const auth::Caller& caller, const v1::ListSensorDataRequest& request,
             v1::ListSensorDataResponse* response) -> absl::Status {
        ASSIGN_OR_RETURN(TimeRange range, CheckReadingQuery(request));
        const absl::Time start = range.start;
        const absl::Time end = range.end;
        QueryFingerprint query("ListSensorData");
        query.Add("device_id", request.device_id())
            .Add("start", absl::ToUnixMicros(start))
            .Add("end", absl::ToUnixMicros(end))
            .Add("newest_first", int64_t{request.newest_first()})
            .Add("exclude_anomalies", int64_t{request.exclude_anomalies()})
            .AddOptional("min_quality", request.has_min_quality(), int64_t{request.min_quality()});
        query.AddOptional("parameter_name", request.has_parameter_name(), request.parameter_name());
        ASSIGN_OR_RETURN(PageCursor cursor, ParsePage(request.page_size(), request.page_token(),
                                                      query, 2, kReadingPageLimits));
        storage::ReadingQuery reading_query;
        reading_query.device_id = request.device_id();
        reading_query.start_time = start;
        reading_query.end_time = end;
        if (!cursor.position.empty()) {
          reading_query.after =
              storage::ReadingCursor{absl::FromUnixMicros(cursor.position[0]), cursor.position[1]};
        }
        reading_query.limit = cursor.page_size + 1;
        reading_query.newest_first = request.newest_first();
        reading_query.min_quality = OptionalField(request.has_min_quality(), request.min_quality());
        reading_query.exclude_anomalies = request.exclude_anomalies();
        reading_query.parameter_name =
            OptionalField(request.has_parameter_name(), request.parameter_name());
        ASSIGN_OR_RETURN(std::vector<storage::SensorReading> readings,
                         telemetry_.List(caller.user_id(), reading_query));
        response->set_next_page_token(FinishPage(
            readings, cursor, query,
            [](const storage::SensorReading& reading) {
              return std::vector<int64_t>{absl::ToUnixMicros(reading.timestamp), reading.id};
            },
            [](const storage::SensorReading& reading) {
              // The variable parts, and a generous bound for the fixed ones.
              return (reading.raw_data ? reading.raw_data->size() : 0) +
                     (reading.measurement_unit ? reading.measurement_unit->size() : 0) + 96;
            }));
        response->mutable_sensor_data()->Reserve(static_cast<int>(readings.size()));
        for (const storage::SensorReading& reading : readings) {
          ToProto(reading, response->add_sensor_data());
        }
        return absl::OkStatus();
      });

  SignedIn("GetLatestReadings",
           [this](const auth::Caller& caller, const v1::GetLatestReadingsRequest& request,
                  v1::GetLatestReadingsResponse* response) -> absl::Status {
             if (request.has_plant_id() == !request.device_ids().empty()) {
               return absl::InvalidArgumentError("give either device_ids or plant_id");
             }
             std::vector<int64_t> devices;
             if (request.has_plant_id()) {
               RETURN_IF_ERROR(CheckId(request.plant_id(), "plant_id"));
               ASSIGN_OR_RETURN(
                   devices, telemetry_.ActiveDevicesOfPlant(caller.user_id(), request.plant_id()));
             } else {
               if (static_cast<size_t>(request.device_ids_size()) > kMaxLatestDevices) {
                 return absl::InvalidArgumentError(
                     absl::StrCat("device_ids may name at most ", kMaxLatestDevices, " devices"));
               }
               for (int64_t id : request.device_ids()) {
                 RETURN_IF_ERROR(CheckId(id, "device_ids"));
                 devices.push_back(id);
               }
             }
             if (devices.empty()) return absl::OkStatus();
             ASSIGN_OR_RETURN(std::vector<storage::SensorReading> readings,
                              telemetry_.Latest(caller.user_id(), devices));
             for (const storage::SensorReading& reading : readings) {
               *response->add_readings() = ToProto(reading);
             }
             return absl::OkStatus();
           });

  SignedIn("AggregateSensorData",
           [this](const auth::Caller& caller, const v1::AggregateSensorDataRequest& request,
                  v1::AggregateSensorDataResponse* response) -> absl::Status {
             ASSIGN_OR_RETURN(TimeRange range, CheckReadingQuery(request));
             const absl::Time start = range.start;
             const absl::Time end = range.end;
             storage::AggregateQuery query;
             ASSIGN_OR_RETURN(const int64_t buckets, CheckBuckets(request, start, end, query));
             if (buckets > kMaxBuckets) {
               return absl::InvalidArgumentError(
                   absl::StrCat("the range could make ", buckets, " buckets; the cap is ",
                                kMaxBuckets, ": widen the buckets or narrow the range"));
             }
             query.device_id = request.device_id();
             query.start_time = start;
             query.end_time = end;
             query.min_quality = OptionalField(request.has_min_quality(), request.min_quality());
             query.exclude_anomalies = request.exclude_anomalies();
             query.parameter_name =
                 OptionalField(request.has_parameter_name(), request.parameter_name());
             ASSIGN_OR_RETURN(std::vector<storage::ReadingBucket> rows,
                              telemetry_.Aggregate(caller.user_id(), query));
             for (const storage::ReadingBucket& row : rows) {
               v1::SensorDataBucket* bucket = response->add_buckets();
               // Calendar buckets may begin before the range; both kinds
               // are cut to it.
               SetTimestamp(std::max(row.start_time, start), bucket->mutable_start_time());
               SetTimestamp(std::min(row.end_time, end), bucket->mutable_end_time());
               bucket->set_count(row.count);
               bucket->set_min_value(row.min_value);
               bucket->set_max_value(row.max_value);
               bucket->set_avg_value(row.avg_value);
               bucket->set_first_value(row.first_value);
               bucket->set_last_value(row.last_value);
             }
             return absl::OkStatus();
           });
}

}  // namespace

std::unique_ptr<RpcService> NewTelemetryService(Backends& backends, CallRuntime& runtime) {
  return std::make_unique<TelemetryService>(backends, runtime);
}

}  // namespace plantmon::services
