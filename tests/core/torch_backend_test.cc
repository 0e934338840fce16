// TorchScript loading and forward with tiny modules built in code.
#include <torch/script.h>

#include <filesystem>
#include <fstream>

#include "core/model_backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lantern::core {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("lantern_torch_" + std::to_string(getpid()) + "_" + name))
      .string();
}

// logits = [s * w, -s * w] where s = sum of the unmasked ids.
std::string SaveSumModel() {
  torch::jit::Module m("SumModel");
  m.register_parameter("w", torch::tensor({2.0f}), /*is_buffer=*/false);
  m.define(R"(
    def forward(self, input_ids, attention_mask):
        s = (input_ids * attention_mask).sum(1).float()
        return torch.stack([s, -s], 1) * self.w
  )");
  const std::string path = TempPath("sum.pt");
  m.save(path);
  return path;
}

TEST(TorchBackendTest, ForwardPadsMasksAndReturnsLogits) {
  auto backend = LoadTorchScriptBackend(SaveSumModel());
  ASSERT_TRUE(backend.ok()) << backend.status();
  // Two rows of different lengths; padding with id 9 must not count: the
  // mask is 0 there.
  auto logits = (*backend)->Forward({{1, 2, 3}, {5}}, 8, 9);
  ASSERT_TRUE(logits.ok()) << logits.status();
  ASSERT_EQ(logits->size(), 2u);
  EXPECT_THAT((*logits)[0], ElementsAre(FloatEq(12.0f), FloatEq(-12.0f)));
  EXPECT_THAT((*logits)[1], ElementsAre(FloatEq(10.0f), FloatEq(-10.0f)));
}

TEST(TorchBackendTest, MissingFileIsNotFound) {
  auto backend = LoadTorchScriptBackend(TempPath("missing.pt"));
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
}

TEST(TorchBackendTest, GarbageFileIsInvalidArgument) {
  const std::string path = TempPath("garbage.pt");
  std::ofstream(path) << "not a torchscript archive";
  auto backend = LoadTorchScriptBackend(path);
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("cannot load TorchScript model"));
}

TEST(TorchBackendTest, WrongOutputShapeIsInternal) {
  torch::jit::Module m("Flat");
  m.define(R"(
    def forward(self, input_ids, attention_mask):
        return input_ids.sum(1).float()
  )");
  const std::string path = TempPath("flat.pt");
  m.save(path);
  auto backend = LoadTorchScriptBackend(path);
  ASSERT_TRUE(backend.ok());
  auto logits = (*backend)->Forward({{1}}, 4, 0);
  EXPECT_EQ(logits.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(logits.status().message(), HasSubstr("rank 1"));
}

TEST(TorchBackendTest, ForwardThatThrowsIsInternal) {
  torch::jit::Module m("Throws");
  m.define(R"(
    def forward(self, input_ids, attention_mask):
        return input_ids.view(7, 7).float()
  )");
  const std::string path = TempPath("throws.pt");
  m.save(path);
  auto backend = LoadTorchScriptBackend(path);
  ASSERT_TRUE(backend.ok());
  auto logits = (*backend)->Forward({{1}}, 4, 0);
  EXPECT_EQ(logits.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(logits.status().message(), HasSubstr("forward failed"));
}

TEST(DescribeBlasTest, NamesTheLibraryInUse) {
  const BlasInfo info = DescribeBlas();
  EXPECT_NE(info.library, "");
  EXPECT_THAT(info.library, HasSubstr("blas"));
}

}  // namespace
}  // namespace lantern::core
