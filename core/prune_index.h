// The order in which open connections are pruned, kept up to date as they change.
//
// Every prunable connection has a key; the first key is closed first:
//   1. lower peer value (the sum of the peer's tags),
//   2. fewer open streams,
//   3. inbound before outbound,
//   4. newer before older (later opened_at),
//   5. higher connection id before lower (the final, total tie-break).
// Connections sit in one of two tiers: `kIdle` (only closable streams, if any) is trimmed down
// to the low watermark; `kBusy` (a stream on a non-closable protocol) is touched only to get
// back under the hard limit. Connections that must never be pruned (protected peer,
// allow-listed remote, grace period) are not in the index at all, so choosing k victims costs
// O(k log k) however many connections are exempt.
//
// Each tier is a 4-ary heap: a connection opens, closes and re-ranks thousands of times for
// every trim, and a heap takes a random insertion or removal in O(1) expected moves (O(log n)
// at worst), where an ordered tree searches and shifts on every one; a trim reads its victims
// off the heap in order without taking them out.
//
//   PruneIndex index;
//   PruneEntry entry;  // the connection's place in the index, kept in its record
//   index.Upsert(entry, PruneKey{value, streams, Direction::kInbound, opened_at, id},
//                PruneTier::kIdle);
//   std::vector<ConnectionId> victims = index.First(PruneTier::kIdle, 3);
//   index.Erase(entry);  // when the connection closes or becomes exempt
//
// The index points at each entry: an entry must stay where it is while it is indexed.
#ifndef CONNMGR_CORE_PRUNE_INDEX_H_
#define CONNMGR_CORE_PRUNE_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/indexed_heap.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

struct PruneKey {
  int64_t peer_value = 0;
  uint32_t streams = 0;
  Direction direction = Direction::kInbound;
  Instant opened_at;
  ConnectionId id;

  friend bool operator==(const PruneKey&, const PruneKey&) = default;
  // True if `a` is pruned before `b`.
  friend bool operator<(const PruneKey& a, const PruneKey& b) {
    if (a.peer_value != b.peer_value) return a.peer_value < b.peer_value;
    if (a.streams != b.streams) return a.streams < b.streams;
    if (a.direction != b.direction) return a.direction == Direction::kInbound;
    if (a.opened_at != b.opened_at) return a.opened_at > b.opened_at;
    return a.id > b.id;
  }
};

enum class PruneTier : uint8_t { kExempt, kIdle, kBusy };

// Where one connection stands in the index. Its owner keeps it (in the connection's record);
// the index keeps the key and a pointer back here, so it must not move while indexed.
struct PruneEntry {
  uint32_t slot = 0;  // its place in its tier's heap
  PruneTier tier = PruneTier::kExempt;
};

class PruneIndex {
 public:
  PruneIndex() = default;
  PruneIndex(const PruneIndex&) = delete;
  PruneIndex& operator=(const PruneIndex&) = delete;

  // Inserts, moves or (with kExempt) removes the connection `entry` belongs to, under `key`.
  void Upsert(PruneEntry& entry, const PruneKey& key, PruneTier tier);
  void Erase(PruneEntry& entry);

  // Up to `count` connections of `tier` in prune order.
  std::vector<ConnectionId> First(PruneTier tier, size_t count) const;
  // Calls `visit(id)` for the connections of `tier` in prune order until it returns false;
  // `visit` must not change the index. `expected`, how many the caller means to visit, sizes the
  // walk's scratch space at once: a trim of k then allocates once, not log k times.
  template <typename Visit>
  void Walk(PruneTier tier, Visit visit, size_t expected = 0) const {
    if (tier == PruneTier::kExempt) return;
    Heap(tier).VisitInOrder(
        frontier_, [&](const Ranked& r) { return visit(r.key.id()); }, expected);
  }

  size_t size(PruneTier tier) const { return tier == PruneTier::kExempt ? 0 : Heap(tier).size(); }

 private:
  // A PruneKey as four words that order as unsigned integers, most significant first, so one
  // comparison is a few flag operations and no branch.
  struct SortKey {
    uint64_t words[4];

    static SortKey Of(const PruneKey& key) {
      constexpr uint64_t kSign = uint64_t{1} << 63;
      return SortKey{{static_cast<uint64_t>(key.peer_value) ^ kSign,
                      (uint64_t{key.streams} << 1) | (key.direction == Direction::kOutbound),
                      ~(static_cast<uint64_t>(key.opened_at.nanoseconds()) ^ kSign),
                      ~key.id.value}};
    }
    ConnectionId id() const { return ConnectionId{~words[3]}; }
    friend bool operator==(const SortKey&, const SortKey&) = default;
  };
  struct Ranked {
    SortKey key;
    PruneEntry* entry;
  };
  struct PrunedFirst {
    bool operator()(const Ranked& a, const Ranked& b) const {
      // Bitwise & and | on purpose: no short circuit, so no branch.
      bool less = a.key.words[3] < b.key.words[3];
      less = (a.key.words[2] < b.key.words[2]) | ((a.key.words[2] == b.key.words[2]) & less);
      less = (a.key.words[1] < b.key.words[1]) | ((a.key.words[1] == b.key.words[1]) & less);
      return (a.key.words[0] < b.key.words[0]) | ((a.key.words[0] == b.key.words[0]) & less);
    }
  };
  struct SlotOf {
    uint32_t& operator()(const Ranked& r) const { return r.entry->slot; }
  };
  using TierHeap = IndexedHeap<Ranked, PrunedFirst, SlotOf, /*kArity=*/4>;

  const TierHeap& Heap(PruneTier tier) const { return tier == PruneTier::kBusy ? busy_ : idle_; }
  TierHeap& Heap(PruneTier tier) { return tier == PruneTier::kBusy ? busy_ : idle_; }

  TierHeap idle_;
  TierHeap busy_;
  mutable std::vector<uint32_t> frontier_;  // Walk's scratch space
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PRUNE_INDEX_H_
