#include "client/client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace lantern::client {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// gRPC's default reconnect backoff grows to 120 s, so a client that started
// before its server could sit out minutes after the server came up. Two
// seconds keeps WaitUntilServing() responsive at a negligible cost.
constexpr int kMaxReconnectBackoffMs = 2000;

// Poll interval of WaitUntilServing() while the server answers NOT_SERVING.
constexpr absl::Duration kHealthPollInterval = absl::Milliseconds(100);
// Lower bound on one poll's deadline, so that even WaitUntilServing(0) asks
// the server once.
constexpr absl::Duration kMinHealthPollDeadline = absl::Milliseconds(100);

// Trailing metadata of a server's retry pushback (gRFC A6).
constexpr char kRetryPushbackKey[] = "grpc-retry-pushback-ms";
// The absl::Status payload that carries it (see RetryPushback()).
constexpr char kRetryPushbackPayload[] =
    "type.googleapis.com/lantern.client.RetryPushbackMs";

// The value of the server's retry pushback trailer, if it sent one.
std::optional<absl::string_view> PushbackTrailer(
    const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  const auto it = trailers.find(kRetryPushbackKey);
  if (it == trailers.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

// A failed unary call's status, with the server's pushback as a payload.
absl::Status FailedCall(const grpc::Status& status,
                        const grpc::ClientContext& context) {
  absl::Status failed = FromGrpcStatus(status);
  if (std::optional<absl::string_view> pushback = PushbackTrailer(context)) {
    failed.SetPayload(kRetryPushbackPayload, absl::Cord(*pushback));
  }
  return failed;
}

// Sets a deadline `timeout` from now; an infinite timeout sets none.
void SetTimeout(grpc::ClientContext& context, absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// One entry of a target list, "1.2.3.4:50051" or "[::1]:50051".
struct ListedAddress {
  bool ipv6 = false;
  std::string uri_part;  // as gRPC's ipv4:/ipv6: schemes spell it
};

absl::StatusOr<ListedAddress> ParseListedAddress(absl::string_view entry) {
  const auto refuse = [entry](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("target list entry '", entry, "' ", why));
  };
  if (entry.empty()) return refuse("is empty");
  const size_t colon = entry.rfind(':');
  if (colon == absl::string_view::npos) return refuse("has no :port");
  int port = 0;
  if (!absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return refuse("has no port between 1 and 65535");
  }
  absl::string_view host = entry.substr(0, colon);
  ListedAddress address;
  address.ipv6 = absl::ConsumePrefix(&host, "[");
  if (address.ipv6 && !absl::ConsumeSuffix(&host, "]")) {
    return refuse("has an unclosed [");
  }
  unsigned char bytes[16];
  const std::string host_str(host);
  if (inet_pton(address.ipv6 ? AF_INET6 : AF_INET, host_str.c_str(), bytes) !=
      1) {
    return refuse(
        "is not an IP address and port (for a name with several addresses "
        "use dns:///name:port)");
  }
  address.uri_part = std::string(entry);
  return address;
}

// Service names are identifiers; escape what JSON needs escaped anyway.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

absl::StatusOr<std::string> ChannelTarget(const std::string& target) {
  // Already gRPC's own list syntax, or not a list.
  if (absl::StartsWith(target, "ipv4:") || absl::StartsWith(target, "ipv6:") ||
      !absl::StrContains(target, ',')) {
    return target;
  }
  std::vector<std::string> parts;
  bool ipv6 = false;
  for (absl::string_view entry : absl::StrSplit(target, ',')) {
    absl::StatusOr<ListedAddress> address =
        ParseListedAddress(absl::StripAsciiWhitespace(entry));
    if (!address.ok()) return address.status();
    if (parts.empty()) {
      ipv6 = address->ipv6;
    } else if (address->ipv6 != ipv6) {
      return absl::InvalidArgumentError(
          absl::StrCat("target list mixes IPv4 and IPv6 at '",
                       address->uri_part, "'; gRPC takes one family a list"));
    }
    parts.push_back(std::move(address->uri_part));
  }
  return absl::StrCat(ipv6 ? "ipv6:" : "ipv4:", absl::StrJoin(parts, ","));
}

ClientOptions::Balancing EffectiveBalancing(const ClientOptions& options) {
  if (options.balancing != ClientOptions::Balancing::kAuto) {
    return options.balancing;
  }
  return absl::StrContains(options.target, ',')
             ? ClientOptions::Balancing::kRoundRobin
             : ClientOptions::Balancing::kPickFirst;
}

std::string ServiceConfigJson(const ClientOptions& options) {
  std::vector<std::string> fields;
  if (EffectiveBalancing(options) == ClientOptions::Balancing::kRoundRobin) {
    // gRPC C++ runs client-side health checking (A17, over Health/Watch) for
    // round_robin whenever the service config names a service; no channel
    // argument is needed (GRPC_ARG_INHIBIT_HEALTH_CHECKING would turn it off).
    fields.push_back(R"("loadBalancingConfig":[{"round_robin":{}}])");
    fields.push_back(absl::StrCat(R"("healthCheckConfig":{"serviceName":)",
                                  JsonString(options.health_service), "}"));
  }
  if (options.max_attempts > 1) {
    // Both methods only read: a retry cannot do anything twice.
    fields.push_back(absl::StrCat(
        R"("methodConfig":[{"name":[)",
        R"({"service":"lantern.v1.Analyzer","method":"Analyze"},)",
        R"({"service":"lantern.v1.Analyzer","method":"GetStatus"}],)",
        R"("retryPolicy":{"maxAttempts":)",
        std::min(options.max_attempts, ClientOptions::kMaxCallAttempts),
        R"(,"initialBackoff":"0.1s","maxBackoff":"1s",)",
        R"("backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}])"));
    // Retries stop while the target's tokens are at or below half of 10: a
    // failed try takes 1, a success gives 1 back. So retries go on while at
    // least about half the tries succeed. gRPC's example ratio, 0.1, stops
    // them once a tenth fail, which one draining replica in three behind a
    // round-robin proxy exceeds (with 0.1, the 11th call of call_retry_test's
    // OneReplicaInThreeRefusingCostsNoCall failed). Written 1.0: gRPC 1.51
    // reads a ratio without a decimal point as thousandths.
    fields.push_back(R"("retryThrottling":{"maxTokens":10,"tokenRatio":1.0})");
  }
  if (fields.empty()) return "";
  return absl::StrCat("{", absl::StrJoin(fields, ","), "}");
}

std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options,
                                           grpc::ChannelArguments args) {
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  const std::string target =
      ChannelTarget(options.target).value_or(options.target);
  const std::string service_config = ServiceConfigJson(options);
  if (!service_config.empty()) {
    args.SetServiceConfigJSON(service_config);
    // A DNS TXT record must not replace the balancing and retries asked for.
    args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  }
  if (!options.tls.enabled) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                     args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls.root_certs_pem;
  ssl.pem_cert_chain = options.tls.cert_chain_pem;
  ssl.pem_private_key = options.tls.private_key_pem;
  if (!options.tls.server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name);
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

void AddCallCredentials(const ClientOptions& options,
                        grpc::ClientContext& context) {
  if (!options.token.empty()) {
    context.AddMetadata("authorization",
                        absl::StrCat("Bearer ", options.token));
  }
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  // grpc::StatusCode and absl::StatusCode share the canonical code numbers.
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

absl::Duration ParseRetryPushback(absl::string_view value) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(value, &ms) || ms < 0) return absl::InfiniteDuration();
  return absl::Milliseconds(ms);
}

std::optional<absl::Duration> RetryPushback(const absl::Status& status) {
  const auto value = status.GetPayload(kRetryPushbackPayload);
  if (!value.has_value()) return std::nullopt;
  return ParseRetryPushback(std::string(*value));
}

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      channel_(MakeChannel(options_)),
      analyzer_(lantern::v1::Analyzer::NewStub(channel_)),
      health_(grpc::health::v1::Health::NewStub(channel_)) {}

const ClientOptions& Client::options() const { return options_; }

absl::StatusOr<lantern::v1::Analysis> Client::Analyze(
    const lantern::v1::ChatMessage& message) {
  return Analyze(message, options_.timeout);
}

absl::StatusOr<lantern::v1::Analysis> Client::Analyze(
    const lantern::v1::ChatMessage& message, absl::Duration timeout) {
  lantern::v1::AnalyzeRequest request;
  *request.mutable_message() = message;
  return Analyze(request, timeout);
}

absl::StatusOr<lantern::v1::Analysis> Client::Analyze(
    const lantern::v1::AnalyzeRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  SetTimeout(context, timeout);
  AddCallCredentials(options_, context);
  lantern::v1::AnalyzeResponse response;
  grpc::Status status = analyzer_->Analyze(&context, request, &response);
  if (!status.ok()) return FailedCall(status, context);
  if (!response.has_analysis()) {
    return absl::InternalError("server answered Analyze without an analysis");
  }
  return std::move(*response.mutable_analysis());
}

absl::StatusOr<lantern::v1::GetStatusResponse> Client::GetStatus() {
  grpc::ClientContext context;
  SetTimeout(context, options_.timeout);
  AddCallCredentials(options_, context);
  lantern::v1::GetStatusResponse response;
  grpc::Status status = analyzer_->GetStatus(
      &context, lantern::v1::GetStatusRequest(), &response);
  if (!status.ok()) return FailedCall(status, context);
  return response;
}

absl::StatusOr<HealthCheckResponse::ServingStatus> Client::CheckHealth(
    const std::string& service) {
  grpc::ClientContext context;
  SetTimeout(context, options_.timeout);
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status status = health_->Check(&context, request, &response);
  // The health service answers Check for an unregistered service with
  // NOT_FOUND; SERVICE_UNKNOWN is the same fact as a state.
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return HealthCheckResponse::SERVICE_UNKNOWN;
  }
  if (!status.ok()) return FromGrpcStatus(status);
  return response.status();
}

absl::Status Client::WaitUntilServing(absl::Duration timeout) {
  return WaitUntilServing(timeout, "");
}

absl::Status Client::WaitUntilServing(absl::Duration timeout,
                                      const std::string& service) {
  const absl::Time give_up = absl::Now() + timeout;
  std::string last = "no answer";
  // Polls fail fast, so that while the server is down each one tells why.
  while (true) {
    const absl::Duration remaining = give_up - absl::Now();
    grpc::ClientContext context;
    SetTimeout(context, std::min(options_.timeout,
                                 std::max(remaining, kMinHealthPollDeadline)));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status status = health_->Check(&context, request, &response);
    if (status.ok()) {
      if (response.status() == HealthCheckResponse::SERVING) {
        return absl::OkStatus();
      }
      last = HealthCheckResponse::ServingStatus_Name(response.status());
    } else if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      return FromGrpcStatus(status);  // No health service: waiting is futile.
    } else if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      last = HealthCheckResponse::ServingStatus_Name(
          HealthCheckResponse::SERVICE_UNKNOWN);
    } else {
      last =
          absl::StrCat(absl::StatusCodeToString(
                           static_cast<absl::StatusCode>(status.error_code())),
                       ": ", status.error_message());
    }
    const absl::Time now = absl::Now();
    if (now >= give_up) break;
    // A fail-fast call does not poll the channel, and in gRPC 1.51 nothing
    // else does but a 5 s backup poller: a reconnect attempt would finish
    // only seconds after the server came up. Waiting on the channel polls
    // it, so the next Check goes out as soon as it is connected.
    const absl::Time next_poll = std::min(give_up, now + kHealthPollInterval);
    channel_->WaitForConnected(absl::ToChronoTime(next_poll));
    const absl::Duration pause = next_poll - absl::Now();
    if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
  }
  return absl::DeadlineExceededError(absl::StrCat("not SERVING after ",
                                                  absl::FormatDuration(timeout),
                                                  "; last state: ", last));
}

std::unique_ptr<AnalyzeStream> Client::OpenStream() {
  return OpenStream(absl::InfiniteDuration());
}

std::unique_ptr<AnalyzeStream> Client::OpenStream(absl::Duration timeout) {
  // Not make_unique: the constructor is private to Client.
  return std::unique_ptr<AnalyzeStream>(
      new AnalyzeStream(options_, channel_, *analyzer_, timeout));
}

AnalyzeStream::AnalyzeStream(const ClientOptions& options,
                             std::shared_ptr<grpc::Channel> channel,
                             lantern::v1::Analyzer::Stub& stub,
                             absl::Duration timeout)
    : channel_(std::move(channel)) {
  SetTimeout(context_, timeout);
  AddCallCredentials(options, context_);
  stream_ = stub.StreamAnalyze(&context_);
}

AnalyzeStream::~AnalyzeStream() {
  if (finished_) return;
  // The sync API requires Finish() before the call object goes away; cancel
  // first so draining the responses cannot block.
  context_.TryCancel();
  lantern::v1::StreamAnalyzeResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  stream_->Finish().IgnoreError();
}

bool AnalyzeStream::Write(const lantern::v1::ChatMessage& message) {
  lantern::v1::StreamAnalyzeRequest request;
  *request.mutable_message() = message;
  return stream_->Write(request);
}

bool AnalyzeStream::WritesDone() { return stream_->WritesDone(); }

bool AnalyzeStream::Read(lantern::v1::StreamAnalyzeResponse* response) {
  return stream_->Read(response);
}

absl::Status AnalyzeStream::Finish() {
  if (!finished_) {
    final_status_ = FromGrpcStatus(stream_->Finish());
    finished_ = true;
    // The trailers are there once Finish() has returned.
    if (std::optional<absl::string_view> pushback = PushbackTrailer(context_)) {
      retry_pushback_ = ParseRetryPushback(*pushback);
    }
  }
  return final_status_;
}

std::optional<absl::Duration> AnalyzeStream::retry_pushback() const {
  return retry_pushback_;
}

void AnalyzeStream::Cancel() { context_.TryCancel(); }

}  // namespace lantern::client
