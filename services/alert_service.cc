#include "services/alert_service.h"

#include "services/handler.h"
#include "services/pagination.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {
namespace {

using auth::Caller;

constexpr std::initializer_list<absl::string_view> kRuleFields = {
    "rule_name",       "rule_type", "parameter_name", "condition_operator",
    "threshold_value", "severity",  "is_active",      "threshold_high"};

absl::Status CheckRuleField(const v1::AlertRule& value, const std::string& path) {
  if (path == "rule_name") return CheckText(value.rule_name(), "alert_rule.rule_name", 255, true);
  if (path == "rule_type") {
    return alerting::ParseRuleType(value.rule_type(), "alert_rule.rule_type").status();
  }
  if (path == "parameter_name") {
    return alerting::ParseParameter(value.parameter_name(), "alert_rule.parameter_name").status();
  }
  if (path == "condition_operator") {
    // Range and deviation rules ignore the operator (they store '>').
    if (value.rule_type() != alerting::Name(alerting::RuleType::kThreshold) &&
        value.condition_operator().empty()) {
      return absl::OkStatus();
    }
    return alerting::ParseOperator(value.condition_operator(), "alert_rule.condition_operator")
        .status();
  }
  if (path == "threshold_high" && value.has_threshold_high()) {
    return CheckFinite(value.threshold_high(), "alert_rule.threshold_high");
  }
  if (path == "threshold_value") {
    return CheckFinite(value.threshold_value(), "alert_rule.threshold_value");
  }
  if (path == "severity") {
    return AlertSeverityFromProto(value.severity(), "alert_rule.severity").status();
  }
  return absl::OkStatus();
}

// The operator a rule stores: its own for threshold rules, '>' for the others,
// which ignore it.
absl::StatusOr<alerting::Operator> StoredOperator(const v1::AlertRule& value) {
  if (value.rule_type() != alerting::Name(alerting::RuleType::kThreshold) &&
      value.condition_operator().empty()) {
    return alerting::Operator::kGreater;
  }
  return alerting::ParseOperator(value.condition_operator(), "alert_rule.condition_operator");
}

}  // namespace

grpc::Status AlertServiceImpl::CreateAlertRule(grpc::ServerContext* context,
                                               const v1::CreateAlertRuleRequest* request,
                                               v1::AlertRule* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    const v1::AlertRule& value = request->alert_rule();
    RETURN_IF_ERROR(CheckId(value.plant_id(), "alert_rule.plant_id"));
    for (absl::string_view field : kRuleFields) {
      RETURN_IF_ERROR(CheckRuleField(value, std::string(field)));
    }
    ASSIGN_OR_RETURN(std::optional<storage::AlertSeverity> severity,
                     AlertSeverityFromProto(value.severity(), "alert_rule.severity"));
    storage::AlertRule row;
    alerting::RuleDefinition& definition = row.definition;
    ASSIGN_OR_RETURN(definition.type,
                     alerting::ParseRuleType(value.rule_type(), "alert_rule.rule_type"));
    ASSIGN_OR_RETURN(definition.parameter,
                     alerting::ParseParameter(value.parameter_name(), "alert_rule.parameter_name"));
    definition.op = alerting::Operator::kGreater;
    if (definition.type == alerting::RuleType::kThreshold) {
      ASSIGN_OR_RETURN(definition.op, StoredOperator(value));
    }
    definition.threshold_value = value.threshold_value();
    if (definition.type == alerting::RuleType::kRange && value.has_threshold_high()) {
      definition.threshold_high = value.threshold_high();
    }
    RETURN_IF_ERROR(alerting::CheckDefinition(definition));
    row.plant_id = value.plant_id();
    row.rule_name = value.rule_name();
    // alert_rules.severity's default (migrations/0001_initial_schema.sql).
    row.severity = severity.value_or(storage::AlertSeverity::kWarning);
    row.is_active = true;
    ASSIGN_OR_RETURN(storage::AlertRule created, alerts_.CreateRule(caller.user_id(), row));
    *response = ToProto(created);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::GetAlertRule(grpc::ServerContext* context,
                                            const v1::GetAlertRuleRequest* request,
                                            v1::AlertRule* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    ASSIGN_OR_RETURN(storage::AlertRule found, alerts_.GetRule(caller.user_id(), request->id()));
    *response = ToProto(found);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::ListAlertRules(grpc::ServerContext* context,
                                              const v1::ListAlertRulesRequest* request,
                                              v1::ListAlertRulesResponse* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    storage::AlertRuleFilter filter;
    if (request->has_plant_id()) {
      RETURN_IF_ERROR(CheckId(request->plant_id(), "plant_id"));
      filter.plant_id = request->plant_id();
    }
    if (request->has_is_active()) filter.is_active = request->is_active();
    QueryFingerprint query("ListAlertRules");
    query.AddOptional("plant_id", request->has_plant_id(), request->plant_id());
    query.AddOptional("is_active", request->has_is_active(), int64_t{request->is_active()});
    return PageById(
        query, request->page_size(), request->page_token(),
        [&](const storage::PageRequest& page) {
          return alerts_.ListRules(caller.user_id(), filter, page);
        },
        [&](const storage::AlertRule& row) { *response->add_alert_rules() = ToProto(row); },
        response->mutable_next_page_token());
  });
}

grpc::Status AlertServiceImpl::UpdateAlertRule(grpc::ServerContext* context,
                                               const v1::UpdateAlertRuleRequest* request,
                                               v1::AlertRule* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    const v1::AlertRule& value = request->alert_rule();
    RETURN_IF_ERROR(CheckId(value.id(), "alert_rule.id"));
    ASSIGN_OR_RETURN(std::set<std::string> paths,
                     CheckUpdateMask(request->update_mask(), kRuleFields));
    for (const std::string& path : paths) RETURN_IF_ERROR(CheckRuleField(value, path));
    storage::AlertRuleUpdate update;
    if (paths.count("rule_name")) update.rule_name = value.rule_name();
    if (paths.count("rule_type")) {
      ASSIGN_OR_RETURN(update.rule_type,
                       alerting::ParseRuleType(value.rule_type(), "alert_rule.rule_type"));
    }
    if (paths.count("parameter_name")) {
      ASSIGN_OR_RETURN(
          update.parameter_name,
          alerting::ParseParameter(value.parameter_name(), "alert_rule.parameter_name"));
    }
    if (paths.count("condition_operator")) {
      ASSIGN_OR_RETURN(update.condition_operator, StoredOperator(value));
    }
    if (paths.count("threshold_value")) update.threshold_value = value.threshold_value();
    if (paths.count("severity")) {
      ASSIGN_OR_RETURN(std::optional<storage::AlertSeverity> severity,
                       AlertSeverityFromProto(value.severity(), "alert_rule.severity"));
      if (!severity.has_value()) {
        return absl::InvalidArgumentError("alert_rule.severity must not be UNSPECIFIED");
      }
      update.severity = *severity;
    }
    if (paths.count("is_active")) update.is_active = value.is_active();
    if (paths.count("threshold_high")) {
      update.threshold_high = OptionalField(value.has_threshold_high(), value.threshold_high());
    }
    ASSIGN_OR_RETURN(storage::AlertRule updated,
                     alerts_.UpdateRule(caller.user_id(), value.id(), update));
    *response = ToProto(updated);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::DeleteAlertRule(grpc::ServerContext* context,
                                               const v1::DeleteAlertRuleRequest* request,
                                               google::protobuf::Empty* /*response*/) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    return alerts_.DeleteRule(caller.user_id(), request->id());
  });
}

grpc::Status AlertServiceImpl::GetAlert(grpc::ServerContext* context,
                                        const v1::GetAlertRequest* request, v1::Alert* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    ASSIGN_OR_RETURN(storage::Alert found, alerts_.GetAlert(caller.user_id(), request->id()));
    *response = ToProto(found);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::ListAlerts(grpc::ServerContext* context,
                                          const v1::ListAlertsRequest* request,
                                          v1::ListAlertsResponse* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    storage::AlertFilter filter;
    if (request->has_plant_id()) {
      RETURN_IF_ERROR(CheckId(request->plant_id(), "plant_id"));
      filter.plant_id = request->plant_id();
    }
    ASSIGN_OR_RETURN(filter.status, AlertStatusFromProto(request->status(), "status"));
    ASSIGN_OR_RETURN(filter.severity, AlertSeverityFromProto(request->severity(), "severity"));
    QueryFingerprint query("ListAlerts");
    query.AddOptional("plant_id", request->has_plant_id(), request->plant_id());
    query.Add("status", request->status());
    query.Add("severity", request->severity());
    if (request->has_triggered_after()) {
      ASSIGN_OR_RETURN(absl::Time after,
                       TimeFromProto(request->triggered_after(), "triggered_after"));
      filter.triggered_after = after;
      query.Add("after", absl::ToUnixMicros(after));
    }
    if (request->has_triggered_before()) {
      ASSIGN_OR_RETURN(absl::Time before,
                       TimeFromProto(request->triggered_before(), "triggered_before"));
      filter.triggered_before = before;
      query.Add("before", absl::ToUnixMicros(before));
    }
    return PageById(
        query, request->page_size(), request->page_token(),
        [&](const storage::PageRequest& page) {
          return alerts_.ListAlerts(caller.user_id(), filter, page);
        },
        [&](const storage::Alert& row) { *response->add_alerts() = ToProto(row); },
        response->mutable_next_page_token());
  });
}

grpc::Status AlertServiceImpl::AcknowledgeAlert(grpc::ServerContext* context,
                                                const v1::AcknowledgeAlertRequest* request,
                                                v1::Alert* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    ASSIGN_OR_RETURN(storage::Alert alert, alerts_.Acknowledge(caller.user_id(), request->id()));
    *response = ToProto(alert);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::ResolveAlert(grpc::ServerContext* context,
                                            const v1::ResolveAlertRequest* request,
                                            v1::Alert* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    RETURN_IF_ERROR(CheckId(request->id(), "id"));
    ASSIGN_OR_RETURN(storage::Alert alert, alerts_.Resolve(caller.user_id(), request->id()));
    *response = ToProto(alert);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::AcknowledgeAlerts(grpc::ServerContext* context,
                                                 const v1::AcknowledgeAlertsRequest* request,
                                                 v1::AcknowledgeAlertsResponse* response) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    std::optional<int64_t> plant_id;
    if (request->has_plant_id()) {
      RETURN_IF_ERROR(CheckId(request->plant_id(), "plant_id"));
      plant_id = request->plant_id();
    }
    ASSIGN_OR_RETURN(int64_t count, alerts_.AcknowledgeAll(caller.user_id(), plant_id));
    response->set_acknowledged_count(count);
    return absl::OkStatus();
  });
}

grpc::Status AlertServiceImpl::WatchAlerts(grpc::ServerContext* context,
                                           const v1::WatchAlertsRequest* request,
                                           grpc::ServerWriter<v1::WatchAlertsResponse>* writer) {
  return HandleAuthenticated(authenticator_, context, [&](const Caller& caller) -> absl::Status {
    std::optional<int64_t> plant_id;
    if (request->has_plant_id()) {
      RETURN_IF_ERROR(CheckId(request->plant_id(), "plant_id"));
      plant_id = request->plant_id();
      // A foreign or missing plant is NOT_FOUND, as everywhere else.
      RETURN_IF_ERROR(alerts_.CheckPlantOwned(caller.user_id(), *plant_id));
    }
    std::shared_ptr<storage::AlertSubscription> subscription =
        listener_.Subscribe(caller.user_id());
    // Sends headers now, so the client knows the watch is in place.
    writer->SendInitialMetadata();
    absl::Status result = absl::OkStatus();
    while (!context->IsCancelled() && !subscription->closed()) {
      std::optional<int64_t> alert_id = subscription->Next(absl::Milliseconds(200));
      if (!alert_id.has_value()) continue;
      absl::StatusOr<storage::Alert> alert = alerts_.GetAlert(caller.user_id(), *alert_id);
      if (!alert.ok()) {
        if (alert.status().code() == absl::StatusCode::kNotFound) continue;  // deleted since
        result = alert.status();
        break;
      }
      if (plant_id.has_value() && alert->plant_id != *plant_id) continue;
      v1::WatchAlertsResponse change;
      *change.mutable_alert() = ToProto(*alert);
      if (!writer->Write(change)) break;
    }
    listener_.Unsubscribe(caller.user_id(), subscription);
    return result;
  });
}

}  // namespace plantmon::services
