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
// O(k log n) however many connections are exempt.
//
//   PruneIndex index;
//   PruneEntry entry;  // the connection's place in the index, kept in its record
//   index.Upsert(entry, PruneKey{value, streams, Direction::kInbound, opened_at, id},
//                PruneTier::kIdle);
//   std::vector<ConnectionId> victims = index.First(PruneTier::kIdle, 3);
//   index.Erase(entry, key);  // when the connection closes or becomes exempt
//
// A connection's direction, opened_at and id never change while it is indexed, so its entry
// keeps only the parts that do (value, streams) and every call passes the rest in the key.
#ifndef CONNMGR_CORE_PRUNE_INDEX_H_
#define CONNMGR_CORE_PRUNE_INDEX_H_

#include <cstdint>
#include <vector>

#include "core/pooled_btree.h"
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

// Where one connection stands in the index. Its owner keeps it (in the connection's record),
// so the index holds nothing per connection but the ordered keys.
struct PruneEntry {
  int64_t peer_value = 0;  // as indexed
  uint32_t streams = 0;    // as indexed
  PruneTier tier = PruneTier::kExempt;

  // The key it is indexed under, given the connection's fixed parts (in `now`).
  PruneKey IndexedKey(const PruneKey& now) const {
    return PruneKey{peer_value, streams, now.direction, now.opened_at, now.id};
  }
};

class PruneIndex {
 public:
  // Inserts, moves or (with kExempt) removes the connection `entry` belongs to. `key` carries
  // the connection's direction, opened_at and id (the same on every call) and its new value and
  // stream count.
  void Upsert(PruneEntry& entry, const PruneKey& key, PruneTier tier);
  void Erase(PruneEntry& entry, const PruneKey& key) { Upsert(entry, key, PruneTier::kExempt); }

  // Up to `count` connections of `tier` in prune order.
  std::vector<ConnectionId> First(PruneTier tier, size_t count) const;
  // Calls `visit(id)` for the connections of `tier` in prune order until it returns false.
  template <typename Visit>
  void Walk(PruneTier tier, Visit visit) const {
    if (tier == PruneTier::kExempt) return;
    for (const PruneKey& key : Set(tier)) {
      if (!visit(key.id)) return;
    }
  }

  size_t size(PruneTier tier) const { return Set(tier).size(); }

 private:
  // Nodes of 1 KiB (31 keys): a million connections fit in four levels instead of the seven or
  // eight of absl's default nodes, so a re-rank misses the cache fewer times.
  using KeySet = WidePooledBtreeSet<PruneKey, 1024>;

  const KeySet& Set(PruneTier tier) const { return tier == PruneTier::kBusy ? busy_ : idle_; }
  KeySet& Set(PruneTier tier) { return tier == PruneTier::kBusy ? busy_ : idle_; }

  NodePool pool_;
  KeySet idle_{&pool_};
  KeySet busy_{&pool_};
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PRUNE_INDEX_H_
