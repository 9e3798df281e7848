#include <set>

#include "absl/strings/str_cat.h"
#include "alerting/rules.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "services/handler.h"
#include "services/pagination.h"
#include "services/plantmon_services.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {
namespace {

// More than any real multi-sensor lists (a weather station: about ten).
constexpr int kMaxMeasurementsPerType = 32;

absl::Status CheckManufacturerField(const v1::Manufacturer& value, const std::string& path) {
  if (path == "name") return CheckText(value.name(), "manufacturer.name", 255, true);
  if (path == "description") {
    return CheckOptionalText(value.has_description(), value.description(),
                             "manufacturer.description", kMaxTextBytes);
  }
  if (path == "contact_email" && value.has_contact_email()) {
    return CheckEmail(value.contact_email(), "manufacturer.contact_email");
  }
  if (path == "website") {
    return CheckOptionalText(value.has_website(), value.website(), "manufacturer.website", 255);
  }
  return absl::OkStatus();
}

absl::Status CheckDeviceTypeField(const v1::DeviceType& value, const std::string& path) {
  if (path == "manufacturer_id") {
    return CheckId(value.manufacturer_id(), "device_type.manufacturer_id");
  }
  if (path == "name") return CheckText(value.name(), "device_type.name", 255, true);
  if (path == "device_type") {
    ASSIGN_OR_RETURN(std::optional<v1::DeviceKind> kind,
                     DeviceKindFromProto(value.device_type(), "device_type.device_type"));
    if (!kind.has_value()) {
      return absl::InvalidArgumentError("device_type.device_type must not be UNSPECIFIED");
    }
    return absl::OkStatus();
  }
  if (path == "description") {
    return CheckOptionalText(value.has_description(), value.description(),
                             "device_type.description", kMaxTextBytes);
  }
  if (path == "communication_interface") {
    return CheckOptionalText(value.has_communication_interface(), value.communication_interface(),
                             "device_type.communication_interface", 100);
  }
  if (path == "supported_functions") {
    return CheckOptionalText(value.has_supported_functions(), value.supported_functions(),
                             "device_type.supported_functions", kMaxTextBytes);
  }
  if (path == "data_unit") {
    return CheckOptionalText(value.has_data_unit(), value.data_unit(), "device_type.data_unit", 50);
  }
  // A bound against the stored other bound is checked by the database.
  if (path == "min_value" && value.has_min_value()) {
    return CheckFinite(value.min_value(), "device_type.min_value");
  }
  if (path == "max_value" && value.has_max_value()) {
    return CheckFinite(value.max_value(), "device_type.max_value");
  }
  if (path == "primary_parameter" && value.has_primary_parameter()) {
    return alerting::CheckParameterName(value.primary_parameter(), "device_type.primary_parameter");
  }
  if (path == "measurements") {
    std::set<std::string> seen;
    for (const v1::DeviceMeasurement& m : value.measurements()) {
      RETURN_IF_ERROR(alerting::CheckParameterName(m.parameter_name(),
                                                   "device_type.measurements.parameter_name"));
      if (!seen.insert(m.parameter_name()).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("device_type.measurements lists ", m.parameter_name(), " twice"));
      }
      RETURN_IF_ERROR(
          CheckOptionalText(m.has_unit(), m.unit(), "device_type.measurements.unit", 50));
      if (m.has_min_value()) {
        RETURN_IF_ERROR(CheckFinite(m.min_value(), "device_type.measurements.min_value"));
      }
      if (m.has_max_value()) {
        RETURN_IF_ERROR(CheckFinite(m.max_value(), "device_type.measurements.max_value"));
      }
      if (m.has_min_value() && m.has_max_value() && m.min_value() > m.max_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("device_type.measurements: ", m.parameter_name(),
                         "'s min_value exceeds its max_value"));
      }
    }
    if (value.measurements_size() > kMaxMeasurementsPerType) {
      return absl::InvalidArgumentError(absl::StrCat("device_type.measurements may list at most ",
                                                     kMaxMeasurementsPerType, " parameters"));
    }
  }
  return absl::OkStatus();
}

// A new type's primary measurement: the one primary_parameter names, by
// default the first listed. The seed's data_unit, min_value and max_value
// describe it (docs/api.md), so unset ones are taken from it and set ones
// must agree.
absl::Status ResolvePrimaryMeasurement(v1::DeviceType& type) {
  if (type.measurements().empty()) {
    if (type.has_primary_parameter()) {
      return absl::InvalidArgumentError(
          "device_type.primary_parameter must be one of device_type.measurements");
    }
    return absl::OkStatus();
  }
  if (!type.has_primary_parameter()) {
    type.set_primary_parameter(type.measurements(0).parameter_name());
  }
  const v1::DeviceMeasurement* primary = nullptr;
  for (const v1::DeviceMeasurement& m : type.measurements()) {
    if (m.parameter_name() == type.primary_parameter()) primary = &m;
  }
  if (primary == nullptr) {
    return absl::InvalidArgumentError(
        "device_type.primary_parameter must be one of device_type.measurements");
  }
  auto agree = [](bool set, auto stored, bool measured, auto value, absl::string_view field) {
    if (set && measured && stored != value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device_type.", field, " must match the primary measurement's (or be left unset)"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(agree(type.has_data_unit(), type.data_unit(), primary->has_unit(),
                        primary->unit(), "data_unit"));
  RETURN_IF_ERROR(agree(type.has_min_value(), type.min_value(), primary->has_min_value(),
                        primary->min_value(), "min_value"));
  RETURN_IF_ERROR(agree(type.has_max_value(), type.max_value(), primary->has_max_value(),
                        primary->max_value(), "max_value"));
  if (!type.has_data_unit() && primary->has_unit()) type.set_data_unit(primary->unit());
  if (!type.has_min_value() && primary->has_min_value()) type.set_min_value(primary->min_value());
  if (!type.has_max_value() && primary->has_max_value()) type.set_max_value(primary->max_value());
  return absl::OkStatus();
}

absl::Status CheckMeasurementParameter(const v1::MeasurementParameter& value) {
  RETURN_IF_ERROR(alerting::CheckParameterName(value.name(), "parameter.name"));
  if (!value.has_unit()) return absl::InvalidArgumentError("parameter.unit is required");
  RETURN_IF_ERROR(CheckText(value.unit(), "parameter.unit", 50, true));
  RETURN_IF_ERROR(CheckOptionalText(value.has_description(), value.description(),
                                    "parameter.description", kMaxTextBytes));
  if (value.has_min_plausible()) {
    RETURN_IF_ERROR(CheckFinite(value.min_plausible(), "parameter.min_plausible"));
  }
  if (value.has_max_plausible()) {
    RETURN_IF_ERROR(CheckFinite(value.max_plausible(), "parameter.max_plausible"));
  }
  if (value.has_min_plausible() && value.has_max_plausible() &&
      value.min_plausible() > value.max_plausible()) {
    return absl::InvalidArgumentError("parameter.min_plausible must not exceed max_plausible");
  }
  return absl::OkStatus();
}

// One writable device field, as a create or an update that names it sets it.
absl::Status CheckDeviceField(const v1::Device& value, const std::string& path) {
  if (path == "device_type_id") return CheckId(value.device_type_id(), "device.device_type_id");
  if (path == "device_name") {
    return CheckText(value.device_name(), "device.device_name", 255, true);
  }
  if (path == "location_description") {
    return CheckOptionalText(value.has_location_description(), value.location_description(),
                             "device.location_description", 255);
  }
  if (path == "battery_level" && value.has_battery_level()) {
    return CheckRange(value.battery_level(), "device.battery_level", 0, 100);
  }
  if (path == "rssi" && value.has_rssi()) return CheckRange(value.rssi(), "device.rssi", -200, 50);
  if (path == "firmware_version" && value.has_firmware_version()) {
    return CheckText(value.firmware_version(), "device.firmware_version", 64, true);
  }
  return absl::OkStatus();
}

// plantmon.v1.DeviceService: the manufacturer and device-type catalogue (administrators write it)
// and the caller's devices.
class DeviceService final : public RpcService {
 public:
  DeviceService(Backends& backends, CallRuntime& runtime)
      : RpcService(v1::DeviceService::service_full_name(), runtime),
        catalog_(backends.catalog),
        devices_(backends.devices),
        telemetry_(backends.telemetry) {
    AddManufacturerMethods();
    AddDeviceTypeMethods();
    AddDeviceMethods();
    AddMeasurementParameterMethods();
  }

 private:
  void AddManufacturerMethods();
  void AddDeviceTypeMethods();
  void AddDeviceMethods();
  void AddMeasurementParameterMethods();

  storage::CatalogRepository& catalog_;
  storage::DeviceRepository& devices_;
  storage::TelemetryRepository& telemetry_;
};

void DeviceService::AddManufacturerMethods() {
  SignedIn("CreateManufacturer",
           [this](const auth::Caller& caller, const v1::CreateManufacturerRequest& request,
                  v1::Manufacturer* response) -> absl::Status {
             const v1::Manufacturer& value = request.manufacturer();
             RETURN_IF_ERROR(CheckFields(value,
                                         storage::CatalogRepository::UpdatableManufacturerFields(),
                                         CheckManufacturerField));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return Respond(catalog_.CreateManufacturer(value), response);
           });

  SignedInRead<v1::Manufacturer>(
      "GetManufacturer",
      CatalogRowById<v1::GetManufacturerRequest>(&storage::CatalogRepository::GetManufacturerRead));

  SignedIn("ListManufacturers",
           [this](const auth::Caller& /*caller*/, const v1::ListManufacturersRequest& request,
                  v1::ListManufacturersResponse* response) -> absl::Status {
             return PageById(
                 QueryFingerprint("ListManufacturers"), request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) { return catalog_.ListManufacturers(page); },
                 [&](v1::Manufacturer& row) { response->add_manufacturers()->Swap(&row); },
                 response->mutable_next_page_token());
           });

  SignedIn(
      "UpdateManufacturer",
      [this](const auth::Caller& caller, const v1::UpdateManufacturerRequest& request,
             v1::Manufacturer* response) -> absl::Status {
        const v1::Manufacturer& value = request.manufacturer();
        RETURN_IF_ERROR(CheckMaskedUpdate(value, "manufacturer.id", request.update_mask(),
                                          storage::CatalogRepository::UpdatableManufacturerFields(),
                                          CheckManufacturerField));
        RETURN_IF_ERROR(RequireAdmin(caller));
        return Respond(catalog_.UpdateManufacturer(value.id(), value, request.update_mask()),
                       response);
      });

  SignedIn("DeleteManufacturer",
           [this](const auth::Caller& caller, const v1::DeleteManufacturerRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return catalog_.DeleteManufacturer(request.id());
           });
}

void DeviceService::AddDeviceTypeMethods() {
  SignedIn(
      "CreateDeviceType",
      [this](const auth::Caller& caller, const v1::CreateDeviceTypeRequest& request,
             v1::DeviceType* response) -> absl::Status {
        const v1::DeviceType& value = request.device_type();
        if (value.device_type() == v1::DEVICE_KIND_UNSPECIFIED) {
          return absl::InvalidArgumentError(
              "device_type.device_type is required (SENSOR, ACTUATOR or COMBINED)");
        }
        RETURN_IF_ERROR(CheckFields(value, storage::CatalogRepository::UpdatableDeviceTypeFields(),
                                    CheckDeviceTypeField));
        if (value.has_min_value() && value.has_max_value() &&
            value.min_value() > value.max_value()) {
          return absl::InvalidArgumentError(
              "device_type.min_value must not exceed device_type.max_value");
        }
        RETURN_IF_ERROR(RequireAdmin(caller));
        v1::DeviceType row = value;
        RETURN_IF_ERROR(ResolvePrimaryMeasurement(row));
        // A new model is available for registration unless said otherwise.
        row.set_is_active(true);
        return Respond(catalog_.CreateDeviceType(row), response);
      });

  SignedIn("GetDeviceType",
           [this](const auth::Caller& /*caller*/, const v1::GetDeviceTypeRequest& request,
                  v1::DeviceType* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return Respond(catalog_.GetDeviceType(request.id()), response);
           });

  SignedIn("ListDeviceTypes",
           [this](const auth::Caller& /*caller*/, const v1::ListDeviceTypesRequest& request,
                  v1::ListDeviceTypesResponse* response) -> absl::Status {
             storage::DeviceTypeFilter filter;
             ASSIGN_OR_RETURN(filter.manufacturer_id,
                              OptionalId(request.has_manufacturer_id(), request.manufacturer_id(),
                                         "manufacturer_id"));
             ASSIGN_OR_RETURN(filter.device_type,
                              DeviceKindFromProto(request.device_type(), "device_type"));
             if (request.has_is_active()) filter.is_active = request.is_active();
             QueryFingerprint query("ListDeviceTypes");
             query.AddOptional("manufacturer_id", request.has_manufacturer_id(),
                               request.manufacturer_id());
             query.Add("device_type", request.device_type());
             query.AddOptional("is_active", request.has_is_active(), int64_t{request.is_active()});
             return PageById(
                 query, request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) {
                   return catalog_.ListDeviceTypes(filter, page);
                 },
                 [&](v1::DeviceType& row) { response->add_device_types()->Swap(&row); },
                 response->mutable_next_page_token());
           });

  SignedIn("UpdateDeviceType",
           [this](const auth::Caller& caller, const v1::UpdateDeviceTypeRequest& request,
                  v1::DeviceType* response) -> absl::Status {
             const v1::DeviceType& value = request.device_type();
             RETURN_IF_ERROR(CheckMaskedUpdate(
                 value, "device_type.id", request.update_mask(),
                 storage::CatalogRepository::UpdatableDeviceTypeFields(), CheckDeviceTypeField));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return Respond(catalog_.UpdateDeviceType(value.id(), value, request.update_mask()),
                            response);
           });

  SignedIn("DeleteDeviceType",
           [this](const auth::Caller& caller, const v1::DeleteDeviceTypeRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return catalog_.DeleteDeviceType(request.id());
           });
}

void DeviceService::AddMeasurementParameterMethods() {
  SignedIn("ListMeasurementParameters",
           [this](const auth::Caller& /*caller*/,
                  const v1::ListMeasurementParametersRequest& /*request*/,
                  v1::ListMeasurementParametersResponse* response) -> absl::Status {
             ASSIGN_OR_RETURN(std::vector<v1::MeasurementParameter> parameters,
                              catalog_.ListMeasurementParameters());
             for (v1::MeasurementParameter& parameter : parameters) {
               response->add_parameters()->Swap(&parameter);
             }
             return absl::OkStatus();
           });

  SignedIn("CreateMeasurementParameter",
           [this](const auth::Caller& caller, const v1::CreateMeasurementParameterRequest& request,
                  v1::MeasurementParameter* response) -> absl::Status {
             RETURN_IF_ERROR(CheckMeasurementParameter(request.parameter()));
             RETURN_IF_ERROR(RequireAdmin(caller));
             return Respond(catalog_.CreateMeasurementParameter(request.parameter()), response);
           });
}

void DeviceService::AddDeviceMethods() {
  SignedIn("CreateDevice",
           [this](const auth::Caller& caller, const v1::CreateDeviceRequest& request,
                  v1::Device* response) -> absl::Status {
             const v1::Device& value = request.device();
             RETURN_IF_ERROR(CheckDeviceField(value, "device_type_id"));
             RETURN_IF_ERROR(
                 CheckText(value.unique_identifier(), "device.unique_identifier", 255, true));
             RETURN_IF_ERROR(CheckFields(value, storage::DeviceRepository::UpdatableFields(),
                                         CheckDeviceField));
             v1::Device row = value;
             row.set_is_active(true);  // a new device is active, whatever the request says
             return Respond(devices_.Create(caller.user_id(), row), response);
           });

  SignedInRead<v1::Device>("GetDevice",
                           OwnedRowById<v1::GetDeviceRequest>(&storage::DeviceRepository::GetRead));

  SignedIn(
      "ListDevices",
      [this](const auth::Caller& caller, const v1::ListDevicesRequest& request,
             v1::ListDevicesResponse* response) -> absl::Status {
        storage::DeviceFilter filter;
        if (request.has_is_active()) filter.is_active = request.is_active();
        ASSIGN_OR_RETURN(
            filter.device_type_id,
            OptionalId(request.has_device_type_id(), request.device_type_id(), "device_type_id"));
        QueryFingerprint query("ListDevices");
        query.AddOptional("is_active", request.has_is_active(), int64_t{request.is_active()});
        query.AddOptional("device_type_id", request.has_device_type_id(), request.device_type_id());
        RETURN_IF_ERROR(PageById(
            query, request.page_size(), request.page_token(),
            [&](const storage::PageRequest& page) {
              return devices_.List(caller.user_id(), filter, page);
            },
            [&](v1::Device& row) { response->add_devices()->Swap(&row); },
            response->mutable_next_page_token()));
        if (!request.include_latest_readings() || response->devices().empty()) {
          return absl::OkStatus();
        }
        // One query for the page's devices; every device gets an entry.
        std::vector<int64_t> ids;
        for (const v1::Device& device : response->devices()) {
          ids.push_back(device.id());
          (*response->mutable_latest_readings())[device.id()];
        }
        ASSIGN_OR_RETURN(std::vector<storage::SensorReading> latest,
                         telemetry_.Latest(caller.user_id(), ids));
        for (const storage::SensorReading& reading : latest) {
          ToProto(reading,
                  (*response->mutable_latest_readings())[reading.device_id].add_readings());
        }
        return absl::OkStatus();
      });

  SignedIn("UpdateDevice",
           [this](const auth::Caller& caller, const v1::UpdateDeviceRequest& request,
                  v1::Device* response) -> absl::Status {
             const v1::Device& value = request.device();
             RETURN_IF_ERROR(CheckMaskedUpdate(value, "device.id", request.update_mask(),
                                               storage::DeviceRepository::UpdatableFields(),
                                               CheckDeviceField));
             return Respond(
                 devices_.Update(caller.user_id(), value.id(), value, request.update_mask()),
                 response);
           });

  SignedIn("DeleteDevice",
           [this](const auth::Caller& caller, const v1::DeleteDeviceRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return devices_.Delete(caller.user_id(), request.id());
           });

  SignedIn(
      "DeleteDevices",
      [this](const auth::Caller& caller, const v1::DeleteDevicesRequest& request,
             v1::DeleteDevicesResponse* response) -> absl::Status {
        // An empty filter would delete every device: say so instead.
        if (!request.has_is_active() && !request.has_device_type_id()) {
          return absl::InvalidArgumentError(
              "name a filter (is_active, device_type_id); an empty one would delete every "
              "device");
        }
        storage::DeviceFilter filter;
        if (request.has_is_active()) filter.is_active = request.is_active();
        ASSIGN_OR_RETURN(
            filter.device_type_id,
            OptionalId(request.has_device_type_id(), request.device_type_id(), "device_type_id"));
        ASSIGN_OR_RETURN(const int64_t deleted, devices_.DeleteMatching(caller.user_id(), filter));
        response->set_deleted_count(deleted);
        return absl::OkStatus();
      });

  SignedIn("RecordHeartbeat",
           [this](const auth::Caller& caller, const v1::RecordHeartbeatRequest& request,
                  v1::Device* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.device_id(), "device_id"));
             if (request.has_battery_level()) {
               RETURN_IF_ERROR(CheckRange(request.battery_level(), "battery_level", 0, 100));
             }
             if (request.has_rssi()) RETURN_IF_ERROR(CheckRange(request.rssi(), "rssi", -200, 50));
             if (request.has_firmware_version()) {
               RETURN_IF_ERROR(CheckText(request.firmware_version(), "firmware_version", 64, true));
             }
             return Respond(devices_.RecordHeartbeat(caller.user_id(), request), response);
           });
}

}  // namespace

std::unique_ptr<RpcService> NewDeviceService(Backends& backends, CallRuntime& runtime) {
  return std::make_unique<DeviceService>(backends, runtime);
}

}  // namespace plantmon::services
