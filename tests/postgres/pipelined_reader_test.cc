#include "postgres/pipelined_reader.h"

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "postgres/database_config.h"
#include "tests/testing/test_database.h"

namespace plantmon::postgres {
namespace {

using ::plantmon::testing::TestDatabase;

// A read's answer: its rows as text (nullopt for NULL), or its status.
using Rows = std::vector<std::vector<std::optional<std::string>>>;

std::future<absl::StatusOr<Rows>> Start(PipelinedReader& reader, std::string sql,
                                        std::vector<std::optional<std::string>> params,
                                        absl::Duration timeout = absl::Seconds(10)) {
  auto answer = std::make_shared<std::promise<absl::StatusOr<Rows>>>();
  std::future<absl::StatusOr<Rows>> future = answer->get_future();
  reader.Submit({std::move(sql), std::move(params), absl::Now() + timeout,
                 [answer](absl::StatusOr<const PGresult*> result) {
                   if (!result.ok()) {
                     answer->set_value(result.status());
                     return;
                   }
                   Rows rows;
                   for (int r = 0; r < PQntuples(*result); ++r) {
                     const ResultRow row(*result, r);
                     std::vector<std::optional<std::string>> values;
                     for (int c = 0; c < row.size(); ++c) {
                       if (row.is_null(c)) {
                         values.emplace_back(std::nullopt);
                       } else {
                         values.emplace_back(std::string(row.text(c)));
                       }
                     }
                     rows.push_back(std::move(values));
                   }
                   answer->set_value(std::move(rows));
                 }});
  return future;
}

absl::StatusOr<Rows> Read(PipelinedReader& reader, std::string sql,
                          std::vector<std::optional<std::string>> params,
                          absl::Duration timeout = absl::Seconds(10)) {
  return Start(reader, std::move(sql), std::move(params), timeout).get();
}

class PipelinedReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    database_ = TestDatabase::CreateOrDie(/*migrate=*/false).release();
  }
  static void TearDownTestSuite() { delete database_; }

  static std::unique_ptr<PipelinedReader> NewReader(int connections) {
    return std::make_unique<PipelinedReader>(LibpqConnectionString(database_->Config()),
                                             connections);
  }

  // Backends of the readers (application_name 'plantmon') in this database.
  static int ReaderBackends() {
    return database_
        ->Query(absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE datname = '",
                             database_->name(), "' AND application_name = '",
                             PipelinedReader::kApplicationName, "'"))[0][0]
        .as<int>();
  }

  // Waits until a reader backend runs a statement containing `text`.
  static bool WaitUntilRunning(const std::string& text) {
    for (int i = 0; i < 200; ++i) {
      const int running =
          database_
              ->Query(absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE datname = '",
                                   database_->name(), "' AND application_name = '",
                                   PipelinedReader::kApplicationName,
                                   "' AND state = 'active' "
                                   "AND query LIKE '%",
                                   text, "%'"))[0][0]
              .as<int>();
      if (running > 0) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  static TestDatabase* database_;
};

TestDatabase* PipelinedReaderTest::database_ = nullptr;

TEST_F(PipelinedReaderTest, AReadReturnsItsRowsAsText) {
  auto reader = NewReader(2);
  absl::StatusOr<Rows> rows =
      Read(*reader, "SELECT $1::int + 1, $2::text, NULL::text", {"41", std::nullopt});
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "42");
  EXPECT_EQ((*rows)[0][1], std::nullopt);
  EXPECT_EQ((*rows)[0][2], std::nullopt);

  absl::StatusOr<Rows> none = Read(*reader, "SELECT 1 WHERE $1::int < 0", {"5"});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST_F(PipelinedReaderTest, ManyReadsAtOnceEachGetTheirOwnAnswerOverFewConnections) {
  auto reader = NewReader(2);
  constexpr int kThreads = 8;
  constexpr int kReadsPerThread = 250;
  std::vector<std::vector<std::future<absl::StatusOr<Rows>>>> answers(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kReadsPerThread; ++i) {
        const int value = t * kReadsPerThread + i;
        answers[t].push_back(Start(*reader, "SELECT $1::bigint * 2", {std::to_string(value)}));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kReadsPerThread; ++i) {
      absl::StatusOr<Rows> rows = answers[t][i].get();
      ASSERT_TRUE(rows.ok()) << rows.status();
      EXPECT_EQ((*rows)[0][0], std::to_string(2 * (t * kReadsPerThread + i)));
    }
  }
  // Backends of the earlier tests' readers may take a moment to exit.
  int backends = ReaderBackends();
  for (int i = 0; i < 100 && backends > 2; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    backends = ReaderBackends();
  }
  EXPECT_LE(backends, 2);
  EXPECT_EQ(reader->pending(), 0);
}

// Reads sent in one round share an implicit transaction, so an error skips
// the reads behind it; those are sent again and answered as if alone.
TEST_F(PipelinedReaderTest, AnErrorAnswersOnlyItsOwnReadAndTheReadsItSkippedGoAgain) {
  auto reader = NewReader(1);
  // Holds the connection so that the burst below queues and goes in rounds.
  auto sleeper = Start(*reader, "SELECT pg_sleep($1::float8)", {"0.3"});
  ASSERT_TRUE(WaitUntilRunning("pg_sleep"));
  std::vector<std::future<absl::StatusOr<Rows>>> answers;
  for (int i = 0; i < 200; ++i) {
    answers.push_back(Start(*reader, "SELECT 10 / $1::int", {i % 10 == 3 ? "0" : "5"}));
  }
  ASSERT_TRUE(sleeper.get().ok());
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<Rows> rows = answers[i].get();
    if (i % 10 == 3) {
      // division_by_zero, class 22: a value out of range.
      EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument) << i;
    } else {
      ASSERT_TRUE(rows.ok()) << i << ": " << rows.status();
      EXPECT_EQ((*rows)[0][0], "2");
    }
  }
}

TEST_F(PipelinedReaderTest, AReadPastItsDeadlineIsAnsweredByItAndEndedOnTheServer) {
  auto reader = NewReader(1);
  const absl::Time start = absl::Now();
  absl::StatusOr<Rows> slow =
      Read(*reader, "SELECT pg_sleep($1::float8)", {"30"}, absl::Milliseconds(300));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The session's statement_timeout (the deadline rounded up to 512 ms)
  // ended the sleep, so the one connection serves the next read soon.
  absl::StatusOr<Rows> next = Read(*reader, "SELECT $1::int", {"7"});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ((*next)[0][0], "7");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST_F(PipelinedReaderTest, AReadOnABrokenConnectionIsSentAgainOnAFreshOne) {
  auto reader = NewReader(1);
  ASSERT_TRUE(Read(*reader, "SELECT 1", {}).ok());
  auto answer = Start(*reader, "SELECT $1::int FROM pg_sleep(0.5)", {"9"});
  ASSERT_TRUE(WaitUntilRunning("pg_sleep(0.5)"));
  database_->Query(absl::StrCat(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '", database_->name(),
      "' AND application_name = '", PipelinedReader::kApplicationName, "'"));
  absl::StatusOr<Rows> rows = answer.get();
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[0][0], "9");
}

TEST_F(PipelinedReaderTest, AReadWhoseConnectionBreaksTwiceIsUnavailable) {
  auto reader = NewReader(1);
  ASSERT_TRUE(Read(*reader, "SELECT 1", {}).ok());
  auto answer = Start(*reader, "SELECT $1::int FROM pg_sleep(0.5)", {"9"});
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSERT_TRUE(WaitUntilRunning("pg_sleep(0.5)"));
    database_->Query(absl::StrCat(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '",
        database_->name(), "' AND application_name = '", PipelinedReader::kApplicationName, "'"));
  }
  EXPECT_EQ(answer.get().status().code(), absl::StatusCode::kUnavailable);
  // The reader goes on with a new connection.
  absl::StatusOr<Rows> rows = Read(*reader, "SELECT $1::int", {"3"});
  ASSERT_TRUE(rows.ok()) << rows.status();
}

TEST_F(PipelinedReaderTest, ShutdownAnswersEveryPendingReadUnavailable) {
  auto reader = NewReader(1);
  auto answer = Start(*reader, "SELECT pg_sleep($1::float8)", {"5"});
  ASSERT_TRUE(WaitUntilRunning("pg_sleep"));
  const absl::Time start = absl::Now();
  reader->Shutdown();
  EXPECT_EQ(answer.get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Read(*reader, "SELECT 1", {}).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace plantmon::postgres
