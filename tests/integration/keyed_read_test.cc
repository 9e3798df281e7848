// Keyed reads (GetPlant, GetDevice, ...) run on the pipelined reader
// (postgres/pipelined_reader.h), not on the database threads: they are
// answered while every database thread waits.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "absl/time/clock.h"
#include "google/protobuf/empty.pb.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"

namespace plantmon::testing {
namespace {

class KeyedReadTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    // One database thread, which the test holds.
    StartSuite(/*access_log=*/false,
               [](services::ServerOptions& options) { options.database.pool_size = 1; });
  }

  static std::unique_ptr<grpc::ClientContext> ShortContext(const std::string& token) {
    auto context = Context(token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return context;
  }
};

TEST_F(KeyedReadTest, KeyedReadsAreAnsweredWhileEveryDatabaseThreadWaits) {
  const SignedInUser owner = SignUp("keyed");
  const v1::PlantType type = MakePlantType("Keyed fern");
  const v1::Plant plant = MakePlant(owner, type.id(), "Keyed");
  const v1::Device device = MakeDevice(owner, MakeDeviceType("Keyed sensor").id(), "keyed-1");
  // Once the server's listener hears credential changes, the cache keeps
  // what the next call looks up, and the calls after it need no lookup.
  for (int i = 0; i < 200; ++i) {
    const auto listening = database_->Query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE 'LISTEN%'")[0][0];
    if (listening.as<int>() > 0) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::SleepFor(absl::Milliseconds(50));
  v1::GetPlantRequest get_plant;
  get_plant.set_id(plant.id());
  v1::Plant read;
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get_plant, &read).ok());

  // The one database thread stores a batch that waits on a row lock.
  DeviceRowLock lock(device.id());
  v1::IncomingReading reading;
  reading.set_device_id(device.id());
  reading.set_measurement_value(21.5);
  *reading.mutable_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
  std::thread upload([&] { UploadOneBatch(owner.token, {reading}); });
  ASSERT_TRUE(WaitForABlockedBatch());

  for (int i = 0; i < 20; ++i) {
    grpc::Status status = plants_->GetPlant(ShortContext(owner.token).get(), get_plant, &read);
    ASSERT_TRUE(status.ok()) << i << ": " << status.error_message();
    EXPECT_EQ(read.plant_name(), "Keyed");
  }
  v1::GetDeviceRequest get_device;
  get_device.set_id(device.id());
  v1::Device device_read;
  ASSERT_TRUE(devices_->GetDevice(ShortContext(owner.token).get(), get_device, &device_read).ok());
  EXPECT_EQ(device_read.unique_identifier(), "keyed-1");
  v1::GetPlantTypeRequest get_type;
  get_type.set_id(type.id());
  v1::PlantType type_read;
  ASSERT_TRUE(plants_->GetPlantType(ShortContext(owner.token).get(), get_type, &type_read).ok());
  EXPECT_EQ(type_read.name(), "Keyed fern");
  // Another user's plant is not found, as on the pooled path.
  const SignedInUser other = SignUp("keyed-other");
  lock.Release();
  upload.join();
  EXPECT_EQ(plants_->GetPlant(ShortContext(other.token).get(), get_plant, &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(KeyedReadTest, AKeyedReadWithALoggedOutTokenIsUnauthenticated) {
  const SignedInUser owner = SignUp("keyed-logout");
  const v1::Plant plant = MakePlant(owner, MakePlantType("Keyed palm").id(), "Palm");
  v1::GetPlantRequest get_plant;
  get_plant.set_id(plant.id());
  v1::Plant read;
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get_plant, &read).ok());
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get_plant, &read).ok());
  google::protobuf::Empty logged_out;
  ASSERT_TRUE(users_->Logout(Context(owner.token).get(), {}, &logged_out).ok());
  // The cache forgets the token when the server hears of the logout.
  grpc::StatusCode code = grpc::StatusCode::OK;
  for (int i = 0; i < 100 && code != grpc::StatusCode::UNAUTHENTICATED; ++i) {
    code = plants_->GetPlant(Context(owner.token).get(), get_plant, &read).error_code();
    if (code != grpc::StatusCode::UNAUTHENTICATED) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(code, grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace plantmon::testing
