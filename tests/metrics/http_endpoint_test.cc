#include "metrics/http_endpoint.h"

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace plantmon::metrics {
namespace {

using ::testing::HasSubstr;

struct Response {
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  std::string content_type;
  std::string body;
};

size_t Append(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

Response Get(int port, const std::string& path) {
  Response response;
  CURL* curl = curl_easy_init();
  const std::string url = absl::StrCat("http://127.0.0.1:", port, path);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK) << url;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  char* content_type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type != nullptr) response.content_type = content_type;
  curl_easy_cleanup(curl);
  return response;
}

TEST(MetricsListenAddressTest, ABarePortIsLoopbackAndHostsAreLiterals) {
  EXPECT_EQ(*MetricsListenAddress("9464"), "127.0.0.1:9464");
  EXPECT_EQ(*MetricsListenAddress(":9464"), "127.0.0.1:9464");
  EXPECT_EQ(*MetricsListenAddress("0.0.0.0:9464"), "0.0.0.0:9464");
  EXPECT_EQ(*MetricsListenAddress("[::1]:0"), "[::1]:0");
  for (const char* bad : {"", "abc", "127.0.0.1:", "127.0.0.1:70000", "localhost:9464", "[::1:9"}) {
    absl::StatusOr<std::string> address = MetricsListenAddress(bad);
    ASSERT_FALSE(address.ok()) << bad;
    EXPECT_EQ(address.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(address.status().message(), HasSubstr("PLANTMON_METRICS_ADDR"));
  }
}

TEST(MetricsEndpointTest, ServesTheRegistryAtMetricsAndNothingElse) {
  Registry registry;
  CounterFamily& scrapes = registry.Counter("things_total", "Things.", {"kind"});
  scrapes.Add({"a"});
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
      MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_GT((*endpoint)->port(), 0);

  Response first = Get((*endpoint)->port(), "/metrics");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(first.body, HasSubstr("things_total{kind=\"a\"} 1\n"));
  scrapes.Add({"a"}, 4);
  EXPECT_THAT(Get((*endpoint)->port(), "/metrics").body, HasSubstr("things_total{kind=\"a\"} 5\n"));
  EXPECT_EQ(Get((*endpoint)->port(), "/").status, 404);
  EXPECT_EQ(Get((*endpoint)->port(), "/etc/passwd").status, 404);
}

TEST(MetricsEndpointTest, APortInUseIsUnavailable) {
  Registry registry;
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> first =
      MetricsEndpoint::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> second =
      MetricsEndpoint::Start(absl::StrCat("127.0.0.1:", (*first)->port()), registry);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace plantmon::metrics
