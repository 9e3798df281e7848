// The URL policy, the signature and the connect-time refusal, against a
// real HTTP receiver on 127.0.0.1.
#include "notify/webhook_http.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/http_receiver.h"

namespace plantmon::notify {
namespace {

TEST(CheckWebhookUrlTest, RefusesWhatIsNotAnAllowedHttpUrl) {
  const UrlPolicy strict;
  EXPECT_TRUE(CheckWebhookUrl("https://hooks.example.com/x", strict, "url").ok());
  EXPECT_TRUE(CheckWebhookUrl("https://8.8.8.8/x", strict, "url").ok());
  for (const char* url :
       {"http://hooks.example.com/x", "ftp://hooks.example.com/x", "hooks.example.com/x",
        "https://", "https://user:pw@example.com/", "file:///etc/passwd", ""}) {
    absl::Status status = CheckWebhookUrl(url, strict, "notification_channel.url");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_TRUE(absl::StartsWith(status.message(), "notification_channel.url")) << status;
  }
  EXPECT_TRUE(CheckWebhookUrl("http://hooks.example.com/x", UrlPolicy{true, false}, "url").ok());
}

TEST(CheckWebhookUrlTest, RefusesInwardAddressesUnlessAllowed) {
  const UrlPolicy strict;
  for (const char* url :
       {"https://127.0.0.1/", "https://127.1.2.3:8443/x", "https://10.0.0.8/",
        "https://172.16.5.4/", "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/", "https://0.0.0.0/", "https://[::1]/", "https://[fe80::1]/",
        "https://[fd00::5]/", "https://[::ffff:127.0.0.1]/", "https://localhost/",
        "https://api.localhost/"}) {
    EXPECT_EQ(CheckWebhookUrl(url, strict, "url").code(), absl::StatusCode::kInvalidArgument)
        << url;
    EXPECT_TRUE(CheckWebhookUrl(url, UrlPolicy{false, true}, "url").ok()) << url;
  }
  EXPECT_TRUE(CheckWebhookUrl("https://172.32.0.1/", strict, "url").ok());
  EXPECT_TRUE(CheckWebhookUrl("https://[2001:db8::1]/", strict, "url").ok());
}

TEST(SignatureHeaderTest, IsTheHmacOfTimestampDotBody) {
  const std::string header = SignatureHeader("key", 1700000000, R"({"a":1})");
  const std::string text = R"(1700000000.{"a":1})";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), "key", 3, reinterpret_cast<const unsigned char*>(text.data()), text.size(),
       mac, &length);
  EXPECT_EQ(header,
            absl::StrCat("t=1700000000,v1=", absl::BytesToHexString(absl::string_view(
                                                 reinterpret_cast<const char*>(mac), length))));
  EXPECT_NE(header, SignatureHeader("key", 1700000001, R"({"a":1})"));
}

TEST(PostWebhookTest, ANameThatResolvesInwardIsRefusedWhenItConnects) {
  testing::HttpReceiver receiver;
  PostRequest request{absl::StrCat("http://localhost:", receiver.port(), "/hook"), "secret", "{}",
                      7, "opened"};
  // The check at write time would refuse "localhost"; a name that resolves
  // inward later is caught here, after DNS.
  PostResult refused = PostWebhook(request, UrlPolicy{true, false}, absl::Seconds(2));
  EXPECT_FALSE(refused.delivered());
  EXPECT_FALSE(refused.http_status.has_value());
  EXPECT_NE(refused.error->find("private"), std::string::npos) << *refused.error;
  EXPECT_TRUE(receiver.Requests().empty());

  PostResult sent = PostWebhook(request, UrlPolicy{true, true}, absl::Seconds(2));
  EXPECT_TRUE(sent.delivered()) << sent.error.value_or("");
  EXPECT_EQ(sent.http_status, 200);
  ASSERT_EQ(receiver.Requests().size(), 1u);
  EXPECT_EQ(receiver.Requests()[0].headers.at("plantmon-delivery"), "7");
  EXPECT_EQ(receiver.Requests()[0].headers.at("plantmon-event"), "opened");
}

TEST(PostWebhookTest, HttpIsRefusedUnlessAllowed) {
  testing::HttpReceiver receiver;
  PostRequest request{receiver.Url(), "secret", "{}", 1, "opened"};
  EXPECT_FALSE(PostWebhook(request, UrlPolicy{false, true}, absl::Seconds(2)).delivered());
  EXPECT_TRUE(receiver.Requests().empty());
}

}  // namespace
}  // namespace plantmon::notify
