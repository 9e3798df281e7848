// Unicode checks for names people type (emails, usernames), on ICU: the
// character database, normalisation and UTS #39 script rules are large and
// change with each Unicode version, so they come from the library rather
// than from tables of our own.
#ifndef PLANTMON_COMMON_UNICODE_TEXT_H_
#define PLANTMON_COMMON_UNICODE_TEXT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace plantmon::unicode {

// `utf8` in Normalization Form C (composed: "e" + U+0301 becomes U+00E9), so
// that text that looks the same is stored the same. INVALID_ARGUMENT for
// bytes that are not UTF-8.
absl::StatusOr<std::string> ToNfc(absl::string_view utf8);

// The first code point of `utf8` that renders as nothing or as a space, or
// that no one can see reliably: controls, format characters (zero-width,
// bidirectional overrides, the byte-order mark), Unicode spaces other than
// U+0020, default-ignorable code points (Hangul fillers, variation
// selectors), and unassigned, private-use and surrogate code points.
std::optional<char32_t> FirstInvisibleCharacter(absl::string_view utf8);

// The scripts `utf8` mixes when UTS #39's "highly restrictive" level refuses
// the mix (Latin with Cyrillic or Greek, as in "pаypal" with a Cyrillic "а"),
// or when it mixes digits of different number systems; empty when the text
// passes. Latin with Han, Hiragana, Katakana, Hangul or Bopomofo passes, as
// the level allows for East Asian names.
std::vector<std::string> MixedScripts(absl::string_view utf8);

// `utf8` case-folded (full folding: "Straße" and "STRASSE" both become
// "strasse"), for keys that compare without regard to case.
std::string CaseFold(absl::string_view utf8);

}  // namespace plantmon::unicode

#endif  // PLANTMON_COMMON_UNICODE_TEXT_H_
