// PendingShares: the fair-share bookkeeping of pending inbound connections (`pending_fair_share`):
// how many each source group (a /24 or /48) has, and the oldest connection of the largest group
// of two or more — the one a newcomer from a rarer group displaces.
//
// Most groups hold a single pending connection at a time, and a lone member is never a
// victim, so a group of one is one hash-map entry holding its member's id. Only groups of two
// or more are ranked by size and keep their members in id order (B-trees, O(log n)).
//
//   PendingShares shares;
//   shares.Add(group, id);
//   if (auto v = shares.Victim(shares.Count(newcomer_group) + 2)) evict(*v);
//   shares.Remove(group, id);  // each Remove matches an earlier Add
#ifndef CONNMGR_CORE_PENDING_SHARES_H_
#define CONNMGR_CORE_PENDING_SHARES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/pooled_btree.h"
#include "core/types.h"

namespace connmgr {

class PendingShares {
 public:
  void Add(uint64_t group, ConnectionId id) {
    Share& share = shares_[group];
    if (share.count == 0) {
      share = Share{1, id};
      return;
    }
    if (share.count == 1) {
      members_.insert({group, share.lone});
    } else {
      by_size_.erase({share.count, group});
    }
    members_.insert({group, id});
    by_size_.insert({++share.count, group});
  }

  void Remove(uint64_t group, ConnectionId id) {
    auto it = shares_.find(group);
    Share& share = it->second;
    if (share.count == 1) {
      shares_.erase(it);
      return;
    }
    by_size_.erase({share.count, group});
    members_.erase({group, id});
    if (--share.count == 1) {
      auto last = members_.lower_bound({group, ConnectionId{}});
      share.lone = last->second;
      members_.erase(last);
    } else {
      by_size_.insert({share.count, group});
    }
  }

  uint32_t Count(uint64_t group) const {
    auto it = shares_.find(group);
    return it == shares_.end() ? 0 : it->second.count;
  }

  // The oldest (lowest id) connection of the largest group if that group has at least
  // `min_size` members (and two in any case); among groups of equal size, the highest key's.
  std::optional<ConnectionId> Victim(uint32_t min_size) const {
    if (by_size_.empty()) return std::nullopt;
    const auto& [size, group] = *by_size_.rbegin();
    if (size < min_size) return std::nullopt;
    return members_.lower_bound({group, ConnectionId{}})->second;
  }

  size_t groups() const { return shares_.size(); }

 private:
  struct Share {
    uint32_t count = 0;
    ConnectionId lone;  // the member, while count is 1
  };

  absl::flat_hash_map<uint64_t, Share> shares_;  // looked up only, never iterated
  NodePool pool_;
  PooledBtreeSet<std::pair<uint32_t, uint64_t>> by_size_{&pool_};      // groups of two or more
  PooledBtreeSet<std::pair<uint64_t, ConnectionId>> members_{&pool_};  // their (group, id)
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PENDING_SHARES_H_
