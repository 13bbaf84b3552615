#include "core/node_pool.h"

#include <cstdint>
#include <vector>

#include "core/pooled_btree.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

bool Aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

TEST(NodePool, FreedBlockServesTheNextRequestOfItsSize) {
  NodePool pool;
  void* a = pool.allocate(48);
  void* b = pool.allocate(48);
  EXPECT_NE(a, b);
  pool.deallocate(a, 48);
  EXPECT_EQ(pool.allocate(48), a);
  pool.deallocate(b, 48);
  // Another size has its own list: it does not get the 48-byte block just freed.
  void* c = pool.allocate(1024);
  EXPECT_NE(c, b);
  EXPECT_EQ(pool.allocate(48), b);
}

TEST(NodePool, SizesRoundUpToTheAlignment) {
  NodePool pool;
  void* one = pool.allocate(1);
  pool.deallocate(one, 1);
  // 1 and kAlignment bytes share a size, so the block comes back.
  EXPECT_EQ(pool.allocate(NodePool::kAlignment), one);
  void* more = pool.allocate(NodePool::kAlignment + 1);
  pool.deallocate(more, NodePool::kAlignment + 1);
  EXPECT_EQ(pool.allocate(2 * NodePool::kAlignment), more);
}

TEST(NodePool, EveryBlockIsAligned) {
  NodePool pool;
  for (size_t bytes : {1, 8, 24, 40, 100, 1000, 1304}) {
    for (int i = 0; i < 20; ++i) {
      void* p = pool.allocate(bytes, alignof(std::max_align_t));
      EXPECT_TRUE(Aligned(p, NodePool::kAlignment)) << bytes;
    }
  }
}

TEST(NodePool, ChunksDoubleUpToTheCap) {
  NodePool pool;
  constexpr size_t kBytes = 64;
  size_t expected = 0;
  size_t chunk_blocks = NodePool::kFirstChunkBlocks;
  size_t taken = 0;
  for (int chunk = 0; chunk < 10; ++chunk) {
    expected += chunk_blocks * kBytes;
    for (size_t i = 0; i < chunk_blocks; ++i, ++taken) (void)pool.allocate(kBytes);
    EXPECT_EQ(pool.reserved_bytes(), expected) << "after " << taken << " blocks";
    chunk_blocks = std::min(chunk_blocks * 2, NodePool::kMaxChunkBlocks);
  }
  EXPECT_EQ(chunk_blocks, NodePool::kMaxChunkBlocks);
}

TEST(NodePool, OverAlignedRequestsGoToTheHeap) {
  NodePool pool;
  constexpr size_t kAlign = 4 * NodePool::kAlignment;
  void* p = pool.allocate(256, kAlign);
  EXPECT_TRUE(Aligned(p, kAlign));
  EXPECT_EQ(pool.reserved_bytes(), 0u);
  pool.deallocate(p, 256, kAlign);
}

TEST(NodePool, EqualOnlyToItself) {
  NodePool a;
  NodePool b;
  EXPECT_TRUE(a.is_equal(a));
  EXPECT_FALSE(a.is_equal(b));
}

TEST(NodePool, ContainerChurnUnderItsPeakTakesNothingMore) {
  NodePool pool;
  PooledBtreeSet<uint64_t> set{&pool};
  for (uint64_t i = 0; i < 20000; ++i) set.insert(i * 7919 % 20011);
  const size_t peak = pool.reserved_bytes();
  EXPECT_GT(peak, 0u);
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < 20000; i += 2) set.erase(i * 7919 % 20011);
    for (uint64_t i = 0; i < 20000; i += 2) set.insert(i * 7919 % 20011);
  }
  set.clear();
  for (uint64_t i = 0; i < 20000; ++i) set.insert(i);
  EXPECT_EQ(set.size(), 20000u);
  EXPECT_EQ(pool.reserved_bytes(), peak);
}

}  // namespace
}  // namespace connmgr
