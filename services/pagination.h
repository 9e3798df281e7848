#ifndef PLANTMON_SERVICES_PAGINATION_H_
#define PLANTMON_SERVICES_PAGINATION_H_

// Keyset pagination with opaque page tokens. A token carries the position of
// the last row returned and a fingerprint of the query (method and filters),
// so a token used with another query is INVALID_ARGUMENT rather than a
// silently wrong page. Tokens stay valid across server restarts and across
// servers sharing a database (the fingerprint is SHA-256, not a seeded hash).

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/models.h"

namespace plantmon::services {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

struct PageCursor {
  // Rows to return: page_size, defaulted and capped.
  int page_size = kDefaultPageSize;
  // The keyset position to continue after; empty on the first page.
  std::vector<int64_t> position;
};

// Builds the fingerprint of a query from its method and filter values.
class QueryFingerprint {
 public:
  explicit QueryFingerprint(absl::string_view method);
  QueryFingerprint& Add(absl::string_view name, absl::string_view value);
  QueryFingerprint& Add(absl::string_view name, int64_t value);
  template <typename T>
  QueryFingerprint& AddOptional(absl::string_view name, bool present, const T& value) {
    if (present) Add(name, value);
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

struct PageSizeLimits {
  int default_size = kDefaultPageSize;
  int max_size = kMaxPageSize;
};

// Validates page_size (negative is INVALID_ARGUMENT; 0 means the default;
// above the maximum is capped) and decodes page_token for this query.
absl::StatusOr<PageCursor> ParsePage(int32_t page_size, const std::string& page_token,
                                     const QueryFingerprint& query, size_t position_size,
                                     PageSizeLimits limits = {});

// The token for the page after `position`.
std::string MakePageToken(const QueryFingerprint& query, const std::vector<int64_t>& position);

// No response may exceed what clients accept by default (4 MiB, gRPC's
// receive limit): a page stops before the row that would cross this, leaving
// room for the token and framing, and its token continues after the last row
// it carries, so every row stays reachable.
inline constexpr size_t kMaxResponseBytes = (4 << 20) - (64 << 10);

// A repeated field's element costs its size plus a tag and a length: at
// most this much more.
inline constexpr size_t kRepeatedElementOverhead = 8;

// The encoded size of a row: exact for API messages, sizeof otherwise (small
// storage structs with no long text).
template <typename Row>
auto RowBytes(const Row& row, int /*prefer*/) -> decltype(static_cast<size_t>(row.ByteSizeLong())) {
  return row.ByteSizeLong();
}
template <typename Row>
size_t RowBytes(const Row& row, ...) {
  return sizeof(row);
}

// Trims `rows` (fetched with one extra row) to the page size, and to
// kMaxResponseBytes by `bytes_of(row)`, and returns the next page token, or
// "" on the last page. `position_of` gives a row's key. A page always keeps
// its first row (no row is larger than the cap).
template <typename Row, typename PositionOf, typename BytesOf>
std::string FinishPage(std::vector<Row>& rows, const PageCursor& cursor,
                       const QueryFingerprint& query, PositionOf position_of, BytesOf bytes_of) {
  const size_t most = std::min(rows.size(), static_cast<size_t>(cursor.page_size));
  size_t kept = 0;
  size_t bytes = 0;
  while (kept < most) {
    const size_t next = bytes_of(rows[kept]) + kRepeatedElementOverhead;
    if (kept > 0 && bytes + next > kMaxResponseBytes) break;
    bytes += next;
    ++kept;
  }
  if (kept == rows.size()) return "";
  rows.resize(kept);
  return MakePageToken(query, position_of(rows.back()));
}
template <typename Row, typename PositionOf>
std::string FinishPage(std::vector<Row>& rows, const PageCursor& cursor,
                       const QueryFingerprint& query, PositionOf position_of) {
  return FinishPage(rows, cursor, query, position_of,
                    [](const Row& row) { return RowBytes(row, 0); });
}

// A row's id: storage structs have an `id` member, API messages an id().
template <typename Row>
auto RowId(const Row& row) -> decltype(row.id()) {
  return row.id();
}
template <typename Row>
auto RowId(const Row& row) -> decltype(row.id) {
  return row.id;
}

// The rows a page ordered by id fetches: one more than its size (to tell
// whether another page follows), after the id the cursor continues from.
inline storage::PageRequest PageByIdRequest(const PageCursor& cursor) {
  storage::PageRequest page;
  page.after_id = cursor.position.empty() ? 0 : cursor.position[0];
  page.limit = cursor.page_size + 1;
  return page;
}

// A page ordered by id, once its rows are fetched: trims them (FinishPage),
// sets `next_page_token` and hands each row of the page to `emit`.
template <typename Row, typename Emit>
void EmitPageById(std::vector<Row>& rows, const PageCursor& cursor, const QueryFingerprint& query,
                  Emit&& emit, std::string* next_page_token) {
  *next_page_token = FinishPage(rows, cursor, query,
                                [](const Row& row) { return std::vector<int64_t>{RowId(row)}; });
  for (Row& row : rows) emit(row);
}

// One page of a list ordered by id: parses the token, fetches the page's
// rows through `fetch(storage::PageRequest)`, hands each row of the page to
// `emit`, and sets `next_page_token`. Inserts between pages never make a
// walk repeat or skip a row, since each page starts after an id.
// (PageByIdRead, services/handler.h, does the same on the pipelined reader.)
template <typename Fetch, typename Emit>
absl::Status PageById(const QueryFingerprint& query, int32_t page_size,
                      const std::string& page_token, Fetch&& fetch, Emit&& emit,
                      std::string* next_page_token) {
  absl::StatusOr<PageCursor> cursor = ParsePage(page_size, page_token, query, 1);
  if (!cursor.ok()) return cursor.status();
  auto rows = fetch(PageByIdRequest(*cursor));
  if (!rows.ok()) return rows.status();
  EmitPageById(*rows, *cursor, query, emit, next_page_token);
  return absl::OkStatus();
}

}  // namespace plantmon::services

#endif  // PLANTMON_SERVICES_PAGINATION_H_
