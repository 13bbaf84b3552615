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
// The latest ids live in a ring indexed by id, where consecutive ids share cache lines; an id
// that leaves the ring still open moves, once, into a hash set of the older ones. A new
// connection then costs a store into a line used a moment ago instead of two cache misses
// into a hash table of every live connection (the cost that grew with the live count).
// The ring starts at kMinWindow ids and doubles, up to kMaxWindow (128 KiB of pointers), when
// an id about to leave it is still open: a node that has opened few connections keeps a small
// ring.
#ifndef CONNMGR_CORE_CONNECTION_INDEX_H_
#define CONNMGR_CORE_CONNECTION_INDEX_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/pointer_index.h"
#include "core/types.h"

namespace connmgr {

template <typename Record, uint64_t kMaxWindowIds = uint64_t{1} << 14>
class ConnectionIndex {
 public:
  // Ids in the ring, at first and at most: powers of two.
  static constexpr uint64_t kMaxWindow = kMaxWindowIds;
  static constexpr uint64_t kMinWindow = std::min<uint64_t>(kMaxWindow, 64);
  static_assert((kMaxWindow & (kMaxWindow - 1)) == 0 && kMaxWindow > 0);

  ConnectionIndex() : recent_(kMinWindow, nullptr), mask_(kMinWindow - 1) {}

  // The next id (ids start at 1 and are never reused). If the ring is full, its oldest id
  // moves out (to the hash set, if still indexed) or the ring grows.
  ConnectionId NextId() {
    if (next_id_ - first_recent_ == recent_.size()) MakeRoom();
    return ConnectionId{next_id_++};
  }
  // Indexes `record` under its id, which must be the id NextId returned last.
  void Insert(Record* record) {
    recent_[record->id.value & mask_] = record;
    ++recent_count_;
  }
  Record* Find(ConnectionId id) const {
    if (InRing(id)) return recent_[id.value & mask_];
    auto it = older_.find(id);
    return it == older_.end() ? nullptr : *it;
  }
  // Unindexes the record under `id`, which must be indexed.
  void Erase(ConnectionId id) {
    if (InRing(id)) {
      recent_[id.value & mask_] = nullptr;
      --recent_count_;
    } else {
      older_.erase(id);
    }
  }

  // Ids handed out so far are [1, next_id()).
  uint64_t next_id() const { return next_id_; }
  size_t size() const { return older_.size() + recent_count_; }
  // How many ids the ring holds now (kMinWindow to kMaxWindow).
  size_t window() const { return recent_.size(); }
  // Visits every record, in no particular order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (Record* record : older_) visit(record);
    for (Record* record : recent_) {
      if (record != nullptr) visit(record);
    }
  }

 private:
  bool InRing(ConnectionId id) const { return id.value >= first_recent_ && id.value < next_id_; }

  void MakeRoom() {
    Record*& oldest = recent_[first_recent_ & mask_];
    if (oldest != nullptr) {
      if (recent_.size() < kMaxWindow) {
        Grow();
        return;
      }
      older_.insert(oldest);
      --recent_count_;
      oldest = nullptr;
    }
    ++first_recent_;
  }

  // Doubles the ring; its ids keep their records.
  void Grow() {
    std::vector<Record*> grown(2 * recent_.size(), nullptr);
    const uint64_t grown_mask = grown.size() - 1;
    for (uint64_t id = first_recent_; id < next_id_; ++id) {
      grown[id & grown_mask] = recent_[id & mask_];
    }
    recent_.swap(grown);
    mask_ = grown_mask;
  }

  uint64_t next_id_ = 1;
  uint64_t first_recent_ = 1;    // the ring holds ids [first_recent_, next_id_)
  std::vector<Record*> recent_;  // the record of id i at i & mask_
  uint64_t mask_;
  size_t recent_count_ = 0;
  PointerIndex<Record, &Record::id> older_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONNECTION_INDEX_H_
