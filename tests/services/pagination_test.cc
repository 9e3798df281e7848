#include "services/pagination.h"

#include <set>

#include "gtest/gtest.h"
#include "tests/testing/api_fixture.h"
#include "tests/testing/status_matchers.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

TEST(PageTokenTest, RoundTripsForTheSameQueryOnly) {
  services::QueryFingerprint query("ListDevices");
  query.Add("is_active", 1);
  std::string token = services::MakePageToken(query, {42});
  ASSERT_OK_AND_ASSIGN(services::PageCursor cursor, services::ParsePage(10, token, query, 1));
  EXPECT_EQ(cursor.position, std::vector<int64_t>{42});
  EXPECT_EQ(cursor.page_size, 10);

  services::QueryFingerprint other("ListDevices");
  other.Add("is_active", 0);
  EXPECT_CODE(services::ParsePage(10, token, other, 1), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(services::ParsePage(10, token, services::QueryFingerprint("ListPlants"), 1),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(services::ParsePage(10, "garbage!!", query, 1), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(services::ParsePage(10, token.substr(1), query, 1),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(services::ParsePage(10, token, query, 2), absl::StatusCode::kInvalidArgument);
}

TEST(PageTokenTest, PageSizeDefaultsCapsAndRejectsNegatives) {
  services::QueryFingerprint query("ListPlants");
  ASSERT_OK_AND_ASSIGN(services::PageCursor unset, services::ParsePage(0, "", query, 1));
  EXPECT_EQ(unset.page_size, 50);
  ASSERT_OK_AND_ASSIGN(services::PageCursor huge, services::ParsePage(100000, "", query, 1));
  EXPECT_EQ(huge.page_size, 500);
  EXPECT_CODE(services::ParsePage(-1, "", query, 1), absl::StatusCode::kInvalidArgument);
}

TEST(PageTokenTest, FingerprintsOfDifferentFiltersDiffer) {
  // Length prefixes keep ("a", "bc") and ("ab", "c") apart.
  services::QueryFingerprint first("M");
  first.Add("a", "bc");
  services::QueryFingerprint second("M");
  second.Add("ab", "c");
  EXPECT_NE(first.text(), second.text());
}

class PaginationApiTest : public ApiTest {};

TEST_F(PaginationApiTest, WalkingPagesWhileRowsAreInsertedNeverRepeatsOrSkips) {
  SignedInUser owner = SignUp("pager");
  int64_t type = MakeDeviceType("Pager probe").id();
  std::set<int64_t> existing;
  for (int i = 0; i < 23; ++i) {
    existing.insert(MakeDevice(owner, type, "page-" + std::to_string(i)).id());
  }
  v1::ListDevicesRequest request;
  request.set_page_size(5);
  std::vector<int64_t> seen;
  int inserted = 0;
  for (int page = 0; page < 20; ++page) {
    v1::ListDevicesResponse response;
    ASSERT_TRUE(devices_->ListDevices(Context(owner.token).get(), request, &response).ok());
    EXPECT_LE(response.devices_size(), 5);
    for (const v1::Device& device : response.devices()) seen.push_back(device.id());
    // New rows arrive between pages.
    MakeDevice(owner, type, "page-new-" + std::to_string(++inserted));
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  std::set<int64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "a row was repeated";
  for (int64_t id : existing) EXPECT_TRUE(unique.count(id)) << "row " << id << " was skipped";
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(PaginationApiTest, TokensFromAnotherQueryAndNegativeSizesAreInvalidArgument) {
  SignedInUser owner = SignUp("pager_errors");
  int64_t type = MakeDeviceType("Pager errors probe").id();
  for (int i = 0; i < 3; ++i) MakeDevice(owner, type, "page-err-" + std::to_string(i));
  v1::ListDevicesRequest request;
  request.set_page_size(1);
  v1::ListDevicesResponse response;
  ASSERT_TRUE(devices_->ListDevices(Context(owner.token).get(), request, &response).ok());
  const std::string device_token = response.next_page_token();
  ASSERT_FALSE(device_token.empty());

  v1::ListDevicesRequest filtered = request;
  filtered.set_is_active(true);
  filtered.set_page_token(device_token);
  grpc::Status status = devices_->ListDevices(Context(owner.token).get(), filtered, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("page_token"), std::string::npos);

  v1::ListPlantsRequest other_method;
  other_method.set_page_token(device_token);
  v1::ListPlantsResponse plants;
  EXPECT_EQ(plants_->ListPlants(Context(owner.token).get(), other_method, &plants).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::ListDevicesRequest negative;
  negative.set_page_size(-3);
  EXPECT_EQ(devices_->ListDevices(Context(owner.token).get(), negative, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::ListDevicesRequest defaults;
  ASSERT_TRUE(devices_->ListDevices(Context(owner.token).get(), defaults, &response).ok());
  EXPECT_EQ(response.devices_size(), 3) << "page_size unset returns a full default page";
  EXPECT_TRUE(response.next_page_token().empty());
}

}  // namespace
}  // namespace plantmon
