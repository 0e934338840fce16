#include "core/logging.h"

#include "gtest/gtest.h"

namespace lantern::core {
namespace {

TEST(LogLimiterTest, LetsOneLineThroughPerIntervalAndCountsTheRest) {
  LogLimiter limiter(absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  uint64_t held_back = 99;
  ASSERT_TRUE(limiter.Allow(t0, &held_back));
  EXPECT_EQ(held_back, 0u);
  EXPECT_FALSE(limiter.Allow(t0, &held_back));
  EXPECT_FALSE(limiter.Allow(t0 + absl::Seconds(5), &held_back));
  EXPECT_FALSE(limiter.Allow(t0 + absl::Seconds(9.9), &held_back));
  ASSERT_TRUE(limiter.Allow(t0 + absl::Seconds(10), &held_back));
  EXPECT_EQ(held_back, 3u);
  ASSERT_TRUE(limiter.Allow(t0 + absl::Seconds(60), &held_back));
  EXPECT_EQ(held_back, 0u);
}

TEST(ParseLogLevelTest, KnownNamesAndAnError) {
  EXPECT_EQ(ParseLogLevel("warning").value(), LogLevel::kWarning);
  EXPECT_EQ(ParseLogLevel("loud").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lantern::core
