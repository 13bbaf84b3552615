// Pruning (docs/design.md, "Pruning"): keeps every open connection in its prune tier with its
// current key, counts prunable connections per net group for diversity protection, and decides
// trims (to the low watermark, at most once per silence period) and per-peer limit victims.
// It chooses; the core closes what it chose.
#ifndef CONNMGR_CORE_PRUNER_H_
#define CONNMGR_CORE_PRUNER_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/types/span.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/outbox.h"
#include "core/peer_tags.h"
#include "core/prune_index.h"
#include "core/time.h"

namespace connmgr {

class Pruner {
 public:
  // Every argument is the core's own and outlives this object.
  Pruner(const Config& config, ConnectionTable& table, const PeerTags& tags, Outbox& outbox)
      : config_(config), table_(table), tags_(tags), outbox_(outbox) {}

  // Puts the connection in its prune tier with its current key (or out of the index).
  void Reindex(Connection& c);
  void Unindex(Connection& c);
  void ReindexPeer(const PeerId& peer);

  enum class TrimMode : uint8_t {
    kOverHighWatermark,  // when open connections exceed the high watermark, once per silence
                         // period (a trim held back by it is due at NextDeadline())
    kLimitLowered,       // the same, ignoring the silence period (UpdateConfig lowered a limit)
    kToLowWatermarkNow,  // when they exceed the low watermark, ignoring the silence period
  };
  // Chooses what to close to get to the low watermark (and, by choosing busy ones too, to
  // max_connections), emits ConnectionsPruned and returns the choice in prune order; nothing
  // when `mode`'s threshold is not exceeded. The span is valid until the next call.
  absl::Span<const ConnectionId> ChooseTrim(Instant now,
                                            TrimMode mode = TrimMode::kOverHighWatermark);

  // Which of the peer's open connections to close while it has more than
  // max_connections_per_peer open, `opened` being the one that just opened.
  ConnectionId PeerLimitVictim(ConnectionId opened, const PeerId& peer) const;

  // The connection a new inbound one from `netgroup` may displace when the table is full
  // (inbound_eviction): the first, in prune order, of the first kEvictionCandidates idle
  // prunable connections that is inbound and whose net group holds at least two more open
  // inbound connections than `netgroup`.
  static constexpr size_t kEvictionCandidates = 64;
  std::optional<ConnectionId> EvictionVictim(uint64_t netgroup) const;

  Instant NextDeadline() const { return trim_deadline_; }
  // The clock reached `now`: a held-back trim's deadline has passed.
  void AdvanceTo(Instant now) {
    if (trim_deadline_ <= now) trim_deadline_ = Instant::Never();
  }
  // The config changed (UpdateConfig): group counts follow diversity protection on or off.
  void ConfigChanged(bool diversity_was_on);

 private:
  // Reindex, with the standing of the connection's peer already looked up.
  void Reindex(Connection& c, const PeerTags::Standing& standing);
  // Counts the connection's net group among the prunable ones (+1 or -1).
  void CountPrunableGroup(const Connection& c, int delta);
  uint64_t GroupRank(uint64_t netgroup) const;

  const Config& config_;
  ConnectionTable& table_;
  const PeerTags& tags_;
  Outbox& outbox_;
  PruneIndex prune_index_;
  // Net groups of prunable connections, ordered by their keyed rank: (rank, group) → count.
  absl::btree_map<std::pair<uint64_t, uint64_t>, uint64_t> prunable_groups_;
  Instant last_trim_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  Instant trim_deadline_ = Instant::Never();  // a trim held back by the silence period
  std::vector<ConnectionId> chosen_;          // the last trim's choice (its buffer is reused)
  // A trim's protected net groups, sorted: (group, connections it may still lose + 1). Kept
  // between trims so its buffer is reused.
  std::vector<std::pair<uint64_t, uint64_t>> protected_left_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PRUNER_H_
