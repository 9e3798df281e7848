#include "alerting/notification_policy.h"

#include <algorithm>

#include "common/enum_table.h"

namespace plantmon::alerting {
namespace {

// The database's spelling of each status, and what a channel is told when
// an alert takes it.
struct StatusNames {
  absl::string_view status;
  absl::string_view kind;
};
constexpr common::EnumTable<NotifiedStatus, StatusNames, 3> kStatuses({{
    {NotifiedStatus::kActive, {"active", "opened"}},
    {NotifiedStatus::kAcknowledged, {"acknowledged", "acknowledged"}},
    {NotifiedStatus::kResolved, {"resolved", "resolved"}},
}});

}  // namespace

std::optional<NotifiedStatus> ParseNotifiedStatus(absl::string_view status) {
  for (const auto& [value, names] : kStatuses.entries()) {
    if (names.status == status) return value;
  }
  return std::nullopt;
}

int SeverityRank(absl::string_view severity) {
  if (severity == "info") return 1;
  if (severity == "warning") return 2;
  if (severity == "critical") return 3;
  return 0;
}

std::optional<std::string> NotificationKind(NotifiedStatus status,
                                            std::optional<NotifiedStatus> last_notified,
                                            absl::string_view severity,
                                            absl::string_view min_severity) {
  if (SeverityRank(severity) < SeverityRank(min_severity)) return std::nullopt;
  if (last_notified == status) return std::nullopt;
  std::optional<StatusNames> names = kStatuses.Forward(status);
  if (!names.has_value()) return std::nullopt;
  return std::string(names->kind);
}

std::optional<QuietHours> QuietHoursIn(std::optional<int> start_minute,
                                       std::optional<int> end_minute,
                                       const std::string& time_zone) {
  if (!start_minute.has_value() || !end_minute.has_value()) return std::nullopt;
  QuietHours quiet{*start_minute, *end_minute, absl::UTCTimeZone()};
  if (!absl::LoadTimeZone(time_zone, &quiet.zone)) quiet.zone = absl::UTCTimeZone();
  return quiet;
}

absl::Time NotQuiet(absl::Time at, const std::optional<QuietHours>& quiet) {
  if (!quiet.has_value() || quiet->start_minute == quiet->end_minute) return at;
  const absl::TimeZone::CivilInfo local = quiet->zone.At(at);
  const int minute = local.cs.hour() * 60 + local.cs.minute();
  const bool spans_midnight = quiet->start_minute > quiet->end_minute;
  const bool inside = spans_midnight
                          ? (minute >= quiet->start_minute || minute < quiet->end_minute)
                          : (minute >= quiet->start_minute && minute < quiet->end_minute);
  if (!inside) return at;
  // The end on the day it falls: today, or tomorrow when the quiet hours
  // began before midnight.
  auto day = absl::CivilDay(local.cs);
  if (spans_midnight && minute >= quiet->start_minute) day += 1;
  const auto end = absl::CivilMinute(day) + quiet->end_minute;  // local wall time
  // A wall time skipped by a DST change maps past the gap; one repeated maps
  // to its first occurrence: either way no later than people expect.
  return std::max(at, quiet->zone.At(end).pre);
}

absl::Duration RetryDelay(int attempts, absl::Duration base, absl::Duration cap,
                          absl::BitGen& random) {
  absl::Duration delay = base;
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay = std::min(delay, cap);
  return delay - delay * absl::Uniform(random, 0.0, 0.2);
}

}  // namespace plantmon::alerting
