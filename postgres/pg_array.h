#ifndef PLANTMON_POSTGRES_PG_ARRAY_H_
#define PLANTMON_POSTGRES_PG_ARRAY_H_

// PostgreSQL array literals for `= ANY($1::int[])`-style parameters: sets
// travel as one parameter, never as SQL text. libpqxx 6.4 has no array
// conversion for parameters.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace plantmon::postgres {

inline std::string PgIntArray(const std::vector<int64_t>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
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
