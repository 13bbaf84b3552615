// RecordPool: stable storage for records the core creates and drops at churn rate (one per
// connection, one per connected peer), so steady-state churn allocates nothing. Records live
// in fixed chunks and are never moved; a dropped record is reset and reused by the next New.
// The pool keeps its peak: memory follows the most records ever live at once.
//
//   RecordPool<Connection> pool;
//   Connection* c = pool.New();  // a default-constructed record
//   pool.Delete(c);              // reset; its storage serves the next New
#ifndef CONNMGR_CORE_RECORD_POOL_H_
#define CONNMGR_CORE_RECORD_POOL_H_

#include <cstddef>
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

  T* New() {
    if (free_.empty()) Grow();
    T* record = free_.back();
    free_.pop_back();
    return record;
  }
  void Delete(T* record) {
    std::destroy_at(record);
    std::construct_at(record);
    free_.push_back(record);
  }
  // Records handed out and not deleted.
  size_t live() const { return chunks_.size() * kChunkRecords - free_.size(); }

 private:
  void Grow() {
    chunks_.push_back(std::make_unique<T[]>(kChunkRecords));
    T* chunk = chunks_.back().get();
    // Handed out in address order, so records made together sit together.
    for (size_t i = kChunkRecords; i > 0; --i) free_.push_back(&chunk[i - 1]);
  }

  std::vector<std::unique_ptr<T[]>> chunks_;
  std::vector<T*> free_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_RECORD_POOL_H_
