// A minimal HTTP/1.1 endpoint for Prometheus scrapes: GET (or HEAD) of one
// path answers with the text a callback renders; other paths get 404, other
// methods 405. One thread serves one connection at a time and closes it
// after the answer; a client gets 2 s to send its request head (at most
// 8 KiB) and to read the answer. Plain HTTP without authentication: bind it
// to loopback or a private interface.
//
// Why not prometheus-cpp's own Exposer: Debian builds its civetweb with
// 100 KiB thread stacks, and in lantern-server (libtorch and its ~336
// libraries need over 100 KiB of static TLS per thread) pthread_create
// refuses such a stack with EINVAL, so the Exposer cannot start. The
// exposition text still comes from prometheus-cpp (server/metrics.cc).
#ifndef LANTERN_SERVER_HTTP_ENDPOINT_H_
#define LANTERN_SERVER_HTTP_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace lantern::server {

class HttpEndpoint {
 public:
  // Listens on `listen` (host:port; port 0 picks a free one) and answers
  // `path` with render(), called on the endpoint's thread, with
  // `content_type`. InvalidArgument for a malformed address, Unavailable
  // when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(
      const std::string& listen, std::string path, std::string content_type,
      std::function<std::string()> render);
  ~HttpEndpoint();  // Stops: waits for an answer under way, closes the port.
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  int port() const { return port_; }

 private:
  HttpEndpoint(int listen_fd, int port, int wake_read, int wake_write,
               std::string path, std::string content_type,
               std::function<std::string()> render);
  void Serve();
  void Answer(int fd);

  const int listen_fd_;
  const int port_;
  const int wake_read_;  // a byte here (or its closing) stops Serve()
  const int wake_write_;
  const std::string path_;
  const std::string content_type_;
  const std::function<std::string()> render_;
  std::thread thread_;
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_HTTP_ENDPOINT_H_
