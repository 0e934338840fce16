#include "server/serving_state.h"

#include <vector>

#include "gtest/gtest.h"

namespace lantern::server {
namespace {

class IdleStream final : public Drainable {
 public:
  bool MarkDraining() override { return false; }
  void FinishDrained() override {}
};

TEST(ServingStateTest, StreamWindowShrinksSoStreamsHoldAtMostHalfTheQueue) {
  // Window 32, 256 streams allowed, queue 1024: streams share 512 slots.
  ServingState state(nullptr, StreamOptions{32, 256}, 1024);
  EXPECT_EQ(state.stream_window(), 32);
  std::vector<IdleStream> streams(200);
  for (int i = 0; i < 16; ++i)
    ASSERT_TRUE(state.RegisterStream(&streams[i]).ok());
  EXPECT_EQ(state.stream_window(), 32);  // 16 x 32 = 512
  ASSERT_TRUE(state.RegisterStream(&streams[16]).ok());
  EXPECT_EQ(state.stream_window(), 30);  // 512 / 17
  for (int i = 17; i < 200; ++i)
    ASSERT_TRUE(state.RegisterStream(&streams[i]).ok());
  EXPECT_EQ(state.stream_window(), 2);  // 512 / 200
  for (int i = 0; i < 190; ++i) state.UnregisterStream(&streams[i]);
  EXPECT_EQ(state.stream_window(), 32);
}

TEST(ServingStateTest, StreamWindowIsNeverBelowOne) {
  ServingState state(nullptr, StreamOptions{32, 256}, 4);
  std::vector<IdleStream> streams(10);
  for (auto& s : streams) ASSERT_TRUE(state.RegisterStream(&s).ok());
  EXPECT_EQ(state.stream_window(), 1);
}

TEST(ServingStateTest, RegisterPastTheLimitIsResourceExhausted) {
  ServingState state(nullptr, StreamOptions{32, 2}, 1024);
  IdleStream a, b, c;
  ASSERT_TRUE(state.RegisterStream(&a).ok());
  ASSERT_TRUE(state.RegisterStream(&b).ok());
  EXPECT_EQ(state.RegisterStream(&c).code(),
            absl::StatusCode::kResourceExhausted);
  state.StartDraining();
  state.UnregisterStream(&a);
  EXPECT_EQ(state.RegisterStream(&c).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace lantern::server
