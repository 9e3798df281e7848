#include "postgres/pipelined_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
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
                       const std::optional<std::string_view> text = row.column(c);
                       values.push_back(text ? std::optional<std::string>(*text) : std::nullopt);
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
 public:
  static void SetUpTestSuite() {
    database_ = TestDatabase::CreateOrDie(/*migrate=*/false).release();
  }
  static void TearDownTestSuite() { delete database_; }

  static std::unique_ptr<PipelinedReader> NewReader(int connections) {
    return std::make_unique<PipelinedReader>(LibpqConnectionString(database_->Config()),
                                             connections);
  }

  // pg_stat_activity's rows for the readers' backends in this database.
  static std::string ReaderBackendsWhere() {
    return absl::StrCat("FROM pg_stat_activity WHERE datname = '", database_->name(),
                        "' AND application_name = '", PipelinedReader::kApplicationName, "'");
  }
  static int ReaderBackends() {
    return database_->Query("SELECT count(*) " + ReaderBackendsWhere())[0][0].as<int>();
  }

  // The pid of a reader backend running a statement containing `text`
  // (other than `except_pid`), once there is one; 0 after 2 s without.
  static int RunningPid(const std::string& text, int except_pid = 0) {
    for (int i = 0; i < 200; ++i) {
      pqxx::result rows = database_->Query(
          absl::StrCat("SELECT pid ", ReaderBackendsWhere(), " AND state = 'active' AND pid <> ",
                       except_pid, " AND query LIKE '%", text, "%'"));
      if (!rows.empty()) return rows[0][0].as<int>();
      absl::SleepFor(absl::Milliseconds(10));
    }
    return 0;
  }
  static bool WaitUntilRunning(const std::string& text) { return RunningPid(text) != 0; }
  // Until the reader's loop has gone to wait idle (2 s at most).
  static void WaitUntilIdle(const PipelinedReader& reader) {
    for (int wait = 0; wait < 400 && !reader.idle_hint(); ++wait) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }
  static void Terminate(int pid) {
    database_->Query(absl::StrCat("SELECT pg_terminate_backend(", pid, ")"));
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

// A read that prepares its statement shares a round with a read that
// fails; a read of the same statement goes out in the next round before the
// failure is known, counting on the statement being prepared. Neither the
// failure nor the round may take the statement away from it.
TEST_F(PipelinedReaderTest, AStatementPreparedBesideAFailingReadServesTheNextRound) {
  auto reader = NewReader(1);
  ASSERT_TRUE(Read(*reader, "SELECT 1", {}).ok());
  // A read whose answer holds the reader until released, so that the two
  // reads below are taken as one round. It is submitted from a thread of
  // its own: an idle reader lets the submitter send it, and the answer may
  // then come on the submitter's thread, which it holds as well.
  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::thread holder([&] {
    reader->Submit({"SELECT 1",
                    {},
                    absl::Now() + absl::Seconds(10),
                    [&holding, released](const absl::StatusOr<const PGresult*>&) {
                      holding.set_value();
                      released.wait();
                    }});
  });
  holding.get_future().wait();
  // random() keeps the planner from dividing by zero before the sleep.
  auto failing =
      Start(*reader, "SELECT 1 / ($1::int + (0 * random())::int) FROM pg_sleep(0.3)", {"0"});
  auto first = Start(*reader, "SELECT $1::int + 100", {"1"});
  release.set_value();
  holder.join();
  ASSERT_TRUE(WaitUntilRunning("pg_sleep(0.3)"));
  auto second = Start(*reader, "SELECT $1::int + 100", {"2"});
  EXPECT_EQ(failing.get().status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Rows> first_rows = first.get();
  ASSERT_TRUE(first_rows.ok()) << first_rows.status();
  EXPECT_EQ((*first_rows)[0][0], "101");
  absl::StatusOr<Rows> second_rows = second.get();
  ASSERT_TRUE(second_rows.ok()) << second_rows.status();
  EXPECT_EQ((*second_rows)[0][0], "102");
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

// A read of 9 that sleeps half a second first, on a reader whose one
// connection is open.
std::future<absl::StatusOr<Rows>> StartSleepyRead(PipelinedReader& reader) {
  EXPECT_TRUE(Read(reader, "SELECT 1", {}).ok());
  return Start(reader, "SELECT $1::int FROM pg_sleep(0.5)", {"9"});
}

// Terminates the backend running the sleepy read (a backend other than
// `except_pid`: a terminated one may still show as active for a moment) and
// returns its pid; 0 when none ran it.
int TerminateSleepyRead(int except_pid = 0) {
  const int pid = PipelinedReaderTest::RunningPid("pg_sleep(0.5)", except_pid);
  if (pid != 0) PipelinedReaderTest::Terminate(pid);
  return pid;
}

TEST_F(PipelinedReaderTest, AReadOnABrokenConnectionIsSentAgainOnAFreshOne) {
  auto reader = NewReader(1);
  auto answer = StartSleepyRead(*reader);
  ASSERT_NE(TerminateSleepyRead(), 0);
  absl::StatusOr<Rows> rows = answer.get();
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[0][0], "9");
}

TEST_F(PipelinedReaderTest, AReadWhoseConnectionBreaksTwiceIsUnavailable) {
  auto reader = NewReader(1);
  auto answer = StartSleepyRead(*reader);
  const int first = TerminateSleepyRead();
  ASSERT_NE(first, 0);
  ASSERT_NE(TerminateSleepyRead(first), 0);
  EXPECT_EQ(answer.get().status().code(), absl::StatusCode::kUnavailable);
  // The reader goes on with a new connection.
  absl::StatusOr<Rows> rows = Read(*reader, "SELECT $1::int", {"3"});
  ASSERT_TRUE(rows.ok()) << rows.status();
}

// A "database" that accepts TCP connections (the kernel does, into the
// listen backlog) and never says a word.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    listening_ = bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                 listen(fd_, 16) == 0 &&
                 getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    port_ = ntohs(address.sin_port);
  }
  bool listening() const { return listening_; }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool listening_ = false;
};

// Opening a connection does not hold up the reader's thread: reads waiting
// for it still answer by their deadlines, and the attempt gives up at the
// reader's connect timeout.
TEST_F(PipelinedReaderTest, ADatabaseThatNeverAnswersHoldsNoReadPastItsDeadline) {
  SilentServer silent;
  ASSERT_TRUE(silent.listening());
  PipelinedReader reader(absl::StrCat("host=127.0.0.1 port=", silent.port(),
                                      " dbname=nothing user=nobody sslmode=disable"),
                         1, /*connect_timeout=*/absl::Seconds(2));
  absl::Time start = absl::Now();
  auto first = Start(reader, "SELECT 1", {}, absl::Milliseconds(300));
  auto second = Start(reader, "SELECT 2", {}, absl::Milliseconds(600));
  EXPECT_EQ(first.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(second.get().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  // After the attempt gave up, a read is answered at once, not at its
  // deadline.
  absl::SleepFor(absl::Seconds(2) - (absl::Now() - start) + absl::Milliseconds(200));
  start = absl::Now();
  EXPECT_EQ(Read(reader, "SELECT 3", {}, absl::Seconds(5)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

// A multi-host string whose first host refuses: libpq moves on to the next
// with a new socket (often with the old one's number), which the reader must
// watch, as it does when a failover left the first host down.
TEST_F(PipelinedReaderTest, AReadFindsTheSecondHostWhenTheFirstRefuses) {
  int closed_port = 0;
  {
    SilentServer gone;  // its port, with nothing listening once it closes
    ASSERT_TRUE(gone.listening());
    closed_port = gone.port();
  }
  const postgres::DatabaseConfig config = database_->Config();
  PipelinedReader reader(absl::StrCat(LibpqConnectionString(config), " host='", config.host, ",",
                                      config.host, "' port='", closed_port, ",", config.port, "'"),
                         1, /*connect_timeout=*/absl::Seconds(5));
  const absl::Time start = absl::Now();
  absl::StatusOr<Rows> rows = Read(reader, "SELECT $1::int", {"5"}, absl::Seconds(4));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[0][0], "5");
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(PipelinedReaderTest, AReadThatArrivesWhileTheReaderIsIdleIsSentByItsSubmitter) {
  auto reader = NewReader(1);
  ASSERT_TRUE(Read(*reader, "SELECT 1", {}).ok());  // the loop opens the connection
  constexpr int kReads = 20;
  for (int i = 0; i < kReads; ++i) {
    // The loop is back in epoll_wait, idle.
    WaitUntilIdle(*reader);
    absl::SleepFor(absl::Milliseconds(1));
    absl::StatusOr<Rows> rows = Read(*reader, "SELECT $1::int", {absl::StrCat(i)});
    ASSERT_TRUE(rows.ok()) << rows.status();
    EXPECT_EQ((*rows)[0][0], absl::StrCat(i));
  }
  // All but a read or two that found the loop between publishing that it
  // is idle and releasing the lock.
  EXPECT_GE(reader->sent_by_submitter(), kReads - 2);
}

TEST_F(PipelinedReaderTest, AnIdleReaderWakesForADeadlineNearerThanItsOwnWait) {
  auto reader = NewReader(1);
  // Prepares the statement and leaves the session's statement_timeout at
  // 1,024 ms, which a read with 600 ms to go keeps (SessionTimeoutFor): the
  // read below sends nothing PostgreSQL answers before it ends the
  // statement, after the idle loop's own one-second wait.
  ASSERT_TRUE(Read(*reader, "SELECT pg_sleep($1::float8)", {"0"}, absl::Seconds(1)).ok());
  WaitUntilIdle(*reader);
  const int64_t sent_by_submitter = reader->sent_by_submitter();
  const absl::Time start = absl::Now();
  absl::StatusOr<Rows> slow =
      Read(*reader, "SELECT pg_sleep($1::float8)", {"30"}, absl::Milliseconds(600));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded) << slow.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(850));
  // The read went through the loop, which then waited for its deadline.
  EXPECT_EQ(reader->sent_by_submitter(), sent_by_submitter);
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
  // Closing the connection does not end its backend's sleep.
  database_->Query("SELECT pg_terminate_backend(pid) " + ReaderBackendsWhere());
}

}  // namespace
}  // namespace plantmon::postgres
