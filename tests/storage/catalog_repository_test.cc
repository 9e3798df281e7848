#include "storage/catalog_repository.h"

#include "gtest/gtest.h"
#include "postgres/transaction.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon::storage {
namespace {

using ::plantmon::testing::TestDatabase;

class CatalogRepositoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { database_ = TestDatabase::CreateOrDie().release(); }
  static void TearDownTestSuite() { delete database_; }
  void SetUp() override {
    pool_ = database_->NewPool();
    database_->Query("TRUNCATE users, manufacturers, plant_types CASCADE");
    catalog_ = std::make_unique<CatalogRepository>(*pool_);
  }

  v1::Manufacturer MakeManufacturer(const std::string& name) {
    v1::Manufacturer value;
    value.set_name(name);
    value.set_website("https://example.com/" + name);
    auto created = catalog_->CreateManufacturer(value);
    EXPECT_OK(created);
    return *created;
  }

  v1::DeviceType MakeDeviceType(int64_t manufacturer_id, const std::string& name,
                                v1::DeviceKind kind = v1::DEVICE_KIND_SENSOR) {
    v1::DeviceType value;
    value.set_manufacturer_id(manufacturer_id);
    value.set_name(name);
    value.set_device_type(kind);
    value.set_data_unit("°C");
    value.set_min_value(-20);
    value.set_max_value(60);
    auto created = catalog_->CreateDeviceType(value);
    EXPECT_OK(created);
    return *created;
  }

  static TestDatabase* database_;
  std::unique_ptr<postgres::ConnectionPool> pool_;
  std::unique_ptr<CatalogRepository> catalog_;
};

TestDatabase* CatalogRepositoryTest::database_ = nullptr;

TEST_F(CatalogRepositoryTest, ManufacturersRoundTripAndRejectDuplicates) {
  v1::Manufacturer xiaomi = MakeManufacturer("Xiaomi");
  EXPECT_EQ(xiaomi.website(), "https://example.com/Xiaomi");
  EXPECT_FALSE(xiaomi.is_verified());
  v1::Manufacturer copy;
  copy.set_name("Xiaomi");
  absl::StatusOr<v1::Manufacturer> duplicate = catalog_->CreateManufacturer(copy);
  EXPECT_CODE(duplicate, absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(duplicate.status().message(), "a manufacturer with this name already exists");

  v1::Manufacturer update;
  update.set_is_verified(true);
  google::protobuf::FieldMask mask;
  mask.add_paths("is_verified");
  mask.add_paths("website");  // unset in `update`: cleared
  ASSERT_OK_AND_ASSIGN(v1::Manufacturer updated,
                       catalog_->UpdateManufacturer(xiaomi.id(), update, mask));
  EXPECT_TRUE(updated.is_verified());
  EXPECT_FALSE(updated.has_website());
  EXPECT_EQ(updated.name(), "Xiaomi");
  EXPECT_CODE(catalog_->GetManufacturer(xiaomi.id() + 1000), absl::StatusCode::kNotFound);
  EXPECT_CODE(catalog_->UpdateManufacturer(xiaomi.id() + 1000, update, mask),
              absl::StatusCode::kNotFound);
}

TEST_F(CatalogRepositoryTest, DeviceTypesFilterByManufacturerAndKind) {
  v1::Manufacturer xiaomi = MakeManufacturer("Xiaomi");
  v1::Manufacturer sonoff = MakeManufacturer("Sonoff");
  v1::DeviceType thermo = MakeDeviceType(xiaomi.id(), "Thermometer");
  MakeDeviceType(xiaomi.id(), "Pump", v1::DEVICE_KIND_ACTUATOR);
  MakeDeviceType(sonoff.id(), "Thermometer");

  EXPECT_EQ(thermo.device_type(), v1::DEVICE_KIND_SENSOR);
  EXPECT_EQ(thermo.data_unit(), "°C");
  EXPECT_EQ(thermo.min_value(), -20);

  DeviceTypeFilter by_maker;
  by_maker.manufacturer_id = xiaomi.id();
  ASSERT_OK_AND_ASSIGN(auto xiaomi_types, catalog_->ListDeviceTypes(by_maker, {0, 50}));
  EXPECT_EQ(xiaomi_types.size(), 2u);
  DeviceTypeFilter actuators;
  actuators.device_type = v1::DEVICE_KIND_ACTUATOR;
  ASSERT_OK_AND_ASSIGN(auto actuator_types, catalog_->ListDeviceTypes(actuators, {0, 50}));
  ASSERT_EQ(actuator_types.size(), 1u);
  EXPECT_EQ(actuator_types[0].name(), "Pump");

  v1::DeviceType again;
  again.set_manufacturer_id(xiaomi.id());
  again.set_name("Thermometer");
  again.set_device_type(v1::DEVICE_KIND_SENSOR);
  EXPECT_CODE(catalog_->CreateDeviceType(again), absl::StatusCode::kAlreadyExists);
  again.set_name("Orphan");
  again.set_manufacturer_id(sonoff.id() + 1000);
  EXPECT_CODE(catalog_->CreateDeviceType(again), absl::StatusCode::kNotFound);

  v1::DeviceType backwards;
  backwards.set_min_value(100);
  google::protobuf::FieldMask min_only;
  min_only.add_paths("min_value");
  absl::StatusOr<v1::DeviceType> bad = catalog_->UpdateDeviceType(thermo.id(), backwards, min_only);
  EXPECT_CODE(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "min_value must not exceed max_value");
}

TEST_F(CatalogRepositoryTest, DeviceTypeInUseCannotBeDeletedButItsManufacturerCascades) {
  v1::Manufacturer maker = MakeManufacturer("Maker");
  v1::DeviceType used = MakeDeviceType(maker.id(), "Used");
  v1::DeviceType unused = MakeDeviceType(maker.id(), "Unused");
  ASSERT_OK(postgres::ExecuteUpdate(*pool_,
                                    "INSERT INTO users (id, email, username, password_hash) "
                                    "VALUES (1, 'a@b.c', 'a', 'h')"));
  ASSERT_OK(
      postgres::ExecuteUpdate(*pool_,
                              "INSERT INTO devices (user_id, device_type_id, unique_identifier, "
                              "device_name) VALUES (1, $1, 'dev-1', 'Device')",
                              used.id()));
  absl::Status in_use = catalog_->DeleteDeviceType(used.id());
  EXPECT_CODE(in_use, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(in_use.message(), "devices still use this device type");
  EXPECT_CODE(catalog_->DeleteManufacturer(maker.id()), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(catalog_->DeleteDeviceType(unused.id()));
  ASSERT_OK(postgres::ExecuteUpdate(*pool_, "DELETE FROM devices"));
  ASSERT_OK(catalog_->DeleteManufacturer(maker.id()));
  EXPECT_CODE(catalog_->GetDeviceType(used.id()), absl::StatusCode::kNotFound);
}

TEST_F(CatalogRepositoryTest, PlantTypesRoundTripFilterByNameAndRestrictDeletes) {
  v1::PlantType monstera;
  monstera.set_name("Monstera Deliciosa");
  monstera.set_scientific_name("Monstera deliciosa");
  monstera.set_optimal_temperature(22.5);
  monstera.set_optimal_humidity(72.5);
  monstera.set_optimal_light(1000);
  monstera.set_water_frequency_days(7);
  ASSERT_OK_AND_ASSIGN(v1::PlantType created, catalog_->CreatePlantType(monstera));
  EXPECT_EQ(created.optimal_humidity(), 72.5);
  EXPECT_EQ(created.water_frequency_days(), 7);
  v1::PlantType fern;
  fern.set_name("Boston Fern");
  ASSERT_OK(catalog_->CreatePlantType(fern));

  PlantTypeFilter by_name;
  by_name.name = "Monstera Deliciosa";
  ASSERT_OK_AND_ASSIGN(auto found, catalog_->ListPlantTypes(by_name, {0, 50}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id(), created.id());

  v1::PlantType update;
  update.set_care_instructions("Bright indirect light");
  google::protobuf::FieldMask mask;
  mask.add_paths("care_instructions");
  ASSERT_OK_AND_ASSIGN(v1::PlantType updated,
                       catalog_->UpdatePlantType(created.id(), update, mask));
  EXPECT_EQ(updated.care_instructions(), "Bright indirect light");
  EXPECT_EQ(updated.optimal_light(), 1000);

  ASSERT_OK(postgres::ExecuteUpdate(*pool_,
                                    "INSERT INTO users (id, email, username, password_hash) "
                                    "VALUES (2, 'p@b.c', 'p', 'h')"));
  ASSERT_OK(postgres::ExecuteUpdate(*pool_,
                                    "INSERT INTO plants (user_id, plant_type_id, plant_name) "
                                    "VALUES (2, $1, 'Big Monstera')",
                                    created.id()));
  EXPECT_CODE(catalog_->DeletePlantType(created.id()), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(catalog_->CreatePlantType(fern), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace plantmon::storage
