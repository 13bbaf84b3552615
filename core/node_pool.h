// NodePool: the memory a node-based container (an absl B-tree) allocates its nodes from, kept
// for reuse. A container asks for a handful of block sizes (a B-tree: its leaf and its
// internal node); each size has a free list, so allocating or freeing a block is a pointer
// swap, where std::pmr::unsynchronized_pool_resource searches its chunks on every free. The
// pool gives nothing back until it is destroyed: its memory follows the most blocks ever live
// at once, and churn that stays under that peak allocates nothing.
//
//   NodePool pool;  // declared before the containers that use it
//   absl::btree_set<int, std::less<int>, std::pmr::polymorphic_allocator<int>> set{&pool};
//
// Single-threaded, like the core.
#ifndef CONNMGR_CORE_NODE_POOL_H_
#define CONNMGR_CORE_NODE_POOL_H_

#include <cstddef>
#include <memory>
#include <memory_resource>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace connmgr {

class NodePool final : public std::pmr::memory_resource {
 public:
  // Blocks are aligned to this; a request for more alignment goes to the heap directly.
  static constexpr size_t kAlignment = __STDCPP_DEFAULT_NEW_ALIGNMENT__;
  // A size's chunks start at this many blocks and double up to kMaxChunkBlocks.
  static constexpr size_t kFirstChunkBlocks = 4;
  static constexpr size_t kMaxChunkBlocks = 256;

  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;
  ~NodePool() override = default;

  // Bytes taken from the heap in chunks (not counting over-aligned blocks).
  size_t reserved_bytes() const { return reserved_bytes_; }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  struct SizeClass {
    size_t bytes;
    FreeBlock* free = nullptr;
    size_t next_chunk_blocks = kFirstChunkBlocks;
  };

  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  // A container asks for a few sizes (a B-tree: two), so a short list searched in order.
  SizeClass& ClassFor(size_t bytes) {
    const size_t at_least = bytes < sizeof(FreeBlock) ? sizeof(FreeBlock) : bytes;
    const size_t rounded = (at_least + kAlignment - 1) / kAlignment * kAlignment;
    for (SizeClass& c : classes_) {
      if (c.bytes == rounded) return c;
    }
    return classes_.emplace_back(SizeClass{rounded});
  }
  void Grow(SizeClass& size_class);

  absl::InlinedVector<SizeClass, 2> classes_;
  std::vector<std::unique_ptr<std::byte[]>> chunks_;
  size_t reserved_bytes_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_NODE_POOL_H_
