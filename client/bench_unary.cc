// The unary driver of `lantern bench`; see bench_drivers.h.
#include <condition_variable>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/bench_drivers.h"

namespace lantern::client {
namespace {

using lantern::v1::AnalyzeRequest;
using lantern::v1::AnalyzeResponse;

// Unary calls on gRPC's callback API: no thread per call, completions run on
// gRPC's own threads, which also start the next call in a closed loop.
class UnaryDriver {
 public:
  explicit UnaryDriver(RunContext run) : run_(run) {}

  // Keeps `concurrency` calls outstanding until the plan is over; returns
  // once every call is back.
  void RunClosed(int concurrency) {
    closed_ = true;
    Hold();
    for (int i = 0; i < concurrency; ++i) StartNext();
    ReleaseAndWait();
  }

  // Sends at `rate` per second on schedule, however the server keeps up.
  SendLag RunOpen(double rate, Arrivals arrivals, uint64_t seed) {
    closed_ = false;
    Hold();
    ArrivalGaps gaps(rate, arrivals, seed);
    SendLag lag;
    absl::Time next = run_.plan->start();
    BenchPlan::Ticket ticket;
    while (run_.plan->Claim(next, &ticket)) {
      SleepUntil(next);
      const absl::Time now = absl::Now();
      if (ticket.measured) lag.Add(now - next);
      Start(ticket, next);
      next += gaps.Next();
    }
    ReleaseAndWait();
    return lag;
  }

 private:
  struct Call {
    grpc::ClientContext context;
    AnalyzeRequest request;
    AnalyzeResponse response;
    grpc::health::v1::HealthCheckRequest health_request;
    grpc::health::v1::HealthCheckResponse health_response;
    absl::Time start;
    bool measured = false;
  };

  // Counts calls in flight, plus one for the loop itself while it runs.
  // std::mutex because the last Release() notifies under the lock and then
  // touches nothing, so the driver may be destroyed as soon as the wait
  // returns.
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    ++outstanding_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--outstanding_ == 0) all_back_.notify_all();
  }
  void ReleaseAndWait() {
    std::unique_lock<std::mutex> lock(mu_);
    --outstanding_;
    all_back_.wait(lock, [this] { return outstanding_ == 0; });
  }

  // Closed loop: claims and starts the next call, if any. False when the
  // plan is over.
  bool StartNext() {
    const absl::Time now = absl::Now();
    BenchPlan::Ticket ticket;
    if (!run_.plan->Claim(now, &ticket)) return false;
    Start(ticket, now);
    return true;
  }

  void Start(const BenchPlan::Ticket& ticket, absl::Time start) {
    Hold();
    auto* call = new Call;
    call->start = start;
    call->measured = ticket.measured;
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + run_.timeout));
    AddCallCredentials(*run_.client, call->context);
    if (ticket.measured) run_.recorder->Sent();
    if (run_.health != nullptr) {
      run_.health->async()->Check(
          &call->context, &call->health_request, &call->health_response,
          [this, call](grpc::Status status) { Done(call, status); });
      return;
    }
    lantern::v1::ChatMessage* message = call->request.mutable_message();
    message->set_id(absl::StrCat("b", ticket.index));
    message->set_text(run_.sequence->At(ticket.index));
    SetAuthor(run_.people, ticket.index, message);
    run_.stub->async()->Analyze(
        &call->context, &call->request, &call->response,
        [this, call](grpc::Status status) { Done(call, status); });
  }

  void Done(Call* call, const grpc::Status& status) {
    const absl::Time done = absl::Now();
    int code = static_cast<int>(status.error_code());
    const bool answered =
        run_.health != nullptr
            ? call->health_response.status() ==
                  grpc::health::v1::HealthCheckResponse::SERVING
            : call->response.has_analysis();
    if (status.ok() && !answered) {
      code = static_cast<int>(absl::StatusCode::kInternal);
    }
    run_.recorder->Record(call->measured, call->start, done, code);
    delete call;
    // Start the successor before this call stops counting, so the count
    // reaches zero only when the loop is over.
    if (closed_) StartNext();
    Release();
  }

  const RunContext run_;
  bool closed_ = true;
  std::mutex mu_;
  std::condition_variable all_back_;
  int outstanding_ = 0;  // Guarded by mu_.
};

}  // namespace

void SetAuthor(int people, int64_t index, lantern::v1::ChatMessage* message) {
  if (people <= 0) return;
  const int64_t person = index % people;
  message->set_user_id(absl::StrCat("p", person));
  message->set_channel_id(absl::StrCat("c", person % 8));
}

void RunUnaryClosed(const RunContext& run, int concurrency) {
  UnaryDriver(run).RunClosed(concurrency);
}

SendLag RunUnaryOpen(const RunContext& run, double rate, Arrivals arrivals,
                     uint64_t seed) {
  return UnaryDriver(run).RunOpen(rate, arrivals, seed);
}

}  // namespace lantern::client
