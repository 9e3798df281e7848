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
#include <pqxx/pqxx>
#include <string>
#include <system_error>
#include <type_traits>

namespace plantmon::postgres {

template <typename T>
T FieldAs(const pqxx::field& field) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (field.is_null()) return field.as<T>();  // throws, as libpqxx does
    return std::string(field.c_str(), field.size());
  } else if constexpr (std::is_same_v<T, bool>) {
    // boolout writes "t" or "f".
    if (!field.is_null() && field.size() == 1) {
      const char c = field.c_str()[0];
      if (c == 't') return true;
      if (c == 'f') return false;
    }
    return field.as<T>();
  } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
    if (!field.is_null()) {
      const char* begin = field.c_str();
      const char* end = begin + field.size();
      T value{};
      // float8out writes "NaN", "Infinity" and "-Infinity", which
      // std::from_chars reads as strtod does.
      const std::from_chars_result parsed = std::from_chars(begin, end, value);
      if (parsed.ec == std::errc() && parsed.ptr == end) return value;
    }
    return field.as<T>();
  } else {
    return field.as<T>();
  }
}

}  // namespace plantmon::postgres

#endif  // PLANTMON_POSTGRES_FIELD_TEXT_H_
