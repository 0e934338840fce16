// ReliableStream behind something that answers health SERVING while every
// stream it opens is refused: what a round-robin proxy looks like when its
// health check reaches a healthy replica and the stream a draining one that
// the proxy has not yet taken out of rotation (tests/replicas/streams.py
// found this with HAProxy and two replicas). The stand-in is a real gRPC
// server on a port: gRPC's own health service reporting SERVING, and a
// generic service that ends every other call with UNAVAILABLE.
#include <atomic>
#include <memory>

#include "absl/time/clock.h"
#include "client/client.h"
#include "client/reliable_stream.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "tests/server/local_client.h"
#include "tests/server/reliable_stream_testing.h"

namespace lantern::server {
namespace {

using ::lantern::client::Client;
using ::lantern::client::ReliableStream;
using ::lantern::client::ReliableStreamOptions;
using ::testing::HasSubstr;

// Ends every call it gets (every method but health) with UNAVAILABLE, as a
// draining Lantern server does, and counts them.
class RefuseEveryCall : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* /*context*/) override {
    calls_.fetch_add(1);
    class Refusal : public grpc::ServerGenericBidiReactor {
     public:
      Refusal() {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "server is shutting down"));
      }
      void OnDone() override { delete this; }
    };
    return new Refusal;
  }
  int calls() const { return calls_.load(); }

 private:
  std::atomic<int> calls_{0};
};

class HealthyButRefusing {
 public:
  HealthyButRefusing() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterCallbackGenericService(&refuse_);
    server_ = builder.BuildAndStart();
    server_->GetHealthCheckService()->SetServingStatus("lantern.v1.Analyzer",
                                                       true);
  }
  ~HealthyButRefusing() { server_->Shutdown(); }

  int port() const { return port_; }
  int calls() const { return refuse_.calls(); }

 private:
  RefuseEveryCall refuse_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST(ReconnectBehindProxyTest, HealthEndsOnlyTheFirstWaitOfAnOutage) {
  HealthyButRefusing target;
  ASSERT_NE(target.port(), 0);
  Client client(LocalClient(target.port()));
  ASSERT_TRUE(client.WaitUntilServing(absl::Seconds(10)).ok());
  Recorder recorder;
  ReliableStreamOptions options;
  options.max_attempts = 3;
  options.initial_backoff = absl::Milliseconds(200);
  options.max_backoff = absl::Seconds(10);
  options.max_retry_time = absl::Minutes(1);
  options.jitter = 0;
  auto stream = ReliableStream::Create(client, options, recorder.Callback());
  ASSERT_TRUE(stream.ok()) << stream.status();

  const absl::Time start = absl::Now();
  ASSERT_TRUE((*stream)->Send(Message(0)).ok());
  const absl::Status status = (*stream)->Finish();
  const absl::Duration took = absl::Now() - start;

  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("gave up after 3 reconnect"));
  // Waits of 200, 400 and 800 ms: health (SERVING throughout) may end the
  // first; the other two run in full. Answering each wait at the first
  // SERVING gave up within milliseconds, before a proxy could have noticed
  // the draining replica.
  EXPECT_GE(took, absl::Milliseconds(1200));
  const auto stats = (*stream)->stats();
  EXPECT_EQ(stats.streams, 4);
  EXPECT_EQ(stats.reconnects, 3);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(target.calls(), 4);
  const auto answers = recorder.answers();
  ExpectEachIndexOnce(answers, 1);
  EXPECT_EQ(answers[0].response.error().code(), 14);
}

}  // namespace
}  // namespace lantern::server
