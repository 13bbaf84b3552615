#include "core/prune_index.h"

namespace connmgr {

void PruneIndex::Upsert(PruneEntry& entry, const PruneKey& key, PruneTier tier) {
  if (entry.tier == tier && (tier == PruneTier::kExempt || (entry.peer_value == key.peer_value &&
                                                            entry.streams == key.streams))) {
    return;
  }
  if (entry.tier != PruneTier::kExempt) {
    // By iterator: erasing by key goes through a general range erase.
    KeySet& set = Set(entry.tier);
    set.erase(set.find(entry.IndexedKey(key)));
  }
  entry = PruneEntry{key.peer_value, key.streams, tier};
  if (tier != PruneTier::kExempt) Set(tier).insert(key);
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

}  // namespace connmgr
