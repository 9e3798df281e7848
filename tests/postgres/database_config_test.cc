#include "postgres/database_config.h"

#include <map>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace plantmon::postgres {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(DatabaseConfigTest, DefaultsMatchTheSeed) {
  ASSERT_OK_AND_ASSIGN(DatabaseConfig config, DatabaseConfigFromEnv(FakeEnv({})));
  EXPECT_EQ(config.host, "localhost");
  EXPECT_EQ(config.port, 5432);
  EXPECT_EQ(config.user, "iot_user");
  EXPECT_EQ(config.password, "iot_password");
  EXPECT_EQ(config.dbname, "iot_plant_db");
  EXPECT_EQ(config.pool_size, 10);
  EXPECT_EQ(config.max_overflow, 20);
  EXPECT_EQ(config.max_lifetime, absl::Hours(1));
}

TEST(DatabaseConfigTest, ReadsEveryVariable) {
  ASSERT_OK_AND_ASSIGN(
      DatabaseConfig config,
      DatabaseConfigFromEnv(FakeEnv({{"POSTGRES_DB_HOST", "db.internal"},
                                     {"POSTGRES_DB_PORT", "6543"},
                                     {"POSTGRES_DB_USER", "prod_user"},
                                     {"POSTGRES_DB_PASSWORD", "s3cret"},
                                     {"POSTGRES_DB_NAME", "iot_plant_prod"},
                                     {"PLANTMON_DB_POOL_SIZE", "3"},
                                     {"PLANTMON_DB_POOL_MAX_OVERFLOW", "0"},
                                     {"PLANTMON_DB_POOL_TIMEOUT_MS", "250"},
                                     {"PLANTMON_DB_POOL_RECYCLE_SECONDS", "60"}})));
  EXPECT_EQ(config.host, "db.internal");
  EXPECT_EQ(config.port, 6543);
  EXPECT_EQ(config.user, "prod_user");
  EXPECT_EQ(config.password, "s3cret");
  EXPECT_EQ(config.dbname, "iot_plant_prod");
  EXPECT_EQ(config.pool_size, 3);
  EXPECT_EQ(config.max_overflow, 0);
  EXPECT_EQ(config.acquire_timeout, absl::Milliseconds(250));
  EXPECT_EQ(config.max_lifetime, absl::Seconds(60));
}

TEST(DatabaseConfigTest, MalformedPortIsAnErrorNamingTheVariable) {
  absl::StatusOr<DatabaseConfig> config =
      DatabaseConfigFromEnv(FakeEnv({{"POSTGRES_DB_PORT", "abc"}}));
  EXPECT_CODE(config, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("POSTGRES_DB_PORT"), std::string::npos);
  EXPECT_NE(config.status().message().find("abc"), std::string::npos);
}

TEST(DatabaseConfigTest, OutOfRangePortAndPoolSizeAreRejected) {
  EXPECT_CODE(DatabaseConfigFromEnv(FakeEnv({{"POSTGRES_DB_PORT", "70000"}})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DatabaseConfigFromEnv(FakeEnv({{"PLANTMON_DB_POOL_SIZE", "0"}})),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(DatabaseConfigFromEnv(FakeEnv({{"POSTGRES_DB_HOST", ""}})),
              absl::StatusCode::kInvalidArgument);
}

TEST(DatabaseConfigTest, DatabaseUrlMasksThePassword) {
  DatabaseConfig config;
  config.password = "very_secure_password_123";
  EXPECT_EQ(DatabaseUrl(config), "postgresql://iot_user:***@localhost:5432/iot_plant_db");
  EXPECT_EQ(DatabaseUrl(config, /*reveal_password=*/true),
            "postgresql://iot_user:very_secure_password_123@localhost:5432/"
            "iot_plant_db");
}

TEST(DatabaseConfigTest, ConnectionStringQuotesEveryValue) {
  DatabaseConfig config;
  config.password = "it's a \\ pass";
  std::string text = LibpqConnectionString(config);
  EXPECT_NE(text.find("password='it\\'s a \\\\ pass'"), std::string::npos) << text;
}

TEST(DatabaseConfigTest, ConnectionsToAVanishedServerEndWithinSeconds) {
  const std::string text = LibpqConnectionString(DatabaseConfig());
  EXPECT_NE(text.find("keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tcp_user_timeout=10000"), std::string::npos) << text;
}

TEST(DatabaseConfigTest, SeveralHostsConnectToTheOneThatAcceptsWrites) {
  ASSERT_OK_AND_ASSIGN(
      DatabaseConfig config,
      DatabaseConfigFromEnv(FakeEnv(
          {{"POSTGRES_DB_HOST", "pg-a:5433, pg-b,10.0.0.7:6000"}, {"POSTGRES_DB_PORT", "5440"}})));
  EXPECT_EQ(config.host, "pg-a,pg-b,10.0.0.7");
  EXPECT_EQ(config.ports, "5433,5440,6000");
  EXPECT_EQ(config.target_session_attrs, "read-write");
  const std::string text = LibpqConnectionString(config);
  EXPECT_NE(text.find("host='pg-a,pg-b,10.0.0.7' port='5433,5440,6000'"), std::string::npos)
      << text;
  EXPECT_NE(text.find("target_session_attrs='read-write'"), std::string::npos) << text;
  EXPECT_EQ(DatabaseUrl(config),
            "postgresql://iot_user:***@pg-a:5433,pg-b:5440,10.0.0.7:6000/"
            "iot_plant_db");
  EXPECT_CODE(DatabaseConfigFromEnv(FakeEnv({{"POSTGRES_DB_HOST", "pg-a,pg-b:port"}})),
              absl::StatusCode::kInvalidArgument);
}

TEST(DatabaseConfigTest, ReadHostsAreStandbysWithThePrimarysCredentials) {
  ASSERT_OK_AND_ASSIGN(DatabaseConfig primary,
                       DatabaseConfigFromEnv(FakeEnv(
                           {{"POSTGRES_DB_PORT", "5440"}, {"POSTGRES_DB_PASSWORD", "s3cret"}})));
  ASSERT_OK_AND_ASSIGN(std::optional<DatabaseConfig> none,
                       StandbyConfigFromEnv(FakeEnv({}), primary));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(
      std::optional<DatabaseConfig> standby,
      StandbyConfigFromEnv(FakeEnv({{"POSTGRES_DB_READ_HOSTS", "replica-1,replica-2:5441"}}),
                           primary));
  ASSERT_TRUE(standby.has_value());
  EXPECT_EQ(standby->host, "replica-1,replica-2");
  EXPECT_EQ(standby->ports, "5440,5441");
  EXPECT_EQ(standby->password, "s3cret");
  EXPECT_EQ(standby->target_session_attrs, "standby");
  absl::StatusOr<std::optional<DatabaseConfig>> malformed =
      StandbyConfigFromEnv(FakeEnv({{"POSTGRES_DB_READ_HOSTS", "replica-1,:5432"}}), primary);
  EXPECT_CODE(malformed, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("POSTGRES_DB_READ_HOSTS"), std::string::npos);
}

TEST(DotEnvTest, ParsesCommentsQuotesAndExport) {
  ASSERT_OK_AND_ASSIGN(auto values, ParseDotEnv("# comment\n"
                                                "\n"
                                                "POSTGRES_DB_HOST=localhost\n"
                                                "export POSTGRES_DB_PORT=5433\n"
                                                "POSTGRES_DB_PASSWORD=\"a b\"\n"
                                                "POSTGRES_DB_USER='x'\n"));
  EXPECT_EQ(values["POSTGRES_DB_HOST"], "localhost");
  EXPECT_EQ(values["POSTGRES_DB_PORT"], "5433");
  EXPECT_EQ(values["POSTGRES_DB_PASSWORD"], "a b");
  EXPECT_EQ(values["POSTGRES_DB_USER"], "x");
}

TEST(DotEnvTest, LineWithoutEqualsNamesTheLine) {
  absl::StatusOr<std::map<std::string, std::string>> values = ParseDotEnv("A=1\nnot a pair\n");
  EXPECT_CODE(values, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(values.status().message().find("line 2"), std::string::npos);
}

TEST(DotEnvTest, EnvironmentWinsOverFile) {
  std::string path = ::testing::TempDir() + "/plantmon_dotenv_test.env";
  {
    FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("PLANTMON_DOTENV_ONLY=from_file\nPLANTMON_DOTENV_BOTH=from_file\n", file);
    std::fclose(file);
  }
  setenv("PLANTMON_DOTENV_BOTH", "from_env", 1);
  ASSERT_OK_AND_ASSIGN(EnvLookup env, EnvWithDotEnv(path));
  EXPECT_EQ(env("PLANTMON_DOTENV_ONLY"), "from_file");
  EXPECT_EQ(env("PLANTMON_DOTENV_BOTH"), "from_env");
  EXPECT_EQ(env("PLANTMON_DOTENV_NEITHER"), std::nullopt);
  ASSERT_OK_AND_ASSIGN(EnvLookup missing, EnvWithDotEnv(path + ".absent"));
  EXPECT_EQ(missing("PLANTMON_DOTENV_ONLY"), std::nullopt);
}

}  // namespace
}  // namespace plantmon::postgres
