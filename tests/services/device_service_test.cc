#include <cmath>

#include "gtest/gtest.h"
#include "plantmon/v1/device.grpc.pb.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class DeviceServiceTest : public ApiTest {};

TEST_F(DeviceServiceTest, OnlyAdministratorsWriteTheCatalogueButEveryoneReadsIt) {
  SignedInUser user = SignUp("catalog_reader");
  v1::CreateManufacturerRequest create;
  create.mutable_manufacturer()->set_name("Sonoff");
  create.mutable_manufacturer()->set_website("https://sonoff.tech");
  v1::Manufacturer manufacturer;
  grpc::Status denied =
      devices_->CreateManufacturer(Context(user.token).get(), create, &manufacturer);
  EXPECT_EQ(denied.error_code(), StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      devices_->CreateManufacturer(Context(admin_->token).get(), create, &manufacturer).ok());
  EXPECT_EQ(manufacturer.website(), "https://sonoff.tech");
  EXPECT_FALSE(manufacturer.has_description());

  v1::GetManufacturerRequest get;
  get.set_id(manufacturer.id());
  v1::Manufacturer read;
  ASSERT_TRUE(devices_->GetManufacturer(Context(user.token).get(), get, &read).ok());
  EXPECT_EQ(read.name(), "Sonoff");
  EXPECT_EQ(devices_->CreateManufacturer(Context(admin_->token).get(), create, &read).error_code(),
            StatusCode::ALREADY_EXISTS);

  v1::DeleteManufacturerRequest remove;
  remove.set_id(manufacturer.id());
  google::protobuf::Empty empty;
  EXPECT_EQ(devices_->DeleteManufacturer(Context(user.token).get(), remove, &empty).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(devices_->DeleteManufacturer(Context(admin_->token).get(), remove, &empty).ok());
  EXPECT_EQ(devices_->GetManufacturer(Context(user.token).get(), get, &read).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(DeviceServiceTest, DeviceTypesValidateKindRangeAndManufacturer) {
  v1::CreateManufacturerRequest maker;
  maker.mutable_manufacturer()->set_name("Xiaomi");
  v1::Manufacturer xiaomi;
  ASSERT_TRUE(devices_->CreateManufacturer(Context(admin_->token).get(), maker, &xiaomi).ok());

  v1::CreateDeviceTypeRequest request;
  request.mutable_device_type()->set_manufacturer_id(xiaomi.id());
  request.mutable_device_type()->set_name("Mi Flora");
  request.mutable_device_type()->set_device_type(v1::DEVICE_KIND_SENSOR);
  request.mutable_device_type()->set_min_value(0);
  request.mutable_device_type()->set_max_value(100);
  v1::DeviceType created;
  ASSERT_TRUE(devices_->CreateDeviceType(Context(admin_->token).get(), request, &created).ok());
  EXPECT_EQ(created.device_type(), v1::DEVICE_KIND_SENSOR);
  EXPECT_EQ(created.max_value(), 100);
  EXPECT_TRUE(created.is_active());

  struct Case {
    std::string label;
    std::function<void(v1::DeviceType&)> mutate;
    StatusCode code;
  };
  std::vector<Case> cases = {
      {"unspecified kind", [](auto& d) { d.set_device_type(v1::DEVICE_KIND_UNSPECIFIED); },
       StatusCode::INVALID_ARGUMENT},
      {"unknown kind", [](auto& d) { d.set_device_type(static_cast<v1::DeviceKind>(42)); },
       StatusCode::INVALID_ARGUMENT},
      {"min above max", [](auto& d) { d.set_min_value(200); }, StatusCode::INVALID_ARGUMENT},
      {"NaN bound", [](auto& d) { d.set_max_value(std::nan("")); }, StatusCode::INVALID_ARGUMENT},
      {"no name", [](auto& d) { d.clear_name(); }, StatusCode::INVALID_ARGUMENT},
      {"missing manufacturer", [](auto& d) { d.set_manufacturer_id(987654); },
       StatusCode::NOT_FOUND},
      {"duplicate", [](auto&) {}, StatusCode::ALREADY_EXISTS},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::CreateDeviceTypeRequest bad = request;
    c.mutate(*bad.mutable_device_type());
    v1::DeviceType out;
    EXPECT_EQ(devices_->CreateDeviceType(Context(admin_->token).get(), bad, &out).error_code(),
              c.code);
  }

  v1::ListDeviceTypesRequest by_maker;
  by_maker.set_manufacturer_id(xiaomi.id());
  by_maker.set_device_type(v1::DEVICE_KIND_SENSOR);
  v1::ListDeviceTypesResponse listed;
  ASSERT_TRUE(devices_->ListDeviceTypes(Context(admin_->token).get(), by_maker, &listed).ok());
  ASSERT_EQ(listed.device_types_size(), 1);
  EXPECT_EQ(listed.device_types(0).id(), created.id());
}

TEST_F(DeviceServiceTest, OwnersRegisterUpdateAndDeleteDevices) {
  SignedInUser owner = SignUp("device_owner");
  v1::DeviceType type = MakeDeviceType("Thermo");
  v1::CreateDeviceRequest request;
  request.mutable_device()->set_device_type_id(type.id());
  request.mutable_device()->set_unique_identifier("AA:BB:CC:DD:EE:01");
  request.mutable_device()->set_device_name("Living room thermometer");
  request.mutable_device()->set_battery_level(95);
  request.mutable_device()->set_rssi(-45);
  request.mutable_device()->set_user_id(12345);  // ignored: the owner comes from the token
  v1::Device device;
  ASSERT_TRUE(devices_->CreateDevice(Context(owner.token).get(), request, &device).ok());
  EXPECT_EQ(device.user_id(), owner.user.id());
  EXPECT_EQ(device.battery_level(), 95);
  EXPECT_TRUE(device.is_active());
  EXPECT_FALSE(device.has_last_heartbeat());

  EXPECT_EQ(devices_->CreateDevice(Context(owner.token).get(), request, &device).error_code(),
            StatusCode::ALREADY_EXISTS);
  v1::CreateDeviceRequest bad_battery = request;
  bad_battery.mutable_device()->set_unique_identifier("other");
  bad_battery.mutable_device()->set_battery_level(120);
  EXPECT_EQ(devices_->CreateDevice(Context(owner.token).get(), bad_battery, &device).error_code(),
            StatusCode::INVALID_ARGUMENT);
  v1::CreateDeviceRequest unknown_type = request;
  unknown_type.mutable_device()->set_unique_identifier("other-2");
  unknown_type.mutable_device()->set_device_type_id(999999);
  EXPECT_EQ(devices_->CreateDevice(Context(owner.token).get(), unknown_type, &device).error_code(),
            StatusCode::NOT_FOUND);

  v1::ListDevicesResponse list;
  ASSERT_TRUE(devices_->ListDevices(Context(owner.token).get(), {}, &list).ok());
  ASSERT_EQ(list.devices_size(), 1);
  const int64_t id = list.devices(0).id();

  v1::UpdateDeviceRequest update;
  update.mutable_device()->set_id(id);
  update.mutable_device()->set_device_name("Bedroom thermometer");
  update.mutable_device()->set_battery_level(500);  // not in the mask: ignored
  update.mutable_update_mask()->add_paths("device_name");
  update.mutable_update_mask()->add_paths("rssi");  // rssi unset in the message: cleared
  ASSERT_TRUE(devices_->UpdateDevice(Context(owner.token).get(), update, &device).ok());
  EXPECT_EQ(device.device_name(), "Bedroom thermometer");
  EXPECT_EQ(device.battery_level(), 95);
  EXPECT_FALSE(device.has_rssi());

  v1::RecordHeartbeatRequest heartbeat;
  heartbeat.set_device_id(id);
  heartbeat.set_battery_level(80);
  ASSERT_TRUE(devices_->RecordHeartbeat(Context(owner.token).get(), heartbeat, &device).ok());
  EXPECT_TRUE(device.has_last_heartbeat());
  EXPECT_EQ(device.battery_level(), 80);
  heartbeat.set_battery_level(-1);
  EXPECT_EQ(devices_->RecordHeartbeat(Context(owner.token).get(), heartbeat, &device).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::DeleteDeviceTypeRequest delete_type;
  delete_type.set_id(type.id());
  google::protobuf::Empty empty;
  grpc::Status in_use =
      devices_->DeleteDeviceType(Context(admin_->token).get(), delete_type, &empty);
  EXPECT_EQ(in_use.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(in_use.error_message(), "devices still use this device type");

  v1::DeleteDeviceRequest remove;
  remove.set_id(id);
  ASSERT_TRUE(devices_->DeleteDevice(Context(owner.token).get(), remove, &empty).ok());
  EXPECT_EQ(devices_->DeleteDevice(Context(owner.token).get(), remove, &empty).error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_TRUE(devices_->DeleteDeviceType(Context(admin_->token).get(), delete_type, &empty).ok());
}

TEST_F(DeviceServiceTest, FirmwareVersionIsSetByOwnersAndByHeartbeats) {
  SignedInUser owner = SignUp("firmware_owner");
  v1::DeviceType type = MakeDeviceType("Flashable");
  v1::CreateDeviceRequest request;
  request.mutable_device()->set_device_type_id(type.id());
  request.mutable_device()->set_unique_identifier("firmware-1");
  request.mutable_device()->set_device_name("Balcony sensor");
  request.mutable_device()->set_firmware_version("3.3.0");
  v1::Device device;
  ASSERT_TRUE(devices_->CreateDevice(Context(owner.token).get(), request, &device).ok());
  EXPECT_EQ(device.firmware_version(), "3.3.0");

  v1::CreateDeviceRequest too_long = request;
  too_long.mutable_device()->set_unique_identifier("firmware-2");
  too_long.mutable_device()->set_firmware_version(std::string(65, '1'));
  EXPECT_EQ(devices_->CreateDevice(Context(owner.token).get(), too_long, &device).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::RecordHeartbeatRequest heartbeat;
  heartbeat.set_device_id(device.id());
  heartbeat.set_firmware_version("3.4.1");
  ASSERT_TRUE(devices_->RecordHeartbeat(Context(owner.token).get(), heartbeat, &device).ok());
  EXPECT_EQ(device.firmware_version(), "3.4.1");
  heartbeat.clear_firmware_version();
  ASSERT_TRUE(devices_->RecordHeartbeat(Context(owner.token).get(), heartbeat, &device).ok());
  EXPECT_EQ(device.firmware_version(), "3.4.1") << "a heartbeat that does not say keeps it";
  heartbeat.set_firmware_version(std::string(65, 'x'));
  EXPECT_EQ(devices_->RecordHeartbeat(Context(owner.token).get(), heartbeat, &device).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::UpdateDeviceRequest update;
  update.mutable_device()->set_id(device.id());
  update.mutable_update_mask()->add_paths("firmware_version");  // unset: cleared
  ASSERT_TRUE(devices_->UpdateDevice(Context(owner.token).get(), update, &device).ok());
  EXPECT_FALSE(device.has_firmware_version());
  update.mutable_device()->set_firmware_version("4.0.0");
  ASSERT_TRUE(devices_->UpdateDevice(Context(owner.token).get(), update, &device).ok());
  v1::GetDeviceRequest get;
  get.set_id(device.id());
  ASSERT_TRUE(devices_->GetDevice(Context(owner.token).get(), get, &device).ok());
  EXPECT_EQ(device.firmware_version(), "4.0.0");
}

TEST_F(DeviceServiceTest, CatalogueUpdatesListsAndDeletesRoundTrip) {
  v1::CreateManufacturerRequest create;
  create.mutable_manufacturer()->set_name("Shelly");
  v1::Manufacturer shelly;
  ASSERT_TRUE(devices_->CreateManufacturer(Context(admin_->token).get(), create, &shelly).ok());
  v1::UpdateManufacturerRequest rename;
  rename.mutable_manufacturer()->set_id(shelly.id());
  rename.mutable_manufacturer()->set_name("Shelly Group");
  rename.mutable_manufacturer()->set_contact_email("support@shelly.cloud");
  rename.mutable_update_mask()->add_paths("name");
  rename.mutable_update_mask()->add_paths("contact_email");
  ASSERT_TRUE(devices_->UpdateManufacturer(Context(admin_->token).get(), rename, &shelly).ok());
  EXPECT_EQ(shelly.name(), "Shelly Group");
  EXPECT_EQ(shelly.contact_email(), "support@shelly.cloud");
  rename.mutable_manufacturer()->set_contact_email("not an email");
  EXPECT_EQ(
      devices_->UpdateManufacturer(Context(admin_->token).get(), rename, &shelly).error_code(),
      StatusCode::INVALID_ARGUMENT);

  v1::CreateDeviceTypeRequest type_request;
  type_request.mutable_device_type()->set_manufacturer_id(shelly.id());
  type_request.mutable_device_type()->set_name("Plus H&T");
  type_request.mutable_device_type()->set_device_type(v1::DEVICE_KIND_SENSOR);
  v1::DeviceType type;
  ASSERT_TRUE(devices_->CreateDeviceType(Context(admin_->token).get(), type_request, &type).ok());
  v1::UpdateDeviceTypeRequest retype;
  retype.mutable_device_type()->set_id(type.id());
  retype.mutable_device_type()->set_device_type(v1::DEVICE_KIND_COMBINED);
  retype.mutable_device_type()->set_data_unit("°C");
  retype.mutable_device_type()->set_is_active(false);
  retype.mutable_update_mask()->add_paths("device_type");
  retype.mutable_update_mask()->add_paths("data_unit");
  retype.mutable_update_mask()->add_paths("is_active");
  ASSERT_TRUE(devices_->UpdateDeviceType(Context(admin_->token).get(), retype, &type).ok());
  EXPECT_EQ(type.device_type(), v1::DEVICE_KIND_COMBINED);
  EXPECT_EQ(type.data_unit(), "°C");
  EXPECT_FALSE(type.is_active());
  v1::GetDeviceTypeRequest get_type;
  get_type.set_id(type.id());
  SignedInUser reader = SignUp("catalogue_reader");
  ASSERT_TRUE(devices_->GetDeviceType(Context(reader.token).get(), get_type, &type).ok());
  EXPECT_EQ(devices_->UpdateDeviceType(Context(reader.token).get(), retype, &type).error_code(),
            StatusCode::PERMISSION_DENIED);

  v1::ListManufacturersRequest page;
  page.set_page_size(1);
  v1::ListManufacturersResponse listed;
  int seen = 0;
  do {
    ASSERT_TRUE(devices_->ListManufacturers(Context(reader.token).get(), page, &listed).ok());
    seen += listed.manufacturers_size();
    page.set_page_token(listed.next_page_token());
  } while (!listed.next_page_token().empty() && seen < 1000);
  EXPECT_GE(seen, 1);

  v1::DeleteDeviceTypeRequest remove_type;
  remove_type.set_id(type.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(devices_->DeleteDeviceType(Context(admin_->token).get(), remove_type, &empty).ok());
  EXPECT_EQ(devices_->GetDeviceType(Context(reader.token).get(), get_type, &type).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(DeviceServiceTest, BadIdsAreInvalidArgument) {
  SignedInUser owner = SignUp("bad_ids");
  v1::Device device;
  for (int64_t id : {int64_t{0}, int64_t{-5}, int64_t{1} << 40}) {
    v1::GetDeviceRequest request;
    request.set_id(id);
    grpc::Status status = devices_->GetDevice(Context(owner.token).get(), request, &device);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << id;
    EXPECT_NE(status.error_message().find("id"), std::string::npos);
  }
}

}  // namespace
}  // namespace plantmon
