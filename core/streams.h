// Streams and stream placement (docs/design.md, "Streams"): counts the streams the caller
// reports on each connection against max_streams_per_connection and the resource scopes,
// refuses the ones that do not fit (ResetStream), and answers PlaceStream (round-robin or
// least-loaded, direct before relayed).
#ifndef CONNMGR_CORE_STREAMS_H_
#define CONNMGR_CORE_STREAMS_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/input.h"
#include "core/metrics.h"
#include "core/outbox.h"
#include "core/pruner.h"
#include "core/resource_scopes.h"

namespace connmgr {

class Streams {
 public:
  // Every argument is the core's own and outlives this object.
  Streams(const Config& config, ConnectionTable& table, ResourceScopes& scopes, Pruner& pruner,
          Outbox& outbox)
      : config_(config), table_(table), scopes_(scopes), pruner_(pruner), outbox_(outbox) {}

  absl::StatusOr<ConnectionId> On(Instant now, const StreamOpened& in);
  absl::StatusOr<ConnectionId> On(Instant now, const StreamClosed& in);
  absl::StatusOr<ConnectionId> On(Instant now, const PlaceStream& in);

  // The peer's last connection is gone: forget its round-robin cursor.
  void PeerGone(const PeerId& peer) {
    if (!round_robin_cursor_.empty()) round_robin_cursor_.erase(peer);
  }
  void AddMetrics(Metrics& m) const;

 private:
  // Whether one more stream fits on the connection (its own limit and its scopes).
  std::optional<StreamRejectReason> Room(const Connection& c, Direction direction,
                                         std::optional<ScopeDenial>* denial) const;

  const Config& config_;
  ConnectionTable& table_;
  ResourceScopes& scopes_;
  Pruner& pruner_;
  Outbox& outbox_;
  // Round-robin stream placement: the connection each connected peer was last given.
  absl::flat_hash_map<PeerId, ConnectionId> round_robin_cursor_;
  std::array<uint64_t, kStreamRejectReasonCount> streams_rejected_by_reason_{};
  std::array<uint64_t, kPlacementOutcomeCount> placements_by_outcome_{};
};

// Emits the ScopeDenied event for a scope's refusal.
void EmitScopeDenied(Outbox& outbox, ConnectionId id, const ScopeDenial& denial);

}  // namespace connmgr

#endif  // CONNMGR_CORE_STREAMS_H_
