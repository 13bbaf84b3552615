#include "shell/connection_memory.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

using ::testing::ElementsAre;

constexpr uint64_t kChunk = ConnectionMemory::kChunkBytes;

// A scope that records every call and grants up to `limit` bytes in total.
struct FakeScope {
  explicit FakeScope(std::string n, uint64_t l = UINT64_MAX) : name(std::move(n)), limit(l) {}
  std::string name;
  uint64_t limit;
  uint64_t held = 0;
  std::vector<std::string> calls;

  ConnectionMemory::Scope Make(bool released_by_core_at_end = false) {
    ConnectionMemory::Scope scope;
    scope.reserve = [this](uint64_t bytes, uint8_t priority) {
      const bool granted = held + bytes <= limit;
      calls.push_back(absl::StrCat(name, " reserve ", bytes / 1024, "K p", priority,
                                   granted ? "" : " refused"));
      if (granted) held += bytes;
      return granted;
    };
    scope.release = [this](uint64_t bytes) {
      calls.push_back(absl::StrCat(name, " release ", bytes / 1024, "K"));
      held -= bytes;
    };
    scope.released_by_core_at_end = released_by_core_at_end;
    return scope;
  }
};

TEST(ConnectionMemoryTest, ReservesWholeChunksOnlyWhenTheBuffersOutgrowThem) {
  FakeScope core{"t"};
  ConnectionMemory memory(core.Make());
  EXPECT_TRUE(memory.Cover(1, 255));
  EXPECT_EQ(memory.reserved(), kChunk);
  EXPECT_TRUE(memory.Cover(kChunk, 255));  // still one chunk: no input to the core
  EXPECT_TRUE(memory.Cover(kChunk + 1, 191));
  EXPECT_TRUE(memory.Cover(5 * kChunk - 7, 191));
  EXPECT_EQ(memory.reserved(), 5 * kChunk);
  EXPECT_THAT(core.calls,
              ElementsAre("t reserve 64K p255", "t reserve 64K p191", "t reserve 192K p191"));
}

TEST(ConnectionMemoryTest, ARefusalChangesNothing) {
  FakeScope core{"t", 3 * kChunk};
  ConnectionMemory memory(core.Make());
  ASSERT_TRUE(memory.Cover(2 * kChunk, 255));
  EXPECT_FALSE(memory.Cover(4 * kChunk, 255));
  EXPECT_EQ(memory.reserved(), 2 * kChunk);
  EXPECT_EQ(core.held, 2 * kChunk);
  EXPECT_TRUE(memory.Cover(3 * kChunk, 255));
  EXPECT_EQ(core.held, 3 * kChunk);
}

TEST(ConnectionMemoryTest, TrimKeepsOneSpareChunk) {
  FakeScope core{"t"};
  ConnectionMemory memory(core.Make());
  ASSERT_TRUE(memory.Cover(10 * kChunk, 255));
  memory.Trim(9 * kChunk + 1);  // needs 10, keeps 11: nothing to release
  EXPECT_EQ(memory.reserved(), 10 * kChunk);
  memory.Trim(3 * kChunk + 5);  // needs 4, keeps 5
  EXPECT_EQ(memory.reserved(), 5 * kChunk);
  memory.Trim(0);  // keeps the spare chunk
  EXPECT_EQ(memory.reserved(), kChunk);
  EXPECT_THAT(core.calls, ElementsAre("t reserve 640K p255", "t release 320K", "t release 256K"));
  EXPECT_EQ(core.held, kChunk);
}

TEST(ConnectionMemoryTest, MovesFromTheTransientScopeToTheConnection) {
  FakeScope transient{"transient"};
  FakeScope connection{"conn"};
  ConnectionMemory memory(transient.Make());
  ASSERT_TRUE(memory.Cover(2 * kChunk, 255));
  ASSERT_TRUE(memory.MoveTo(connection.Make(/*released_by_core_at_end=*/true), 255));
  EXPECT_EQ(memory.reserved(), 2 * kChunk);
  EXPECT_EQ(transient.held, 0u);
  EXPECT_EQ(connection.held, 2 * kChunk);
  // The core releases a connection's own reservation when it closes: End releases nothing.
  memory.End();
  EXPECT_EQ(connection.held, 2 * kChunk);
  EXPECT_THAT(connection.calls, ElementsAre("conn reserve 128K p255"));
  EXPECT_FALSE(memory.Cover(1, 255));
  memory.Trim(0);
  EXPECT_EQ(connection.calls.size(), 1u);
}

TEST(ConnectionMemoryTest, ARefusedMoveLeavesNothingReserved) {
  FakeScope transient{"transient"};
  FakeScope connection{"conn", kChunk};
  ConnectionMemory memory(transient.Make());
  ASSERT_TRUE(memory.Cover(2 * kChunk, 255));
  EXPECT_FALSE(memory.MoveTo(connection.Make(true), 255));
  EXPECT_EQ(memory.reserved(), 0u);
  EXPECT_EQ(transient.held, 0u);
  EXPECT_EQ(connection.held, 0u);
}

TEST(ConnectionMemoryTest, EndReleasesATransientReservation) {
  FakeScope transient{"transient"};
  ConnectionMemory memory(transient.Make());
  ASSERT_TRUE(memory.Cover(3 * kChunk, 255));
  memory.End();
  memory.End();
  EXPECT_EQ(transient.held, 0u);
  EXPECT_THAT(transient.calls,
              ElementsAre("transient reserve 192K p255", "transient release 192K"));
  EXPECT_TRUE(memory.ended());
}

TEST(ConnectionMemoryTest, ChunksRoundUpWithoutOverflow) {
  EXPECT_EQ(ConnectionMemory::Chunks(0), 0u);
  EXPECT_EQ(ConnectionMemory::Chunks(1), kChunk);
  EXPECT_EQ(ConnectionMemory::Chunks(kChunk), kChunk);
  EXPECT_EQ(ConnectionMemory::Chunks(UINT64_MAX) % kChunk, 0u);
  EXPECT_GE(ConnectionMemory::Chunks(UINT64_MAX), UINT64_MAX - kChunk);
}

}  // namespace
}  // namespace connmgr::shell
