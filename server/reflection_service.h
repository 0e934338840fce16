// grpc.reflection.v1alpha.ServerReflection over an allow-list: it lists the
// services it is given and describes only the proto files they are built
// from (and those files' imports). gRPC's own reflection plugin describes
// every file linked into the process, which here includes the internal
// model-spec schema (lantern.config.v1); this one answers NOT_FOUND for it.
//
// grpcurl and buf curl use v1alpha. Extension queries answer NOT_FOUND: the
// public API defines no extensions. Thread-safe (immutable after
// construction).
#ifndef LANTERN_SERVER_REFLECTION_SERVICE_H_
#define LANTERN_SERVER_REFLECTION_SERVICE_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace lantern::server {

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `services`: full names of services in the generated descriptor pool.
  explicit ReflectionService(const std::vector<std::string>& services);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  // The answer to one request (exposed for tests).
  grpc::reflection::v1alpha::ServerReflectionResponse Answer(
      const grpc::reflection::v1alpha::ServerReflectionRequest& request) const;

 private:
  class Reactor;
  // Fills `response` with `file` and its imports; NOT_FOUND if not allowed.
  void DescribeFile(
      const std::string& file,
      grpc::reflection::v1alpha::ServerReflectionResponse* response) const;

  std::vector<std::string> services_;
  std::set<std::string> files_;  // allowed file names
};

}  // namespace lantern::server

#endif  // LANTERN_SERVER_REFLECTION_SERVICE_H_
