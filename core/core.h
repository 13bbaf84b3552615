// The connection manager's decision core: a deterministic state machine with no I/O.
//
//   absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(config);
//   absl::StatusOr<ConnectionId> id = (*core)->Handle(now, InboundConnection{remote, local});
//   while (std::optional<Output> out = (*core)->PollOutput()) carry_out(*out);
//   arm_timer((*core)->NextDeadline());          // then Handle(now, TimerExpired{}) when due
//
// The call contract (docs/design.md):
// - Every input goes through `Handle` with the caller's `now`. The core never reads a clock.
// - After each `Handle`, drain `PollOutput` until empty, then re-arm one timer at
//   `NextDeadline()`. While `max_output_queue` outputs wait undrained, `Handle` refuses inputs
//   with ResourceExhausted (nothing changes); a single input may push the queue past the bound.
// - `now` earlier than a previous input's is treated as that previous instant (time never goes
//   back inside the core) and counted as a clock regression.
// - A misuse (unknown connection, wrong state, malformed value) returns a status and changes
//   nothing. Policy outcomes (reject, close) are outputs, never errors.
// - The same config and the same inputs give the same outputs, byte for byte.
#ifndef CONNMGR_CORE_CORE_H_
#define CONNMGR_CORE_CORE_H_

#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/input.h"
#include "core/metrics.h"
#include "core/output.h"
#include "core/peer_tags.h"
#include "core/prune_index.h"
#include "core/resource_scopes.h"
#include "core/time.h"

namespace connmgr {

class Core {
 public:
  // Fails with the config's validation status.
  static absl::StatusOr<std::unique_ptr<Core>> Create(Config config);

  // Returns the connection the input created (InboundConnection, OutboundConnection) or
  // concerns; ConnectionId{} for TimerExpired.
  absl::StatusOr<ConnectionId> Handle(Instant now, const Input& input);

  // The next output, oldest first; nullopt when the queue is empty.
  std::optional<Output> PollOutput();
  size_t queued_outputs() const { return outputs_.size(); }

  // When the caller must hand in TimerExpired next; Instant::Never() when no timer is armed.
  Instant NextDeadline() const;

  Metrics GetMetrics() const;
  const ConnectionTable& connections() const { return table_; }
  const PeerTags& tags() const { return tags_; }
  const Config& config() const { return config_; }

 private:
  explicit Core(Config config);

  absl::StatusOr<ConnectionId> OnInbound(Instant now, const InboundConnection& in);
  absl::StatusOr<ConnectionId> OnOutbound(Instant now, const OutboundConnection& in);
  absl::StatusOr<ConnectionId> OnUpgraded(Instant now, const ConnectionUpgraded& in);
  absl::StatusOr<ConnectionId> OnTransportClosed(Instant now, const TransportClosed& in);
  absl::StatusOr<ConnectionId> OnCloseRequest(Instant now, const CloseRequest& in);
  absl::StatusOr<ConnectionId> OnStreamOpened(Instant now, const StreamOpened& in);
  absl::StatusOr<ConnectionId> OnStreamClosed(Instant now, const StreamClosed& in);
  absl::StatusOr<ConnectionId> OnPlaceStream(const PlaceStream& in);
  absl::StatusOr<ConnectionId> OnReserveMemory(const ReserveMemory& in);
  absl::StatusOr<ConnectionId> OnReleaseMemory(const ReleaseMemory& in);
  absl::StatusOr<ConnectionId> OnTimerExpired(Instant now);
  // Checks the peer, applies `change` (a PeerTags call returning a status), re-ranks the peer.
  template <typename TagInput, typename Change>
  absl::StatusOr<ConnectionId> OnPeerTagChange(Instant now, const TagInput& in, Change change);

  // Looks up a live connection; the status names the input and says if the id is stale.
  absl::StatusOr<Connection*> FindLive(absl::string_view input, ConnectionId id);
  void Open(Connection& c, const PeerId& peer, Instant now);
  void StartClosing(Connection& c, CloseReason reason, Instant now);
  void Finish(ConnectionId id, CloseReason reason);
  void Arm(Connection& c, Instant deadline);
  void Disarm(Connection& c);

  bool IsAllowListed(const Multiaddr& remote) const;
  void EmitScopeDenied(ConnectionId id, const ScopeDenial& denial);
  // Releases whatever the connection holds in the resource scopes.
  void ReleaseScopes(const Connection& c);
  // Puts an open connection in its prune tier with its current key (or out of the index).
  void Reindex(const Connection& c);
  void Unindex(const Connection& c);
  // Counts the connection's net group among the prunable ones (+1 or -1).
  void CountPrunableGroup(const Connection& c, int delta);
  uint64_t GroupRank(uint64_t netgroup) const;
  void ReindexPeer(const PeerId& peer);
  // Closes one of the peer's connections while it has more than max_connections_per_peer open.
  void EnforcePeerLimit(ConnectionId opened, const PeerId& peer, Instant now);
  // Trims to the low watermark when open connections exceed the high watermark.
  void MaybeTrim(Instant now);

  void Emit(Output output) { outputs_.push_back(std::move(output)); }
  void Count(Counter c, uint64_t n = 1) { counters_[static_cast<int>(c)] += n; }

  // Whether one more stream fits on the connection (its own limit and its scopes).
  std::optional<StreamRejectReason> StreamRoom(const Connection& c, Direction direction,
                                               std::optional<ScopeDenial>* denial) const;

  Config config_;
  Instant last_now_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  ConnectionTable table_;
  PeerTags tags_;
  ResourceScopes scopes_;
  PruneIndex prune_index_;
  // Net groups of prunable connections, ordered by their keyed rank: (rank, group) → count.
  absl::btree_map<std::pair<uint64_t, uint64_t>, uint64_t> prunable_groups_;
  Instant last_trim_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  Instant trim_deadline_ = Instant::Never();  // a trim held back by the silence period
  absl::btree_set<std::pair<Instant, ConnectionId>> timers_;  // ties: lower id first
  // Round-robin stream placement: the connection each connected peer was last given.
  absl::flat_hash_map<PeerId, ConnectionId> round_robin_cursor_;
  uint64_t transient_memory_bytes_ = 0;  // reserved with ConnectionId{}
  std::deque<Output> outputs_;
  std::array<uint64_t, kCounterCount> counters_{};
  std::array<uint64_t, kRejectReasonCount> rejected_by_reason_{};
  std::array<uint64_t, kCloseReasonCount> closed_by_reason_{};
  std::array<uint64_t, kStreamRejectReasonCount> streams_rejected_by_reason_{};
  std::array<uint64_t, kPlacementOutcomeCount> placements_by_outcome_{};
  uint64_t memory_bytes_ = 0;  // every ReserveMemory granted and not released
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CORE_H_
