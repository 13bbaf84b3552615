#include "core/pruner.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "core/random.h"

namespace connmgr {

void Pruner::Reindex(Connection& c) { Reindex(c, tags_.StandingOf(c.peer)); }

void Pruner::Reindex(Connection& c, const PeerTags::Standing& standing) {
  PruneTier tier = PruneTier::kExempt;
  if (c.state == ConnectionState::kOpen && !c.allow_listed && !c.in_grace &&
      !standing.is_protected) {
    tier = c.busy_streams > 0 ? PruneTier::kBusy : PruneTier::kIdle;
  }
  const bool was_prunable = c.prune.tier != PruneTier::kExempt;
  const bool prunable = tier != PruneTier::kExempt;
  if (was_prunable != prunable) CountPrunableGroup(c, prunable ? +1 : -1);
  prune_index_.Upsert(
      c.prune, PruneKey{standing.value, c.stream_count(), c.direction, c.opened_at, c.id}, tier);
}

void Pruner::Unindex(Connection& c) {
  if (c.prune.tier != PruneTier::kExempt) CountPrunableGroup(c, -1);
  prune_index_.Erase(c.prune);
}

void Pruner::ReindexPeer(const PeerId& peer) {
  const absl::Span<const ConnectionId> connections = table_.PeerConnections(peer);
  if (connections.empty()) return;
  const PeerTags::Standing standing = tags_.StandingOf(peer);
  for (ConnectionId id : connections) Reindex(*table_.Find(id), standing);
}

void Pruner::CountPrunableGroup(const Connection& c, int delta) {
  if (config_.diversity_protected_connections == 0) return;
  auto [it, inserted] = prunable_groups_.try_emplace({GroupRank(c.netgroup()), c.netgroup()}, 0);
  it->second += delta;
  if (it->second == 0) prunable_groups_.erase(it);
}

uint64_t Pruner::GroupRank(uint64_t netgroup) const {
  // Keyed by the configured seed, so which groups are kept cannot be read off the addresses.
  return Mix64(Mix64(netgroup ^ config_.random_seed) + config_.random_seed);
}

std::optional<ConnectionId> Pruner::EvictionVictim(uint64_t netgroup) const {
  const uint32_t newcomers = table_.OpenInboundInNetGroup(netgroup);
  for (ConnectionId id : prune_index_.First(PruneTier::kIdle, kEvictionCandidates)) {
    const Connection& c = *table_.Find(id);
    if (c.direction == Direction::kInbound &&
        table_.OpenInboundInNetGroup(c.netgroup()) >= newcomers + 2) {
      return id;
    }
  }
  return std::nullopt;
}

absl::Span<const ConnectionId> Pruner::ChooseTrim(Instant now, TrimMode mode) {
  const uint64_t open = table_.open_count();
  const uint64_t threshold = mode == TrimMode::kToLowWatermarkNow
                                 ? config_.effective_low_watermark()
                                 : config_.effective_high_watermark();
  if (open <= threshold) return {};
  if (mode == TrimMode::kOverHighWatermark && now < last_trim_ + config_.silence_period) {
    trim_deadline_ = last_trim_ + config_.silence_period;
    return {};
  }
  const uint64_t low = config_.effective_low_watermark();
  // Diversity protection: the first `diversity_protected_connections` net groups by keyed rank
  // each keep their last prunable connection (the one ranked to be pruned last).
  std::vector<std::pair<uint64_t, uint64_t>>& protected_left = protected_left_;
  protected_left.clear();
  for (const auto& [rank_and_group, count] : prunable_groups_) {
    if (protected_left.size() == config_.diversity_protected_connections) break;
    protected_left.emplace_back(rank_and_group.second, count);
  }
  std::sort(protected_left.begin(), protected_left.end());
  std::vector<ConnectionId>& chosen = chosen_;
  chosen.clear();
  // At most this many can be taken: one allocation for a trim of k, none once grown.
  chosen.reserve(std::min<uint64_t>(
      open - low, prune_index_.size(PruneTier::kIdle) + prune_index_.size(PruneTier::kBusy)));
  auto choose_until = [&](PruneTier tier, uint64_t wanted) {
    if (chosen.size() >= wanted) return;
    prune_index_.Walk(
        tier,
        [&](ConnectionId id) {
          const uint64_t netgroup = table_.Find(id)->netgroup();
          auto group = std::lower_bound(protected_left.begin(), protected_left.end(),
                                        std::make_pair(netgroup, uint64_t{0}));
          if (group != protected_left.end() && group->first == netgroup) {
            if (group->second == 1) return true;  // the group's survivor: skip it
            --group->second;
          }
          chosen.push_back(id);
          return chosen.size() < wanted;
        },
        wanted - chosen.size());
  };
  choose_until(PruneTier::kIdle, open - low);
  const size_t idle_chosen = chosen.size();
  if (open > config_.max_connections) {
    choose_until(PruneTier::kBusy, open - config_.max_connections);
  }
  if (chosen.empty()) return {};
  last_trim_ = now;
  trim_deadline_ = Instant::Never();
  ConnectionsPruned event{open, low, {}};
  event.pruned.reserve(chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Connection& c = *table_.Find(chosen[i]);
    event.pruned.push_back(
        PrunedConnection{c.id, c.peer, tags_.Value(c.peer), c.stream_count(), i >= idle_chosen});
  }
  outbox_.Count(Counter::kTrims);
  outbox_.Count(Counter::kPruned, chosen.size());
  outbox_.Emit(std::move(event));
  return chosen;
}

ConnectionId Pruner::PeerLimitVictim(ConnectionId opened, const PeerId& peer) const {
  // Idle connections other than the one just opened go first; then idle before busy; then
  // relayed before direct, fewer streams, oldest, lowest id.
  auto rank = [](const Connection& c) {
    return std::make_tuple(c.stream_count() > 0, !c.relayed, c.stream_count(), c.opened_at, c.id);
  };
  const Connection* victim = nullptr;
  bool victim_is_idle_other = false;
  for (ConnectionId id : table_.PeerConnections(peer)) {
    const Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kOpen) continue;
    const bool idle_other = c.id != opened && c.stream_count() == 0;
    if (victim == nullptr || idle_other > victim_is_idle_other ||
        (idle_other == victim_is_idle_other && rank(c) < rank(*victim))) {
      victim = &c;
      victim_is_idle_other = idle_other;
    }
  }
  return victim->id;
}

void Pruner::ConfigChanged(bool diversity_was_on) {
  if (diversity_was_on == (config_.diversity_protected_connections != 0)) return;
  // Group counts are kept only while diversity protection is on: rebuild them.
  prunable_groups_.clear();
  for (PruneTier tier : {PruneTier::kIdle, PruneTier::kBusy}) {
    prune_index_.Walk(tier, [&](ConnectionId id) {
      CountPrunableGroup(*table_.Find(id), +1);
      return true;
    });
  }
}

}  // namespace connmgr
