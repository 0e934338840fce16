#include "core/cues.h"

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

CueMatcher Matcher() {
  config::v1::CueSet set;
  auto* time = set.add_cues();
  time->set_factor("mentions a specific time");
  time->add_phrases("tonight");
  time->add_phrases("esta noche");
  auto* means = set.add_cues();
  means->set_factor("mentions a method or means");
  means->add_phrases("pills");
  means->add_phrases("can't take");
  auto matcher = CueMatcher::Create(set);
  EXPECT_TRUE(matcher.ok()) << matcher.status();
  return *std::move(matcher);
}

TEST(CueMatcherTest, FindsPhrasesWithCodePointSpans) {
  // "I have the pills and I'm doing it tonight"
  //  0123456789012345678901234567890123456789
  const auto factors =
      Matcher().Match("I have the pills and I'm doing it tonight");
  ASSERT_EQ(factors.size(), 2u);
  EXPECT_EQ(factors[0].description, "mentions a specific time");
  EXPECT_EQ(factors[0].source, "cues");
  EXPECT_EQ(factors[0].spans, (std::vector<TextSpan>{{34, 41}}));
  EXPECT_EQ(factors[1].description, "mentions a method or means");
  EXPECT_EQ(factors[1].spans, (std::vector<TextSpan>{{11, 16}}));
}

TEST(CueMatcherTest, IgnoresCaseAndCountsCodePointsNotBytes) {
  // "💀 é TONIGHT": the skull and é are one code point each.
  const auto factors = Matcher().Match("\xF0\x9F\x92\x80 \xC3\xA9 TONIGHT");
  ASSERT_EQ(factors.size(), 1u);
  EXPECT_EQ(factors[0].spans, (std::vector<TextSpan>{{4, 11}}));
}

TEST(CueMatcherTest, MatchesWholeWordsOnly) {
  EXPECT_TRUE(Matcher().Match("spills everywhere, tonights show").empty());
  EXPECT_EQ(Matcher().Match("pills!").size(), 1u);
}

TEST(CueMatcherTest, SpaceMatchesAnyWhitespaceAndApostrophesFold) {
  const auto factors = Matcher().Match(
      "voy a hacerlo esta \t noche, I can\xE2\x80\x99t take it");
  ASSERT_EQ(factors.size(), 2u);
  EXPECT_EQ(factors[0].spans, (std::vector<TextSpan>{{14, 26}}));
  EXPECT_EQ(factors[1].spans, (std::vector<TextSpan>{{30, 40}}));
}

TEST(CueMatcherTest, RepeatedPhraseGivesOneFactorWithEverySpan) {
  const auto factors = Matcher().Match("tonight, yes tonight");
  ASSERT_EQ(factors.size(), 1u);
  EXPECT_EQ(factors[0].spans, (std::vector<TextSpan>{{0, 7}, {13, 20}}));
}

TEST(CueMatcherTest, SpansInsideLongerMatchesAreDropped) {
  config::v1::CueSet set;
  auto* means = set.add_cues();
  means->set_factor("mentions a method or means");
  means->add_phrases("pills");
  means->add_phrases("have the pills");
  auto matcher = CueMatcher::Create(set);
  ASSERT_TRUE(matcher.ok());
  // "i have the pills" -> one span [2, 16), not also "pills" [11, 16).
  const auto factors = matcher->Match("i have the pills");
  ASSERT_EQ(factors.size(), 1u);
  EXPECT_EQ(factors[0].spans, (std::vector<TextSpan>{{2, 16}}));
}

TEST(CueMatcherTest, BadCueSetsAreInvalidArgument) {
  config::v1::CueSet no_factor;
  no_factor.add_cues()->add_phrases("x");
  EXPECT_EQ(CueMatcher::Create(no_factor).status().code(),
            absl::StatusCode::kInvalidArgument);
  config::v1::CueSet empty_phrase;
  auto* cue = empty_phrase.add_cues();
  cue->set_factor("f");
  cue->add_phrases("   ");
  EXPECT_THAT(CueMatcher::Create(empty_phrase).status().message(),
              HasSubstr("empty phrase"));
}

TEST(CueMatcherTest, LoadsJsonFile) {
  const std::string path = ::testing::TempDir() + "/cues.json";
  std::ofstream(path)
      << R"({"cues": [{"factor": "says goodbye", "phrases": ["goodbye everyone"]}]})";
  auto matcher = CueMatcher::Load(path);
  ASSERT_TRUE(matcher.ok()) << matcher.status();
  EXPECT_EQ(matcher->num_phrases(), 1u);
  EXPECT_EQ(CueMatcher::Load("/nonexistent/cues.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lantern::core
