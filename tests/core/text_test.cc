#include "core/text.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ValidateUtf8Test, AcceptsAsciiAccentsAndEmoji) {
  EXPECT_TRUE(ValidateUtf8("hello", "f").ok());
  EXPECT_TRUE(ValidateUtf8("caf\xC3\xA9 \xF0\x9F\x92\x80", "f").ok());
  EXPECT_TRUE(ValidateUtf8("", "f").ok());
}

TEST(ValidateUtf8Test, RejectsBrokenSequencesWithOffsetAndNoText) {
  const std::string bad = std::string("secret ") + "\xC3\x28" + " words";
  const absl::Status status = ValidateUtf8(bad, "message.text");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("message.text is not valid UTF-8"));
  EXPECT_THAT(status.message(), HasSubstr("byte 7 of 15"));
  EXPECT_THAT(status.message(), Not(HasSubstr("secret")));
}

TEST(ValidateUtf8Test, RejectsOverlongSurrogateAndTruncated) {
  EXPECT_FALSE(ValidateUtf8("\xC0\xAF", "f").ok());        // overlong '/'
  EXPECT_FALSE(ValidateUtf8("\xED\xA0\x80", "f").ok());    // surrogate
  EXPECT_FALSE(ValidateUtf8("ok\xF0\x9F\x92", "f").ok());  // cut emoji
  EXPECT_FALSE(ValidateUtf8("\xFF", "f").ok());
}

TEST(CountCodePointsTest, CountsCharactersNotBytes) {
  EXPECT_EQ(CountCodePoints(""), 0u);
  EXPECT_EQ(CountCodePoints("abc"), 3u);
  EXPECT_EQ(CountCodePoints("\xC3\xA9t\xC3\xA9"), 3u);  // été
  EXPECT_EQ(CountCodePoints("\xF0\x9F\x92\x80!"), 2u);  // 💀!
}

TEST(PrefixOfCodePointsTest, CutsBetweenCodePoints) {
  const std::string text = "a\u00e9\U0001F600b";  // 1 + 2 + 4 + 1 bytes
  EXPECT_EQ(PrefixOfCodePoints(text, 0), "");
  EXPECT_EQ(PrefixOfCodePoints(text, 1), "a");
  EXPECT_EQ(PrefixOfCodePoints(text, 2), "a\u00e9");
  EXPECT_EQ(PrefixOfCodePoints(text, 3), "a\u00e9\U0001F600");
  EXPECT_EQ(PrefixOfCodePoints(text, 4), text);
  EXPECT_EQ(PrefixOfCodePoints(text, 100), text);
}

TEST(DropExcessCombiningMarksTest, KeepsThirtyMarksInARow) {
  std::string marks;
  for (int i = 0; i < 40; ++i) marks += i % 2 ? "\u0316" : "\u0301";
  const std::string once = DropExcessCombiningMarks("a" + marks + "b" + marks);
  // Each mark is two bytes: 30 are kept after "a" and 30 after "b".
  EXPECT_EQ(once, "a" + marks.substr(0, 60) + "b" + marks.substr(0, 60));
  EXPECT_EQ(DropExcessCombiningMarks("caf\u00e9 e\u0301"), "caf\u00e9 e\u0301");
  // Normalising sorts what is left: 15 of each class.
  const std::string normalized = NormalizeText("a" + marks).value();
  EXPECT_EQ(CountCodePoints(normalized), 30u);  // U+00E1 and 29 marks
}

TEST(NormalizeTextTest, AppliesNfkc) {
  // Fullwidth letters and the "fi" ligature fold to plain ASCII.
  EXPECT_EQ(NormalizeText("\xEF\xBC\xA8\xEF\xBD\x89").value(), "Hi");
  EXPECT_EQ(NormalizeText("\xEF\xAC\x81ne").value(), "fine");
  // Decomposed e + combining acute composes to one code point.
  EXPECT_EQ(NormalizeText("e\xCC\x81").value(), "\xC3\xA9");
}

TEST(NormalizeTextTest, CollapsesWhitespaceAndDropsInvisibles) {
  EXPECT_EQ(NormalizeText("  I'm\t\tso \n tired  ").value(), "I'm so tired");
  // Zero-width space and a BEL control character disappear.
  EXPECT_EQ(NormalizeText("no\xE2\x80\x8Bpe\x07!").value(), "nope!");
  // No-break and ideographic spaces become ordinary spaces.
  EXPECT_EQ(NormalizeText("a\xC2\xA0\xE3\x80\x80"
                          "b")
                .value(),
            "a b");
  // Case is kept: folding is the tokenizer's job.
  EXPECT_EQ(NormalizeText("HELP").value(), "HELP");
}

TEST(NormalizeTextTest, WhitespaceAndInvisibleOnlyBecomesEmpty) {
  EXPECT_EQ(NormalizeText(" \t\n ").value(), "");
  EXPECT_EQ(NormalizeText("\xE2\x80\x8B\xE2\x80\x8D").value(), "");
}

TEST(NormalizeTextTest, RejectsInvalidUtf8) {
  EXPECT_EQ(NormalizeText("a\xFF").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::core
