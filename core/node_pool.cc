#include "core/node_pool.h"

#include <new>

namespace connmgr {

void* NodePool::do_allocate(size_t bytes, size_t alignment) {
  if (alignment > kAlignment) return std::pmr::new_delete_resource()->allocate(bytes, alignment);
  SizeClass& size_class = ClassFor(bytes);
  if (size_class.free == nullptr) Grow(size_class);
  FreeBlock* block = size_class.free;
  size_class.free = block->next;
  return block;
}

void NodePool::do_deallocate(void* p, size_t bytes, size_t alignment) {
  if (alignment > kAlignment) {
    std::pmr::new_delete_resource()->deallocate(p, bytes, alignment);
    return;
  }
  SizeClass& size_class = ClassFor(bytes);
  size_class.free = ::new (p) FreeBlock{size_class.free};
}

void NodePool::Grow(SizeClass& size_class) {
  const size_t blocks = size_class.next_chunk_blocks;
  if (blocks < kMaxChunkBlocks) size_class.next_chunk_blocks = blocks * 2;
  const size_t chunk_bytes = blocks * size_class.bytes;
  std::byte* chunk =
      chunks_.emplace_back(std::make_unique_for_overwrite<std::byte[]>(chunk_bytes)).get();
  reserved_bytes_ += chunk_bytes;
  // Listed so the first block is handed out first: blocks taken together sit together.
  for (size_t i = blocks; i > 0; --i) {
    size_class.free = ::new (chunk + (i - 1) * size_class.bytes) FreeBlock{size_class.free};
  }
}

}  // namespace connmgr
