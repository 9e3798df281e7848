#ifndef PLANTMON_ALERTING_NOTIFICATION_POLICY_H_
#define PLANTMON_ALERTING_NOTIFICATION_POLICY_H_

// What reaches people, and when (docs/notifications.md): which alert changes
// a channel is told about, quiet hours, and how a failed delivery is retried.
// The deliverer (notify/) and storage/notification_repository.cc only gather
// the facts and record what this decides.

#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace plantmon::alerting {

// An alert's status and severity as the database spells them
// (alert_status_enum, alert_severity_enum).
enum class NotifiedStatus { kActive, kAcknowledged, kResolved };
std::optional<NotifiedStatus> ParseNotifiedStatus(absl::string_view status);
// info < warning < critical; an unknown name ranks below info.
int SeverityRank(absl::string_view severity);

// What an alert change tells a channel that last told about the alert with
// `last_notified` (nullopt: never): "opened", "acknowledged" or "resolved";
// nullopt when it says nothing new (an ACTIVE alert is updated by every
// violating reading) or the alert is below `min_severity`.
std::optional<std::string> NotificationKind(NotifiedStatus status,
                                            std::optional<NotifiedStatus> last_notified,
                                            absl::string_view severity,
                                            absl::string_view min_severity);

// Quiet hours: minutes after local midnight in `zone`; start after end spans
// midnight. Equal start and end mean none.
struct QuietHours {
  int start_minute = 0;
  int end_minute = 0;
  absl::TimeZone zone;
};

// A channel's quiet hours as stored: none unless both ends are set. A zone
// the machine does not know reads as UTC (channels are validated when
// stored; this keeps a delivery rather than losing it).
std::optional<QuietHours> QuietHoursIn(std::optional<int> start_minute,
                                       std::optional<int> end_minute, const std::string& time_zone);

// When something due at `at` may be sent: `at` itself, or the end of the
// quiet hours it falls in.
absl::Time NotQuiet(absl::Time at, const std::optional<QuietHours>& quiet);

// How long to wait before attempt `attempts` + 1 after `attempts` failed
// ones: `base` doubled per failure up to `cap`, less up to a fifth at random
// so that receivers coming back are not hit by every sender at once.
absl::Duration RetryDelay(int attempts, absl::Duration base, absl::Duration cap,
                          absl::BitGen& random);

// The re-notify intervals a channel may set besides 0: a shorter one would
// turn a broken sensor into a message flood; a longer one is no reminder.
inline constexpr absl::Duration kMinRenotifyInterval = absl::Minutes(1);
inline constexpr absl::Duration kMaxRenotifyInterval = absl::Hours(24 * 30);

}  // namespace plantmon::alerting

#endif  // PLANTMON_ALERTING_NOTIFICATION_POLICY_H_
