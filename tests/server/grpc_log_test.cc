#include "server/grpc_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(GrpcLogTest, MessageIsWithheldBelowDebug) {
  const std::string line = GrpcLogLine(
      core::LogLevel::kInfo, "/src/core/ext/transport/chttp2/hpack_parser.cc",
      1234, "E", "invalid value 'my private words'");
  EXPECT_EQ(line,
            "grpc E at hpack_parser.cc:1234 (its message may quote client "
            "input; shown at "
            "--log-level debug)");
  EXPECT_THAT(line, Not(HasSubstr("private")));
}

TEST(GrpcLogTest, MessageIsShownAtDebug) {
  EXPECT_EQ(GrpcLogLine(core::LogLevel::kDebug, "a/b.cc", 7, "E", "detail"),
            "grpc E b.cc:7: detail");
}

}  // namespace
}  // namespace lantern::server
