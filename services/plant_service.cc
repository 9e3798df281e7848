#include <map>
#include <tuple>

#include "plantmon/v1/plant.grpc.pb.h"
#include "services/handler.h"
#include "services/pagination.h"
#include "services/plantmon_services.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {
namespace {

// Checks one plant-type field named by `path` (create checks them all).
absl::Status CheckPlantTypeField(const v1::PlantType& value, const std::string& path) {
  if (path == "name") return CheckText(value.name(), "plant_type.name", 255, true);
  if (path == "scientific_name") {
    return CheckOptionalText(value.has_scientific_name(), value.scientific_name(),
                             "plant_type.scientific_name", 255);
  }
  if (path == "description") {
    return CheckOptionalText(value.has_description(), value.description(), "plant_type.description",
                             kMaxTextBytes);
  }
  if (path == "care_instructions") {
    return CheckOptionalText(value.has_care_instructions(), value.care_instructions(),
                             "plant_type.care_instructions", kMaxTextBytes);
  }
  if (path == "optimal_temperature" && value.has_optimal_temperature()) {
    return CheckRange(value.optimal_temperature(), "plant_type.optimal_temperature", -50, 70);
  }
  if (path == "optimal_humidity" && value.has_optimal_humidity()) {
    return CheckRange(value.optimal_humidity(), "plant_type.optimal_humidity", 0, 100);
  }
  if (path == "optimal_light" && value.has_optimal_light()) {
    return CheckRange(value.optimal_light(), "plant_type.optimal_light", 0, 200000);
  }
  if (path == "water_frequency_days" && value.has_water_frequency_days()) {
    return CheckRange(value.water_frequency_days(), "plant_type.water_frequency_days", 1, 3650);
  }
  return absl::OkStatus();
}

// A timestamp field, when present, is a valid time in years 1-9999.
absl::Status CheckOptionalTime(bool present, const google::protobuf::Timestamp& value,
                               absl::string_view field) {
  if (!present) return absl::OkStatus();
  return TimeFromProto(value, field).status();
}

absl::Status CheckAssignmentField(const v1::PlantDeviceAssignment& value, const std::string& path) {
  if (path == "plant_id") return CheckId(value.plant_id(), "plant_device_assignment.plant_id");
  if (path == "device_id") return CheckId(value.device_id(), "plant_device_assignment.device_id");
  if (path == "assignment_type") {
    return CheckOneOf(value.assignment_type(), "plant_device_assignment.assignment_type",
                      kAssignmentTypes);
  }
  return absl::OkStatus();
}

absl::Status CheckPlantField(const v1::Plant& value, const std::string& path) {
  if (path == "plant_type_id") return CheckId(value.plant_type_id(), "plant.plant_type_id");
  if (path == "plant_name") return CheckText(value.plant_name(), "plant.plant_name", 255, true);
  if (path == "location") {
    return CheckOptionalText(value.has_location(), value.location(), "plant.location", 255);
  }
  if (path == "health_status") {
    return CheckOptionalText(value.has_health_status(), value.health_status(),
                             "plant.health_status", 50);
  }
  if (path == "notes") {
    return CheckOptionalText(value.has_notes(), value.notes(), "plant.notes", kMaxTextBytes);
  }
  if (path == "planting_date") {
    return CheckOptionalTime(value.has_planting_date(), value.planting_date(),
                             "plant.planting_date");
  }
  if (path == "last_watered") {
    return CheckOptionalTime(value.has_last_watered(), value.last_watered(), "plant.last_watered");
  }
  if (path == "watering_detection_jump" && value.has_watering_detection_jump()) {
    const double jump = value.watering_detection_jump();
    if (!(jump > 0 && jump <= 100)) {  // NaN fails too
      return absl::InvalidArgumentError(
          "plant.watering_detection_jump must be above 0 and at most 100 (points of soil "
          "moisture)");
    }
  }
  if (path == "watering_detection_window") {
    ASSIGN_OR_RETURN(absl::Duration window, CheckDuration(value.watering_detection_window(),
                                                          "plant.watering_detection_window"));
    if (window < absl::ZeroDuration() || window > absl::Hours(24)) {
      return absl::InvalidArgumentError(
          "plant.watering_detection_window must be from 0 (one hour) to one day");
    }
  }
  return absl::OkStatus();
}

// plantmon.v1.PlantService: the plant-type catalogue, the caller's plants and their device
// assignments.
class PlantService final : public RpcService {
 public:
  PlantService(Backends& backends, CallRuntime& runtime)
      : RpcService(v1::PlantService::service_full_name(), runtime),
        catalog_(backends.catalog),
        plants_(backends.plants),
        devices_(backends.devices),
        telemetry_(backends.telemetry),
        alerts_(backends.alerts) {
    AddPlantTypeMethods();
    AddPlantMethods();
    AddAssignmentMethods();
    AddCompositeViews();
  }

 private:
  void AddPlantTypeMethods();
  void AddPlantMethods();
  void AddAssignmentMethods();
  void AddCompositeViews();

  storage::CatalogRepository& catalog_;
  storage::PlantRepository& plants_;
  storage::DeviceRepository& devices_;
  storage::TelemetryRepository& telemetry_;
  storage::AlertRepository& alerts_;
};

// The plant-type catalogue: administrators write it, everyone reads it.
void PlantService::AddPlantTypeMethods() {
  SignedIn(
      "CreatePlantType",
      [this](const auth::Caller& caller, const v1::CreatePlantTypeRequest& request,
             v1::PlantType* response) -> absl::Status {
        const v1::PlantType& value = request.plant_type();
        RETURN_IF_ERROR(CheckFields(value, storage::CatalogRepository::UpdatablePlantTypeFields(),
                                    CheckPlantTypeField));
        RETURN_IF_ERROR(RequireAdmin(caller));
        return Respond(catalog_.CreatePlantType(value), response);
      });

  SignedInRead<v1::PlantType>("GetPlantType", CatalogRowById<v1::GetPlantTypeRequest>(
                                                  &storage::CatalogRepository::GetPlantTypeRead));

  SignedIn(
      "ListPlantTypes",
      [this](const auth::Caller& /*caller*/, const v1::ListPlantTypesRequest& request,
             v1::ListPlantTypesResponse* response) -> absl::Status {
        storage::PlantTypeFilter filter;
        if (request.has_name()) {
          RETURN_IF_ERROR(CheckText(request.name(), "name", 255, true));
          filter.name = request.name();
        }
        QueryFingerprint query("ListPlantTypes");
        query.AddOptional("name", request.has_name(), request.name());
        return PageById(
            query, request.page_size(), request.page_token(),
            [&](const storage::PageRequest& page) { return catalog_.ListPlantTypes(filter, page); },
            [&](v1::PlantType& row) { response->add_plant_types()->Swap(&row); },
            response->mutable_next_page_token());
      });

  SignedIn("UpdatePlantType",
           [this](const auth::Caller& caller, const v1::UpdatePlantTypeRequest& request,
                  v1::PlantType* response) -> absl::Status {
             const v1::PlantType& value = request.plant_type();
             RETURN_IF_ERROR(CheckMaskedUpdate(
                 value, "plant_type.id", request.update_mask(),
                 storage::CatalogRepository::UpdatablePlantTypeFields(), CheckPlantTypeField));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return Respond(catalog_.UpdatePlantType(value.id(), value, request.update_mask()),
                            response);
           });

  SignedIn("DeletePlantType",
           [this](const auth::Caller& caller, const v1::DeletePlantTypeRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return catalog_.DeletePlantType(request.id());
           });
}

void PlantService::AddPlantMethods() {
  SignedIn("CreatePlant",
           [this](const auth::Caller& caller, const v1::CreatePlantRequest& request,
                  v1::Plant* response) -> absl::Status {
             const v1::Plant& value = request.plant();
             RETURN_IF_ERROR(CheckFields(value, storage::PlantRepository::UpdatablePlantFields(),
                                         CheckPlantField));
             v1::Plant row = value;
             // New plants start healthy; alerts change that.
             row.set_is_healthy(true);
             return Respond(plants_.CreatePlant(caller.user_id(), row), response);
           });

  SignedInRead<v1::Plant>(
      "GetPlant", OwnedRowById<v1::GetPlantRequest>(&storage::PlantRepository::GetPlantRead));

  SignedInListRead(
      "ListPlants",
      [](const auth::Caller& caller, const v1::ListPlantsRequest& request,
         v1::ListPlantsResponse* response) -> absl::StatusOr<ReaderCall> {
        storage::PlantFilter filter;
        if (request.has_is_healthy()) filter.is_healthy = request.is_healthy();
        ASSIGN_OR_RETURN(
            filter.plant_type_id,
            OptionalId(request.has_plant_type_id(), request.plant_type_id(), "plant_type_id"));
        if (request.has_plant_type_name()) {
          RETURN_IF_ERROR(CheckText(request.plant_type_name(), "plant_type_name", 255, true));
          filter.plant_type_name = request.plant_type_name();
        }
        QueryFingerprint query("ListPlants");
        query.AddOptional("is_healthy", request.has_is_healthy(), int64_t{request.is_healthy()});
        query.AddOptional("plant_type_id", request.has_plant_type_id(), request.plant_type_id());
        query.AddOptional("plant_type_name", request.has_plant_type_name(),
                          request.plant_type_name());
        return PageByIdRead<v1::Plant>(
            std::move(query), request.page_size(), request.page_token(),
            [&](const storage::PageRequest& page) {
              return storage::PlantRepository::ListPlantsRead(caller.user_id(), filter, page);
            },
            [response](v1::Plant& row) { response->add_plants()->Swap(&row); },
            response->mutable_next_page_token());
      });

  SignedIn("UpdatePlant",
           [this](const auth::Caller& caller, const v1::UpdatePlantRequest& request,
                  v1::Plant* response) -> absl::Status {
             const v1::Plant& value = request.plant();
             RETURN_IF_ERROR(CheckMaskedUpdate(value, "plant.id", request.update_mask(),
                                               storage::PlantRepository::UpdatablePlantFields(),
                                               CheckPlantField));
             return Respond(
                 plants_.UpdatePlant(caller.user_id(), value.id(), value, request.update_mask()),
                 response);
           });

  SignedIn("DeletePlant",
           [this](const auth::Caller& caller, const v1::DeletePlantRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return plants_.DeletePlant(caller.user_id(), request.id());
           });
}

void PlantService::AddAssignmentMethods() {
  SignedIn("CreatePlantDeviceAssignment",
           [this](const auth::Caller& caller, const v1::CreatePlantDeviceAssignmentRequest& request,
                  v1::PlantDeviceAssignment* response) -> absl::Status {
             const v1::PlantDeviceAssignment& value = request.plant_device_assignment();
             for (const char* field : {"plant_id", "device_id", "assignment_type"}) {
               RETURN_IF_ERROR(CheckAssignmentField(value, field));
             }
             v1::PlantDeviceAssignment row = value;
             row.set_is_active(true);
             return Respond(plants_.CreateAssignment(caller.user_id(), row), response);
           });

  SignedInRead<v1::PlantDeviceAssignment>("GetPlantDeviceAssignment",
                                          OwnedRowById<v1::GetPlantDeviceAssignmentRequest>(
                                              &storage::PlantRepository::GetAssignmentRead));

  SignedIn("ListPlantDeviceAssignments",
           [this](const auth::Caller& caller, const v1::ListPlantDeviceAssignmentsRequest& request,
                  v1::ListPlantDeviceAssignmentsResponse* response) -> absl::Status {
             storage::AssignmentFilter filter;
             ASSIGN_OR_RETURN(filter.plant_id,
                              OptionalId(request.has_plant_id(), request.plant_id(), "plant_id"));
             ASSIGN_OR_RETURN(filter.device_id, OptionalId(request.has_device_id(),
                                                           request.device_id(), "device_id"));
             if (request.has_is_active()) filter.is_active = request.is_active();
             QueryFingerprint query("ListPlantDeviceAssignments");
             query.AddOptional("plant_id", request.has_plant_id(), request.plant_id());
             query.AddOptional("device_id", request.has_device_id(), request.device_id());
             query.AddOptional("is_active", request.has_is_active(), int64_t{request.is_active()});
             return PageById(
                 query, request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) {
                   return plants_.ListAssignments(caller.user_id(), filter, page);
                 },
                 [&](v1::PlantDeviceAssignment& row) {
                   response->add_plant_device_assignments()->Swap(&row);
                 },
                 response->mutable_next_page_token());
           });

  SignedIn("UpdatePlantDeviceAssignment",
           [this](const auth::Caller& caller, const v1::UpdatePlantDeviceAssignmentRequest& request,
                  v1::PlantDeviceAssignment* response) -> absl::Status {
             const v1::PlantDeviceAssignment& value = request.plant_device_assignment();
             RETURN_IF_ERROR(CheckMaskedUpdate(
                 value, "plant_device_assignment.id", request.update_mask(),
                 storage::PlantRepository::UpdatableAssignmentFields(), CheckAssignmentField));
             return Respond(plants_.UpdateAssignment(caller.user_id(), value.id(), value,
                                                     request.update_mask()),
                            response);
           });

  SignedIn("DeletePlantDeviceAssignment",
           [this](const auth::Caller& caller, const v1::DeletePlantDeviceAssignmentRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return plants_.DeleteAssignment(caller.user_id(), request.id());
           });
}

void PlantService::AddCompositeViews() {
  SignedIn(
      "RecordWatering",
      [this](const auth::Caller& caller, const v1::RecordWateringRequest& request,
             v1::WateringEvent* response) -> absl::Status {
        RETURN_IF_ERROR(CheckId(request.plant_id(), "plant_id"));
        v1::WateringEvent event;
        event.set_plant_id(request.plant_id());
        if (request.has_amount_ml()) {
          RETURN_IF_ERROR(CheckRange(request.amount_ml(), "amount_ml", 1, 1000000));
          event.set_amount_ml(request.amount_ml());
        }
        if (request.has_note()) {
          RETURN_IF_ERROR(CheckText(request.note(), "note", 500, false));
          event.set_note(request.note());
        }
        absl::Time watered = absl::Now();
        if (request.has_watered_at()) {
          ASSIGN_OR_RETURN(watered, TimeFromProto(request.watered_at(), "watered_at"));
          if (watered > absl::Now() + absl::Minutes(5)) {
            return absl::InvalidArgumentError("watered_at is more than five minutes in the future");
          }
        }
        SetTimestamp(watered, event.mutable_watered_at());
        return Respond(plants_.RecordWatering(caller.user_id(), event), response);
      });

  SignedIn("ListWateringEvents",
           [this](const auth::Caller& caller, const v1::ListWateringEventsRequest& request,
                  v1::ListWateringEventsResponse* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.plant_id(), "plant_id"));
             QueryFingerprint query("ListWateringEvents");
             query.Add("plant_id", request.plant_id());
             return PageById(
                 query, request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) {
                   return plants_.ListWaterings(caller.user_id(), request.plant_id(), page);
                 },
                 [&](v1::WateringEvent& row) { response->add_watering_events()->Swap(&row); },
                 response->mutable_next_page_token());
           });

  SignedIn("GetPlantOverview",
           [this](const auth::Caller& caller, const v1::GetPlantOverviewRequest& request,
                  v1::PlantOverview* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             ASSIGN_OR_RETURN(*response->mutable_plant(),
                              plants_.GetPlant(caller.user_id(), request.id()));
             const v1::Plant& plant = response->plant();
             ASSIGN_OR_RETURN(*response->mutable_plant_type(),
                              catalog_.GetPlantType(plant.plant_type_id()));
             if (plant.has_last_watered() && response->plant_type().has_water_frequency_days()) {
               SetTimestamp(absl::FromUnixSeconds(plant.last_watered().seconds()) +
                                absl::Nanoseconds(plant.last_watered().nanos()) +
                                absl::Hours(24) * response->plant_type().water_frequency_days(),
                            response->mutable_next_watering_due());
             }

             storage::AssignmentFilter active;
             active.plant_id = plant.id();
             active.is_active = true;
             ASSIGN_OR_RETURN(std::vector<v1::PlantDeviceAssignment> assignments,
                              plants_.ListAssignments(caller.user_id(), active, {0, kMaxPageSize}));
             std::vector<int64_t> device_ids;
             device_ids.reserve(assignments.size());
             for (const auto& assignment : assignments) {
               device_ids.push_back(assignment.device_id());
             }
             // Latest gives each (device, parameter)'s newest reading: each
             // device's newest of any parameter, and the plant's newest of
             // each parameter from any of its devices.
             std::map<int64_t, storage::SensorReading> latest;
             std::map<std::string, storage::SensorReading> by_parameter;
             auto keep_newer = [](auto& map, const auto& key, const storage::SensorReading& r) {
               auto [it, inserted] = map.emplace(key, r);
               if (!inserted &&
                   std::tie(r.timestamp, r.id) > std::tie(it->second.timestamp, it->second.id)) {
                 it->second = r;
               }
             };
             if (!device_ids.empty()) {
               ASSIGN_OR_RETURN(std::vector<storage::SensorReading> readings,
                                telemetry_.Latest(caller.user_id(), device_ids));
               for (const auto& reading : readings) {
                 keep_newer(latest, reading.device_id, reading);
                 keep_newer(by_parameter, reading.parameter_name, reading);
               }
             }
             for (const auto& [parameter, reading] : by_parameter) {
               ToProto(reading, response->add_latest_by_parameter());
             }
             for (const auto& assignment : assignments) {
               v1::AssignedDevice* out = response->add_assigned_devices();
               *out->mutable_assignment() = assignment;
               ASSIGN_OR_RETURN(*out->mutable_device(),
                                devices_.Get(caller.user_id(), assignment.device_id()));
               if (auto it = latest.find(out->device().id()); it != latest.end()) {
                 *out->mutable_latest_reading() = ToProto(it->second);
               }
             }

             storage::AlertFilter open;
             open.plant_id = plant.id();
             open.open_only = true;
             ASSIGN_OR_RETURN(std::vector<v1::Alert> alerts,
                              alerts_.ListAlerts(caller.user_id(), open, {0, kMaxPageSize}));
             for (auto& alert : alerts) response->add_open_alerts()->Swap(&alert);
             return absl::OkStatus();
           });

  SignedIn("ListTopAnomalousPlants",
           [this](const auth::Caller& caller, const v1::ListTopAnomalousPlantsRequest& request,
                  v1::ListTopAnomalousPlantsResponse* response) -> absl::Status {
             if (request.limit() < 0 || request.limit() > 100) {
               return absl::InvalidArgumentError("limit must be between 0 (meaning 5) and 100");
             }
             const int limit = request.limit() == 0 ? 5 : request.limit();
             ASSIGN_OR_RETURN(TimeRange range, RequiredTimeRange(request));
             ASSIGN_OR_RETURN(auto plants, plants_.TopAnomalous(caller.user_id(), range.start,
                                                                range.end, limit));
             for (auto& [plant, count] : plants) {
               v1::AnomalousPlant* out = response->add_plants();
               out->mutable_plant()->Swap(&plant);
               out->set_anomaly_count(count);
             }
             return absl::OkStatus();
           });
}

}  // namespace

std::unique_ptr<RpcService> NewPlantService(Backends& backends, CallRuntime& runtime) {
  return std::make_unique<PlantService>(backends, runtime);
}

}  // namespace plantmon::services
