// gRPC's own retries of unary calls (ClientOptions::max_attempts): the real
// client against a real gRPC server on a port, whose Analyzer refuses as many
// calls as the test says and then answers. It tests the client layer alone:
// which codes are retried, how often, and the retry throttling.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lantern/v1/analyzer.grpc.pb.h"

namespace lantern::client {
namespace {

// Ends the first `refusals` calls (Analyze and GetStatus together) with
// `code`, answers the rest, and counts them all. With refusals < 0 it ends
// every (-refusals)th call instead, starting with the first.
class ScriptedAnalyzer : public v1::Analyzer::CallbackService {
 public:
  ScriptedAnalyzer(int refusals, grpc::StatusCode code,
                   std::string pushback_ms = "")
      : refusals_(refusals),
        code_(code),
        pushback_ms_(std::move(pushback_ms)) {}

  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const v1::AnalyzeRequest* request,
                                    v1::AnalyzeResponse* response) override {
    response->mutable_analysis()->set_message_id(request->message().id());
    return Answer(context);
  }
  grpc::ServerUnaryReactor* GetStatus(
      grpc::CallbackServerContext* context,
      const v1::GetStatusRequest* /*request*/,
      v1::GetStatusResponse* response) override {
    response->set_version("scripted");
    return Answer(context);
  }

  int calls() const { return calls_.load(); }

 private:
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const int call = calls_.fetch_add(1);
    if (refusals_ >= 0 ? call >= refusals_ : call % -refusals_ != 0) {
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
    if (!pushback_ms_.empty()) {
      context->AddTrailingMetadata("grpc-retry-pushback-ms", pushback_ms_);
    }
    reactor->Finish(grpc::Status(code_, "scripted refusal"));
    return reactor;
  }

  const int refusals_;
  const grpc::StatusCode code_;
  const std::string pushback_ms_;
  std::atomic<int> calls_{0};
};

// The scripted service and a client of it. gRPC keeps retry-throttling
// tokens per target for the whole process, so every instance listens on an
// address of its own (127.0.0.2, 127.0.0.3, ...: all loopback), and no test
// inherits the tokens another spent.
class Scripted {
 public:
  explicit Scripted(int refusals,
                    grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE,
                    std::string pushback_ms = "")
      : service_(refusals, code, std::move(pushback_ms)),
        host_(absl::StrCat("127.0.0.", next_host_.fetch_add(1))) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat(host_, ":0"),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~Scripted() { server_->Shutdown(); }

  std::unique_ptr<Client> NewClient(int max_attempts) const {
    ClientOptions options;
    options.target = absl::StrCat(host_, ":", port_);
    options.max_attempts = max_attempts;
    return std::make_unique<Client>(options);
  }
  int calls() const { return service_.calls(); }

 private:
  static inline std::atomic<int> next_host_{2};
  ScriptedAnalyzer service_;
  const std::string host_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

v1::ChatMessage Message() {
  v1::ChatMessage message;
  message.set_id("m-1");
  message.set_text("hello");
  return message;
}

TEST(CallRetryTest, UnavailableIsRetriedUntilAnswered) {
  Scripted server(/*refusals=*/2);
  absl::StatusOr<v1::Analysis> analysis =
      server.NewClient(ClientOptions::kMaxCallAttempts)->Analyze(Message());
  ASSERT_TRUE(analysis.ok()) << analysis.status();
  EXPECT_EQ(analysis->message_id(), "m-1");
  EXPECT_EQ(server.calls(), 3);
}

TEST(CallRetryTest, GetStatusIsRetriedToo) {
  Scripted server(/*refusals=*/1);
  absl::StatusOr<v1::GetStatusResponse> status =
      server.NewClient(ClientOptions::kMaxCallAttempts)->GetStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->version(), "scripted");
  EXPECT_EQ(server.calls(), 2);
}

TEST(CallRetryTest, GivesUpAfterMaxAttemptsWithTheLastRefusal) {
  Scripted server(/*refusals=*/100);
  absl::StatusOr<v1::Analysis> analysis =
      server.NewClient(3)->Analyze(Message());
  EXPECT_EQ(analysis.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(analysis.status().message(), "scripted refusal");
  EXPECT_EQ(server.calls(), 3);
}

TEST(CallRetryTest, OneAttemptIsNoRetry) {
  Scripted server(/*refusals=*/1);
  EXPECT_EQ(server.NewClient(1)->Analyze(Message()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.calls(), 1);
}

TEST(CallRetryTest, OtherCodesAreFinal) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT,
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::INTERNAL}) {
    Scripted server(/*refusals=*/1, code);
    EXPECT_EQ(
        static_cast<int>(server.NewClient(ClientOptions::kMaxCallAttempts)
                             ->Analyze(Message())
                             .status()
                             .code()),
        static_cast<int>(code));
    EXPECT_EQ(server.calls(), 1) << "code " << code;
  }
}

TEST(CallRetryTest, ServerCanSayDoNotRetry) {
  // A negative pushback (gRFC A6) tells the client not to retry.
  Scripted server(/*refusals=*/1, grpc::StatusCode::UNAVAILABLE, "-1");
  EXPECT_EQ(server.NewClient(ClientOptions::kMaxCallAttempts)
                ->Analyze(Message())
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(server.calls(), 1);
}

TEST(CallRetryTest, OneReplicaInThreeRefusingCostsNoCall) {
  // Behind a round-robin proxy, one replica of three draining refuses every
  // third attempt until the proxy takes it out. Each refused call is retried
  // and answered (the retry is the next attempt). Throttling must not stop
  // that: a success gives back the token a failure took.
  Scripted server(/*refusals=*/-3);
  std::unique_ptr<Client> client =
      server.NewClient(ClientOptions::kMaxCallAttempts);
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<v1::Analysis> analysis = client->Analyze(Message());
    ASSERT_TRUE(analysis.ok()) << "call " << i << ": " << analysis.status();
  }
  EXPECT_EQ(server.calls(), 45);  // 15 refused and retried, 30 answered
}

TEST(CallRetryTest, ThrottlingStopsRetriesWhileMostCallsFail) {
  // The channel's 10 retry tokens lose 1 a failed attempt; below 6 there are
  // no retries. So the first call is tried 5 times (10 -> 5 tokens) and the
  // nine after it once each: 14 attempts, not the 50 an outage would cost
  // without throttling.
  Scripted server(/*refusals=*/1000);
  std::unique_ptr<Client> client =
      server.NewClient(ClientOptions::kMaxCallAttempts);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(client->Analyze(Message()).status().code(),
              absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(server.calls(), 14);
}

}  // namespace
}  // namespace lantern::client
