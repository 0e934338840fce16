// Requests whose bytes are not valid protobuf, sent the way a broken or
// hostile client would: through gRPC's generic stub, on the real server with
// fake models.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "server/convert.h"
#include "server/server.h"
#include "tests/server/local_client.h"
#include "tests/testing/fakes.h"

namespace lantern::server {
namespace {

using ::lantern::client::Client;
using ::lantern::client::ClientOptions;
using ::lantern::testing::FakeDeps;
using ::lantern::testing::FakeModelState;
using ::lantern::testing::WriteModelDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAnalyze[] = "/lantern.v1.Analyzer/Analyze";
constexpr char kStream[] = "/lantern.v1.Analyzer/StreamAnalyze";
constexpr char kStatus[] = "/lantern.v1.Analyzer/GetStatus";

grpc::ByteBuffer Bytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string StreamRequest(const std::string& id, const std::string& text) {
  v1::StreamAnalyzeRequest request;
  request.mutable_message()->set_id(id);
  request.mutable_message()->set_text(text);
  return request.SerializeAsString();
}

// Bytes that are not a protobuf message: a field with wire type 7.
const std::string kGarbage = "\x0f\xff\xfe\x01";

// A valid request cut in the middle of its text.
std::string Truncated() {
  const std::string whole = StreamRequest("t", "a message cut in half");
  return whole.substr(0, whole.size() - 5);
}

// An unknown field holding groups nested 500 deep: well-formed wire format,
// beyond protobuf's recursion limit of 100.
std::string NestedTooDeep() {
  std::string bytes;
  for (int i = 0; i < 500; ++i) bytes += "\xa3\x06";  // field 100, start group
  for (int i = 0; i < 500; ++i) bytes += "\xa4\x06";  // field 100, end group
  return bytes;
}

struct StreamOutcome {
  std::vector<v1::StreamAnalyzeResponse> answers;
  grpc::Status status;
};

// Writes `frames` one after another, half-closes, and reads every answer.
class RawStream final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  RawStream(grpc::GenericStub* stub, std::vector<std::string> frames)
      : frames_(std::move(frames)) {
    stub->PrepareBidiStreamingCall(&context_, kStream, grpc::StubOptions(),
                                   this);
    StartRead(&in_);
    WriteNext();
    StartCall();
  }

  StreamOutcome Await() {
    done_.WaitForNotification();
    return std::move(outcome_);
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    v1::StreamAnalyzeResponse response;
    EXPECT_TRUE(ParseFrame(in_, "answer", &response).ok());
    outcome_.answers.push_back(response);
    StartRead(&in_);
  }
  void OnDone(const grpc::Status& status) override {
    outcome_.status = status;
    done_.Notify();
  }

 private:
  void WriteNext() {
    if (next_ == frames_.size()) {
      StartWritesDone();
      return;
    }
    out_ = Bytes(frames_[next_++]);
    StartWrite(&out_);
  }

  const std::vector<std::string> frames_;
  size_t next_ = 0;
  grpc::ClientContext context_;
  grpc::ByteBuffer out_;
  grpc::ByteBuffer in_;
  StreamOutcome outcome_;
  absl::Notification done_;
};

class WireTest : public ::testing::Test {
 protected:
  WireTest() : model_(std::make_shared<FakeModelState>()) {
    model_->logits = {2.0f, 0.0f};
    const std::string dir =
        WriteModelDir({{"only", {{"calm", 0.0f}, {"danger", 1.0f}}}});
    ServerOptions options;
    options.shutdown_grace = absl::ZeroDuration();
    options.listen = "127.0.0.1:0";
    options.engine.model_dir = dir;
    auto server = Server::Create(options, FakeDeps(dir, {{"only", model_}}));
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    EXPECT_TRUE(server_->WaitForWarmup().ok());
    const std::string target = absl::StrCat("127.0.0.1:", server_->port());
    stub_ = std::make_unique<grpc::GenericStub>(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    client_ = std::make_unique<Client>(LocalClient(server_->port()));
  }

  grpc::Status Unary(const char* method, const std::string& bytes) {
    grpc::ClientContext context;
    grpc::ByteBuffer request = Bytes(bytes), response;
    grpc::Status status;
    absl::Notification done;
    stub_->UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                     [&](grpc::Status s) {
                       status = std::move(s);
                       done.Notify();
                     });
    done.WaitForNotification();
    return status;
  }

  StreamOutcome Stream(std::vector<std::string> frames) {
    RawStream stream(stub_.get(), std::move(frames));
    return stream.Await();
  }

  uint64_t InvalidArgumentCount() {
    auto status = client_->GetStatus();
    EXPECT_TRUE(status.ok()) << status.status();
    auto it = status->errors().find("INVALID_ARGUMENT");
    return it == status->errors().end() ? 0 : it->second;
  }

  std::shared_ptr<FakeModelState> model_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::unique_ptr<Client> client_;
};

TEST_F(WireTest, UnparseableAnalyzeRequestIsInvalidArgumentAndCounted) {
  for (const std::string& bytes : {kGarbage, Truncated(), NestedTooDeep()}) {
    const grpc::Status status = Unary(kAnalyze, bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(
        status.error_message(),
        HasSubstr("the request is not a valid lantern.v1.AnalyzeRequest"));
  }
  EXPECT_EQ(InvalidArgumentCount(), 3u);
}

TEST_F(WireTest, UnparseableGetStatusRequestIsInvalidArgument) {
  const grpc::Status status = Unary(kStatus, kGarbage);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("lantern.v1.GetStatusRequest"));
}

TEST_F(WireTest, ValidRawAnalyzeRequestIsAnswered) {
  v1::AnalyzeRequest request;
  request.mutable_message()->set_id("raw");
  request.mutable_message()->set_text("hello there");
  grpc::ClientContext context;
  grpc::ByteBuffer in = Bytes(request.SerializeAsString()), out;
  absl::Notification done;
  grpc::Status status;
  stub_->UnaryCall(&context, kAnalyze, grpc::StubOptions(), &in, &out,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
  done.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::AnalyzeResponse response;
  ASSERT_TRUE(ParseFrame(out, "answer", &response).ok());
  EXPECT_EQ(response.analysis().message_id(), "raw");
  EXPECT_EQ(response.analysis().level(), v1::CRISIS_LEVEL_NONE);
}

TEST_F(WireTest,
       BadStreamFrameEndsStreamWithInvalidArgumentAfterEarlierAnswers) {
  for (const std::string& bad : {kGarbage, Truncated(), NestedTooDeep()}) {
    const StreamOutcome outcome =
        Stream({StreamRequest("a", "one"), StreamRequest("b", "two"),
                StreamRequest("c", "three"), bad, StreamRequest("d", "four")});
    std::vector<std::string> ids;
    for (const auto& answer : outcome.answers) {
      EXPECT_TRUE(answer.has_analysis());
      ids.push_back(absl::StrCat(answer.message_id(), answer.sequence()));
    }
    EXPECT_THAT(ids, ElementsAre("a0", "b1", "c2"));
    EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(outcome.status.error_message(),
                HasSubstr("stream message 3 is not a valid "
                          "lantern.v1.StreamAnalyzeRequest"));
    EXPECT_THAT(outcome.status.error_message(),
                HasSubstr("resend from sequence 3 on a new stream"));
  }
  EXPECT_EQ(InvalidArgumentCount(), 3u);
}

TEST_F(WireTest, BadFirstStreamFrameEndsStreamWithoutAnswers) {
  const StreamOutcome outcome = Stream({kGarbage});
  EXPECT_TRUE(outcome.answers.empty());
  EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.status.error_message(), HasSubstr("stream message 0"));
}

}  // namespace
}  // namespace lantern::server
