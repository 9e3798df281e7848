#include "services/telemetry_service.h"

#include "services/handler.h"
#include "services/pagination.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {
namespace {

// Clocks of gateways drift; a reading further in the future is refused.
constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);

}  // namespace

grpc::Status TelemetryServiceImpl::RecordReading(grpc::ServerContext* context,
                                                 const v1::RecordReadingRequest* request,
                                                 v1::SensorData* response) {
  return HandleAuthenticated(authenticator_, context, [&](const auth::Caller& caller) -> absl::Status {
    const v1::SensorData& value = request->sensor_data();
    RETURN_IF_ERROR(CheckId(value.device_id(), "sensor_data.device_id"));
    RETURN_IF_ERROR(CheckFinite(value.measurement_value(), "sensor_data.measurement_value"));
    RETURN_IF_ERROR(CheckOptionalText(value.has_measurement_unit(), value.measurement_unit(),
                                      "sensor_data.measurement_unit", 50));
    RETURN_IF_ERROR(CheckRange(value.data_quality(), "sensor_data.data_quality", 0, 100));
    RETURN_IF_ERROR(CheckOptionalText(value.has_raw_data(), value.raw_data(),
                                      "sensor_data.raw_data", kMaxTextBytes));
    if (!value.has_timestamp()) {
      return absl::InvalidArgumentError("sensor_data.timestamp is required");
    }
    ASSIGN_OR_RETURN(absl::Time timestamp,
                     TimeFromProto(value.timestamp(), "sensor_data.timestamp"));
    if (timestamp > absl::Now() + kMaxClockSkew) {
      return absl::InvalidArgumentError(
          "sensor_data.timestamp is more than 5 minutes in the future");
    }
    storage::SensorReading reading;
    reading.device_id = value.device_id();
    reading.measurement_value = value.measurement_value();
    reading.measurement_unit =
        OptionalField(value.has_measurement_unit(), value.measurement_unit());
    // proto3 cannot tell 0 from unset for data_quality; 0 means "unusable",
    // which is still a valid quality, so the column default is not applied.
    reading.data_quality = value.data_quality();
    reading.is_anomaly = value.is_anomaly();
    reading.timestamp = timestamp;
    reading.raw_data = OptionalField(value.has_raw_data(), value.raw_data());
    ASSIGN_OR_RETURN(storage::SensorReading stored,
                     telemetry_.Record(caller.user_id(), reading));
    *response = ToProto(stored);
    return absl::OkStatus();
  });
}

grpc::Status TelemetryServiceImpl::ListSensorData(grpc::ServerContext* context,
                                                  const v1::ListSensorDataRequest* request,
                                                  v1::ListSensorDataResponse* response) {
  return HandleAuthenticated(authenticator_, context, [&](const auth::Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->device_id(), "device_id"));
    if (!request->has_start_time() || !request->has_end_time()) {
      return absl::InvalidArgumentError("start_time and end_time are required");
    }
    ASSIGN_OR_RETURN(absl::Time start, TimeFromProto(request->start_time(), "start_time"));
    ASSIGN_OR_RETURN(absl::Time end, TimeFromProto(request->end_time(), "end_time"));
    if (end <= start) {
      return absl::InvalidArgumentError("end_time must be after start_time");
    }
    QueryFingerprint query("ListSensorData");
    query.Add("device_id", request->device_id())
        .Add("start", absl::ToUnixMicros(start))
        .Add("end", absl::ToUnixMicros(end));
    ASSIGN_OR_RETURN(PageCursor cursor,
                     ParsePage(request->page_size(), request->page_token(), query, 2));
    storage::ReadingQuery reading_query;
    reading_query.device_id = request->device_id();
    reading_query.start_time = start;
    reading_query.end_time = end;
    if (!cursor.position.empty()) {
      reading_query.after = storage::ReadingCursor{
          absl::FromUnixMicros(cursor.position[0]), cursor.position[1]};
    }
    reading_query.limit = cursor.page_size + 1;
    ASSIGN_OR_RETURN(std::vector<storage::SensorReading> readings,
                     telemetry_.List(caller.user_id(), reading_query));
    response->set_next_page_token(
        FinishPage(readings, cursor, query, [](const storage::SensorReading& reading) {
          return std::vector<int64_t>{absl::ToUnixMicros(reading.timestamp), reading.id};
        }));
    for (const storage::SensorReading& reading : readings) {
      *response->add_sensor_data() = ToProto(reading);
    }
    return absl::OkStatus();
  });
}

}  // namespace plantmon::services
