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

#include <array>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/address_order.h"
#include "core/black_hole.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/dial_backoff.h"
#include "core/dial_queue.h"
#include "core/dns_resolver.h"
#include "core/gater.h"
#include "core/input.h"
#include "core/ip_prefix_set.h"
#include "core/metrics.h"
#include "core/output.h"
#include "core/peer_tags.h"
#include "core/prune_index.h"
#include "core/random.h"
#include "core/resource_scopes.h"
#include "core/source_limiter.h"
#include "core/time.h"

namespace connmgr {

class Core {
 public:
  // Fails with the config's validation status. `gater`, when given, is consulted at every
  // stage after the built-in rules (core/gater.h).
  // `address_order`, when given, replaces the default dial address order (a strict weak
  // order; it must be deterministic for traces to replay).
  static absl::StatusOr<std::unique_ptr<Core>> Create(
      Config config, std::shared_ptr<ConnectionGater> gater = nullptr,
      AddressLess address_order = nullptr);

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
  const IpPrefixSet& allow_list() const { return allow_set_; }
  const IpPrefixSet& deny_list() const { return deny_set_; }
  bool IsPeerDenied(const PeerId& peer) const { return denied_peers_.contains(peer); }

  // How the last dial to `peer` ended, while remembered (the latest max_backoff_entries
  // peers).
  struct LastDial {
    Instant at;
    DialOutcome outcome;
    std::string detail;
  };
  std::optional<LastDial> LastDialOf(const PeerId& peer) const;

 private:
  Core(Config config, std::shared_ptr<ConnectionGater> gater, AddressLess address_order);

  absl::StatusOr<ConnectionId> OnInbound(Instant now, const InboundConnection& in);
  absl::StatusOr<ConnectionId> OnOutbound(Instant now, const OutboundConnection& in);
  absl::StatusOr<ConnectionId> OnUpgraded(Instant now, const ConnectionUpgraded& in);
  absl::StatusOr<ConnectionId> OnSecured(Instant now, const ConnectionSecured& in);
  // Runtime list changes.
  absl::StatusOr<ConnectionId> OnDenyAddress(Instant now, const IpPrefix& prefix);
  absl::StatusOr<ConnectionId> OnAllowListChange(Instant now, const IpPrefix& prefix, bool add);
  absl::StatusOr<ConnectionId> OnDenyPeer(Instant now, const PeerId& peer);
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
  // Gates, limits and scopes for a dialled, upgraded outbound connection; opens it or starts
  // closing it. Returns whether it opened.
  bool AdmitOutbound(Connection& c, const PeerId& peer, Instant now);
  void StartClosing(Connection& c, CloseReason reason, Instant now);
  void Finish(ConnectionId id, CloseReason reason);
  void Arm(Connection& c, Instant deadline);
  void Disarm(Connection& c);

  bool IsAllowListed(const std::optional<IpAddress>& ip) const;
  // The rule that denies this remote ("deny_list 10.0.0.0/8"), if any.
  std::optional<std::string> DeniedAddressRule(const std::optional<IpAddress>& ip) const;
  // The rule that denies a connection of `peer` at the secured stage, if any (denied peers,
  // then the gater unless `gater_passed`).
  std::optional<std::string> DeniedPeerRule(const Connection& c, const PeerId& peer,
                                            bool gater_passed) const;
  // Emits ConnectionGated and closes the connection with reason denied.
  void CloseGated(Connection& c, GateStage stage, std::string rule, Instant now);
  void EmitScopeDenied(ConnectionId id, const ScopeDenial& denial);
  // Releases whatever the connection holds in the resource scopes.
  void ReleaseScopes(const Connection& c);
  // Puts an open connection in its prune tier with its current key (or out of the index).
  void Reindex(Connection& c);
  void Unindex(Connection& c);
  // Counts the connection's net group among the prunable ones (+1 or -1).
  void CountPrunableGroup(const Connection& c, int delta);
  uint64_t GroupRank(uint64_t netgroup) const;
  void ReindexPeer(const PeerId& peer);
  // Closes one of the peer's connections while it has more than max_connections_per_peer open.
  void EnforcePeerLimit(ConnectionId opened, const PeerId& peer, Instant now);
  // Trims to the low watermark when open connections exceed the high watermark (and, by
  // closing busy ones too, to max_connections), at most once per silence period unless
  // `ignore_silence`.
  void MaybeTrim(Instant now, bool ignore_silence = false);
  absl::StatusOr<ConnectionId> OnUpdateConfig(Instant now, const Config& config);

  void Emit(Output output) { outputs_.push_back(std::move(output)); }
  void Count(Counter c, uint64_t n = 1) { counters_[static_cast<int>(c)] += n; }

  // --- Dialing (core_dial.cc) ---
  enum class DialTimerKind : uint8_t {
    kJoinerDeadline,     // id: the request
    kRankedNext,         // id: the dial job
    kReconnect,          // id: the reconnect
    kReconnectDeadline,  // id: the reconnect whose dial is in flight
  };
  struct DialJobResult {
    ConnectionId connection;
    DialOutcome outcome;
    std::string detail;
  };
  struct ReconnectState {
    uint64_t id;
    uint32_t attempt;  // 0 for the first dial
    Instant due;
    bool dialling;
  };
  absl::StatusOr<ConnectionId> OnDialRequest(Instant now, const DialRequest& in);
  absl::StatusOr<ConnectionId> OnCancelDial(Instant now, const CancelDial& in);
  absl::StatusOr<ConnectionId> OnDialSucceeded(Instant now, const DialSucceeded& in);
  absl::StatusOr<ConnectionId> OnDialFailed(Instant now, const DialFailed& in);
  absl::StatusOr<ConnectionId> OnDnsAnswered(Instant now, const DnsAnswered& in);
  absl::StatusOr<ConnectionId> OnDnsFailed(Instant now, const DnsFailed& in);
  absl::StatusOr<ConnectionId> OnSetPeerAddresses(Instant now, const SetPeerAddresses& in);
  // An open connection a dial to `peer` may reuse: direct first, lowest id; a relayed one only
  // when no direct address is wanted.
  std::optional<ConnectionId> ReusableConnection(const PeerId& peer,
                                                 absl::Span<const Multiaddr> wanted) const;
  std::optional<std::string> DialPeerRule(const PeerId& peer) const;
  // Starts queued jobs while parallel-dial slots are free.
  void PumpDialQueue(Instant now);
  // Emits the resolver's queries and feeds its finished resolutions to their jobs.
  void DrainDns(Instant now);
  void PlanDialJob(DialJob& job, Instant now);
  // Starts the job's next attempts (by strategy), or ends it when nothing is left.
  void DialNext(DialJob& job, Instant now);
  void StartAttempt(DialJob& job, PlannedAddress& planned, Instant now);
  void AttemptFailed(Connection& attempt, std::string error, Instant now);
  void MarkAttemptDone(DialJob& job, ConnectionId attempt);
  void RetryWaitingAttempts(Instant now);
  // Answers the job's joiners with `result` (none: they have all left), abandons its attempts
  // and removes it.
  void EndDialJob(DialJob& job, Instant now, std::optional<DialJobResult> result);
  void EmitDialResult(uint64_t request, const PeerId& peer, ConnectionId connection,
                      DialOutcome outcome, std::string detail);
  void FireDialTimers(Instant now);
  Instant NextDialDeadline() const;
  void MaybeStartReconnect(const PeerId& peer, Instant now);
  Duration ReconnectWait(uint32_t attempt);
  void ScheduleReconnect(const PeerId& peer, uint32_t attempt, Instant now, Duration wait);
  void FireReconnect(uint64_t id, Instant now);
  void HandleReconnectResults(Instant now);
  void EndReconnect(const PeerId& peer);

  // Whether one more stream fits on the connection (its own limit and its scopes).
  std::optional<StreamRejectReason> StreamRoom(const Connection& c, Direction direction,
                                               std::optional<ScopeDenial>* denial) const;

  Config config_;
  std::shared_ptr<ConnectionGater> gater_;
  AddressLess address_order_;
  IpPrefixSet allow_set_;
  IpPrefixSet deny_set_;
  absl::flat_hash_set<PeerId> denied_peers_;  // looked up only, never iterated
  SourceLimiter source_limiter_;
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
  // Dialing.
  DialQueue dial_queue_;
  DnsResolver dns_;
  DialBackoff dial_backoff_;
  BlackHoleDetector black_holes_;
  absl::btree_set<std::tuple<Instant, DialTimerKind, uint64_t>> dial_timers_;
  absl::flat_hash_map<uint64_t, DialJobId> dns_jobs_;  // resolver job → dial job
  uint64_t next_dns_job_ = 1;
  std::vector<DialJobId> pending_plans_;
  absl::btree_set<DialJobId> waiting_for_attempt_slot_;
  std::array<uint64_t, kDialOutcomeCount> dial_outcomes_{};
  struct LastDialEntry {
    LastDial dial;
    uint64_t sequence;
  };
  absl::flat_hash_map<PeerId, LastDialEntry> last_dials_;  // looked up only
  absl::btree_map<uint64_t, PeerId> last_dials_by_age_;    // oldest first
  uint64_t next_last_dial_ = 0;
  void RecordLastDial(const PeerId& peer, Instant at, DialOutcome outcome,
                      const std::string& detail);
  // Reconnects.
  absl::flat_hash_map<PeerId, std::vector<Multiaddr>> peer_addresses_;  // looked up only
  absl::flat_hash_map<PeerId, ReconnectState> reconnects_;              // looked up only
  absl::btree_map<uint64_t, PeerId> reconnect_peers_;
  absl::btree_set<std::pair<Instant, uint64_t>> reconnect_waiting_;
  std::deque<std::pair<PeerId, bool>> reconnect_results_;  // (peer, connected)
  uint64_t next_reconnect_id_ = 1;
  uint32_t reconnects_in_flight_ = 0;
  SplitMix64 rng_;  // seeded from random_seed: reconnect jitter
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
