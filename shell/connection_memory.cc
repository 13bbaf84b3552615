#include "shell/connection_memory.h"

#include <limits>

namespace connmgr::shell {

uint64_t ConnectionMemory::Chunks(uint64_t bytes) {
  constexpr uint64_t kLargest = std::numeric_limits<uint64_t>::max() / kChunkBytes * kChunkBytes;
  if (bytes > kLargest) return kLargest;
  return (bytes + kChunkBytes - 1) / kChunkBytes * kChunkBytes;
}

bool ConnectionMemory::Cover(uint64_t bytes, uint8_t priority) {
  if (ended_) return false;
  const uint64_t wanted = Chunks(bytes);
  if (wanted <= reserved_) return true;
  if (!scope_.reserve(wanted - reserved_, priority)) return false;
  reserved_ = wanted;
  return true;
}

void ConnectionMemory::Trim(uint64_t bytes) {
  if (ended_) return;
  const uint64_t keep = Chunks(bytes) + kChunkBytes;
  if (reserved_ <= keep) return;
  scope_.release(reserved_ - keep);
  reserved_ = keep;
}

bool ConnectionMemory::MoveTo(Scope scope, uint8_t priority) {
  if (ended_) return false;
  const uint64_t bytes = reserved_;
  if (bytes > 0) scope_.release(bytes);
  reserved_ = 0;
  scope_ = std::move(scope);
  if (bytes == 0) return true;
  if (!scope_.reserve(bytes, priority)) return false;
  reserved_ = bytes;
  return true;
}

void ConnectionMemory::End() {
  if (ended_) return;
  ended_ = true;
  if (reserved_ > 0 && !scope_.released_by_core_at_end) scope_.release(reserved_);
  reserved_ = 0;
}

}  // namespace connmgr::shell
