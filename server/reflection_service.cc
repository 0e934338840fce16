#include "server/reflection_service.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace lantern::server {
namespace {

namespace pb = google::protobuf;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

void NotFound(const std::string& what, ServerReflectionResponse* response) {
  response->mutable_error_response()->set_error_code(
      static_cast<int>(grpc::StatusCode::NOT_FOUND));
  response->mutable_error_response()->set_error_message(
      absl::StrCat(what, " is not described by this server"));
}

}  // namespace

// Answers each request before reading the next.
class ReflectionService::Reactor final
    : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                     ServerReflectionResponse> {
 public:
  explicit Reactor(const ReflectionService* service) : service_(service) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_ = service_->Answer(request_);
    StartWrite(&response_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "could not write the answer"));
      return;
    }
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  const ReflectionService* const service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
};

ReflectionService::ReflectionService(const std::vector<std::string>& services)
    : services_(services) {
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  std::deque<const pb::FileDescriptor*> todo;
  for (const std::string& name : services_) {
    if (const pb::ServiceDescriptor* service = pool->FindServiceByName(name)) {
      todo.push_back(service->file());
    }
  }
  while (!todo.empty()) {
    const pb::FileDescriptor* file = todo.front();
    todo.pop_front();
    if (!files_.insert(file->name()).second) continue;
    for (int i = 0; i < file->dependency_count(); ++i)
      todo.push_back(file->dependency(i));
  }
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(
    grpc::CallbackServerContext* /*context*/) {
  return new Reactor(this);
}

ServerReflectionResponse ReflectionService::Answer(
    const ServerReflectionRequest& request) const {
  ServerReflectionResponse response;
  response.set_valid_host(request.host());
  *response.mutable_original_request() = request;
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  switch (request.message_request_case()) {
    case ServerReflectionRequest::kListServices:
      for (const std::string& name : services_) {
        response.mutable_list_services_response()->add_service()->set_name(
            name);
      }
      break;
    case ServerReflectionRequest::kFileByFilename:
      DescribeFile(request.file_by_filename(), &response);
      break;
    case ServerReflectionRequest::kFileContainingSymbol: {
      const pb::FileDescriptor* file =
          pool->FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        NotFound(absl::StrCat("symbol ", request.file_containing_symbol()),
                 &response);
      } else {
        DescribeFile(file->name(), &response);
      }
      break;
    }
    default:
      NotFound("extension", &response);
  }
  return response;
}

void ReflectionService::DescribeFile(const std::string& name,
                                     ServerReflectionResponse* response) const {
  if (files_.count(name) == 0) {
    NotFound(absl::StrCat("file ", name), response);
    return;
  }
  // The file first, then its imports, each once.
  std::set<std::string> sent;
  std::deque<const pb::FileDescriptor*> todo{
      pb::DescriptorPool::generated_pool()->FindFileByName(name)};
  while (!todo.empty()) {
    const pb::FileDescriptor* file = todo.front();
    todo.pop_front();
    if (file == nullptr || !sent.insert(file->name()).second) continue;
    pb::FileDescriptorProto proto;
    file->CopyTo(&proto);
    proto.SerializeToString(response->mutable_file_descriptor_response()
                                ->add_file_descriptor_proto());
    for (int i = 0; i < file->dependency_count(); ++i)
      todo.push_back(file->dependency(i));
  }
}

}  // namespace lantern::server
