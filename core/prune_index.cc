#include "core/prune_index.h"

namespace connmgr {

void PruneIndex::Upsert(ConnectionId id, const PruneKey& key, PruneTier tier) {
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    if (it->second.tier == tier && it->second.key == key) return;
    Set(it->second.tier).erase(it->second.key);
    if (tier == PruneTier::kExempt) {
      entries_.erase(it);
      return;
    }
    it->second = Entry{key, tier};
  } else {
    if (tier == PruneTier::kExempt) return;
    entries_.emplace(id, Entry{key, tier});
  }
  Set(tier).insert(key);
}

std::vector<ConnectionId> PruneIndex::First(PruneTier tier, size_t count) const {
  std::vector<ConnectionId> out;
  if (count == 0) return out;
  Walk(tier, [&](ConnectionId id) {
    out.push_back(id);
    return out.size() < count;
  });
  return out;
}

PruneTier PruneIndex::tier(ConnectionId id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? PruneTier::kExempt : it->second.tier;
}

}  // namespace connmgr
