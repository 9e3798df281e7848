#ifndef PLANTMON_POSTGRES_FIELD_TEXT_H_
#define PLANTMON_POSTGRES_FIELD_TEXT_H_

// Reading a result field's text as a number, a boolean or a string.
//
// Why not field.as<T>() alone: libpqxx 6.4 parses floating-point text through
// a std::stringstream, about 175 ns a value against about 40 for
// std::from_chars, and builds a pqxx::field per value on the way; a page of
// 1,440 readings spent 0.8 ms of its 3.2 ms in conversions
// (docs/benchmarks.md, "ListSensorData"). The text is what PostgreSQL's
// output functions write (int8out, float8out, boolout), which std::from_chars
// reads exactly; anything else (or a value out of range) is handed to
// libpqxx, which converts it or throws its conversion_error as before.

#include <charconv>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace plantmon::postgres {

// `text` (a field's text, not NULL) as T, or nullopt when it is not what
// PostgreSQL's output functions write for T.
template <typename T>
std::optional<T> FieldTextAs(std::string_view text) {
  if constexpr (std::is_same_v<T, std::string>) {
    return std::string(text);
  } else if constexpr (std::is_same_v<T, bool>) {
    // boolout writes "t" or "f".
    if (text == "t") return true;
    if (text == "f") return false;
    return std::nullopt;
  } else {
    static_assert(std::is_integral_v<T> || std::is_floating_point_v<T>);
    const char* end = text.data() + text.size();
    T value{};
    // float8out writes "NaN", "Infinity" and "-Infinity", which
    // std::from_chars reads as strtod does.
    const std::from_chars_result parsed = std::from_chars(text.data(), end, value);
    if (parsed.ec == std::errc() && parsed.ptr == end) return value;
    return std::nullopt;
  }
}

// The same from text that is not NULL, where anything FieldTextAs does not
// read goes to libpqxx's conversion, which converts it or throws its
// conversion_error.
template <typename T>
T TextAs(std::string_view text) {
  if (std::optional<T> value = FieldTextAs<T>(text)) return *std::move(value);
  T value{};
  pqxx::from_string(std::string(text), value);
  return value;
}

template <typename T>
T FieldAs(const pqxx::field& field) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
                std::is_integral_v<T> || std::is_floating_point_v<T>) {
    if (field.is_null()) return field.as<T>();  // throws, as libpqxx does
    if (std::optional<T> value = FieldTextAs<T>(std::string_view(field.c_str(), field.size()))) {
      return *std::move(value);
    }
  }
  return field.as<T>();
}

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_FIELD_TEXT_H_
