#include "core/prune_index.h"

namespace connmgr {

void PruneIndex::Upsert(PruneEntry& entry, const PruneKey& key, PruneTier tier) {
  if (tier == PruneTier::kExempt) return Erase(entry);
  const Ranked ranked{SortKey::Of(key), &entry};
  if (entry.tier == tier) {
    if (Heap(tier).at(entry.slot).key == ranked.key) return;
    Heap(tier).Replace(entry.slot, ranked);
    return;
  }
  Erase(entry);
  entry.tier = tier;
  Heap(tier).Push(ranked);
}

void PruneIndex::Erase(PruneEntry& entry) {
  if (entry.tier == PruneTier::kExempt) return;
  Heap(entry.tier).Erase(entry.slot);
  entry = PruneEntry{};
}

std::vector<ConnectionId> PruneIndex::First(PruneTier tier, size_t count) const {
  std::vector<ConnectionId> out;
  if (count == 0) return out;
  Walk(
      tier,
      [&](ConnectionId id) {
        out.push_back(id);
        return out.size() < count;
      },
      count);
  return out;
}

}  // namespace connmgr
