// Per-caller bearer tokens (--auth-tokens FILE).
//
// The file holds one caller a line, "<caller> <sha256>": a name for the
// caller (letters, digits, '.', '_', '-') and the SHA-256 of its token in
// hex, so the file never holds a token itself. Blank lines and lines
// starting with '#' are ignored. Make an entry with
//   printf %s "$TOKEN" | sha256sum
//
// A call authenticates with the metadata "authorization: Bearer <token>".
// Tokens are compared by digest against every entry, without stopping at a
// match, with a constant-time comparison; no token or digest is ever logged.
// Thread-safe; Reload() swaps the table atomically and keeps the old one
// when the file is bad.
#ifndef LANTERN_SERVER_AUTH_H_
#define LANTERN_SERVER_AUTH_H_

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"

namespace lantern::server {

class TokenAuth {
 public:
  // InvalidArgument naming the file and line for a malformed file; NotFound
  // when it cannot be read.
  static absl::StatusOr<std::unique_ptr<TokenAuth>> Load(
      const std::string& path);

  // Reads the file again. On error the current table stays in force.
  // Returns the number of callers now known.
  absl::StatusOr<int> Reload();

  // The caller whose token the call carries; UNAUTHENTICATED when the
  // metadata has no bearer token or an unknown one.
  absl::StatusOr<std::string> Authenticate(
      const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Entry {
    std::string caller;
    Digest digest;
  };
  explicit TokenAuth(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<std::vector<Entry>> Read(const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const std::vector<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_AUTH_H_
