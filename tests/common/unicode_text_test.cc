#include "common/unicode_text.h"

#include "gtest/gtest.h"

namespace plantmon::unicode {
namespace {

TEST(UnicodeTextTest, ToNfcComposes) {
  EXPECT_EQ(*ToNfc("Rene\u0301"), "Ren\u00e9");
  EXPECT_EQ(*ToNfc("already composed \u00e9"), "already composed \u00e9");
  EXPECT_EQ(*ToNfc("\u212b"), "\u00c5") << "the angstrom sign is a letter A with ring";
  EXPECT_EQ(ToNfc(std::string("\xff\xfe", 2)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(UnicodeTextTest, FindsCharactersNobodyCanSee) {
  EXPECT_EQ(FirstInvisibleCharacter("plain name"), std::nullopt);
  EXPECT_EQ(FirstInvisibleCharacter("caf\u00e9 \U0001F331 \u592a\u90ce"), std::nullopt);
  EXPECT_EQ(FirstInvisibleCharacter("an\u200bn"), U'\u200b');     // zero-width space
  EXPECT_EQ(FirstInvisibleCharacter("ann\u00a0lee"), U'\u00a0');  // no-break space
  EXPECT_EQ(FirstInvisibleCharacter("a\u3000b"), U'\u3000');      // ideographic space
  EXPECT_EQ(FirstInvisibleCharacter("ann\x07"), U'\x07');         // control
  // A right-to-left override, built from its bytes: a literal holding it
  // would itself mislead.
  EXPECT_EQ(FirstInvisibleCharacter("ab" + std::string{'\xE2', '\x80', '\xAE'} + "cd"), U'\u202e');
  EXPECT_EQ(FirstInvisibleCharacter("\ufeffann"), U'\ufeff');         // byte-order mark
  EXPECT_EQ(FirstInvisibleCharacter("a\u3164b"), U'\u3164');          // Hangul filler
  EXPECT_EQ(FirstInvisibleCharacter("a\ufe0fb"), U'\ufe0f');          // variation selector
  EXPECT_EQ(FirstInvisibleCharacter("a\ue000b"), U'\ue000');          // private use
  EXPECT_EQ(FirstInvisibleCharacter("a\U000E0041b"), U'\U000E0041');  // tag character
}

TEST(UnicodeTextTest, MixedScriptsNamesTheScriptsOfLookAlikes) {
  EXPECT_TRUE(MixedScripts("paypal").empty());
  EXPECT_TRUE(MixedScripts("\u0431\u043e\u0431").empty()) << "Cyrillic alone";
  EXPECT_TRUE(MixedScripts("tanaka\u592a\u90ce").empty()) << "Latin with Han";
  EXPECT_TRUE(MixedScripts("user_42").empty());
  EXPECT_EQ(MixedScripts("p\u0430ypal"), (std::vector<std::string>{"Cyrillic", "Latin"}));
  EXPECT_EQ(MixedScripts("\u03b1lpha"), (std::vector<std::string>{"Greek", "Latin"}));
  EXPECT_FALSE(MixedScripts("a1\u0663").empty()) << "ASCII and Arabic-Indic digits";
}

TEST(UnicodeTextTest, CaseFoldFoldsFully) {
  EXPECT_EQ(CaseFold("Bob"), "bob");
  EXPECT_EQ(CaseFold("Stra\u00dfe"), CaseFold("STRASSE"));
  EXPECT_EQ(CaseFold("\u00c9"), "\u00e9");
}

}  // namespace
}  // namespace plantmon::unicode
