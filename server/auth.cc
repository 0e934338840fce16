#include "server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lantern::server {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

bool IsCallerName(absl::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsHexDigest(absl::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<TokenAuth::Entry>> TokenAuth::Read(
    const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(
        absl::StrCat("cannot read auth tokens file ", path));
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    // Never echo the line: it might hold a token pasted by mistake.
    if (fields.size() != 2 || !IsCallerName(fields[0]) ||
        !IsHexDigest(fields[1])) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number,
                       ": expected '<caller> <sha256 of the token in hex>' "
                       "(caller: letters, digits, "
                       "'.', '_', '-')"));
    }
    Entry entry;
    entry.caller = std::string(fields[0]);
    const std::string bytes = absl::HexStringToBytes(fields[1]);
    std::copy(bytes.begin(), bytes.end(), entry.digest.begin());
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no callers; every call would fail"));
  }
  return entries;
}

absl::StatusOr<std::unique_ptr<TokenAuth>> TokenAuth::Load(
    const std::string& path) {
  std::unique_ptr<TokenAuth> auth(new TokenAuth(path));
  absl::StatusOr<int> loaded = auth->Reload();
  if (!loaded.ok()) return loaded.status();
  return auth;
}

absl::StatusOr<int> TokenAuth::Reload() {
  absl::StatusOr<std::vector<Entry>> entries = Read(path_);
  if (!entries.ok()) return entries.status();
  const int count = static_cast<int>(entries->size());
  auto table = std::make_shared<const std::vector<Entry>>(*std::move(entries));
  absl::MutexLock lock(&mu_);
  entries_ = std::move(table);
  return count;
}

absl::StatusOr<std::string> TokenAuth::Authenticate(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) const {
  const auto header = metadata.find("authorization");
  if (header == metadata.end()) {
    return absl::UnauthenticatedError(
        "this server requires a bearer token: send 'authorization: Bearer "
        "<token>'");
  }
  absl::string_view value(header->second.data(), header->second.size());
  // The scheme is case-insensitive (RFC 6750).
  const bool bearer = absl::StartsWithIgnoreCase(value, kBearer);
  if (bearer) value.remove_prefix(kBearer.size());
  if (!bearer || value.empty()) {
    return absl::UnauthenticatedError(
        "the authorization metadata is not 'Bearer <token>'");
  }
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(value.data()), value.size(),
         digest.data());
  std::shared_ptr<const std::vector<Entry>> entries;
  {
    absl::MutexLock lock(&mu_);
    entries = entries_;
  }
  // Every entry is compared, so the time taken does not say which matched.
  const Entry* match = nullptr;
  for (const Entry& entry : *entries) {
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0)
      match = &entry;
  }
  if (match == nullptr)
    return absl::UnauthenticatedError("unknown bearer token");
  return match->caller;
}

}  // namespace lantern::server
