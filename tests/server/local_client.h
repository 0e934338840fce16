// Client options for a test server on 127.0.0.1.
#ifndef LANTERN_TESTS_SERVER_LOCAL_CLIENT_H_
#define LANTERN_TESTS_SERVER_LOCAL_CLIENT_H_

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/client.h"

namespace lantern::server {

inline client::ClientOptions LocalClient(
    int port, absl::Duration timeout = absl::Seconds(30)) {
  client::ClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.timeout = timeout;
  return options;
}

}  // namespace lantern::server

#endif  // LANTERN_TESTS_SERVER_LOCAL_CLIENT_H_
