// GroupCounts: how many members each group has. Groups are opaque 64-bit keys (a net group, a
// source subnet); a group with no member holds no entry, so memory follows the groups in use,
// and each change is one hash-map update.
//
//   GroupCounts counts;
//   counts.Add(group);
//   uint32_t n = counts.Count(group);
//   counts.Remove(group);  // each Remove matches an earlier Add
#ifndef CONNMGR_CORE_GROUP_COUNTS_H_
#define CONNMGR_CORE_GROUP_COUNTS_H_

#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"

namespace connmgr {

class GroupCounts {
 public:
  void Add(uint64_t group) { ++counts_[group]; }
  void Remove(uint64_t group) {
    auto it = counts_.find(group);
    if (--it->second == 0) counts_.erase(it);
  }

  uint32_t Count(uint64_t group) const {
    auto it = counts_.find(group);
    return it == counts_.end() ? 0 : it->second;
  }
  size_t size() const { return counts_.size(); }

 private:
  absl::flat_hash_map<uint64_t, uint32_t> counts_;  // looked up only, never iterated
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_GROUP_COUNTS_H_
