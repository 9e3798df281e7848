#ifndef PLANTMON_COMMON_ENUM_TABLE_H_
#define PLANTMON_COMMON_ENUM_TABLE_H_

// A fixed two-way mapping between an enum and another form of it (its name in
// the database, its value in the API), written once as one table of pairs so
// that a new value is one more row, not a case in two switches.

#include <array>
#include <cstddef>
#include <optional>
#include <utility>

namespace plantmon::common {

template <typename Value, typename Other, size_t N>
class EnumTable {
 public:
  constexpr explicit EnumTable(std::array<std::pair<Value, Other>, N> entries)
      : entries_(std::move(entries)) {}

  std::optional<Other> Forward(Value value) const {
    for (const auto& [candidate, other] : entries_) {
      if (candidate == value) return other;
    }
    return std::nullopt;
  }

  template <typename Key>
  std::optional<Value> Backward(const Key& key) const {
    for (const auto& [value, other] : entries_) {
      if (other == key) return value;
    }
    return std::nullopt;
  }

  const std::array<std::pair<Value, Other>, N>& entries() const { return entries_; }

 private:
  std::array<std::pair<Value, Other>, N> entries_;
};

}  // namespace plantmon::common

#endif  // PLANTMON_COMMON_ENUM_TABLE_H_
