// Credentials cached by one server process are dropped when another one
// revokes them: a logout, a revoked API key and a disabled account take
// effect on every server sharing the database within a second.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "plantmon/v1/telemetry.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/server.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;

class TwoServers : public ::testing::Test {
 protected:
  // Token lifetime of the caching server's own logins.
  absl::Duration caching_token_lifetime_ = absl::Hours(1);

  void SetUp() override {
    database_ = plantmon::testing::TestDatabase::CreateOrDie();
    for (auto* server : {&revoking_, &caching_}) {
      services::ServerOptions options;
      options.listen_address = "127.0.0.1:0";
      options.database = database_->Config(/*pool_size=*/2, /*max_overflow=*/2);
      options.bcrypt_cost = 10;
      options.access_log = false;
      if (server == &caching_) options.token_lifetime = caching_token_lifetime_;
      auto started = services::PlantmonServer::Start(options);
      ASSERT_TRUE(started.ok()) << started.status();
      *server = *std::move(started);
    }
    revoking_users_ = Stub(*revoking_);
    caching_users_ = Stub(*caching_);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", caching_->port()),
                                       grpc::InsecureChannelCredentials());
    caching_alerts_ = v1::AlertService::NewStub(channel);
    caching_telemetry_ = v1::TelemetryService::NewStub(channel);
  }

  // Opens WatchAlerts on the caching server and waits until it is in place.
  std::unique_ptr<grpc::ClientReader<v1::WatchAlertsResponse>> Watch(grpc::ClientContext& context,
                                                                     const std::string& token) {
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto reader = caching_alerts_->WatchAlerts(&context, v1::WatchAlertsRequest());
    reader->WaitForInitialMetadata();
    return reader;
  }

  // Reads until the server ends the call; its status and when it came.
  template <typename Stream, typename Message>
  static std::pair<grpc::Status, absl::Time> Drain(Stream& stream, Message& message) {
    while (stream.Read(&message)) {
    }
    grpc::Status status = stream.Finish();
    return {status, absl::Now()};
  }

  static std::unique_ptr<v1::UserService::Stub> Stub(const services::PlantmonServer& server) {
    return v1::UserService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                                                        grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return context;
  }

  // Signs up on the revoking server; returns a login token.
  std::string SignUp(const std::string& name) {
    v1::CreateUserRequest create;
    create.mutable_user()->set_email(name + "@example.com");
    create.mutable_user()->set_username(name);
    create.set_password("revocation-password");
    v1::User user;
    grpc::ClientContext signup;
    EXPECT_TRUE(revoking_users_->CreateUser(&signup, create, &user).ok());
    v1::LoginRequest login;
    login.set_login(name);
    login.set_password("revocation-password");
    v1::LoginResponse session;
    grpc::ClientContext context;
    EXPECT_TRUE(revoking_users_->Login(&context, login, &session).ok());
    return session.access_token();
  }

  StatusCode CurrentUserOnCachingServer(const std::string& token) {
    v1::User user;
    return caching_users_->GetCurrentUser(Context(token).get(), v1::GetCurrentUserRequest(), &user)
        .error_code();
  }

  // Polls the caching server until `token` stops working; how long it took.
  absl::Duration TimeUntilRefused(const std::string& token, absl::Time since) {
    const absl::Time give_up = since + absl::Seconds(10);
    while (absl::Now() < give_up) {
      if (CurrentUserOnCachingServer(token) == StatusCode::UNAUTHENTICATED) {
        return absl::Now() - since;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::InfiniteDuration();
  }

  // Warms the caching server's cache with `token` (it must work there).
  void Warm(const std::string& token, StatusCode expected = StatusCode::OK) {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(CurrentUserOnCachingServer(token), expected);
  }

  std::unique_ptr<plantmon::testing::TestDatabase> database_;
  std::unique_ptr<services::PlantmonServer> revoking_;
  std::unique_ptr<services::PlantmonServer> caching_;
  std::unique_ptr<v1::UserService::Stub> revoking_users_;
  std::unique_ptr<v1::UserService::Stub> caching_users_;
  std::unique_ptr<v1::AlertService::Stub> caching_alerts_;
  std::unique_ptr<v1::TelemetryService::Stub> caching_telemetry_;
};

TEST_F(TwoServers, ALogoutEndsAnOpenWatchOnTheOtherServer) {
  const std::string token = SignUp("watcher");
  grpc::ClientContext context;
  auto reader = Watch(context, token);
  google::protobuf::Empty empty;
  const absl::Time logged_out = absl::Now();
  ASSERT_TRUE(revoking_users_->Logout(Context(token).get(), v1::LogoutRequest(), &empty).ok());
  v1::WatchAlertsResponse change;
  auto [status, ended] = Drain(*reader, change);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_LT(ended - logged_out, absl::Seconds(1));
}

TEST_F(TwoServers, ARevokedKeyEndsAnOpenGatewayStreamOnTheOtherServer) {
  const std::string token = SignUp("gateway_owner");
  v1::CreateApiKeyRequest create;
  create.set_name("gateway");
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(revoking_users_->CreateApiKey(Context(token).get(), create, &key).ok());
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + key.secret());
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = caching_telemetry_->StreamReadings(&context);
  v1::StreamReadingsRequest batch;
  batch.set_gateway_id("gw-revoked");
  batch.set_sequence(1);
  ASSERT_TRUE(stream->Write(batch));
  v1::StreamReadingsResponse ack;
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.sequence(), 1u);
  // The gateway now idles, waiting to send more: the revocation must reach it
  // without a batch to carry it.
  v1::RevokeApiKeyRequest revoke;
  revoke.set_id(key.api_key().id());
  v1::ApiKey revoked;
  const absl::Time revoked_at = absl::Now();
  ASSERT_TRUE(revoking_users_->RevokeApiKey(Context(token).get(), revoke, &revoked).ok());
  auto [status, ended] = Drain(*stream, ack);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_LT(ended - revoked_at, absl::Seconds(1));
}

class ShortTokens : public TwoServers {
 protected:
  ShortTokens() { caching_token_lifetime_ = absl::Seconds(2); }
};

TEST_F(ShortTokens, AnExpiredTokenEndsItsWatch) {
  v1::CreateUserRequest create;
  create.mutable_user()->set_email("expiring@example.com");
  create.mutable_user()->set_username("expiring");
  create.set_password("revocation-password");
  v1::User user;
  grpc::ClientContext signup;
  ASSERT_TRUE(caching_users_->CreateUser(&signup, create, &user).ok());
  v1::LoginRequest login;
  login.set_login("expiring");
  login.set_password("revocation-password");
  v1::LoginResponse session;
  grpc::ClientContext login_context;
  ASSERT_TRUE(caching_users_->Login(&login_context, login, &session).ok());
  grpc::ClientContext context;
  auto reader = Watch(context, session.access_token());
  v1::WatchAlertsResponse change;
  auto [status, ended] = Drain(*reader, change);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED) << status.error_message();
  const absl::Time expired = absl::FromUnixSeconds(session.expires_at().seconds()) +
                             absl::Nanoseconds(session.expires_at().nanos());
  EXPECT_LT(ended - expired, absl::Seconds(1));
}

// What the tests below guard: a warm token is answered from memory. A
// revocation written with the triggers off (so nobody is told) goes unseen
// until the entry lapses.
TEST_F(TwoServers, AWarmTokenIsVerifiedWithoutTheDatabase) {
  const std::string token = SignUp("warm");
  Warm(token);
  database_->Query(
      "SET session_replication_role = replica; "
      "UPDATE user_sessions SET revoked_at = now(); "
      "SET session_replication_role = origin");
  EXPECT_EQ(CurrentUserOnCachingServer(token), StatusCode::OK);
}

TEST_F(TwoServers, ALogoutOnOneServerEndsTheTokenOnTheOther) {
  const std::string token = SignUp("logout");
  Warm(token);
  google::protobuf::Empty empty;
  const absl::Time logged_out = absl::Now();
  ASSERT_TRUE(revoking_users_->Logout(Context(token).get(), v1::LogoutRequest(), &empty).ok());
  EXPECT_LT(TimeUntilRefused(token, logged_out), absl::Seconds(1));
}

TEST_F(TwoServers, ARevokedApiKeyStopsWorkingOnTheOtherServer) {
  const std::string token = SignUp("keyholder");
  v1::CreateApiKeyRequest create;
  create.set_name("gateway");
  v1::CreateApiKeyResponse key;
  ASSERT_TRUE(revoking_users_->CreateApiKey(Context(token).get(), create, &key).ok());
  // A valid key is refused for user methods with PERMISSION_DENIED; a revoked
  // one is not a credential at all.
  Warm(key.secret(), StatusCode::PERMISSION_DENIED);
  v1::RevokeApiKeyRequest revoke;
  revoke.set_id(key.api_key().id());
  v1::ApiKey revoked;
  const absl::Time revoked_at = absl::Now();
  ASSERT_TRUE(revoking_users_->RevokeApiKey(Context(token).get(), revoke, &revoked).ok());
  EXPECT_LT(TimeUntilRefused(key.secret(), revoked_at), absl::Seconds(1));
}

TEST_F(TwoServers, ADisabledAccountIsRefusedEverywhere) {
  const std::string token = SignUp("disabled");
  Warm(token);
  const absl::Time disabled = absl::Now();
  database_->Query("UPDATE users SET is_active = false WHERE username = 'disabled'");
  EXPECT_LT(TimeUntilRefused(token, disabled), absl::Seconds(1));
}

}  // namespace
}  // namespace plantmon
