#ifndef PLANTMON_POSTGRES_PG_ARRAY_H_
#define PLANTMON_POSTGRES_PG_ARRAY_H_

// PostgreSQL array literals for `= ANY($1::int[])`-style parameters: sets
// travel as one parameter, never as SQL text. libpqxx 6.4 has no array
// conversion for parameters.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace plantmon::postgres {

inline std::string PgIntArray(const std::vector<int64_t>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

// NULL for a missing element; doubles in full precision.
inline std::string PgNullableFloatArray(const std::vector<std::optional<double>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += values[i].has_value() ? absl::StrFormat("%.17g", *values[i]) : "NULL";
  }
  out.push_back('}');
  return out;
}

inline std::string PgNullableIntArray(const std::vector<std::optional<int64_t>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += values[i].has_value() ? absl::StrCat(*values[i]) : "NULL";
  }
  out.push_back('}');
  return out;
}

// Every element double-quoted, with backslashes and quotes escaped.
inline std::string PgTextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_PG_ARRAY_H_
