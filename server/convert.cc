#include "server/convert.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace lantern::server {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

void AddRetryPushback(const absl::Status& status,
                      grpc::ServerContextBase& context) {
  if (!absl::IsResourceExhausted(status)) return;
  context.AddTrailingMetadata(
      kRetryPushbackKey,
      std::to_string(absl::ToInt64Milliseconds(kOverCapacityPushback)));
}

absl::Status ParseFrame(const grpc::ByteBuffer& frame, absl::string_view what,
                        google::protobuf::Message* out) {
  grpc::ByteBuffer copy(frame);  // Shares the slices; the reader consumes it.
  grpc::ProtoBufferReader reader(&copy);
  if (reader.status().ok() && out->ParseFromZeroCopyStream(&reader)) {
    return absl::OkStatus();
  }
  out->Clear();
  return absl::InvalidArgumentError(absl::StrCat(
      what, " is not a valid ", out->GetTypeName(), " (", frame.Length(),
      " bytes that do not parse as protobuf: corrupt, truncated or nested too "
      "deep)"));
}

grpc::ByteBuffer SerializeFrame(const google::protobuf::Message& message) {
  grpc::ByteBuffer frame;
  bool own_buffer = false;
  // Serializing a message built by this server cannot fail.
  (void)grpc::SerializationTraits<google::protobuf::Message>::Serialize(
      message, &frame, &own_buffer);
  return frame;
}

absl::Status CheckRequiredFields(bool has_message,
                                 const v1::ChatMessage& message) {
  if (!has_message)
    return absl::InvalidArgumentError("request.message is required");
  if (!message.has_text())
    return absl::InvalidArgumentError("message.text is required");
  return absl::OkStatus();
}

core::Message ToCoreMessage(const v1::ChatMessage& message) {
  core::Message out;
  out.id = message.id();
  out.text = message.text();
  out.user_id = message.user_id();
  out.channel_id = message.channel_id();
  return out;
}

v1::CrisisLevel ToProtoLevel(core::Level level) {
  switch (level) {
    case core::Level::kNone:
      return v1::CRISIS_LEVEL_NONE;
    case core::Level::kLow:
      return v1::CRISIS_LEVEL_LOW;
    case core::Level::kMedium:
      return v1::CRISIS_LEVEL_MEDIUM;
    case core::Level::kHigh:
      return v1::CRISIS_LEVEL_HIGH;
    case core::Level::kCritical:
      return v1::CRISIS_LEVEL_CRITICAL;
    case core::Level::kUnspecified:
      break;
  }
  return v1::CRISIS_LEVEL_UNSPECIFIED;
}

void ToProto(const core::Analysis& analysis, v1::Analysis* out) {
  const core::Verdict& v = analysis.verdict;
  out->set_message_id(analysis.message_id);
  out->set_level(ToProtoLevel(v.level));
  out->set_score(v.score);
  out->set_confidence(v.confidence);
  out->set_requires_review(v.requires_review);
  out->set_recommended_action(v.recommended_action);
  for (const core::Signal& s : v.signals) {
    v1::ModelSignal* signal = out->add_signals();
    signal->set_model(s.model);
    signal->set_version(s.version);
    signal->set_role(s.role);
    signal->set_label(s.label);
    signal->set_label_probability(s.label_probability);
    signal->set_score(s.score);
    signal->set_weight(s.weight);
  }
  for (const core::Factor& factor : v.factors) {
    out->add_key_factors(factor.description);
    v1::KeyFactor* f = out->add_factors();
    f->set_description(factor.description);
    f->set_source(factor.source);
    for (const core::TextSpan& span : factor.spans) {
      v1::TextSpan* s = f->add_spans();
      s->set_start(span.start);
      s->set_end(span.end);
    }
  }
  out->set_degraded(v.degraded);
  out->set_processing_time_us(analysis.processing_time_us);
  out->set_ensemble_version(analysis.ensemble_version);
  if (analysis.context.has_value()) {
    ToProto(*analysis.context, out->mutable_context());
  }
}

void ToProto(const core::ConversationContext& context,
             v1::ConversationContext* out) {
  out->set_prior_messages(context.prior_messages);
  out->set_message_level(ToProtoLevel(context.message_level));
  switch (context.trend) {
    case core::Trend::kRising:
      out->set_trend(v1::TREND_RISING);
      break;
    case core::Trend::kSteady:
      out->set_trend(v1::TREND_STEADY);
      break;
    case core::Trend::kFalling:
      out->set_trend(v1::TREND_FALLING);
      break;
    case core::Trend::kUnspecified:
      break;
  }
  out->set_trend_slope(context.trend_slope);
  out->set_escalated(context.level > context.message_level);
  out->set_peak_score(context.peak_score);
  out->set_seconds_since_peak(absl::ToInt64Seconds(context.since_peak));
  for (const std::string& factor : context.factors) out->add_factors(factor);
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::Time DeadlineFromChrono(std::chrono::system_clock::time_point deadline) {
  // Anything more than ten years out is gRPC's "infinite".
  const auto horizon =
      std::chrono::system_clock::now() + std::chrono::hours(24 * 3650);
  if (deadline > horizon) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

}  // namespace lantern::server
