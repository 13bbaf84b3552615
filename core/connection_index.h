// ConnectionIndex: connection records by id, for ids handed out in increasing order.
//
//   ConnectionIndex<Connection> index;
//   ConnectionId id = index.NextId();     // reserves the id
//   record.id = id;
//   index.Insert(&record);                // or nothing, for an id refused at admission
//   index.Find(id);                       // &record, or nullptr once erased
//   index.Erase(id);
//
// Most connections close soon after they open, so the ids the core looks up are mostly recent.
// The latest kWindow ids live in a ring indexed by id, where consecutive ids share cache lines;
// an id that leaves the window still open moves, once, into a hash set of the older ones. A new
// connection then costs a store into a line used a moment ago instead of two cache misses
// into a hash table of every live connection (the cost that grew with the live count).
// Memory: the ring's kWindow pointers (128 KiB) plus the hash set of long-lived connections.
#ifndef CONNMGR_CORE_CONNECTION_INDEX_H_
#define CONNMGR_CORE_CONNECTION_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/pointer_index.h"
#include "core/types.h"

namespace connmgr {

template <typename Record>
class ConnectionIndex {
 public:
  // Ids of the ring: a power of two.
  static constexpr uint64_t kWindow = uint64_t{1} << 14;

  ConnectionIndex() : recent_(kWindow, nullptr) {}

  // The next id (ids start at 1 and are never reused). The id it takes moves the one kWindow
  // before it, if still indexed, out of the ring.
  ConnectionId NextId() {
    Record*& slot = recent_[next_id_ & kMask];
    if (slot != nullptr) {
      older_.insert(slot);
      --recent_count_;
      slot = nullptr;
    }
    return ConnectionId{next_id_++};
  }
  // Indexes `record` under its id, which must be the id NextId returned last.
  void Insert(Record* record) {
    recent_[record->id.value & kMask] = record;
    ++recent_count_;
  }
  Record* Find(ConnectionId id) const {
    if (InWindow(id)) return recent_[id.value & kMask];
    auto it = older_.find(id);
    return it == older_.end() ? nullptr : *it;
  }
  // Unindexes the record under `id`, which must be indexed.
  void Erase(ConnectionId id) {
    if (InWindow(id)) {
      recent_[id.value & kMask] = nullptr;
      --recent_count_;
    } else {
      older_.erase(id);
    }
  }

  // Ids handed out so far are [1, next_id()).
  uint64_t next_id() const { return next_id_; }
  size_t size() const { return older_.size() + recent_count_; }
  // Visits every record, in no particular order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (Record* record : older_) visit(record);
    for (Record* record : recent_) {
      if (record != nullptr) visit(record);
    }
  }

 private:
  static constexpr uint64_t kMask = kWindow - 1;

  bool InWindow(ConnectionId id) const {
    return id.value < next_id_ && id.value + kWindow >= next_id_;
  }

  uint64_t next_id_ = 1;
  std::vector<Record*> recent_;  // the record of id i at i & kMask, for the last kWindow ids
  size_t recent_count_ = 0;
  PointerIndex<Record, &Record::id> older_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONNECTION_INDEX_H_
