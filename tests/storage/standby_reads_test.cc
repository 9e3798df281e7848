// storage::StandbyReads on its own: which pool a read runs on, and what sends
// it to the primary. The standby is tools/test's streaming standby
// (PLANTMON_TEST_PG_STANDBY_PORT); the API-level behaviour is in
// tests/services/standby_reads_test.cc.
#include "storage/standby_reads.h"

#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "postgres/connection_pool.h"
#include "postgres/transaction.h"
#include "tests/testing/eventually.h"
#include "tests/testing/test_database.h"

namespace plantmon {
namespace {

using ::plantmon::testing::Eventually;
using ::plantmon::testing::TestDatabase;

class StandbyReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = TestDatabase::CreateOrDie();
    primary_ = database_->NewPool();
  }

  // Reads through the standby, or through a server nothing listens on at
  // `port` when one is given.
  std::unique_ptr<storage::StandbyReads> Start(std::optional<int> port = std::nullopt) {
    postgres::DatabaseConfig config = database_->StandbyConfig();
    if (port.has_value()) config.port = *port;
    config.target_session_attrs = "standby";
    config.connect_timeout = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> pool =
        postgres::ConnectionPool::Create(config);
    EXPECT_TRUE(pool.ok());
    storage::StandbyReads::Options options;
    options.check_every = absl::Milliseconds(50);
    options.max_lag = absl::Seconds(1);
    return std::make_unique<storage::StandbyReads>(*primary_, *std::move(pool), options);
  }

  // True once the standby has replayed this test's database and its schema.
  bool StandbyHasTheDatabase() {
    const postgres::DatabaseConfig config = database_->StandbyConfig();
    return Eventually(
        [&] {
          try {
            pqxx::connection connection(postgres::LibpqConnectionString(config));
            pqxx::nontransaction query(connection);
            return query.exec1("SELECT to_regclass('replication_heartbeat') IS NOT NULL")[0]
                .as<bool>();
          } catch (const std::exception&) {
            return false;
          }
        },
        absl::Seconds(20));
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<postgres::ConnectionPool> primary_;
};

TEST_F(StandbyReadsTest, AStandbyThatDoesNotAnswerIsNeverRead) {
  // A port nothing listens on: the pool's first connection would fail.
  std::unique_ptr<storage::StandbyReads> reads = Start(1);
  EXPECT_FALSE(reads->usable());
  EXPECT_EQ(reads->lag_seconds(), -1);
  postgres::ConnectionPool* used = nullptr;
  absl::Status status = reads->Run([&](postgres::ConnectionPool& pool) {
    used = &pool;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(used, primary_.get());
}

TEST_F(StandbyReadsTest, WhatFailsOrIsMissingOnTheStandbyIsAskedOfThePrimary) {
  std::unique_ptr<storage::StandbyReads> reads = Start();
  ASSERT_TRUE(Eventually([&] { return reads->usable(); }, absl::Seconds(20)));
  EXPECT_GE(reads->lag_seconds(), 0);
  postgres::ConnectionPool* standby = &reads->standby_pool();

  // Answered on the standby.
  int calls = 0;
  EXPECT_TRUE(reads
                  ->Run([&](postgres::ConnectionPool& pool) {
                    ++calls;
                    return &pool == standby ? absl::OkStatus() : absl::InternalError("primary");
                  })
                  .ok());
  EXPECT_EQ(calls, 1);

  // The caller's own error stands: the primary would say the same.
  calls = 0;
  absl::Status status = reads->Run([&](postgres::ConnectionPool&) {
    ++calls;
    return absl::InvalidArgumentError("bad range");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);

  // Not found on the standby: asked again of the primary, which has it.
  status = reads->Run([&](postgres::ConnectionPool& pool) {
    return &pool == standby ? absl::NotFoundError("not yet replicated") : absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(reads->usable()) << "a missing row says nothing of the standby's health";

  // A lost connection: the primary answers, and the standby rests until the
  // next check finds it well.
  status = reads->Run([&](postgres::ConnectionPool& pool) {
    return &pool == standby ? absl::UnavailableError("connection lost") : absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_TRUE(Eventually([&] { return reads->usable(); }, absl::Seconds(20)));
}

// What a failover relies on: with every server of the cluster listed, libpq
// keeps the one whose role was asked for, whichever comes first.
TEST_F(StandbyReadsTest, AHostListReachesThePrimaryOrTheStandbyAsAsked) {
  ASSERT_TRUE(StandbyHasTheDatabase());
  const int primary_port = database_->Config().port;
  const int standby_port = database_->StandbyConfig().port;
  auto in_recovery = [&](const std::string& ports, const std::string& role) -> bool {
    postgres::DatabaseConfig config = database_->Config();
    config.host = "127.0.0.1,127.0.0.1";
    config.ports = ports;
    config.target_session_attrs = role;
    absl::StatusOr<std::unique_ptr<postgres::ConnectionPool>> pool =
        postgres::ConnectionPool::Create(config);
    EXPECT_TRUE(pool.ok());
    absl::StatusOr<bool> answer = postgres::RunReadOnly(
        **pool, [](pqxx::transaction_base& transaction) -> absl::StatusOr<bool> {
          return transaction.exec1("SELECT pg_is_in_recovery()")[0].as<bool>();
        });
    EXPECT_TRUE(answer.ok()) << answer.status();
    return answer.value_or(false);
  };
  const std::string standby_first = absl::StrCat(standby_port, ",", primary_port);
  const std::string primary_first = absl::StrCat(primary_port, ",", standby_port);
  EXPECT_FALSE(in_recovery(standby_first, "read-write"));
  EXPECT_TRUE(in_recovery(standby_first, "any"));
  EXPECT_TRUE(in_recovery(primary_first, "standby"));
}

}  // namespace
}  // namespace plantmon
