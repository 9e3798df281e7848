#include "common/unicode_text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <unicode/utf8.h>

#include <memory>
#include <set>

#include "absl/status/status.h"

namespace plantmon::unicode {
namespace {

bool IsValidUtf8(absl::string_view utf8) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
  const auto length = static_cast<int32_t>(utf8.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
  }
  return true;
}

// One checker for the process: uspoof_check is safe to call from many
// threads once the checker is configured.
const USpoofChecker* RestrictionChecker() {
  static const USpoofChecker* checker = [] {
    UErrorCode error = U_ZERO_ERROR;
    USpoofChecker* made = uspoof_open(&error);
    uspoof_setChecks(made, USPOOF_RESTRICTION_LEVEL | USPOOF_MIXED_NUMBERS, &error);
    uspoof_setRestrictionLevel(made, USPOOF_HIGHLY_RESTRICTIVE);
    return U_SUCCESS(error) ? made : nullptr;
  }();
  return checker;
}

}  // namespace

absl::StatusOr<std::string> ToNfc(absl::string_view utf8) {
  if (!IsValidUtf8(utf8)) return absl::InvalidArgumentError("is not valid UTF-8");
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(error);
  if (U_FAILURE(error)) return absl::InternalError("ICU has no NFC data");
  const icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  if (nfc->isNormalized(text, error) && U_SUCCESS(error)) return std::string(utf8);
  error = U_ZERO_ERROR;
  const icu::UnicodeString normalized = nfc->normalize(text, error);
  if (U_FAILURE(error)) return absl::InternalError("NFC normalisation failed");
  std::string out;
  normalized.toUTF8String(out);
  return out;
}

std::optional<char32_t> FirstInvisibleCharacter(absl::string_view utf8) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
  const auto length = static_cast<int32_t>(utf8.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return U'\uFFFD';  // not UTF-8: not something anyone can read
    if (c == ' ') continue;
    switch (u_charType(c)) {
      case U_CONTROL_CHAR:
      case U_FORMAT_CHAR:
      case U_SPACE_SEPARATOR:
      case U_LINE_SEPARATOR:
      case U_PARAGRAPH_SEPARATOR:
      case U_UNASSIGNED:
      case U_PRIVATE_USE_CHAR:
      case U_SURROGATE:
        return static_cast<char32_t>(c);
      default:
        break;
    }
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
      return static_cast<char32_t>(c);
    }
  }
  return std::nullopt;
}

std::vector<std::string> MixedScripts(absl::string_view utf8) {
  const USpoofChecker* checker = RestrictionChecker();
  if (checker == nullptr) return {};
  UErrorCode error = U_ZERO_ERROR;
  const int32_t failed =
      uspoof_checkUTF8(checker, utf8.data(), static_cast<int32_t>(utf8.size()), nullptr, &error);
  if (U_FAILURE(error) || failed == 0) return {};
  // Name the scripts (and number systems) for the error message.
  std::set<std::string> scripts;
  const auto* bytes = reinterpret_cast<const uint8_t*>(utf8.data());
  const auto length = static_cast<int32_t>(utf8.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) continue;
    UErrorCode script_error = U_ZERO_ERROR;
    const UScriptCode script = uscript_getScript(c, &script_error);
    if (U_FAILURE(script_error) || script == USCRIPT_COMMON || script == USCRIPT_INHERITED) {
      // Digits are Common; tell number systems apart by their zero.
      if (u_charType(c) == U_DECIMAL_DIGIT_NUMBER) {
        scripts.insert(c - u_charDigitValue(c) == '0' ? "ASCII digits" : "other digits");
      }
      continue;
    }
    scripts.insert(uscript_getName(script));
  }
  return {scripts.begin(), scripts.end()};
}

std::string CaseFold(absl::string_view utf8) {
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  std::string out;
  text.foldCase().toUTF8String(out);
  return out;
}

}  // namespace plantmon::unicode
