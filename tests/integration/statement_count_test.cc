// How many statements PostgreSQL runs for a warm authenticated keyed read,
// counted from the server's own log (log_statement = all for this test's
// database only).
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "plantmon/v1/plant.grpc.pb.h"
#include "plantmon/v1/user.grpc.pb.h"
#include "services/server.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

// The cluster's log (tools/test starts it with pg_ctl --log=<datadir>/server.log).
std::string ServerLog(const plantmon::testing::TestDatabase& database) {
  return database.Query("SELECT pg_read_file('server.log')")[0][0].as<std::string>();
}

TEST(StatementCountTest, AWarmAuthenticatedGetPlantIsOneStatement) {
  auto database = plantmon::testing::TestDatabase::CreateOrDie();
  database->Query(absl::StrCat("ALTER DATABASE ", database->name(), " SET log_statement = 'all'"));
  services::ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.database = database->Config(/*pool_size=*/1, /*max_overflow=*/0);
  options.bcrypt_cost = 10;
  options.access_log = false;
  // No health checks or purges during the count.
  options.health_check_interval = absl::Hours(1);
  auto server = services::PlantmonServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto users = v1::UserService::NewStub(channel);
  auto plants = v1::PlantService::NewStub(channel);
  v1::CreateUserRequest create;
  create.mutable_user()->set_email("counted@example.com");
  create.mutable_user()->set_username("counted");
  create.set_password("counted-password");
  v1::User user;
  grpc::ClientContext signup;
  ASSERT_TRUE(users->CreateUser(&signup, create, &user).ok());
  v1::LoginRequest login;
  login.set_login("counted");
  login.set_password("counted-password");
  v1::LoginResponse session;
  grpc::ClientContext login_context;
  ASSERT_TRUE(users->Login(&login_context, login, &session).ok());
  const auto plant_id =
      database
          ->Query(absl::StrCat("WITH t AS (INSERT INTO plant_types (name) VALUES ('Counted fern') "
                               "RETURNING id) INSERT INTO plants (user_id, plant_type_id, "
                               "plant_name) SELECT ",
                               user.id(), ", id, 'Counted' FROM t RETURNING id"))[0][0]
          .as<int64_t>();
  auto get_plant = [&] {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + session.access_token());
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetPlantRequest request;
    request.set_id(plant_id);
    v1::Plant plant;
    return plants->GetPlant(&context, request, &plant);
  };
  // Warm: the credential is cached, the connection used, its timeout set.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(get_plant().ok());

  const size_t before = ServerLog(*database).size();
  ASSERT_TRUE(get_plant().ok());
  absl::SleepFor(absl::Milliseconds(300));  // the log is written as statements start
  const std::string after = ServerLog(*database).substr(before);
  std::vector<std::string> statements;
  for (absl::string_view line : absl::StrSplit(after, '\n')) {
    if (!absl::StrContains(line, "LOG:  statement: ") &&
        !absl::StrContains(line, "LOG:  execute ")) {
      continue;
    }
    // This test's own reads of the log, and the alert listener's clock.
    if (absl::StrContains(line, "pg_read_file") || absl::StrContains(line, "clock_timestamp")) {
      continue;
    }
    statements.emplace_back(line);
  }
  EXPECT_EQ(statements.size(), 1u) << absl::StrJoin(statements, "\n");
  ASSERT_FALSE(statements.empty());
  EXPECT_TRUE(absl::StrContains(statements[0], "FROM plants")) << statements[0];
  // A statement prepared on the connection (postgres::ExecPrepared), not the
  // unnamed one a parametrized statement is parsed into each time.
  EXPECT_TRUE(absl::StrContains(statements[0], "execute plantmon_")) << statements[0];
}

}  // namespace
}  // namespace plantmon
