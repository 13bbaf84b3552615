// RecordPool: stable storage for records the core creates and drops at churn rate (one per
// connection, one per connected peer), so steady-state churn allocates nothing. Records live
// in fixed chunks and are never moved; a deleted record's slot holds the link to the next free
// one, so dropping any number of records allocates nothing either (a trim of a million).
// The pool keeps its peak: memory follows the most records ever live at once.
//
//   RecordPool<Connection> pool;
//   Connection* c = pool.New();  // a default-constructed record
//   pool.Delete(c);              // destroyed; its slot serves the next New
#ifndef CONNMGR_CORE_RECORD_POOL_H_
#define CONNMGR_CORE_RECORD_POOL_H_

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace connmgr {

template <typename T>
class RecordPool {
 public:
  static constexpr size_t kChunkRecords = 256;

  RecordPool() = default;
  RecordPool(const RecordPool&) = delete;
  RecordPool& operator=(const RecordPool&) = delete;
  ~RecordPool() { DestroyLive(); }

  T* New() {
    if (free_ == nullptr) Grow();
    Slot* slot = free_;
    free_ = slot->next_free;
    ++live_;
    return std::construct_at(&slot->record);
  }
  void Delete(T* record) {
    std::destroy_at(record);
    // A union and its members are pointer-interconvertible: the record's address is its slot's.
    Slot* slot = reinterpret_cast<Slot*>(record);
    slot->next_free = free_;
    free_ = slot;
    --live_;
  }
  // Records handed out and not deleted.
  size_t live() const { return live_; }

 private:
  // A free slot holds the link; a taken one, the record.
  union Slot {
    Slot() : next_free(nullptr) {}
    ~Slot() {}  // the pool destroys live records itself
    Slot* next_free;
    T record;
  };

  void Grow() {
    chunks_.push_back(std::make_unique<Slot[]>(kChunkRecords));
    Slot* chunk = chunks_.back().get();
    // Handed out in address order, so records made together sit together.
    for (size_t i = kChunkRecords; i > 0; --i) {
      chunk[i - 1].next_free = free_;
      free_ = &chunk[i - 1];
    }
  }

  // Destroys the records still handed out (at teardown: the free slots are listed once).
  void DestroyLive() {
    if (live_ == 0) return;
    std::vector<const Slot*> free_slots;
    for (const Slot* s = free_; s != nullptr; s = s->next_free) free_slots.push_back(s);
    std::sort(free_slots.begin(), free_slots.end(), std::less<>());
    for (const std::unique_ptr<Slot[]>& chunk : chunks_) {
      for (size_t i = 0; i < kChunkRecords; ++i) {
        Slot* slot = &chunk[i];
        if (!std::binary_search(free_slots.begin(), free_slots.end(), slot, std::less<>())) {
          std::destroy_at(&slot->record);
        }
      }
    }
  }

  std::vector<std::unique_ptr<Slot[]>> chunks_;
  Slot* free_ = nullptr;  // the free slots, linked through next_free
  size_t live_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_RECORD_POOL_H_
