#include "postgres/copy_format.h"

namespace plantmon::postgres {

namespace {

// Writes `value` as `width` zero-padded digits ending before `end`.
void PutDigits(char* end, int64_t value, int width) {
  for (int i = 0; i < width; ++i) {
    *--end = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

// "YYYY-MM-DD HH:MM:SS.ffffff+00" for COPY. absl::FormatTime is general and
// several times slower; this runs once per stored reading. Days to a civil
// date with Howard Hinnant's days_from_civil inverse. Years 1-9999 only
// (validated before readings get here).
std::string CopyTimestampText(absl::Time time) {
  const int64_t micros = absl::ToUnixMicros(time);
  constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
  int64_t days = micros / kMicrosPerDay;
  int64_t of_day = micros % kMicrosPerDay;
  if (of_day < 0) {
    of_day += kMicrosPerDay;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  char text[] = "0000-00-00 00:00:00.000000+00";
  PutDigits(text + 4, year, 4);
  PutDigits(text + 7, month, 2);
  PutDigits(text + 10, day, 2);
  const int64_t seconds = of_day / 1000000;
  PutDigits(text + 13, seconds / 3600, 2);
  PutDigits(text + 16, seconds / 60 % 60, 2);
  PutDigits(text + 19, seconds % 60, 2);
  PutDigits(text + 26, of_day % 1000000, 6);
  return std::string(text, sizeof(text) - 1);
}

}  // namespace plantmon::postgres
