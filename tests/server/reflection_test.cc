// Reflection describes the public API and health, never the internal
// model-spec schema, over a real server's reflection stub.
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "gtest/gtest.h"
#include "lantern/config/v1/model_spec.pb.h"
#include "lantern/v1/analyzer.pb.h"
#include "server/reflection_service.h"

namespace lantern::server {
namespace {

using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

class ReflectionTest : public ::testing::Test {
 protected:
  ReflectionTest()
      : service_({"lantern.v1.Analyzer", "grpc.health.v1.Health",
                  "grpc.reflection.v1alpha.ServerReflection"}) {
    // Linked in, as in the server: the pool knows the internal schema.
    (void)config::v1::ModelSpec::descriptor();
  }

  std::vector<std::string> FilesFor(const std::string& symbol) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    const ServerReflectionResponse response = service_.Answer(request);
    std::vector<std::string> names;
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  ReflectionService service_;
};

TEST_F(ReflectionTest, ListsThePublicServices) {
  ServerReflectionRequest request;
  request.set_list_services("*");
  const ServerReflectionResponse response = service_.Answer(request);
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) {
    names.push_back(s.name());
  }
  EXPECT_THAT(names, ElementsAre("lantern.v1.Analyzer", "grpc.health.v1.Health",
                                 "grpc.reflection.v1alpha.ServerReflection"));
}

TEST_F(ReflectionTest, DescribesTheApiWithItsImports) {
  const std::vector<std::string> files = FilesFor("lantern.v1.Analyzer");
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.front(), "lantern/v1/analyzer.proto");
  EXPECT_THAT(files, Contains("lantern/v1/chat.proto"));
  EXPECT_THAT(files, Contains("google/protobuf/timestamp.proto"));
  EXPECT_THAT(FilesFor("grpc.health.v1.Health.Check"),
              ElementsAre("grpc/health/v1/health.proto"));
}

TEST_F(ReflectionTest, InternalSchemaIsNotFound) {
  ServerReflectionRequest request;
  request.set_file_containing_symbol("lantern.config.v1.ModelSpec");
  ServerReflectionResponse response = service_.Answer(request);
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_FALSE(response.has_file_descriptor_response());

  request.set_file_by_filename("lantern/config/v1/model_spec.proto");
  response = service_.Answer(request);
  EXPECT_EQ(response.error_response().error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(response.error_response().error_message(),
              HasSubstr("not described"));
  EXPECT_THAT(FilesFor("lantern.v1.Analyzer"),
              Not(Contains(HasSubstr("config"))));
}

}  // namespace
}  // namespace lantern::server
