#ifndef PLANTMON_POSTGRES_COPY_FORMAT_H_
#define PLANTMON_POSTGRES_COPY_FORMAT_H_

#include <string>

#include "absl/time/time.h"

namespace plantmon::postgres {

// The COPY text of a timestamptz in UTC, "YYYY-MM-DD HH:MM:SS.ffffff+00",
// for times in years 1-9999 (microseconds; finer is truncated).
std::string CopyTimestampText(absl::Time time);

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_COPY_FORMAT_H_
