#include <functional>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "alerting/notification_policy.h"
#include "alerting/rules.h"
#include "notify/webhook_http.h"
#include "plantmon/v1/alert.grpc.pb.h"
#include "services/callback_stream.h"
#include "services/handler.h"
#include "services/pagination.h"
#include "services/plantmon_services.h"
#include "services/proto_mapping.h"
#include "services/status_macros.h"
#include "services/validation.h"

namespace plantmon::services {
namespace {

// The operator a request names: range and deviation rules ignore it, so for
// them an empty one stands for '>'; any other must be a known operator.
absl::StatusOr<alerting::Operator> StoredOperator(const v1::AlertRule& value) {
  if (value.rule_type() != alerting::Name(alerting::RuleType::kThreshold) &&
      value.condition_operator().empty()) {
    return alerting::Operator::kGreater;
  }
  return alerting::ParseOperator(value.condition_operator(), "alert_rule.condition_operator");
}

// A battery_below or watering_overdue rule watches one parameter whatever
// the request names (alerting::BoundParameter); true if `rule` is such a one
// and now names it.
bool WithBoundParameter(v1::AlertRule& rule) {
  absl::StatusOr<alerting::RuleType> type =
      alerting::ParseRuleType(rule.rule_type(), "alert_rule.rule_type");
  if (!type.ok()) return false;
  std::optional<absl::string_view> bound = alerting::BoundParameter(*type);
  if (!bound.has_value()) return false;
  rule.set_parameter_name(std::string(*bound));
  return true;
}

absl::Status CheckRuleField(const v1::AlertRule& value, const std::string& path) {
  if (path == "rule_name") return CheckText(value.rule_name(), "alert_rule.rule_name", 255, true);
  if (path == "rule_type") {
    return alerting::ParseRuleType(value.rule_type(), "alert_rule.rule_type").status();
  }
  if (path == "parameter_name") {
    return alerting::CheckParameterName(value.parameter_name(), "alert_rule.parameter_name");
  }
  if (path == "condition_operator") return StoredOperator(value).status();
  if (path == "threshold_high" && value.has_threshold_high()) {
    return CheckFinite(value.threshold_high(), "alert_rule.threshold_high");
  }
  if (path == "threshold_value") {
    return CheckFinite(value.threshold_value(), "alert_rule.threshold_value");
  }
  if (path == "severity") {
    return AlertSeverityFromProto(value.severity(), "alert_rule.severity").status();
  }
  if (path == "hysteresis") return CheckFinite(value.hysteresis(), "alert_rule.hysteresis");
  if (path == "for_duration") {
    return CheckDuration(value.for_duration(), "alert_rule.for_duration").status();
  }
  if (path == "clear_duration") {
    return CheckDuration(value.clear_duration(), "alert_rule.clear_duration").status();
  }
  if (path == "interval") return CheckDuration(value.interval(), "alert_rule.interval").status();
  if (path == "device_id" && value.has_device_id()) {
    return CheckId(value.device_id(), "alert_rule.device_id");
  }
  return absl::OkStatus();
}

// ListAlerts' status filter: `statuses` and the single `status` together,
// each a real status; empty for any.
absl::StatusOr<std::vector<v1::AlertStatus>> StatusesOf(const v1::ListAlertsRequest& request) {
  if (request.statuses_size() > 3) {
    return absl::InvalidArgumentError("statuses lists at most the 3 statuses there are");
  }
  std::vector<v1::AlertStatus> statuses;
  for (int value : request.statuses()) {
    ASSIGN_OR_RETURN(std::optional<v1::AlertStatus> status,
                     AlertStatusFromProto(value, "statuses"));
    if (!status.has_value()) {
      return absl::InvalidArgumentError("statuses may not hold ALERT_STATUS_UNSPECIFIED");
    }
    statuses.push_back(*status);
  }
  ASSIGN_OR_RETURN(std::optional<v1::AlertStatus> status,
                   AlertStatusFromProto(request.status(), "status"));
  if (status.has_value()) statuses.push_back(*status);
  return statuses;
}

// WatchAlerts: the caller's alert changes as they commit, from any server
// process, each with its event id. The watch reads the caller's alert events
// (storage::AlertRepository::ListEvents) from a cursor: after
// resume_after_event_id if the client gives one (the replay), otherwise after
// the newest event when the watch opened. Going live is the same loop: the
// listener (storage/alert_listener.h) only says that the caller's events
// changed, and the watch reads on from its cursor. So there is no seam
// between replay and live to lose or repeat an event at.
//
// An open watch holds no thread: a task on the database executor reads a
// page of events and writes them one at a time, the next write starting when
// the last is done. A client that stops reading therefore holds one page
// (kEventPage events) and one message in flight; the rest waits in the
// database, and the watch catches up from its cursor when the client reads
// again.
class AlertWatch final : public CallbackStream<grpc::ServerWriteReactor<v1::WatchAlertsResponse>> {
 public:
  // Events read per query: enough to stream a replay at full speed, little
  // to hold for a client that reads slowly.
  static constexpr int kEventPage = 100;

  AlertWatch(CallRuntime& runtime, storage::AlertRepository& alerts,
             storage::AlertListener& listener, grpc::CallbackServerContext* context,
             v1::WatchAlertsRequest request)
      : CallbackStream(runtime, context, Access::kSignedIn),
        alerts_(alerts),
        listener_(listener),
        request_(std::move(request)) {
    Open();
  }

  void OnSendInitialMetadataDone(bool ok) override {
    if (!ok) Stop(absl::CancelledError("the client went away"));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Stop(absl::CancelledError("the client went away"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex());
      sending_ = false;
    }
    SendNext();
  }

 private:
  void Opened() override {
    const int64_t user_id = lease().caller().user_id();
    if (request_.has_plant_id()) {
      absl::Status owned = CheckId(request_.plant_id(), "plant_id");
      // A foreign or missing plant is NOT_FOUND, as everywhere else.
      if (owned.ok()) owned = alerts_.CheckPlantOwned(user_id, request_.plant_id());
      if (!owned.ok()) {
        Stop(owned);
        return;
      }
    }
    std::optional<int64_t> resume_after;
    if (request_.has_resume_after_event_id()) {
      if (request_.resume_after_event_id() < 0) {
        Stop(absl::InvalidArgumentError("resume_after_event_id must be 0 or more"));
        return;
      }
      resume_after = request_.resume_after_event_id();
    }
    // Subscribed before the cursor is read: an event committed in between is
    // after the cursor and announced, so it is read either way.
    std::shared_ptr<storage::AlertSubscription> subscription =
        listener_.Subscribe(user_id, [this] { SendNext(); });
    absl::StatusOr<int64_t> cursor = alerts_.WatchCursor(user_id, resume_after);
    {
      std::lock_guard<std::mutex> lock(mutex());
      subscription_ = std::move(subscription);
      if (cursor.ok()) {
        cursor_ = *cursor;
        // Headers now, so the client knows the watch is in place.
        if (!finished_locked()) StartSendInitialMetadata();
      }
    }
    if (!cursor.ok()) {
      Stop(cursor.status());
      return;
    }
    SendNext();
  }

  void Closed() override {
    if (subscription_ != nullptr) listener_.Unsubscribe(lease().caller().user_id(), subscription_);
  }

  // After an announcement or a finished write: starts sending the next
  // event unless one is being read or sent.
  void SendNext() {
    {
      std::lock_guard<std::mutex> lock(mutex());
      if (finished_locked() || sending_ || subscription_ == nullptr || cursor_ < 0) return;
      sending_ = true;
    }
    Submit([this] { FetchAndWrite(); });
  }

  // On the executor: the next event after the cursor, written; or, with
  // none, sending_ cleared.
  void FetchAndWrite() {
    const int64_t user_id = lease().caller().user_id();
    for (;;) {
      if (subscription_->state() == storage::AlertSubscription::State::kClosed) {
        Stop(absl::OkStatus());  // the server is shutting down
        return;
      }
      if (next_ < page_.size()) {
        if (lease().revoked()) return;  // the lease has ended the call
        std::lock_guard<std::mutex> lock(mutex());
        if (finished_locked()) return;
        storage::AlertEvent& event = page_[next_++];
        cursor_ = event.event_id;
        change_.set_event_id(event.event_id);
        change_.mutable_alert()->Swap(&event.alert);
        StartWrite(&change_);
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mutex());
        // A full page may have more behind it; otherwise read again only
        // when something was announced since the last read. Under the lock,
        // so that an announcement arriving now sees sending_ clear.
        if (!page_full_ && !subscription_->TakeChanged()) {
          sending_ = false;
          return;
        }
      }
      std::optional<int64_t> plant_id;
      if (request_.has_plant_id()) plant_id = request_.plant_id();
      absl::StatusOr<std::vector<storage::AlertEvent>> events =
          alerts_.ListEvents(user_id, cursor_, plant_id, kEventPage);
      if (!events.ok()) {
        Stop(events.status());
        return;
      }
      page_ = *std::move(events);
      next_ = 0;
      page_full_ = page_.size() == static_cast<size_t>(kEventPage);
    }
  }

  storage::AlertRepository& alerts_;
  storage::AlertListener& listener_;
  const v1::WatchAlertsRequest request_;
  // Set once by Opened(), guarded by mutex() until then; tasks and Closed()
  // run after it was set.
  std::shared_ptr<storage::AlertSubscription> subscription_;
  // The last event written (or where the watch starts); -1 until Opened()
  // has read it. Written by tasks, one at a time.
  int64_t cursor_ = -1;
  // The events read and not yet written: one task at a time uses them.
  std::vector<storage::AlertEvent> page_;
  size_t next_ = 0;
  bool page_full_ = false;
  v1::WatchAlertsResponse change_;  // the one message in flight
  bool sending_ = false;            // an event is being read or written, guarded by mutex()
};

absl::Status CheckChannelField(const v1::NotificationChannel& value, const std::string& path,
                               const notify::UrlPolicy& urls) {
  if (path == "name") return CheckText(value.name(), "notification_channel.name", 100, true);
  if (path == "url") {
    RETURN_IF_ERROR(CheckText(value.url(), "notification_channel.url", 2048, true));
    return notify::CheckWebhookUrl(value.url(), urls, "notification_channel.url");
  }
  if (path == "secret") {
    RETURN_IF_ERROR(CheckText(value.secret(), "notification_channel.secret", 256, true));
    if (value.secret().size() < 16) {
      return absl::InvalidArgumentError(
          "notification_channel.secret must be at least 16 bytes (it keys the signature)");
    }
    return absl::OkStatus();
  }
  if (path == "min_severity" && value.min_severity() != v1::ALERT_SEVERITY_UNSPECIFIED) {
    return AlertSeverityFromProto(value.min_severity(), "notification_channel.min_severity")
        .status();
  }
  if (path == "quiet_hours_start" || path == "quiet_hours_end") {
    const bool start = path == "quiet_hours_start";
    const bool present = start ? value.has_quiet_hours_start() : value.has_quiet_hours_end();
    const int minute = start ? value.quiet_hours_start() : value.quiet_hours_end();
    if (present && (minute < 0 || minute > 1439)) {
      return absl::InvalidArgumentError(
          absl::StrCat("notification_channel.", path, " must be a minute of the day, 0 to 1439"));
    }
    if (value.has_quiet_hours_start() != value.has_quiet_hours_end()) {
      return absl::InvalidArgumentError(
          "notification_channel.quiet_hours_start and quiet_hours_end go together: set both or "
          "neither");
    }
    return absl::OkStatus();
  }
  if (path == "time_zone") {
    return CheckTimeZone(value.time_zone(), "notification_channel.time_zone");
  }
  if (path == "renotify_interval") {
    ASSIGN_OR_RETURN(
        absl::Duration interval,
        CheckDuration(value.renotify_interval(), "notification_channel.renotify_interval"));
    if (interval != absl::ZeroDuration() &&
        (interval < alerting::kMinRenotifyInterval || interval > alerting::kMaxRenotifyInterval)) {
      return absl::InvalidArgumentError(
          "notification_channel.renotify_interval must be 0 (once) or from a minute to 30 days");
    }
  }
  return absl::OkStatus();
}

// What a channel reads as: the secret is write-only.
void HideSecret(v1::NotificationChannel& channel) { channel.clear_secret(); }

absl::Status RespondChannel(absl::StatusOr<v1::NotificationChannel> channel,
                            v1::NotificationChannel* response) {
  if (channel.ok()) HideSecret(*channel);
  return Respond(std::move(channel), response);
}

// An unset minimum severity means INFO and an empty time zone UTC, in a new
// channel and in an update that names the field (`named`).
void DefaultChannelFields(v1::NotificationChannel& value,
                          const std::function<bool(absl::string_view)>& named) {
  if (named("min_severity") && value.min_severity() == v1::ALERT_SEVERITY_UNSPECIFIED) {
    value.set_min_severity(v1::ALERT_SEVERITY_INFO);
  }
  if (named("time_zone") && value.time_zone().empty()) value.set_time_zone("UTC");
}

// plantmon.v1.AlertService: the caller's alert rules, the alerts they raised, and a live feed of
// alert changes.
class AlertService final : public RpcService {
 public:
  AlertService(Backends& backends, CallRuntime& runtime)
      : RpcService(v1::AlertService::service_full_name(), runtime),
        alerts_(backends.alerts),
        notifications_(backends.notifications),
        listener_(backends.listener),
        webhook_urls_(backends.webhook_urls) {
    AddRuleMethods();
    AddAlertMethods();
    AddChannelMethods();
  }

 private:
  void AddRuleMethods();
  void AddAlertMethods();
  void AddChannelMethods();

  storage::AlertRepository& alerts_;
  storage::NotificationRepository& notifications_;
  storage::AlertListener& listener_;
  const notify::UrlPolicy webhook_urls_;
};

void AlertService::AddRuleMethods() {
  SignedIn("CreateAlertRule",
           [this](const auth::Caller& caller, const v1::CreateAlertRuleRequest& request,
                  v1::AlertRule* response) -> absl::Status {
             v1::AlertRule value = request.alert_rule();
             WithBoundParameter(value);
             RETURN_IF_ERROR(CheckId(value.plant_id(), "alert_rule.plant_id"));
             RETURN_IF_ERROR(CheckFields(value, storage::AlertRepository::UpdatableRuleFields(),
                                         CheckRuleField));
             alerting::RuleDefinition definition;
             ASSIGN_OR_RETURN(definition.type,
                              alerting::ParseRuleType(value.rule_type(), "alert_rule.rule_type"));
             // Range and deviation rules store '>' whatever is sent (docs/api.md).
             definition.op = alerting::Operator::kGreater;
             if (definition.type == alerting::RuleType::kThreshold) {
               ASSIGN_OR_RETURN(definition.op, StoredOperator(value));
             }
             definition.threshold_value = value.threshold_value();
             if (definition.type == alerting::RuleType::kRange && value.has_threshold_high()) {
               definition.threshold_high = value.threshold_high();
             }
             definition.hysteresis = value.hysteresis();
             definition.parameter = value.parameter_name();
             ASSIGN_OR_RETURN(definition.for_duration,
                              CheckDuration(value.for_duration(), "alert_rule.for_duration"));
             ASSIGN_OR_RETURN(definition.clear_duration,
                              CheckDuration(value.clear_duration(), "alert_rule.clear_duration"));
             ASSIGN_OR_RETURN(definition.interval,
                              CheckDuration(value.interval(), "alert_rule.interval"));
             RETURN_IF_ERROR(alerting::CheckDefinition(definition));
             v1::AlertRule row = value;
             row.set_condition_operator(std::string(alerting::Name(definition.op)));
             if (!definition.threshold_high.has_value()) row.clear_threshold_high();
             // alert_rules.severity's default (migrations/0001_initial_schema.sql).
             if (row.severity() == v1::ALERT_SEVERITY_UNSPECIFIED) {
               row.set_severity(v1::ALERT_SEVERITY_WARNING);
             }
             row.set_is_active(true);
             return Respond(alerts_.CreateRule(caller.user_id(), row), response);
           });

  SignedInRead<v1::AlertRule>("GetAlertRule", OwnedRowById<v1::GetAlertRuleRequest>(
                                                  &storage::AlertRepository::GetRuleRead));

  SignedInListRead(
      "ListAlertRules",
      [](const auth::Caller& caller, const v1::ListAlertRulesRequest& request,
         v1::ListAlertRulesResponse* response) -> absl::StatusOr<ReaderCall> {
        storage::AlertRuleFilter filter;
        ASSIGN_OR_RETURN(filter.plant_id,
                         OptionalId(request.has_plant_id(), request.plant_id(), "plant_id"));
        if (request.has_is_active()) filter.is_active = request.is_active();
        QueryFingerprint query("ListAlertRules");
        query.AddOptional("plant_id", request.has_plant_id(), request.plant_id());
        query.AddOptional("is_active", request.has_is_active(), int64_t{request.is_active()});
        return PageByIdRead<v1::AlertRule>(
            std::move(query), request.page_size(), request.page_token(),
            [&](const storage::PageRequest& page) {
              return storage::AlertRepository::ListRulesRead(caller.user_id(), filter, page);
            },
            [response](v1::AlertRule& row) { response->add_alert_rules()->Swap(&row); },
            response->mutable_next_page_token());
      });

  SignedIn("UpdateAlertRule",
           [this](const auth::Caller& caller, const v1::UpdateAlertRuleRequest& request,
                  v1::AlertRule* response) -> absl::Status {
             google::protobuf::FieldMask mask = request.update_mask();
             v1::AlertRule values = request.alert_rule();
             // A rule that becomes one bound to a parameter takes it.
             if (absl::c_linear_search(mask.paths(), "rule_type") && WithBoundParameter(values) &&
                 !absl::c_linear_search(mask.paths(), "parameter_name")) {
               mask.add_paths("parameter_name");
             }
             RETURN_IF_ERROR(CheckMaskedUpdate(values, "alert_rule.id", mask,
                                               storage::AlertRepository::UpdatableRuleFields(),
                                               CheckRuleField));
             if (absl::c_linear_search(mask.paths(), "severity") &&
                 values.severity() == v1::ALERT_SEVERITY_UNSPECIFIED) {
               return absl::InvalidArgumentError("alert_rule.severity must not be UNSPECIFIED");
             }
             if (absl::c_linear_search(mask.paths(), "condition_operator")) {
               ASSIGN_OR_RETURN(alerting::Operator op, StoredOperator(values));
               values.set_condition_operator(std::string(alerting::Name(op)));
             }
             return Respond(alerts_.UpdateRule(caller.user_id(), values.id(), values, mask),
                            response);
           });

  SignedIn("DeleteAlertRule",
           [this](const auth::Caller& caller, const v1::DeleteAlertRuleRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return alerts_.DeleteRule(caller.user_id(), request.id());
           });
}

void AlertService::AddAlertMethods() {
  SignedInRead<v1::Alert>(
      "GetAlert", OwnedRowById<v1::GetAlertRequest>(&storage::AlertRepository::GetAlertRead));

  SignedIn("ListAlerts",
           [this](const auth::Caller& caller, const v1::ListAlertsRequest& request,
                  v1::ListAlertsResponse* response) -> absl::Status {
             storage::AlertFilter filter;
             ASSIGN_OR_RETURN(filter.plant_id,
                              OptionalId(request.has_plant_id(), request.plant_id(), "plant_id"));
             ASSIGN_OR_RETURN(filter.statuses, StatusesOf(request));
             filter.open_only = request.open_only();
             ASSIGN_OR_RETURN(filter.severity,
                              AlertSeverityFromProto(request.severity(), "severity"));
             QueryFingerprint query("ListAlerts");
             query.AddOptional("plant_id", request.has_plant_id(), request.plant_id());
             query.Add("status", request.status());
             for (int status : request.statuses()) query.Add("statuses", status);
             query.Add("open_only", request.open_only());
             query.Add("severity", request.severity());
             if (request.has_triggered_after()) {
               ASSIGN_OR_RETURN(absl::Time after,
                                TimeFromProto(request.triggered_after(), "triggered_after"));
               filter.triggered_after = after;
               query.Add("after", absl::ToUnixMicros(after));
             }
             if (request.has_triggered_before()) {
               ASSIGN_OR_RETURN(absl::Time before,
                                TimeFromProto(request.triggered_before(), "triggered_before"));
               filter.triggered_before = before;
               query.Add("before", absl::ToUnixMicros(before));
             }
             return PageById(
                 query, request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) {
                   return alerts_.ListAlerts(caller.user_id(), filter, page);
                 },
                 [&](v1::Alert& row) { response->add_alerts()->Swap(&row); },
                 response->mutable_next_page_token());
           });

  SignedIn("AcknowledgeAlert",
           [this](const auth::Caller& caller, const v1::AcknowledgeAlertRequest& request,
                  v1::Alert* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return Respond(alerts_.Acknowledge(caller.user_id(), request.id()), response);
           });

  SignedIn("ResolveAlert",
           [this](const auth::Caller& caller, const v1::ResolveAlertRequest& request,
                  v1::Alert* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return Respond(alerts_.Resolve(caller.user_id(), request.id()), response);
           });

  SignedIn("AcknowledgeAlerts",
           [this](const auth::Caller& caller, const v1::AcknowledgeAlertsRequest& request,
                  v1::AcknowledgeAlertsResponse* response) -> absl::Status {
             ASSIGN_OR_RETURN(std::optional<int64_t> plant_id,
                              OptionalId(request.has_plant_id(), request.plant_id(), "plant_id"));
             ASSIGN_OR_RETURN(int64_t count, alerts_.AcknowledgeAll(caller.user_id(), plant_id));
             response->set_acknowledged_count(count);
             return absl::OkStatus();
           });

  SignedIn("ResolveAlerts",
           [this](const auth::Caller& caller, const v1::ResolveAlertsRequest& request,
                  v1::ResolveAlertsResponse* response) -> absl::Status {
             ASSIGN_OR_RETURN(std::optional<int64_t> plant_id,
                              OptionalId(request.has_plant_id(), request.plant_id(), "plant_id"));
             ASSIGN_OR_RETURN(int64_t count, alerts_.ResolveAll(caller.user_id(), plant_id));
             response->set_resolved_count(count);
             return absl::OkStatus();
           });

  CallbackServerStream<v1::WatchAlertsRequest, v1::WatchAlertsResponse>(
      "WatchAlerts",
      [this](grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) {
        return new AlertWatch(runtime(), alerts_, listener_, context, *request);
      });
}

void AlertService::AddChannelMethods() {
  auto check = [this](const v1::NotificationChannel& value, const std::string& path) {
    return CheckChannelField(value, path, webhook_urls_);
  };
  SignedIn(
      "CreateNotificationChannel",
      [this, check](const auth::Caller& caller, const v1::CreateNotificationChannelRequest& request,
                    v1::NotificationChannel* response) -> absl::Status {
        v1::NotificationChannel value = request.notification_channel();
        RETURN_IF_ERROR(
            CheckFields(value, storage::NotificationRepository::UpdatableChannelFields(), check));
        DefaultChannelFields(value, [](absl::string_view /*field*/) { return true; });
        value.set_is_active(true);
        return RespondChannel(notifications_.CreateChannel(caller.user_id(), value), response);
      });

  SignedIn("GetNotificationChannel",
           [this](const auth::Caller& caller, const v1::GetNotificationChannelRequest& request,
                  v1::NotificationChannel* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return RespondChannel(notifications_.GetChannel(caller.user_id(), request.id()),
                                   response);
           });

  SignedInListRead(
      "ListNotificationChannels",
      [](const auth::Caller& caller, const v1::ListNotificationChannelsRequest& request,
         v1::ListNotificationChannelsResponse* response) -> absl::StatusOr<ReaderCall> {
        return PageByIdRead<v1::NotificationChannel>(
            QueryFingerprint("ListNotificationChannels"), request.page_size(), request.page_token(),
            [&](const storage::PageRequest& page) {
              return storage::NotificationRepository::ListChannelsRead(caller.user_id(), page);
            },
            [response](v1::NotificationChannel& row) {
              HideSecret(row);
              response->add_notification_channels()->Swap(&row);
            },
            response->mutable_next_page_token());
      });

  SignedIn(
      "UpdateNotificationChannel",
      [this, check](const auth::Caller& caller, const v1::UpdateNotificationChannelRequest& request,
                    v1::NotificationChannel* response) -> absl::Status {
        v1::NotificationChannel values = request.notification_channel();
        const google::protobuf::FieldMask& mask = request.update_mask();
        // The two ends of the quiet hours are checked together.
        RETURN_IF_ERROR(CheckMaskedUpdate(values, "notification_channel.id", mask,
                                          storage::NotificationRepository::UpdatableChannelFields(),
                                          check));
        DefaultChannelFields(values, [&mask](absl::string_view field) {
          return absl::c_linear_search(mask.paths(), field);
        });
        return RespondChannel(
            notifications_.UpdateChannel(caller.user_id(), values.id(), values, mask), response);
      });

  SignedIn("DeleteNotificationChannel",
           [this](const auth::Caller& caller, const v1::DeleteNotificationChannelRequest& request,
                  google::protobuf::Empty* /*response*/) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.id(), "id"));
             return notifications_.DeleteChannel(caller.user_id(), request.id());
           });

  SignedIn("ListWebhookDeliveries",
           [this](const auth::Caller& caller, const v1::ListWebhookDeliveriesRequest& request,
                  v1::ListWebhookDeliveriesResponse* response) -> absl::Status {
             RETURN_IF_ERROR(CheckId(request.channel_id(), "channel_id"));
             QueryFingerprint query("ListWebhookDeliveries");
             query.Add("channel_id", request.channel_id());
             return PageById(
                 query, request.page_size(), request.page_token(),
                 [&](const storage::PageRequest& page) {
                   return notifications_.ListDeliveries(caller.user_id(), request.channel_id(),
                                                        page);
                 },
                 [&](v1::WebhookDelivery& row) { response->add_webhook_deliveries()->Swap(&row); },
                 response->mutable_next_page_token());
           });
}

}  // namespace

std::unique_ptr<RpcService> NewAlertService(Backends& backends, CallRuntime& runtime) {
  return std::make_unique<AlertService>(backends, runtime);
}

}  // namespace plantmon::services
