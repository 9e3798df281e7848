// The alert listener over a real PostgreSQL: changes are announced through
// LISTEN/NOTIFY, and after changes committed while its connection was gone
// (when the notifications went to nobody) every subscriber is told to read
// its events again once it is back.
#include "storage/alert_listener.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>

#include "gtest/gtest.h"
#include "tests/testing/test_database.h"

namespace plantmon::storage {
namespace {

using ::plantmon::testing::TestDatabase;

// A subscriber that waits: on_change wakes it, TakeChanged says whether
// anything was announced.
struct Waiter {
  std::mutex mu;
  std::condition_variable changed;
  std::shared_ptr<AlertSubscription> subscription;

  std::function<void()> OnChange() {
    return [this] {
      std::lock_guard<std::mutex> lock(mu);
      changed.notify_all();
    };
  }

  // True if an announcement arrives within `timeout`.
  bool Announced(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::unique_lock<std::mutex> lock(mu);
    while (absl::Now() < deadline) {
      if (subscription->TakeChanged()) return true;
      changed.wait_for(lock, std::chrono::milliseconds(50));
    }
    return false;
  }
};

// Alert `id` raised on rule `id` (a rule has at most one open alert).
void InsertAlert(pqxx::connection& connection, int id) {
  pqxx::nontransaction insert(connection);
  insert.exec_params(
      "INSERT INTO alerts (id, user_id, plant_id, rule_id, severity, message, triggered_at) "
      "VALUES ($1, 1, 1, $1, 'warning', 'dry', now())",
      id);
}

TEST(AlertListenerTest, ChangesCommittedWhileReconnectingAreDeliveredAfterwards) {
  std::unique_ptr<TestDatabase> database = TestDatabase::CreateOrDie();
  database->Query(
      "INSERT INTO users (id, email, username, password_hash) "
      "VALUES (1, 'owner@example.com', 'owner', 'not-a-hash'); "
      "INSERT INTO plant_types (id, name) VALUES (1, 'Fern'); "
      "INSERT INTO plants (id, user_id, plant_type_id, plant_name) VALUES (1, 1, 1, 'Fern'); "
      "INSERT INTO alert_rules (id, user_id, plant_id, rule_name, rule_type, parameter_name, "
      "condition_operator, threshold_value) "
      "SELECT n, 1, 1, 'Dry ' || n, 'threshold', 'soil_moisture', '<', 30 "
      "FROM generate_series(1, 3) AS n");
  Waiter waiter;  // outlives the listener, which tells it when it closes
  AlertListener listener(database->Config());
  ASSERT_TRUE(listener.WaitUntilListening(absl::Seconds(10)));
  waiter.subscription = listener.Subscribe(1, waiter.OnChange());
  std::unique_ptr<pqxx::connection> admin = database->Connect();
  // A new subscription starts out changed: its watcher reads once.
  EXPECT_TRUE(waiter.subscription->TakeChanged());
  EXPECT_FALSE(waiter.Announced(absl::Milliseconds(300)));

  // Live: announced at once, and the event is there to read.
  InsertAlert(*admin, 1);
  EXPECT_TRUE(waiter.Announced(absl::Seconds(10)));
  EXPECT_EQ(database->Query("SELECT count(*) FROM alert_events WHERE alert_id = 1")
                .front()
                .front()
                .as<int>(),
            1);

  // Cut the listener off and keep it off: its backend is ended, and the
  // database refuses new connections until reopened (which only a session
  // in another database may decide).
  postgres::DatabaseConfig outside_config = database->Config();
  outside_config.dbname = "postgres";
  pqxx::connection outside(postgres::LibpqConnectionString(outside_config));
  const std::string name = outside.quote_name(database->name());
  pqxx::nontransaction(outside).exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
  pqxx::nontransaction(outside).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'plantmon-alert-listener'");
  for (int i = 0; i < 100; ++i) {
    pqxx::nontransaction check(*admin);
    if (check
            .exec1("SELECT count(*) FROM pg_stat_activity "
                   "WHERE application_name = 'plantmon-alert-listener'")[0]
            .as<int>() == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // Committed while nobody listens: its notification goes nowhere.
  InsertAlert(*admin, 2);
  EXPECT_FALSE(waiter.Announced(absl::Milliseconds(500)));

  pqxx::nontransaction(outside).exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true");
  // The listener reconnects (its back-off is at most 5 s) and catches up.
  EXPECT_TRUE(waiter.Announced(absl::Seconds(15)));
  ASSERT_TRUE(listener.WaitUntilListening(absl::Seconds(1)));

  // And listens live again.
  EXPECT_FALSE(waiter.Announced(absl::Milliseconds(300)));
  InsertAlert(*admin, 3);
  EXPECT_TRUE(waiter.Announced(absl::Seconds(10)));
}

}  // namespace
}  // namespace plantmon::storage
