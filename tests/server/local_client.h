// Client options for a test server on 127.0.0.1.
#ifndef LANTERN_TESTS_SERVER_LOCAL_CLIENT_H_
#define LANTERN_TESTS_SERVER_LOCAL_CLIENT_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "lantern/v1/chat.pb.h"

namespace lantern::server {

// One attempt a call, so that a test sees the server's own answer to each;
// tests that exercise retries set max_attempts themselves.
inline client::ClientOptions LocalClient(
    int port, absl::Duration timeout = absl::Seconds(30)) {
  client::ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.timeout = timeout;
  options.max_attempts = 1;
  return options;
}

// A message with just an id and a text.
inline v1::ChatMessage TextMessage(const std::string& id,
                                   const std::string& text) {
  v1::ChatMessage message;
  message.set_id(id);
  message.set_text(text);
  return message;
}

}  // namespace lantern::server

#endif  // LANTERN_TESTS_SERVER_LOCAL_CLIENT_H_
