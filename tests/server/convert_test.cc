#include "server/convert.h"

#include "gtest/gtest.h"

namespace lantern::server {
namespace {

TEST(ConvertTest, StatusKeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status s =
      ToGrpcStatus(absl::ResourceExhaustedError("queue full"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "queue full");
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("x")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST(ConvertTest, RequiredFieldsAreNamed) {
  v1::ChatMessage message;
  EXPECT_EQ(CheckRequiredFields(false, message).message(),
            "request.message is required");
  EXPECT_EQ(CheckRequiredFields(true, message).message(),
            "message.text is required");
  message.set_text("");
  EXPECT_TRUE(
      CheckRequiredFields(true, message).ok());  // Empty is the engine's call.
}

TEST(ConvertTest, LevelsMapOneToOne) {
  EXPECT_EQ(ToProtoLevel(core::Level::kNone), v1::CRISIS_LEVEL_NONE);
  EXPECT_EQ(ToProtoLevel(core::Level::kLow), v1::CRISIS_LEVEL_LOW);
  EXPECT_EQ(ToProtoLevel(core::Level::kMedium), v1::CRISIS_LEVEL_MEDIUM);
  EXPECT_EQ(ToProtoLevel(core::Level::kHigh), v1::CRISIS_LEVEL_HIGH);
  EXPECT_EQ(ToProtoLevel(core::Level::kCritical), v1::CRISIS_LEVEL_CRITICAL);
  EXPECT_EQ(ToProtoLevel(core::Level::kUnspecified),
            v1::CRISIS_LEVEL_UNSPECIFIED);
}

TEST(ConvertTest, AnalysisFieldsAreCopied) {
  core::Analysis a;
  a.message_id = "m9";
  a.processing_time_us = 1234;
  a.ensemble_version = "e1";
  a.verdict.level = core::Level::kHigh;
  a.verdict.score = 0.7f;
  a.verdict.confidence = 0.6f;
  a.verdict.requires_review = true;
  a.verdict.recommended_action = "act";
  a.verdict.degraded = true;
  a.verdict.factors = {{"f1", "sev", {}}, {"f2", "cues", {{4, 9}, {12, 15}}}};
  core::Signal s;
  s.model = "sev";
  s.version = "2";
  s.role = "severity";
  s.label = "high";
  s.label_probability = 0.9f;
  s.score = 0.75f;
  s.weight = 0.6f;
  a.verdict.signals = {s};
  v1::Analysis out;
  ToProto(a, &out);
  EXPECT_EQ(out.message_id(), "m9");
  EXPECT_EQ(out.level(), v1::CRISIS_LEVEL_HIGH);
  EXPECT_FLOAT_EQ(out.score(), 0.7f);
  EXPECT_FLOAT_EQ(out.confidence(), 0.6f);
  EXPECT_TRUE(out.requires_review());
  EXPECT_EQ(out.recommended_action(), "act");
  EXPECT_TRUE(out.degraded());
  EXPECT_EQ(out.processing_time_us(), 1234);
  EXPECT_EQ(out.ensemble_version(), "e1");
  ASSERT_EQ(out.key_factors_size(), 2);
  EXPECT_EQ(out.key_factors(1), "f2");
  ASSERT_EQ(out.factors_size(), 2);
  EXPECT_EQ(out.factors(0).source(), "sev");
  EXPECT_EQ(out.factors(1).description(), "f2");
  ASSERT_EQ(out.factors(1).spans_size(), 2);
  EXPECT_EQ(out.factors(1).spans(1).start(), 12);
  EXPECT_EQ(out.factors(1).spans(1).end(), 15);
  ASSERT_EQ(out.signals_size(), 1);
  EXPECT_EQ(out.signals(0).model(), "sev");
  EXPECT_EQ(out.signals(0).role(), "severity");
  EXPECT_EQ(out.signals(0).label(), "high");
  EXPECT_FLOAT_EQ(out.signals(0).weight(), 0.6f);
}

TEST(ConvertTest, FarFutureDeadlineIsInfinite) {
  EXPECT_EQ(DeadlineFromChrono(std::chrono::system_clock::time_point::max()),
            absl::InfiniteFuture());
  const auto soon = std::chrono::system_clock::now() + std::chrono::seconds(5);
  EXPECT_EQ(DeadlineFromChrono(soon), absl::FromChrono(soon));
}

}  // namespace
}  // namespace lantern::server
