#include "server/http_endpoint.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/logging.h"

namespace lantern::server {
namespace {

constexpr size_t kMaxRequestHead = 8 * 1024;
constexpr int kClientTimeoutMs = 2000;

// Waits up to the time left until `deadline_ms` (a CLOCK_MONOTONIC ms) for
// `events` on `fd`.
bool WaitFor(int fd, short events, int64_t deadline_ms) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t left =
      deadline_ms - (now.tv_sec * 1000 + now.tv_nsec / 1000000);
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(left)) == 1;
}

int64_t MonotonicMs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void SendAll(int fd, const std::string& data, int64_t deadline_ms) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLOUT, deadline_ms)) return;
    } else {
      return;
    }
  }
}

std::string Response(absl::string_view status, absl::string_view type,
                     const std::string& body, bool head_only) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", status, "\r\nContent-Type: ", type,
      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
  if (!head_only) out += body;
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(
    const std::string& listen, std::string path, std::string content_type,
    std::function<std::string()> render) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", listen, "' is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int rc =
          getaddrinfo(host.c_str(), listen.c_str() + colon + 1, &hints, &found);
      rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", listen, "': ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, ": ", error));
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const int port =
      ntohs(bound.ss_family == AF_INET6
                ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    close(fd);
    return absl::UnavailableError("cannot create a pipe");
  }
  return std::unique_ptr<HttpEndpoint>(
      new HttpEndpoint(fd, port, wake[0], wake[1], std::move(path),
                       std::move(content_type), std::move(render)));
}

HttpEndpoint::HttpEndpoint(int listen_fd, int port, int wake_read,
                           int wake_write, std::string path,
                           std::string content_type,
                           std::function<std::string()> render)
    : listen_fd_(listen_fd),
      port_(port),
      wake_read_(wake_read),
      wake_write_(wake_write),
      path_(std::move(path)),
      content_type_(std::move(content_type)),
      render_(std::move(render)) {
  thread_ = std::thread([this] { Serve(); });
}

HttpEndpoint::~HttpEndpoint() {
  close(wake_write_);  // Serve() sees the pipe's end.
  thread_.join();
  close(wake_read_);
  close(listen_fd_);
}

void HttpEndpoint::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      core::LogError(absl::StrCat("metrics endpoint stopped: poll: ",
                                  std::strerror(errno)));
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;  // The client went away, or out of descriptors.
    Answer(fd);
    shutdown(fd, SHUT_WR);
    close(fd);
  }
}

void HttpEndpoint::Answer(int fd) {
  const int64_t deadline = MonotonicMs() + kClientTimeoutMs;
  std::string head;
  char buffer[2048];
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() >= kMaxRequestHead) {
      SendAll(fd,
              Response("431 Request Header Fields Too Large", "text/plain",
                       "request head too large\n", false),
              deadline);
      return;
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      head.append(buffer, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!WaitFor(fd, POLLIN, deadline)) return;
    } else {
      return;  // Closed before a whole request head arrived.
    }
  }
  // "GET /metrics?x HTTP/1.1": method, target, version.
  const std::vector<absl::string_view> request_line =
      absl::StrSplit(absl::string_view(head).substr(0, head.find("\r\n")), ' ');
  if (request_line.size() != 3 ||
      !absl::StartsWith(request_line[2], "HTTP/1.")) {
    SendAll(fd,
            Response("400 Bad Request", "text/plain", "bad request\n", false),
            deadline);
    return;
  }
  const absl::string_view method = request_line[0];
  const absl::string_view target =
      request_line[1].substr(0, request_line[1].find('?'));
  const bool head_only = method == "HEAD";
  if (target != path_) {
    SendAll(
        fd,
        Response("404 Not Found", "text/plain",
                 absl::StrCat("only ", path_, " is served here\n"), head_only),
        deadline);
  } else if (method != "GET" && !head_only) {
    SendAll(fd,
            Response("405 Method Not Allowed", "text/plain",
                     "GET or HEAD only\n", false),
            deadline);
  } else {
    SendAll(fd, Response("200 OK", content_type_, render_(), head_only),
            deadline);
  }
}

}  // namespace lantern::server
