// Keyed reads (GetPlant, GetDevice, ...) and the list pages of one
// statement (ListPlants, ListAlertRules, ListNotificationChannels) run on the
// pipelined reader (postgres/pipelined_reader.h), not on the database
// threads: they are answered while every database thread waits.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

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
    StartSuite(/*access_log=*/false, [](services::ServerOptions& options) {
      options.database.pool_size = 1;
      // A channel to list; no alert changes, so nothing is sent to it.
      options.webhooks.url_policy.allow_http = true;
      options.webhooks.url_policy.allow_private = true;
    });
  }

  static std::unique_ptr<grpc::ClientContext> ShortContext(const std::string& token) {
    auto context = Context(token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    return context;
  }

  // Once the server's listener hears credential changes, the cache keeps
  // what the next call looks up, and the calls after it need no lookup (so
  // no database thread).
  static void WaitUntilTheCacheListens() {
    for (int i = 0; i < 200; ++i) {
      const auto listening = database_->Query(
          "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
          "AND query LIKE 'LISTEN%'")[0][0];
      if (listening.as<int>() > 0) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }

  // Uploads one reading of `device_id` on a thread of its own (join it).
  static std::thread UploadOneReading(const std::string& token, int64_t device_id) {
    v1::IncomingReading reading;
    reading.set_device_id(device_id);
    reading.set_measurement_value(21.5);
    *reading.mutable_timestamp() = google::protobuf::util::TimeUtil::GetCurrentTime();
    return std::thread([token, reading] { UploadOneBatch(token, {reading}); });
  }
};

TEST_F(KeyedReadTest, KeyedReadsAreAnsweredWhileEveryDatabaseThreadWaits) {
  const SignedInUser owner = SignUp("keyed");
  const v1::PlantType type = MakePlantType("Keyed fern");
  const v1::Plant plant = MakePlant(owner, type.id(), "Keyed");
  const v1::Device device = MakeDevice(owner, MakeDeviceType("Keyed sensor").id(), "keyed-1");
  WaitUntilTheCacheListens();
  v1::GetPlantRequest get_plant;
  get_plant.set_id(plant.id());
  v1::Plant read;
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get_plant, &read).ok());

  // The one database thread stores a batch that waits on a row lock.
  DeviceRowLock lock(device.id());
  std::thread upload = UploadOneReading(owner.token, device.id());
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

TEST_F(KeyedReadTest, ListPagesAreAnsweredWhileEveryDatabaseThreadWaits) {
  WaitUntilTheCacheListens();
  const SignedInUser owner = SignUp("lister");
  const SignedInUser other = SignUp("lister-other");
  const v1::PlantType type = MakePlantType("Listed fern");
  const v1::Device device = MakeDevice(owner, MakeDeviceType("Listed sensor").id(), "listed-1");
  std::vector<int64_t> plant_ids;
  for (int i = 0; i < 5; ++i) {
    plant_ids.push_back(MakePlant(owner, type.id(), "Listed " + std::to_string(i)).id());
  }
  MakePlant(other, type.id(), "Not listed");
  const v1::AlertRule rule = MakeDryRule(owner, plant_ids[0], 20);
  v1::CreateNotificationChannelRequest channel;
  channel.mutable_notification_channel()->set_name("phone");
  channel.mutable_notification_channel()->set_url("http://127.0.0.1:1/plantmon");
  channel.mutable_notification_channel()->set_secret("a secret of sixteen bytes or more");
  v1::NotificationChannel made_channel;
  grpc::Status created =
      alerts_->CreateNotificationChannel(Context(owner.token).get(), channel, &made_channel);
  ASSERT_TRUE(created.ok()) << created.error_message();

  // The one database thread stores a batch that waits on a row lock.
  DeviceRowLock lock(device.id());
  std::thread upload = UploadOneReading(owner.token, device.id());
  ASSERT_TRUE(WaitForABlockedBatch());

  // Pages of two walk the owner's five plants in id order, and no other.
  std::vector<int64_t> listed;
  v1::ListPlantsRequest list_plants;
  list_plants.set_page_size(2);
  int pages = 0;
  std::string plants_token;
  do {
    v1::ListPlantsResponse page;
    grpc::Status status = plants_->ListPlants(ShortContext(owner.token).get(), list_plants, &page);
    ASSERT_TRUE(status.ok()) << pages << ": " << status.error_message();
    for (const v1::Plant& plant : page.plants()) listed.push_back(plant.id());
    list_plants.set_page_token(page.next_page_token());
    if (pages == 0) plants_token = page.next_page_token();
    ++pages;
  } while (!list_plants.page_token().empty() && pages < 10);
  EXPECT_EQ(listed, plant_ids);
  EXPECT_EQ(pages, 3);

  v1::ListAlertRulesResponse rules;
  grpc::Status status = alerts_->ListAlertRules(ShortContext(owner.token).get(), {}, &rules);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(rules.alert_rules_size(), 1);
  EXPECT_EQ(rules.alert_rules(0).id(), rule.id());
  v1::ListNotificationChannelsResponse channels;
  status = alerts_->ListNotificationChannels(ShortContext(owner.token).get(), {}, &channels);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(channels.notification_channels_size(), 1);
  EXPECT_EQ(channels.notification_channels(0).id(), made_channel.id());
  EXPECT_TRUE(channels.notification_channels(0).secret().empty());
  // A token of another query is refused.
  v1::ListAlertRulesRequest foreign_token;
  foreign_token.set_page_token(plants_token);
  EXPECT_EQ(
      alerts_->ListAlertRules(ShortContext(owner.token).get(), foreign_token, &rules).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  lock.Release();
  upload.join();
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
