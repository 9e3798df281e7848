#include "services/server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "storage/database_admin.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_database.h"

namespace plantmon::services {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::plantmon::testing::TestDatabase;

ServerOptions OptionsFor(const postgres::DatabaseConfig& database) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database;
  options.health_check_interval = absl::Milliseconds(50);
  return options;
}

std::shared_ptr<grpc::Channel> ChannelTo(const PlantmonServer& server) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                             grpc::InsecureChannelCredentials());
}

grpc::Status CheckHealth(const PlantmonServer& server, HealthCheckResponse* response,
                         const std::string& service = "") {
  auto stub = Health::NewStub(ChannelTo(server));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service(service);
  return stub->Check(&context, request, response);
}

std::set<std::string> ReflectedServices(const PlantmonServer& server) {
  using ::grpc::reflection::v1alpha::ServerReflection;
  using ::grpc::reflection::v1alpha::ServerReflectionRequest;
  using ::grpc::reflection::v1alpha::ServerReflectionResponse;
  auto stub = ServerReflection::NewStub(ChannelTo(server));
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  ServerReflectionRequest request;
  request.set_list_services("");
  EXPECT_TRUE(stream->Write(request));
  stream->WritesDone();
  ServerReflectionResponse response;
  std::set<std::string> names;
  while (stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      names.insert(service.name());
    }
  }
  EXPECT_TRUE(stream->Finish().ok());
  return names;
}

TEST(PlantmonServerTest, ServesHealthAndReflectionWithACurrentSchema) {
  auto database = TestDatabase::CreateOrDie();
  ASSERT_OK_AND_ASSIGN(auto server, PlantmonServer::Start(OptionsFor(database->Config())));
  EXPECT_GT(server->port(), 0);
  HealthCheckResponse response;
  ASSERT_TRUE(CheckHealth(*server, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  grpc::Status unknown = CheckHealth(*server, &response, "no.such.Service");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);

  std::set<std::string> services = ReflectedServices(*server);
  EXPECT_TRUE(services.count("grpc.health.v1.Health")) << services.size();
  EXPECT_TRUE(services.count("grpc.reflection.v1alpha.ServerReflection"));
}

TEST(PlantmonServerTest, RefusesAnOutdatedSchemaUnlessAskedToMigrate) {
  auto database = TestDatabase::CreateOrDie(/*migrate=*/false);
  ServerOptions options = OptionsFor(database->Config());
  absl::StatusOr<std::unique_ptr<PlantmonServer>> refused = PlantmonServer::Start(options);
  EXPECT_CODE(refused, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("--migrate"), std::string::npos);

  options.migrate = true;
  ASSERT_OK_AND_ASSIGN(auto server, PlantmonServer::Start(options));
  HealthCheckResponse response;
  ASSERT_TRUE(CheckHealth(*server, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST(PlantmonServerTest, StartsNotServingWhileTheDatabaseIsMissingAndRecoversByItself) {
  auto anchor = TestDatabase::CreateOrDie(/*migrate=*/false);
  postgres::DatabaseConfig later = anchor->Config();
  later.dbname = anchor->name() + "_later";
  ServerOptions options = OptionsFor(later);
  options.migrate = true;
  ASSERT_OK_AND_ASSIGN(auto server, PlantmonServer::Start(options));

  auto stub = Health::NewStub(ChannelTo(*server));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto watch = stub->Watch(&context, HealthCheckRequest());
  HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  {
    // Calls meanwhile get UNAVAILABLE, not a crash or a hang.
    auto users = v1::UserService::NewStub(ChannelTo(*server));
    grpc::ClientContext call;
    call.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::LoginRequest login;
    login.set_login("anyone");
    login.set_password("whatever-password");
    v1::LoginResponse response;
    EXPECT_EQ(users->Login(&call, login, &response).error_code(), grpc::StatusCode::UNAVAILABLE);
  }

  ASSERT_OK(storage::CreateDatabaseIfMissing(later));
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  context.TryCancel();

  server->Shutdown(absl::ZeroDuration());
  server.reset();
  anchor->Query("DROP DATABASE " + later.dbname + " WITH (FORCE)");
}

TEST(PlantmonServerTest, StopsAnsweringAfterShutdown) {
  auto database = TestDatabase::CreateOrDie();
  ASSERT_OK_AND_ASSIGN(auto server, PlantmonServer::Start(OptionsFor(database->Config())));
  server->Shutdown(absl::Milliseconds(100));
  server->Wait();
  HealthCheckResponse response;
  EXPECT_EQ(CheckHealth(*server, &response).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// The HTTP/2 edge: an idle connection is closed by the server, and a header
// block over the metadata limit is refused while the server goes on serving.
TEST(PlantmonServerTest, ClosesIdleConnectionsAndRefusesOversizedMetadata) {
  auto database = TestDatabase::CreateOrDie();
  ServerOptions options = OptionsFor(database->Config());
  options.edge.max_connection_idle = absl::Milliseconds(500);
  options.edge.max_metadata_bytes = 8 * 1024;
  ASSERT_OK_AND_ASSIGN(auto server, PlantmonServer::Start(options));
  std::shared_ptr<grpc::Channel> channel = ChannelTo(*server);
  auto stub = Health::NewStub(channel);
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    context.AddMetadata("x-padding", std::string(64 * 1024, 'p'));
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, HealthCheckRequest(), &response);
    EXPECT_FALSE(status.ok()) << "64 KiB of headers went through";
  }
  // The server goes on serving (a refused header block may cost the
  // connection: a new channel).
  channel = ChannelTo(*server);
  stub = Health::NewStub(channel);
  HealthCheckResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  context.set_wait_for_ready(true);
  grpc::Status status = stub->Check(&context, HealthCheckRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(channel->GetState(false), GRPC_CHANNEL_READY);
  // No call for longer than the idle limit: the server sends GOAWAY.
  absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (channel->GetState(false) == GRPC_CHANNEL_READY && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_NE(channel->GetState(false), GRPC_CHANNEL_READY);
  // A new call reconnects.
  grpc::ClientContext again;
  again.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  again.set_wait_for_ready(true);
  EXPECT_TRUE(stub->Check(&again, HealthCheckRequest(), &response).ok());
}

}  // namespace
}  // namespace plantmon::services
