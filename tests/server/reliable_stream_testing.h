// Helpers for tests that drive client::ReliableStream against a real
// server: a numbered feed of messages, a recorder for what the helper
// reports, and the check that each message was reported exactly once.
#ifndef LANTERN_TESTS_SERVER_RELIABLE_STREAM_TESTING_H_
#define LANTERN_TESTS_SERVER_RELIABLE_STREAM_TESTING_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/reliable_stream.h"
#include "gtest/gtest.h"
#include "lantern/v1/chat.pb.h"

namespace lantern::server {

// Message `i` of a feed: id "m<i>", a few channels and people.
inline v1::ChatMessage Message(int i) {
  v1::ChatMessage message;
  message.set_id(absl::StrCat("m", i));
  message.set_channel_id(absl::StrCat("c", i % 3));
  message.set_user_id(absl::StrCat("u", i % 5));
  message.set_text(absl::StrCat("message number ", i));
  return message;
}

// Sends messages 0..count-1 until Send() refuses one, which it does once
// the helper has given up (the refusal must carry `refused`); returns how
// many were accepted.
inline int SendUntilRefused(client::ReliableStream& stream, int count,
                            absl::StatusCode refused) {
  int accepted = 0;
  for (int i = 0; i < count; ++i) {
    const absl::Status sent = stream.Send(Message(i));
    if (!sent.ok()) {
      EXPECT_EQ(sent.code(), refused);
      break;
    }
    ++accepted;
  }
  return accepted;
}

// Collects what the helper reports, from its thread.
class Recorder {
 public:
  client::ReliableStream::AnswerCallback Callback() {
    return [this](client::StreamAnswer answer) {
      absl::MutexLock lock(&mu_);
      answers_.push_back(std::move(answer));
    };
  }
  std::vector<client::StreamAnswer> answers() {
    absl::MutexLock lock(&mu_);
    return answers_;
  }

 private:
  absl::Mutex mu_;
  std::vector<client::StreamAnswer> answers_ ABSL_GUARDED_BY(mu_);
};

// Every index in [0, count) was reported exactly once, as message "m<i>".
inline void ExpectEachIndexOnce(
    const std::vector<client::StreamAnswer>& answers, int count) {
  ASSERT_EQ(answers.size(), static_cast<size_t>(count));
  std::vector<int> seen(static_cast<size_t>(count), 0);
  for (const client::StreamAnswer& answer : answers) {
    ASSERT_LT(answer.index, static_cast<uint64_t>(count));
    ++seen[answer.index];
    EXPECT_EQ(answer.response.sequence(), answer.index);
    EXPECT_EQ(answer.response.message_id(), absl::StrCat("m", answer.index));
  }
  for (int i = 0; i < count; ++i) EXPECT_EQ(seen[i], 1) << "index " << i;
}

}  // namespace lantern::server

#endif  // LANTERN_TESTS_SERVER_RELIABLE_STREAM_TESTING_H_
