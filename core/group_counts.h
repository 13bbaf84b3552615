// GroupCounts: how many members each group has and, when ranked, the largest group of two or
// more found in O(log n). Groups are opaque 64-bit keys (a source subnet, a net group); a group
// with no member holds no entry, so memory follows the groups in use. Unranked counts keep no
// order: each change is one hash-map update. Ranked counts order only groups of two or more
// (a lone member's group changes no ranking anyone asks for), so a group that stays at one
// member costs one hash-map update too.
//
//   GroupCounts counts(GroupCounts::kRanked);
//   counts.Add(group);
//   if (auto largest = counts.Largest()) use(largest->group, largest->count);
//   counts.Remove(group);  // each Remove matches an earlier Add
#ifndef CONNMGR_CORE_GROUP_COUNTS_H_
#define CONNMGR_CORE_GROUP_COUNTS_H_

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "core/pooled_btree.h"

namespace connmgr {

class GroupCounts {
 public:
  struct Group {
    uint64_t group;
    uint32_t count;
  };

  enum Ranking : bool { kUnranked = false, kRanked = true };
  explicit GroupCounts(Ranking ranking) : ranked_(ranking) {}

  void Add(uint64_t group) { Move(group, +1); }
  void Remove(uint64_t group) { Move(group, -1); }

  uint32_t Count(uint64_t group) const {
    auto it = counts_.find(group);
    return it == counts_.end() ? 0 : it->second;
  }
  // The group with the most members if it has at least two; among equals, the highest key.
  // Ranked counts only (nullopt otherwise).
  std::optional<Group> Largest() const {
    if (by_count_.empty()) return std::nullopt;
    const auto& [count, group] = *by_count_.rbegin();
    return Group{group, count};
  }
  size_t size() const { return counts_.size(); }

 private:
  void Move(uint64_t group, int delta) {
    auto it = counts_.try_emplace(group, 0).first;
    uint32_t& count = it->second;
    if (ranked_ && count >= kRankedFrom) by_count_.erase({count, group});
    count = static_cast<uint32_t>(static_cast<int64_t>(count) + delta);
    if (count == 0) {
      counts_.erase(it);
    } else if (ranked_ && count >= kRankedFrom) {
      by_count_.insert({count, group});
    }
  }

  static constexpr uint32_t kRankedFrom = 2;

  bool ranked_;
  absl::flat_hash_map<uint64_t, uint32_t> counts_;  // looked up only, never iterated
  NodePool pool_;
  PooledBtreeSet<std::pair<uint32_t, uint64_t>> by_count_{&pool_};  // groups of two or more
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_GROUP_COUNTS_H_
