// C++ client for the Lantern Analyzer service (lantern.v1.Analyzer) and the
// standard gRPC health service (grpc.health.v1.Health).
//
// The client is a thin, synchronous wrapper around the generated stubs: it
// owns one channel, applies a deadline to every unary call and converts
// grpc::Status to absl::Status. It never throws. It depends only on the
// generated API protos and gRPC (never on LibTorch or core/).
//
// Status codes returned by the RPC methods are the server's codes, unchanged
// (see proto/lantern/v1/analyzer.proto), plus the ones gRPC itself produces:
//   UNAVAILABLE         the server cannot be reached (or is warming up or
//                       draining; or the TLS handshake failed), after the
//                       retries ClientOptions::max_attempts allows.
//   DEADLINE_EXCEEDED   the call's deadline passed (also while waiting to
//                       retry an UNAVAILABLE).
//   UNIMPLEMENTED       the server does not offer the method (e.g. no health
//                       service).
//   UNAUTHENTICATED     the server wants a bearer token and got none or a
//                       wrong one.
//
// Transport: plaintext unless ClientOptions::tls is enabled.
#ifndef LANTERN_CLIENT_CLIENT_H_
#define LANTERN_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "lantern/v1/analyzer.grpc.pb.h"
#include "lantern/v1/analyzer.pb.h"

namespace lantern::client {

struct ClientOptions {
  // Where the server is: host:port (any gRPC target URI works, e.g.
  // "dns:///name:port", whose name may have several addresses), or a
  // comma-separated list of IP:port, all IPv4 or all IPv6 ("[::1]:50051"),
  // for several replicas (see ChannelTarget()).
  std::string target = "127.0.0.1:50051";

  // How calls are spread over the addresses the target resolves to.
  enum class Balancing {
    // kRoundRobin for a list of several addresses, else kPickFirst.
    kAuto,
    // gRPC's default (pick_first): one connection, to the first address that
    // accepts it; every call goes there.
    kPickFirst,
    // gRPC's round_robin with client-side health checking: a connection to
    // every address, which watches grpc.health.v1.Health for
    // `health_service`; each call goes to the next address that reports
    // SERVING. A server warming up or draining (NOT_SERVING) gets no calls
    // until it reports SERVING again; a server without a health service
    // counts as serving. With no address SERVING, calls fail with
    // UNAVAILABLE at once, health checks included.
    kRoundRobin,
  };
  Balancing balancing = Balancing::kAuto;
  // The service name kRoundRobin watches (the server reports both "" and
  // this one).
  std::string health_service = "lantern.v1.Analyzer";
  // Per-call deadline for unary calls (Analyze, GetStatus, CheckHealth).
  // absl::InfiniteDuration() means no deadline.
  absl::Duration timeout = absl::Seconds(10);

  // How many times in all gRPC tries an Analyze or GetStatus call that ends
  // with UNAVAILABLE (the server is warming up or draining, or cannot be
  // reached), within the call's deadline: gRPC's own retries (gRFC A6),
  // waiting about 0.1 s, then 0.2, 0.4 and 0.8 s (each +-20%; gRPC 1.51), or
  // the server's retry pushback when it sends one. A deadline that passes
  // during those waits ends the call with DEADLINE_EXCEEDED. Retries pause
  // while most recent tries to this target have failed (gRPC's retry
  // throttling, kept per target string for the whole process), so an outage
  // does not multiply the load. 1 turns retries off; from 1 to
  // kMaxCallAttempts. No other code is retried (RESOURCE_EXHAUSTED can mean
  // a request over the size limit), nor health checks (see
  // WaitUntilServing) or streams (see ReliableStream).
  static constexpr int kMaxCallAttempts = 5;  // gRPC's own upper bound
  int max_attempts = kMaxCallAttempts;

  struct Tls {
    bool enabled = false;
    // PEM of the CAs to trust; empty = the system's roots.
    std::string root_certs_pem;
    // PEM of this client's certificate chain and key, for servers that
    // require mutual TLS; both or neither.
    std::string cert_chain_pem;
    std::string private_key_pem;
    // Name checked against the server's certificate instead of the target's
    // host (e.g. when connecting by IP address).
    std::string server_name;
  };
  Tls tls;

  // Sent as "authorization: Bearer <token>" with every call; empty = none.
  // Sent over plaintext too when TLS is off (e.g. TLS ends at a proxy).
  std::string token;
};

// The gRPC target URI for ClientOptions::target: a comma-separated list of
// IP:port becomes gRPC's static "ipv4:a:p,b:p" or "ipv6:[a]:p,[b]:p"; any
// other target is returned unchanged. INVALID_ARGUMENT names the entry when
// a list has an empty entry, an entry that is not an IP address and port
// (a host name: use "dns:///name:port" instead), or mixes IPv4 and IPv6.
absl::StatusOr<std::string> ChannelTarget(const std::string& target);

// The balancing policy kAuto stands for with this target.
ClientOptions::Balancing EffectiveBalancing(const ClientOptions& options);

// The gRPC service config for `options`: round_robin with healthCheckConfig
// for kRoundRobin; a retry policy for Analyze and GetStatus, with retry
// throttling, when options.max_attempts > 1; "" (gRPC's defaults) for
// neither.
std::string ServiceConfigJson(const ClientOptions& options);

// A channel to options.target (through ChannelTarget(); a target it refuses
// is handed to gRPC as is, and every call then fails with UNAVAILABLE) with
// its balancing and TLS settings; `args` are extra channel arguments.
std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options,
                                           grpc::ChannelArguments args = {});

// Adds the bearer token (if any) to a call's metadata.
void AddCallCredentials(const ClientOptions& options,
                        grpc::ClientContext& context);

// Converts a grpc::Status to absl::Status (same code numbers, same message).
absl::Status FromGrpcStatus(const grpc::Status& status);

// A server's retry pushback: the value of trailing metadata
// grpc-retry-pushback-ms (gRFC A6, gRPC's retry design), a whole number of
// milliseconds to wait before retrying the call. A negative value, or one
// that does not parse, asks the client not to retry; that is returned as
// absl::InfiniteDuration() (wait forever).
absl::Duration ParseRetryPushback(absl::string_view value);

// The server's retry pushback on an error Client::Analyze or
// Client::GetStatus returned (from the last try), as ParseRetryPushback
// reads it; std::nullopt when the server sent none. Lantern sends one with
// RESOURCE_EXHAUSTED over --max-queue: wait that long before calling again.
// Kept as a payload of the status, so it travels with it.
std::optional<absl::Duration> RetryPushback(const absl::Status& status);

class AnalyzeStream;

// One channel, reused for every call.
//
// Thread-safety: every method may be called concurrently from any number of
// threads. The channel connects lazily on the first call and reconnects on
// its own; constructing a Client never fails and never blocks.
//
// Unary calls fail fast: while the server is unreachable they return
// UNAVAILABLE at once. gRPC 1.51 notices a reconnect only when something
// polls the channel (at worst its 5 s backup poller), so after an outage
// calls may keep failing for a few seconds; WaitUntilServing() polls the
// channel itself and returns as soon as the server is back.
//
// With several servers and round robin (ClientOptions::balancing), each call
// goes to the next server that reports SERVING: GetStatus() and
// CheckHealth() answer for whichever server got that call, and
// WaitUntilServing() returns once any one of them is SERVING.
class Client {
 public:
  explicit Client(ClientOptions options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Analyzer/Analyze with the default deadline (options().timeout).
  // Returns the server's Analysis, or the call's status (see file comment).
  // Returns INTERNAL if the server answered OK without an Analysis.
  absl::StatusOr<lantern::v1::Analysis> Analyze(
      const lantern::v1::ChatMessage& message);
  // Same, with an explicit deadline for this call only.
  absl::StatusOr<lantern::v1::Analysis> Analyze(
      const lantern::v1::ChatMessage& message, absl::Duration timeout);
  // The whole request, e.g. with `history` for conversation context.
  absl::StatusOr<lantern::v1::Analysis> Analyze(
      const lantern::v1::AnalyzeRequest& request, absl::Duration timeout);

  // Analyzer/GetStatus with the default deadline.
  absl::StatusOr<lantern::v1::GetStatusResponse> GetStatus();

  // grpc.health.v1.Health/Check for `service` ("" = whole server), with the
  // default deadline. Fails fast (UNAVAILABLE) when the server is down.
  // NOT_FOUND from the server (service not registered) is returned as the
  // state SERVICE_UNKNOWN rather than as an error.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
  CheckHealth(const std::string& service = "");

  // Polls Check("") every 0.1 s until SERVING or `timeout` passes; always
  // asks at least once. Meanwhile an unreachable server counts as "not yet".
  // Returns OK once SERVING; DEADLINE_EXCEEDED with the last state or last
  // error in the message when `timeout` passes; UNIMPLEMENTED at once if the
  // server has no health service. May overrun `timeout` by up to 0.1 s.
  absl::Status WaitUntilServing(absl::Duration timeout);
  // Same for one named service (NOT_FOUND/SERVICE_UNKNOWN counts as "not
  // yet": the server may register the service late).
  absl::Status WaitUntilServing(absl::Duration timeout,
                                const std::string& service);

  // Opens a StreamAnalyze call with no deadline. Never returns null; if the
  // server is unreachable, Write() returns false and Finish() reports why.
  std::unique_ptr<AnalyzeStream> OpenStream();
  // Same, with a deadline for the whole stream.
  std::unique_ptr<AnalyzeStream> OpenStream(absl::Duration timeout);

  const ClientOptions& options() const;

 private:
  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<lantern::v1::Analyzer::Stub> analyzer_;
  const std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// A bidirectional StreamAnalyze call (sync API). Every message written gets
// exactly one StreamAnalyzeResponse (an Analysis or a per-message error),
// not necessarily in write order: correlate with `message_id`/`sequence`.
// If the call ends early (e.g. UNAVAILABLE when the server drains), messages
// without an answer were not analysed and should be resent.
//
// Thread-safety: Write() and WritesDone() may be called from one thread while
// Read() runs on another; Cancel() may be called from any thread at any time.
// Finish() must not run concurrently with any other method but Cancel().
//
// Lifetime: the stream keeps the channel alive and may outlive its Client.
// Destroying a stream that was not finished cancels the call and reaps it.
class AnalyzeStream {
 public:
  ~AnalyzeStream();

  AnalyzeStream(const AnalyzeStream&) = delete;
  AnalyzeStream& operator=(const AnalyzeStream&) = delete;

  // Sends one message. Blocks while the server's flow-control window is
  // full. Returns false if the stream is broken (the call is over: read the
  // remaining responses, then Finish() says why).
  bool Write(const lantern::v1::ChatMessage& message);
  // Half-closes: no more writes. Returns false if the stream is broken.
  bool WritesDone();
  // Blocks for the next response. Returns false at end of stream.
  bool Read(lantern::v1::StreamAnalyzeResponse* response);
  // Call after Read() returned false. Returns the call's final status: OK
  // after WritesDone() and every answer; UNAVAILABLE if the server drains or
  // cannot be reached; CANCELLED after Cancel(); DEADLINE_EXCEEDED. Calling
  // it again returns the same status.
  absl::Status Finish();
  // TryCancel on the context: pending and future Read()/Write() return false
  // soon, and Finish() returns CANCELLED (unless the call already ended).
  void Cancel();
  // After Finish(): the server's retry pushback (see ParseRetryPushback),
  // or nullopt when it sent none. Lantern sends one with RESOURCE_EXHAUSTED
  // for a stream refused over its --max-streams limit; gRPC's own
  // RESOURCE_EXHAUSTED (a frame over the size limit) has none.
  std::optional<absl::Duration> retry_pushback() const;

 private:
  friend class Client;
  AnalyzeStream(const ClientOptions& options,
                std::shared_ptr<grpc::Channel> channel,
                lantern::v1::Analyzer::Stub& stub, absl::Duration timeout);

  // Declaration order matters: the reader-writer uses the context and the
  // channel, so it is declared last and destroyed first.
  const std::shared_ptr<grpc::Channel> channel_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<lantern::v1::StreamAnalyzeRequest,
                                           lantern::v1::StreamAnalyzeResponse>>
      stream_;
  bool finished_ = false;
  absl::Status final_status_;
  std::optional<absl::Duration> retry_pushback_;
};

}  // namespace lantern::client

#endif  // LANTERN_CLIENT_CLIENT_H_
