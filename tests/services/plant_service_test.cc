#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "services/pagination.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class PlantServiceTest : public ApiTest {};

TEST_F(PlantServiceTest, PlantTypesAreAnAdministratorCatalogueWithValidatedCareValues) {
  SignedInUser user = SignUp("gardener");
  v1::CreatePlantTypeRequest request;
  request.mutable_plant_type()->set_name("Monstera Deliciosa");
  request.mutable_plant_type()->set_scientific_name("Monstera deliciosa");
  request.mutable_plant_type()->set_optimal_temperature(22.5);
  request.mutable_plant_type()->set_optimal_humidity(72.5);
  request.mutable_plant_type()->set_optimal_light(1000);
  request.mutable_plant_type()->set_water_frequency_days(7);
  v1::PlantType created;
  EXPECT_EQ(plants_->CreatePlantType(Context(user.token).get(), request, &created).error_code(),
            StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(plants_->CreatePlantType(Context(admin_->token).get(), request, &created).ok());
  EXPECT_EQ(created.optimal_humidity(), 72.5);
  EXPECT_EQ(created.water_frequency_days(), 7);
  EXPECT_FALSE(created.has_care_instructions());

  v1::CreatePlantTypeRequest too_humid = request;
  too_humid.mutable_plant_type()->set_name("Swamp");
  too_humid.mutable_plant_type()->set_optimal_humidity(150);
  grpc::Status status = plants_->CreatePlantType(Context(admin_->token).get(), too_humid, &created);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("optimal_humidity"), std::string::npos);
  v1::CreatePlantTypeRequest never = request;
  never.mutable_plant_type()->set_name("Cactus");
  never.mutable_plant_type()->set_water_frequency_days(0);
  EXPECT_EQ(plants_->CreatePlantType(Context(admin_->token).get(), never, &created).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::ListPlantTypesRequest by_name;
  by_name.set_name("Monstera Deliciosa");
  v1::ListPlantTypesResponse listed;
  ASSERT_TRUE(plants_->ListPlantTypes(Context(user.token).get(), by_name, &listed).ok());
  ASSERT_EQ(listed.plant_types_size(), 1);
  EXPECT_EQ(listed.plant_types(0).scientific_name(), "Monstera deliciosa");
}

TEST_F(PlantServiceTest, PlantsRoundTripWithFiltersForHealthAndSpecies) {
  SignedInUser owner = SignUp("plant_owner");
  v1::PlantType fern = MakePlantType("Boston Fern");
  v1::PlantType basil = MakePlantType("Basil");
  v1::CreatePlantRequest request;
  request.mutable_plant()->set_plant_type_id(fern.id());
  request.mutable_plant()->set_plant_name("Bathroom fern");
  request.mutable_plant()->set_location("Bathroom");
  request.mutable_plant()->mutable_planting_date()->set_seconds(1673740800);  // 2023-01-15
  request.mutable_plant()->set_is_healthy(false);  // ignored: plants start healthy
  v1::Plant plant;
  ASSERT_TRUE(plants_->CreatePlant(Context(owner.token).get(), request, &plant).ok());
  EXPECT_EQ(plant.user_id(), owner.user.id());
  EXPECT_TRUE(plant.is_healthy());
  EXPECT_EQ(plant.planting_date().seconds(), 1673740800);
  EXPECT_FALSE(plant.has_last_watered());
  MakePlant(owner, basil.id(), "Kitchen basil");

  v1::UpdatePlantRequest wilt;
  wilt.mutable_plant()->set_id(plant.id());
  wilt.mutable_plant()->set_is_healthy(false);
  wilt.mutable_plant()->set_health_status("Wilting");
  wilt.mutable_update_mask()->add_paths("is_healthy");
  wilt.mutable_update_mask()->add_paths("health_status");
  ASSERT_TRUE(plants_->UpdatePlant(Context(owner.token).get(), wilt, &plant).ok());
  EXPECT_EQ(plant.health_status(), "Wilting");

  v1::ListPlantsRequest unhealthy;
  unhealthy.set_is_healthy(false);
  v1::ListPlantsResponse listed;
  ASSERT_TRUE(plants_->ListPlants(Context(owner.token).get(), unhealthy, &listed).ok());
  ASSERT_EQ(listed.plants_size(), 1);
  EXPECT_EQ(listed.plants(0).id(), plant.id());
  v1::ListPlantsRequest of_species;
  of_species.set_plant_type_name("Basil");
  ASSERT_TRUE(plants_->ListPlants(Context(owner.token).get(), of_species, &listed).ok());
  ASSERT_EQ(listed.plants_size(), 1);
  EXPECT_EQ(listed.plants(0).plant_name(), "Kitchen basil");

  v1::CreatePlantRequest bad_date = request;
  bad_date.mutable_plant()->mutable_planting_date()->set_nanos(-1);
  EXPECT_EQ(plants_->CreatePlant(Context(owner.token).get(), bad_date, &plant).error_code(),
            StatusCode::INVALID_ARGUMENT);
  v1::CreatePlantRequest unknown_species = request;
  unknown_species.mutable_plant()->set_plant_type_id(999999);
  EXPECT_EQ(plants_->CreatePlant(Context(owner.token).get(), unknown_species, &plant).error_code(),
            StatusCode::NOT_FOUND);

  v1::DeletePlantTypeRequest delete_type;
  delete_type.set_id(fern.id());
  google::protobuf::Empty empty;
  EXPECT_EQ(
      plants_->DeletePlantType(Context(admin_->token).get(), delete_type, &empty).error_code(),
      StatusCode::FAILED_PRECONDITION);
}

TEST_F(PlantServiceTest, PagesOfPlantsWithLongNotesStayUnderTheCapAndReachEveryPlant) {
  SignedInUser owner = SignUp("long_notes");
  const v1::PlantType type = MakePlantType("Verbose fern");
  // 70 plants of 64 KiB of notes each: more than one 4 MiB response holds.
  std::vector<int64_t> made;
  v1::CreatePlantRequest request;
  request.mutable_plant()->set_plant_type_id(type.id());
  request.mutable_plant()->set_notes(std::string(65536, 'n'));
  for (int i = 0; i < 70; ++i) {
    request.mutable_plant()->set_plant_name("Verbose " + std::to_string(i));
    v1::Plant plant;
    ASSERT_TRUE(plants_->CreatePlant(Context(owner.token).get(), request, &plant).ok());
    made.push_back(plant.id());
  }
  std::vector<int64_t> listed;
  v1::ListPlantsRequest list;
  list.set_page_size(500);
  int pages = 0;
  do {
    v1::ListPlantsResponse page;
    // A client's default receive limit (4 MiB) would refuse a larger one.
    grpc::Status status = plants_->ListPlants(Context(owner.token).get(), list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(page.ByteSizeLong(), size_t{4} << 20);
    for (const v1::Plant& plant : page.plants()) {
      EXPECT_EQ(plant.notes().size(), 65536u);
      listed.push_back(plant.id());
    }
    list.set_page_token(page.next_page_token());
    ++pages;
  } while (!list.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(listed, made);
}

TEST_F(PlantServiceTest, AForgedPageTokenPastEveryIdIsAnEmptyPage) {
  SignedInUser owner = SignUp("forger");
  const v1::Plant plant = MakePlant(owner, MakePlantType("Forged fern").id(), "Forged");
  // Tokens are not signed: anyone can make one for a position past the
  // integer ids. It reads an empty page instead of failing the statement
  // (which on the pipelined reader would skip the reads sent behind it).
  v1::ListPlantsRequest request;
  request.set_page_token(
      services::MakePageToken(services::QueryFingerprint("ListPlants"), {int64_t{3} << 32}));
  v1::ListPlantsResponse page;
  grpc::Status status = plants_->ListPlants(Context(owner.token).get(), request, &page);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(page.plants_size(), 0);
  EXPECT_TRUE(page.next_page_token().empty());
  request.set_page_token(
      services::MakePageToken(services::QueryFingerprint("ListPlants"), {plant.id() - 1}));
  ASSERT_TRUE(plants_->ListPlants(Context(owner.token).get(), request, &page).ok());
  ASSERT_EQ(page.plants_size(), 1);
  EXPECT_EQ(page.plants(0).id(), plant.id());
}

TEST_F(PlantServiceTest, AssignmentsNeedTheCallersPlantAndDeviceAndAKnownRole) {
  SignedInUser owner = SignUp("assigner");
  SignedInUser stranger = SignUp("stranger");
  v1::DeviceType type = MakeDeviceType("Probe");
  v1::PlantType species = MakePlantType("Pothos");
  v1::Device device = MakeDevice(owner, type.id(), "assign-dev-1");
  v1::Device foreign_device = MakeDevice(stranger, type.id(), "assign-dev-2");
  v1::Plant plant = MakePlant(owner, species.id(), "Pothos");

  v1::CreatePlantDeviceAssignmentRequest request;
  request.mutable_plant_device_assignment()->set_plant_id(plant.id());
  request.mutable_plant_device_assignment()->set_device_id(device.id());
  request.mutable_plant_device_assignment()->set_assignment_type("soil_moisture");
  v1::PlantDeviceAssignment assignment;
  ASSERT_TRUE(
      plants_->CreatePlantDeviceAssignment(Context(owner.token).get(), request, &assignment).ok());
  EXPECT_EQ(assignment.assignment_type(), "soil_moisture");
  EXPECT_TRUE(assignment.is_active());
  EXPECT_EQ(plants_->CreatePlantDeviceAssignment(Context(owner.token).get(), request, &assignment)
                .error_code(),
            StatusCode::ALREADY_EXISTS);

  v1::CreatePlantDeviceAssignmentRequest foreign = request;
  foreign.mutable_plant_device_assignment()->set_device_id(foreign_device.id());
  grpc::Status status =
      plants_->CreatePlantDeviceAssignment(Context(owner.token).get(), foreign, &assignment);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
  v1::CreatePlantDeviceAssignmentRequest missing = request;
  missing.mutable_plant_device_assignment()->set_device_id(987654);
  grpc::Status missing_status =
      plants_->CreatePlantDeviceAssignment(Context(owner.token).get(), missing, &assignment);
  EXPECT_EQ(missing_status.error_code(), StatusCode::NOT_FOUND);

  v1::CreatePlantDeviceAssignmentRequest disco = request;
  disco.mutable_plant_device_assignment()->set_assignment_type("disco");
  EXPECT_EQ(plants_->CreatePlantDeviceAssignment(Context(owner.token).get(), disco, &assignment)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::ListPlantDeviceAssignmentsRequest of_plant;
  of_plant.set_plant_id(plant.id());
  v1::ListPlantDeviceAssignmentsResponse listed;
  ASSERT_TRUE(
      plants_->ListPlantDeviceAssignments(Context(owner.token).get(), of_plant, &listed).ok());
  ASSERT_EQ(listed.plant_device_assignments_size(), 1);
  ASSERT_TRUE(
      plants_->ListPlantDeviceAssignments(Context(stranger.token).get(), of_plant, &listed).ok());
  EXPECT_EQ(listed.plant_device_assignments_size(), 0);
}

TEST_F(PlantServiceTest, CatalogueAndAssignmentUpdatesAndDeletesRoundTrip) {
  SignedInUser owner = SignUp("round_trip");
  v1::PlantType species = MakePlantType("Round trip fern");
  v1::UpdatePlantTypeRequest care;
  care.mutable_plant_type()->set_id(species.id());
  care.mutable_plant_type()->set_care_instructions("Mist daily");
  care.mutable_plant_type()->set_optimal_light(400);
  care.mutable_update_mask()->add_paths("care_instructions");
  care.mutable_update_mask()->add_paths("optimal_light");
  care.mutable_update_mask()->add_paths("optimal_humidity");  // unset: cleared
  v1::PlantType updated;
  EXPECT_EQ(plants_->UpdatePlantType(Context(owner.token).get(), care, &updated).error_code(),
            StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(plants_->UpdatePlantType(Context(admin_->token).get(), care, &updated).ok());
  EXPECT_EQ(updated.care_instructions(), "Mist daily");
  EXPECT_EQ(updated.optimal_light(), 400);
  EXPECT_FALSE(updated.has_optimal_humidity());
  EXPECT_EQ(updated.optimal_temperature(), 22);

  v1::Plant plant = MakePlant(owner, species.id(), "Round trip fern");
  v1::Device device = MakeDevice(owner, MakeDeviceType("Round trip probe").id(), "round-1");
  v1::PlantDeviceAssignment assignment = AssignDevice(owner, plant.id(), device.id(), "humidity");
  v1::UpdatePlantDeviceAssignmentRequest pause;
  pause.mutable_plant_device_assignment()->set_id(assignment.id());
  pause.mutable_plant_device_assignment()->set_assignment_type("temperature");
  pause.mutable_plant_device_assignment()->set_is_active(false);
  pause.mutable_update_mask()->add_paths("assignment_type");
  pause.mutable_update_mask()->add_paths("is_active");
  ASSERT_TRUE(
      plants_->UpdatePlantDeviceAssignment(Context(owner.token).get(), pause, &assignment).ok());
  EXPECT_EQ(assignment.assignment_type(), "temperature");
  EXPECT_FALSE(assignment.is_active());
  v1::ListPlantDeviceAssignmentsRequest inactive;
  inactive.set_is_active(false);
  v1::ListPlantDeviceAssignmentsResponse listed;
  ASSERT_TRUE(
      plants_->ListPlantDeviceAssignments(Context(owner.token).get(), inactive, &listed).ok());
  ASSERT_EQ(listed.plant_device_assignments_size(), 1);
  v1::DeletePlantDeviceAssignmentRequest remove;
  remove.set_id(assignment.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(
      plants_->DeletePlantDeviceAssignment(Context(owner.token).get(), remove, &empty).ok());
  EXPECT_EQ(
      plants_->DeletePlantDeviceAssignment(Context(owner.token).get(), remove, &empty).error_code(),
      StatusCode::NOT_FOUND);

  v1::DeletePlantRequest remove_plant;
  remove_plant.set_id(plant.id());
  ASSERT_TRUE(plants_->DeletePlant(Context(owner.token).get(), remove_plant, &empty).ok());
  v1::DeletePlantTypeRequest remove_species;
  remove_species.set_id(species.id());
  ASSERT_TRUE(plants_->DeletePlantType(Context(admin_->token).get(), remove_species, &empty).ok());
  v1::GetPlantTypeRequest get;
  get.set_id(species.id());
  EXPECT_EQ(plants_->GetPlantType(Context(owner.token).get(), get, &updated).error_code(),
            StatusCode::NOT_FOUND);
}

// docs/telemetry.md, "Watering".
TEST_F(PlantServiceTest, WateringsAreRecordedListedAndMoveLastWateredForward) {
  SignedInUser owner = SignUp("waterer");
  v1::CreatePlantTypeRequest species_request;
  species_request.mutable_plant_type()->set_name("Weekly fern");
  species_request.mutable_plant_type()->set_water_frequency_days(7);
  v1::PlantType species;
  ASSERT_TRUE(
      plants_->CreatePlantType(Context(admin_->token).get(), species_request, &species).ok());
  v1::Plant plant = MakePlant(owner, species.id(), "Thirsty fern");
  auto record = [&](std::optional<int64_t> seconds, std::optional<int> amount,
                    std::optional<std::string> note, v1::WateringEvent* out) {
    v1::RecordWateringRequest request;
    request.set_plant_id(plant.id());
    if (seconds) request.mutable_watered_at()->set_seconds(*seconds);
    if (amount) request.set_amount_ml(*amount);
    if (note) request.set_note(*note);
    return plants_->RecordWatering(Context(owner.token).get(), request, out);
  };
  const int64_t now = std::time(nullptr);
  v1::WateringEvent first;
  ASSERT_TRUE(record(now - 2 * 86400, 250, "from the can", &first).ok());
  EXPECT_EQ(first.watered_at().seconds(), now - 2 * 86400);
  EXPECT_EQ(first.amount_ml(), 250);
  EXPECT_EQ(first.note(), "from the can");
  v1::WateringEvent second;
  ASSERT_TRUE(record(std::nullopt, std::nullopt, std::nullopt, &second).ok());
  EXPECT_NEAR(second.watered_at().seconds(), now, 5) << "unset: now";
  EXPECT_FALSE(second.has_amount_ml());
  // Recorded late, dated earlier: listed, but last_watered stays.
  v1::WateringEvent late;
  ASSERT_TRUE(record(now - 5 * 86400, 100, std::nullopt, &late).ok());

  v1::GetPlantOverviewRequest overview_request;
  overview_request.set_id(plant.id());
  v1::PlantOverview overview;
  ASSERT_TRUE(
      plants_->GetPlantOverview(Context(owner.token).get(), overview_request, &overview).ok());
  EXPECT_EQ(overview.plant().last_watered().seconds(), second.watered_at().seconds());
  EXPECT_EQ(overview.next_watering_due().seconds(), second.watered_at().seconds() + 7 * 86400);

  v1::ListWateringEventsRequest list;
  list.set_plant_id(plant.id());
  list.set_page_size(2);
  v1::ListWateringEventsResponse page;
  ASSERT_TRUE(plants_->ListWateringEvents(Context(owner.token).get(), list, &page).ok());
  ASSERT_EQ(page.watering_events_size(), 2);
  EXPECT_EQ(page.watering_events(0).id(), late.id()) << "most recently recorded first";
  EXPECT_EQ(page.watering_events(1).id(), second.id());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(plants_->ListWateringEvents(Context(owner.token).get(), list, &page).ok());
  ASSERT_EQ(page.watering_events_size(), 1);
  EXPECT_EQ(page.watering_events(0).id(), first.id());
  EXPECT_TRUE(page.next_page_token().empty());

  v1::WateringEvent refused;
  EXPECT_EQ(record(now + 3600, std::nullopt, std::nullopt, &refused).error_code(),
            StatusCode::INVALID_ARGUMENT)
      << "an hour in the future";
  EXPECT_EQ(record(std::nullopt, 0, std::nullopt, &refused).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(record(std::nullopt, std::nullopt, std::string(501, 'x'), &refused).error_code(),
            StatusCode::INVALID_ARGUMENT);
  // Someone else's plant is not found, for recording and listing alike.
  SignedInUser other = SignUp("waterer_other");
  v1::RecordWateringRequest foreign;
  foreign.set_plant_id(plant.id());
  EXPECT_EQ(plants_->RecordWatering(Context(other.token).get(), foreign, &refused).error_code(),
            StatusCode::NOT_FOUND);
  list.clear_page_token();
  EXPECT_EQ(plants_->ListWateringEvents(Context(other.token).get(), list, &page).error_code(),
            StatusCode::NOT_FOUND);
  // A species without a watering interval gives no due date.
  v1::Plant unscheduled = MakePlant(owner, MakePlantType("Unscheduled fern").id(), "Cactus-ish");
  v1::RecordWateringRequest water;
  water.set_plant_id(unscheduled.id());
  ASSERT_TRUE(plants_->RecordWatering(Context(owner.token).get(), water, &refused).ok());
  overview_request.set_id(unscheduled.id());
  ASSERT_TRUE(
      plants_->GetPlantOverview(Context(owner.token).get(), overview_request, &overview).ok());
  EXPECT_FALSE(overview.has_next_watering_due());
}

TEST_F(PlantServiceTest, DeletingADeviceRemovesItsReadingsAndAssignments) {
  SignedInUser owner = SignUp("cascade_owner");
  v1::DeviceType type = MakeDeviceType("Cascade probe");
  v1::PlantType species = MakePlantType("Cascade fern");
  v1::Device device = MakeDevice(owner, type.id(), "cascade-dev");
  v1::Plant plant = MakePlant(owner, species.id(), "Cascade fern");
  v1::PlantDeviceAssignment assignment =
      AssignDevice(owner, plant.id(), device.id(), "temperature");
  for (int i = 0; i < 3; ++i) {
    v1::RecordReadingRequest reading;
    reading.mutable_sensor_data()->set_device_id(device.id());
    reading.mutable_sensor_data()->set_measurement_value(20 + i);
    reading.mutable_sensor_data()->set_data_quality(100);
    reading.mutable_sensor_data()->mutable_timestamp()->set_seconds(std::time(nullptr) - 60 * i);
    v1::SensorData stored;
    ASSERT_TRUE(telemetry_->RecordReading(Context(owner.token).get(), reading, &stored).ok());
  }
  v1::DeleteDeviceRequest remove;
  remove.set_id(device.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(devices_->DeleteDevice(Context(owner.token).get(), remove, &empty).ok());
  const std::string id = std::to_string(device.id());
  EXPECT_EQ(
      database_->Query("SELECT count(*) FROM sensor_data WHERE device_id = " + id)[0][0].as<int>(),
      0);
  v1::GetPlantDeviceAssignmentRequest get;
  get.set_id(assignment.id());
  EXPECT_EQ(
      plants_->GetPlantDeviceAssignment(Context(owner.token).get(), get, &assignment).error_code(),
      StatusCode::NOT_FOUND);
  v1::GetPlantRequest get_plant;
  get_plant.set_id(plant.id());
  EXPECT_TRUE(plants_->GetPlant(Context(owner.token).get(), get_plant, &plant).ok());
}

}  // namespace
}  // namespace plantmon
