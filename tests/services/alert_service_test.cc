#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "storage/alert_repository.h"
#include "tests/testing/api_fixture.h"

namespace plantmon {
namespace {

using ::grpc::StatusCode;
using ::plantmon::testing::ApiTest;
using ::plantmon::testing::SignedInUser;

class AlertServiceTest : public ApiTest {
 protected:
  v1::AlertRule MakeRule(const SignedInUser& owner, int64_t plant_id) {
    v1::CreateAlertRuleRequest request;
    request.mutable_alert_rule()->set_plant_id(plant_id);
    request.mutable_alert_rule()->set_rule_name("Low Soil Moisture");
    request.mutable_alert_rule()->set_rule_type("threshold");
    request.mutable_alert_rule()->set_parameter_name("soil_moisture");
    request.mutable_alert_rule()->set_condition_operator("<");
    request.mutable_alert_rule()->set_threshold_value(25);
    v1::AlertRule rule;
    grpc::Status status = alerts_->CreateAlertRule(Context(owner.token).get(), request, &rule);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return rule;
  }

  // Alerts are raised by the alert engine; these tests record them directly.
  int64_t RaiseAlert(const SignedInUser& owner, int64_t rule_id) {
    auto pool = database_->NewPool(1, 0);
    storage::AlertRepository repository(*pool);
    absl::StatusOr<v1::Alert> alert =
        repository.CreateAlert(owner.user.id(), rule_id,
                               "Soil moisture dropped to 18% (threshold: 25%)", 18.0, absl::Now());
    EXPECT_TRUE(alert.ok()) << alert.status();
    return alert->id();
  }
};

TEST_F(AlertServiceTest, RulesValidateTheirVocabularyAndDefaultToWarning) {
  SignedInUser owner = SignUp("rule_owner");
  v1::Plant plant = MakePlant(owner, MakePlantType("Rule fern").id(), "Fern");
  v1::AlertRule rule = MakeRule(owner, plant.id());
  EXPECT_EQ(rule.severity(), v1::ALERT_SEVERITY_WARNING);
  EXPECT_TRUE(rule.is_active());
  EXPECT_EQ(rule.user_id(), owner.user.id());

  struct Case {
    std::string label;
    std::function<void(v1::AlertRule&)> mutate;
    StatusCode code;
  };
  std::vector<Case> cases = {
      {"operator", [](auto& r) { r.set_condition_operator("=~"); }, StatusCode::INVALID_ARGUMENT},
      {"rule type", [](auto& r) { r.set_rule_type("vibes"); }, StatusCode::INVALID_ARGUMENT},
      {"parameter", [](auto& r) { r.set_parameter_name("mood"); }, StatusCode::INVALID_ARGUMENT},
      {"NaN", [](auto& r) { r.set_threshold_value(std::nan("")); }, StatusCode::INVALID_ARGUMENT},
      {"severity", [](auto& r) { r.set_severity(static_cast<v1::AlertSeverity>(9)); },
       StatusCode::INVALID_ARGUMENT},
      {"no name", [](auto& r) { r.clear_rule_name(); }, StatusCode::INVALID_ARGUMENT},
      {"missing plant", [](auto& r) { r.set_plant_id(999999); }, StatusCode::NOT_FOUND},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::CreateAlertRuleRequest request;
    *request.mutable_alert_rule() = rule;
    c.mutate(*request.mutable_alert_rule());
    v1::AlertRule out;
    EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), request, &out).error_code(),
              c.code);
  }

  v1::CreateAlertRuleRequest range;
  *range.mutable_alert_rule() = rule;
  range.mutable_alert_rule()->set_rule_type("range");
  range.mutable_alert_rule()->set_threshold_high(40);
  range.mutable_alert_rule()->set_condition_operator("<");
  v1::AlertRule stored_range;
  ASSERT_TRUE(alerts_->CreateAlertRule(Context(owner.token).get(), range, &stored_range).ok());
  EXPECT_EQ(stored_range.condition_operator(), ">") << "range rules store '>' whatever is sent";

  v1::UpdateAlertRuleRequest update;
  update.mutable_alert_rule()->set_id(rule.id());
  update.mutable_alert_rule()->set_severity(v1::ALERT_SEVERITY_CRITICAL);
  update.mutable_alert_rule()->set_threshold_value(10);
  update.mutable_update_mask()->add_paths("severity");
  update.mutable_update_mask()->add_paths("threshold_value");
  v1::AlertRule updated;
  ASSERT_TRUE(alerts_->UpdateAlertRule(Context(owner.token).get(), update, &updated).ok());
  EXPECT_EQ(updated.severity(), v1::ALERT_SEVERITY_CRITICAL);
  EXPECT_EQ(updated.threshold_value(), 10);
  EXPECT_EQ(updated.rule_name(), "Low Soil Moisture");
  update.mutable_update_mask()->add_paths("plant_id");  // not updatable
  EXPECT_EQ(alerts_->UpdateAlertRule(Context(owner.token).get(), update, &updated).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(AlertServiceTest, RulesListGetAndDeleteWithTheirAlerts) {
  SignedInUser owner = SignUp("rule_crud");
  v1::Plant plant = MakePlant(owner, MakePlantType("Rule crud fern").id(), "Fern");
  v1::AlertRule first = MakeRule(owner, plant.id());
  v1::AlertRule second = MakeRule(owner, plant.id());
  int64_t alert = RaiseAlert(owner, first.id());
  v1::UpdateAlertRuleRequest pause;
  pause.mutable_alert_rule()->set_id(second.id());
  pause.mutable_alert_rule()->set_is_active(false);
  pause.mutable_update_mask()->add_paths("is_active");
  v1::AlertRule paused;
  ASSERT_TRUE(alerts_->UpdateAlertRule(Context(owner.token).get(), pause, &paused).ok());
  v1::ListAlertRulesRequest active;
  active.set_plant_id(plant.id());
  active.set_is_active(true);
  v1::ListAlertRulesResponse listed;
  ASSERT_TRUE(alerts_->ListAlertRules(Context(owner.token).get(), active, &listed).ok());
  ASSERT_EQ(listed.alert_rules_size(), 1);
  EXPECT_EQ(listed.alert_rules(0).id(), first.id());
  v1::GetAlertRuleRequest get;
  get.set_id(second.id());
  v1::AlertRule fetched;
  ASSERT_TRUE(alerts_->GetAlertRule(Context(owner.token).get(), get, &fetched).ok());
  EXPECT_FALSE(fetched.is_active());

  v1::DeleteAlertRuleRequest remove;
  remove.set_id(first.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(alerts_->DeleteAlertRule(Context(owner.token).get(), remove, &empty).ok());
  v1::GetAlertRequest get_alert;
  get_alert.set_id(alert);
  v1::Alert gone;
  EXPECT_EQ(alerts_->GetAlert(Context(owner.token).get(), get_alert, &gone).error_code(),
            StatusCode::NOT_FOUND)
      << "a rule's alerts go with it";
}

TEST_F(AlertServiceTest, LifecycleGoesActiveAcknowledgedResolvedAndNeverBack) {
  SignedInUser owner = SignUp("lifecycle");
  v1::Plant plant = MakePlant(owner, MakePlantType("Lifecycle fern").id(), "Fern");
  // One open alert per rule: each alert here has a rule of its own.
  int64_t first = RaiseAlert(owner, MakeRule(owner, plant.id()).id());
  int64_t second = RaiseAlert(owner, MakeRule(owner, plant.id()).id());

  v1::AcknowledgeAlertRequest acknowledge;
  acknowledge.set_id(first);
  v1::Alert alert;
  ASSERT_TRUE(alerts_->AcknowledgeAlert(Context(owner.token).get(), acknowledge, &alert).ok());
  EXPECT_EQ(alert.status(), v1::ALERT_STATUS_ACKNOWLEDGED);
  EXPECT_TRUE(alert.has_acknowledged_at());
  EXPECT_FALSE(alert.has_resolved_at());
  EXPECT_EQ(alert.triggered_value(), 18);
  EXPECT_EQ(alert.threshold_value(), 25);
  grpc::Status again = alerts_->AcknowledgeAlert(Context(owner.token).get(), acknowledge, &alert);
  EXPECT_EQ(again.error_code(), StatusCode::FAILED_PRECONDITION);

  v1::ResolveAlertRequest resolve;
  resolve.set_id(first);
  ASSERT_TRUE(alerts_->ResolveAlert(Context(owner.token).get(), resolve, &alert).ok());
  EXPECT_EQ(alert.status(), v1::ALERT_STATUS_RESOLVED);
  EXPECT_TRUE(alert.has_resolved_at());
  EXPECT_EQ(alerts_->ResolveAlert(Context(owner.token).get(), resolve, &alert).error_code(),
            StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(alerts_->AcknowledgeAlert(Context(owner.token).get(), acknowledge, &alert).error_code(),
            StatusCode::FAILED_PRECONDITION);

  // ACTIVE can be resolved directly.
  resolve.set_id(second);
  ASSERT_TRUE(alerts_->ResolveAlert(Context(owner.token).get(), resolve, &alert).ok());

  v1::ListAlertsRequest resolved;
  resolved.set_status(v1::ALERT_STATUS_RESOLVED);
  v1::ListAlertsResponse listed;
  ASSERT_TRUE(alerts_->ListAlerts(Context(owner.token).get(), resolved, &listed).ok());
  ASSERT_EQ(listed.alerts_size(), 2);
  EXPECT_EQ(listed.alerts(0).id(), second) << "newest first";
}

TEST_F(AlertServiceTest, BulkAcknowledgeCoversTheCallersOrOnePlantsActiveAlerts) {
  SignedInUser owner = SignUp("bulk");
  v1::PlantType species = MakePlantType("Bulk fern");
  v1::Plant fern = MakePlant(owner, species.id(), "Fern");
  v1::Plant other = MakePlant(owner, species.id(), "Other fern");
  RaiseAlert(owner, MakeRule(owner, fern.id()).id());
  RaiseAlert(owner, MakeRule(owner, fern.id()).id());
  RaiseAlert(owner, MakeRule(owner, other.id()).id());
  SignedInUser neighbour = SignUp("bulk_neighbour");
  v1::Plant neighbour_plant = MakePlant(neighbour, species.id(), "Their fern");
  RaiseAlert(neighbour, MakeRule(neighbour, neighbour_plant.id()).id());

  v1::AcknowledgeAlertsRequest one_plant;
  one_plant.set_plant_id(fern.id());
  v1::AcknowledgeAlertsResponse response;
  ASSERT_TRUE(alerts_->AcknowledgeAlerts(Context(owner.token).get(), one_plant, &response).ok());
  EXPECT_EQ(response.acknowledged_count(), 2);
  ASSERT_TRUE(alerts_->AcknowledgeAlerts(Context(owner.token).get(), {}, &response).ok());
  EXPECT_EQ(response.acknowledged_count(), 1);
  ASSERT_TRUE(alerts_->AcknowledgeAlerts(Context(owner.token).get(), {}, &response).ok());
  EXPECT_EQ(response.acknowledged_count(), 0);

  v1::AcknowledgeAlertsRequest foreign;
  foreign.set_plant_id(neighbour_plant.id());
  EXPECT_EQ(alerts_->AcknowledgeAlerts(Context(owner.token).get(), foreign, &response).error_code(),
            StatusCode::NOT_FOUND);
  v1::ListAlertsRequest active;
  active.set_status(v1::ALERT_STATUS_ACTIVE);
  v1::ListAlertsResponse listed;
  ASSERT_TRUE(alerts_->ListAlerts(Context(neighbour.token).get(), active, &listed).ok());
  EXPECT_EQ(listed.alerts_size(), 1) << "the neighbour's alert is untouched";
}

TEST_F(AlertServiceTest, BulkResolveClosesTheCallersOrOnePlantsOpenAlerts) {
  SignedInUser owner = SignUp("bulk_resolve");
  v1::PlantType species = MakePlantType("Bulk resolve fern");
  v1::Plant fern = MakePlant(owner, species.id(), "Fern");
  v1::Plant other = MakePlant(owner, species.id(), "Other fern");
  const int64_t acknowledged = RaiseAlert(owner, MakeRule(owner, fern.id()).id());
  RaiseAlert(owner, MakeRule(owner, fern.id()).id());
  RaiseAlert(owner, MakeRule(owner, other.id()).id());
  v1::AcknowledgeAlertRequest acknowledge;
  acknowledge.set_id(acknowledged);
  v1::Alert alert;
  ASSERT_TRUE(alerts_->AcknowledgeAlert(Context(owner.token).get(), acknowledge, &alert).ok());
  SignedInUser neighbour = SignUp("bulk_resolve_neighbour");
  v1::Plant neighbour_plant = MakePlant(neighbour, species.id(), "Their fern");
  RaiseAlert(neighbour, MakeRule(neighbour, neighbour_plant.id()).id());

  v1::ResolveAlertsRequest one_plant;
  one_plant.set_plant_id(fern.id());
  v1::ResolveAlertsResponse response;
  ASSERT_TRUE(alerts_->ResolveAlerts(Context(owner.token).get(), one_plant, &response).ok());
  EXPECT_EQ(response.resolved_count(), 2) << "ACTIVE and ACKNOWLEDGED alike";
  v1::Plant after;
  v1::GetPlantRequest get;
  get.set_id(fern.id());
  ASSERT_TRUE(plants_->GetPlant(Context(owner.token).get(), get, &after).ok());
  EXPECT_TRUE(after.is_healthy()) << "its health follows";
  ASSERT_TRUE(alerts_->ResolveAlerts(Context(owner.token).get(), {}, &response).ok());
  EXPECT_EQ(response.resolved_count(), 1);
  ASSERT_TRUE(alerts_->ResolveAlerts(Context(owner.token).get(), {}, &response).ok());
  EXPECT_EQ(response.resolved_count(), 0);

  v1::ResolveAlertsRequest foreign;
  foreign.set_plant_id(neighbour_plant.id());
  EXPECT_EQ(alerts_->ResolveAlerts(Context(owner.token).get(), foreign, &response).error_code(),
            StatusCode::NOT_FOUND);
  v1::ListAlertsRequest open;
  open.set_open_only(true);
  v1::ListAlertsResponse listed;
  ASSERT_TRUE(alerts_->ListAlerts(Context(neighbour.token).get(), open, &listed).ok());
  EXPECT_EQ(listed.alerts_size(), 1) << "the neighbour's alert is untouched";
}

// ListAlerts' filters against the same question asked in SQL: every
// combination of statuses, open_only, severity and plant on a mix of alerts.
TEST_F(AlertServiceTest, AlertQueriesMatchTheirSql) {
  SignedInUser owner = SignUp("alert_queries");
  v1::PlantType species = MakePlantType("Query fern");
  std::vector<v1::Plant> plants = {MakePlant(owner, species.id(), "Query A"),
                                   MakePlant(owner, species.id(), "Query B")};
  // 12 alerts: per plant, each severity, in each status.
  const std::vector<v1::AlertSeverity> severities = {
      v1::ALERT_SEVERITY_INFO, v1::ALERT_SEVERITY_WARNING, v1::ALERT_SEVERITY_CRITICAL};
  for (const v1::Plant& plant : plants) {
    for (v1::AlertSeverity severity : severities) {
      for (int status = 0; status < 2; ++status) {
        v1::AlertRule rule = MakeRule(owner, plant.id());
        const int64_t id = RaiseAlert(owner, rule.id());
        database_->Query(absl::StrCat("UPDATE alerts SET severity = '",
                                      severity == v1::ALERT_SEVERITY_INFO      ? "info"
                                      : severity == v1::ALERT_SEVERITY_WARNING ? "warning"
                                                                               : "critical",
                                      "', status = '", status == 0 ? "active" : "acknowledged",
                                      "' WHERE id = ", id));
      }
    }
    // And one resolved per plant.
    const int64_t resolved = RaiseAlert(owner, MakeRule(owner, plant.id()).id());
    database_->Query(absl::StrCat(
        "UPDATE alerts SET status = 'resolved', resolved_at = now() WHERE id = ", resolved));
  }
  SignedInUser other = SignUp("alert_queries_other");
  RaiseAlert(other, MakeRule(other, MakePlant(other, species.id(), "Theirs").id()).id());

  const std::vector<std::pair<v1::AlertStatus, std::string>> statuses = {
      {v1::ALERT_STATUS_ACTIVE, "active"},
      {v1::ALERT_STATUS_ACKNOWLEDGED, "acknowledged"},
      {v1::ALERT_STATUS_RESOLVED, "resolved"}};
  int cases = 0;
  for (int status_set = 0; status_set < 8; ++status_set) {
    for (bool open_only : {false, true}) {
      for (int severity = -1; severity < 3; ++severity) {
        for (int plant = -1; plant < 2; ++plant) {
          v1::ListAlertsRequest request;
          request.set_page_size(100);
          std::vector<std::string> where = {absl::StrCat("user_id = ", owner.user.id())};
          std::vector<std::string> in;
          for (int s = 0; s < 3; ++s) {
            if ((status_set & (1 << s)) == 0) continue;
            request.add_statuses(statuses[s].first);
            in.push_back("'" + statuses[s].second + "'");
          }
          if (!in.empty()) where.push_back("status IN (" + absl::StrJoin(in, ", ") + ")");
          if (open_only) {
            request.set_open_only(true);
            where.emplace_back("status IN ('active', 'acknowledged')");
          }
          if (severity >= 0) {
            request.set_severity(severities[severity]);
            where.push_back(absl::StrCat("severity = '",
                                         severity == 0   ? "info"
                                         : severity == 1 ? "warning"
                                                         : "critical",
                                         "'"));
          }
          if (plant >= 0) {
            request.set_plant_id(plants[plant].id());
            where.push_back(absl::StrCat("plant_id = ", plants[plant].id()));
          }
          std::vector<int64_t> expected;
          for (const auto& row :
               database_->Query("SELECT id FROM alerts WHERE " + absl::StrJoin(where, " AND ") +
                                " ORDER BY id DESC")) {
            expected.push_back(row[0].as<int64_t>());
          }
          v1::ListAlertsResponse response;
          grpc::Status status = alerts_->ListAlerts(Context(owner.token).get(), request, &response);
          ASSERT_TRUE(status.ok()) << status.error_message();
          std::vector<int64_t> got;
          for (const v1::Alert& alert : response.alerts()) got.push_back(alert.id());
          EXPECT_EQ(got, expected) << absl::StrJoin(where, " AND ");
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 8 * 2 * 4 * 3);

  v1::ListAlertsRequest bad;
  bad.add_statuses(v1::ALERT_STATUS_UNSPECIFIED);
  v1::ListAlertsResponse response;
  EXPECT_EQ(alerts_->ListAlerts(Context(owner.token).get(), bad, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
  bad.Clear();
  bad.add_statuses(static_cast<v1::AlertStatus>(42));
  EXPECT_EQ(alerts_->ListAlerts(Context(owner.token).get(), bad, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// A rule must make sense as a whole after an update too: a deviation rule's
// threshold is a distance, and a clear band may not cross the threshold.
TEST_F(AlertServiceTest, UpdatesThatLeaveANonsenseRuleAreRefused) {
  SignedInUser owner = SignUp("nonsense");
  v1::Plant plant = MakePlant(owner, MakePlantType("Nonsense fern").id(), "Fern");
  v1::CreateAlertRuleRequest create;
  v1::AlertRule* rule = create.mutable_alert_rule();
  rule->set_plant_id(plant.id());
  rule->set_rule_name("Too warm or cold");
  rule->set_rule_type("deviation");
  rule->set_parameter_name("temperature");
  rule->set_threshold_value(3);
  v1::AlertRule made;
  ASSERT_TRUE(alerts_->CreateAlertRule(Context(owner.token).get(), create, &made).ok());
  auto update = [&](const std::function<void(v1::AlertRule&)>& set,
                    const std::vector<std::string>& paths) {
    v1::UpdateAlertRuleRequest request;
    *request.mutable_alert_rule() = made;
    set(*request.mutable_alert_rule());
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    v1::AlertRule updated;
    return alerts_->UpdateAlertRule(Context(owner.token).get(), request, &updated);
  };
  grpc::Status negative =
      update([](v1::AlertRule& r) { r.set_threshold_value(-1); }, {"threshold_value"});
  EXPECT_EQ(negative.error_code(), StatusCode::INVALID_ARGUMENT) << negative.error_message();
  grpc::Status crossing = update([](v1::AlertRule& r) { r.set_hysteresis(4); }, {"hysteresis"});
  EXPECT_EQ(crossing.error_code(), StatusCode::INVALID_ARGUMENT) << crossing.error_message();
  EXPECT_NE(crossing.error_message().find("crosses the threshold"), std::string::npos);
  EXPECT_TRUE(update([](v1::AlertRule& r) { r.set_hysteresis(1); }, {"hysteresis"}).ok());
  grpc::Status below = update([](v1::AlertRule& r) { r.set_hysteresis(-0.5); }, {"hysteresis"});
  EXPECT_EQ(below.error_code(), StatusCode::INVALID_ARGUMENT);
  v1::GetAlertRuleRequest get;
  get.set_id(made.id());
  v1::AlertRule stored;
  ASSERT_TRUE(alerts_->GetAlertRule(Context(owner.token).get(), get, &stored).ok());
  EXPECT_EQ(stored.threshold_value(), 3);
  EXPECT_EQ(stored.hysteresis(), 1);
  // A threshold rule with == takes no band.
  rule->set_rule_type("threshold");
  rule->set_parameter_name("soil_moisture");
  rule->set_condition_operator("==");
  rule->set_threshold_value(0);
  rule->set_hysteresis(2);
  EXPECT_EQ(alerts_->CreateAlertRule(Context(owner.token).get(), create, &made).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(AlertServiceTest, OneOpenAlertPerRuleIsEnforcedByTheDatabase) {
  SignedInUser owner = SignUp("one_open");
  v1::Plant plant = MakePlant(owner, MakePlantType("One open fern").id(), "Fern");
  v1::AlertRule rule = MakeRule(owner, plant.id());
  int64_t first = RaiseAlert(owner, rule.id());
  auto pool = database_->NewPool(1, 0);
  storage::AlertRepository repository(*pool);
  EXPECT_EQ(
      repository.CreateAlert(owner.user.id(), rule.id(), "again", 1.0, absl::Now()).status().code(),
      absl::StatusCode::kAlreadyExists);
  v1::ResolveAlertRequest resolve;
  resolve.set_id(first);
  v1::Alert alert;
  ASSERT_TRUE(alerts_->ResolveAlert(Context(owner.token).get(), resolve, &alert).ok());
  EXPECT_TRUE(repository.CreateAlert(owner.user.id(), rule.id(), "again", 1.0, absl::Now()).ok())
      << "a resolved alert does not block a new one";
}

TEST_F(AlertServiceTest, ListAlertsFiltersBySeverityPlantAndTime) {
  SignedInUser owner = SignUp("alert_filters");
  v1::Plant plant = MakePlant(owner, MakePlantType("Filter fern").id(), "Fern");
  v1::AlertRule rule = MakeRule(owner, plant.id());
  RaiseAlert(owner, rule.id());
  v1::ListAlertsRequest request;
  request.set_plant_id(plant.id());
  request.set_severity(v1::ALERT_SEVERITY_WARNING);
  request.mutable_triggered_after()->set_seconds(std::time(nullptr) - 3600);
  v1::ListAlertsResponse listed;
  ASSERT_TRUE(alerts_->ListAlerts(Context(owner.token).get(), request, &listed).ok());
  EXPECT_EQ(listed.alerts_size(), 1);
  request.set_severity(v1::ALERT_SEVERITY_CRITICAL);
  ASSERT_TRUE(alerts_->ListAlerts(Context(owner.token).get(), request, &listed).ok());
  EXPECT_EQ(listed.alerts_size(), 0);
  request.clear_severity();
  request.mutable_triggered_before()->set_seconds(std::time(nullptr) - 1800);
  ASSERT_TRUE(alerts_->ListAlerts(Context(owner.token).get(), request, &listed).ok());
  EXPECT_EQ(listed.alerts_size(), 0);
  request.set_status(static_cast<v1::AlertStatus>(77));
  EXPECT_EQ(alerts_->ListAlerts(Context(owner.token).get(), request, &listed).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace plantmon
