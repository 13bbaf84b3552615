// The connection manager's decision core: a deterministic state machine with no I/O.
//
//   absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(config);
//   absl::StatusOr<ConnectionId> id = (*core)->Handle(now, InboundConnection{remote, local});
//   while (std::optional<Output> out = (*core)->PollOutput()) carry_out(*out);
//   arm_timer((*core)->NextDeadline());          // then Handle(now, TimerExpired{}) when due
//
// The call contract (docs/design.md):
// - Every input goes through `Handle` with the caller's `now`. The core never reads a clock.
// - After each `Handle`, drain the outputs (`PollOutput` until empty, or `DrainOutputs`), then
//   re-arm one timer at `NextDeadline()`. While `max_output_queue` outputs wait undrained,
//   `Handle` refuses inputs with ResourceExhausted (nothing changes); a single input may push
//   the queue past the bound.
// - `now` earlier than a previous input's is treated as that previous instant (time never goes
//   back inside the core) and counted as a clock regression.
// - A misuse (unknown connection, wrong state, malformed value) returns a status and changes
//   nothing. Policy outcomes (reject, close) are outputs, never errors.
// - The same config and the same inputs give the same outputs, byte for byte.
#ifndef CONNMGR_CORE_CORE_H_
#define CONNMGR_CORE_CORE_H_

#include <algorithm>
#include <array>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/address_order.h"
#include "core/admission.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/connection_timers.h"
#include "core/dialer.h"
#include "core/gater.h"
#include "core/input.h"
#include "core/memory_ledger.h"
#include "core/metrics.h"
#include "core/outbox.h"
#include "core/output.h"
#include "core/peer_tags.h"
#include "core/pruner.h"
#include "core/reconnector.h"
#include "core/resource_scopes.h"
#include "core/streams.h"
#include "core/time.h"

namespace connmgr {

// The facade: dispatches each input to the part that owns its concern (docs/design.md, "The
// parts of the core"), owns the connection lifecycle the parts share (open, closing, closed, and
// each connection's timer), the output queue, the deadline and the metrics.
class Core : private DialerHost {
 public:
  // Fails with the config's validation status. `gater`, when given, is consulted at every
  // stage after the built-in rules (core/gater.h).
  // `address_order`, when given, replaces the default dial address order (a strict weak
  // order; it must be deterministic for traces to replay).
  static absl::StatusOr<std::unique_ptr<Core>> Create(
      Config config, std::shared_ptr<ConnectionGater> gater = nullptr,
      AddressLess address_order = nullptr);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Returns the connection the input created (InboundConnection, OutboundConnection) or
  // concerns; ConnectionId{} for TimerExpired.
  absl::StatusOr<ConnectionId> Handle(Instant now, const Input& input);

  // The next output, oldest first; nullopt when the queue is empty.
  std::optional<Output> PollOutput();
  // Hands every waiting output to `carry_out`, oldest first, and empties the queue: what
  // PollOutput returns, without moving each output out. `carry_out` must not call Handle (it
  // gets FailedPrecondition); keep what it needs and hand inputs in after. A template, so the
  // call to `carry_out` inlines: `void(const Output&)` is what it is called as.
  template <typename CarryOut>
  void DrainOutputs(CarryOut&& carry_out) {
    outbox_.Drain(carry_out);
  }
  size_t queued_outputs() const { return outbox_.size(); }

  // When the caller must hand in TimerExpired next; Instant::Never() when no timer is armed.
  Instant NextDeadline() const {
    return std::min(
        {timers_.Next(), pruner_.NextDeadline(), tags_.NextDeadline(), dialer_.NextDeadline()});
  }

  Metrics GetMetrics() const;
  const ConnectionTable& connections() const { return table_; }
  const PeerTags& tags() const { return tags_; }
  const Config& config() const { return config_; }
  const IpPrefixSet& allow_list() const { return admission_.allow_list(); }
  const IpPrefixSet& deny_list() const { return admission_.deny_list(); }
  bool IsPeerDenied(const PeerId& peer) const { return admission_.IsPeerDenied(peer); }

  // How the last dial to `peer` ended, while remembered (the latest max_backoff_entries
  // peers).
  using LastDial = Dialer::LastDial;
  std::optional<LastDial> LastDialOf(const PeerId& peer) const { return dialer_.LastDialOf(peer); }

 private:
  Core(Config config, std::shared_ptr<ConnectionGater> gater, AddressLess address_order);

  // The inputs the facade handles itself; every other kind has its part's handler.
  absl::StatusOr<ConnectionId> On(Instant now, const InboundConnection& in);
  absl::StatusOr<ConnectionId> On(Instant now, const OutboundConnection& in);
  absl::StatusOr<ConnectionId> On(Instant now, const ConnectionUpgraded& in);
  absl::StatusOr<ConnectionId> On(Instant now, const ConnectionSecured& in);
  absl::StatusOr<ConnectionId> On(Instant now, const TransportClosed& in);
  absl::StatusOr<ConnectionId> On(Instant now, const CloseRequest& in);
  absl::StatusOr<ConnectionId> On(Instant now, const TimerExpired& in);
  absl::StatusOr<ConnectionId> On(Instant now, const UpdateConfig& in);
  absl::StatusOr<ConnectionId> On(Instant now, const TrimOpenConnections& in);
  absl::StatusOr<ConnectionId> On(Instant now, const DenyAddress& in);
  absl::StatusOr<ConnectionId> On(Instant now, const UndenyAddress& in);
  absl::StatusOr<ConnectionId> On(Instant now, const AllowAddress& in);
  absl::StatusOr<ConnectionId> On(Instant now, const UnallowAddress& in);
  absl::StatusOr<ConnectionId> On(Instant now, const DenyPeer& in);
  absl::StatusOr<ConnectionId> On(Instant now, const UndenyPeer& in);
  absl::StatusOr<ConnectionId> On(Instant now, const SetPeerTag& in);
  absl::StatusOr<ConnectionId> On(Instant now, const AddToPeerTag& in);
  absl::StatusOr<ConnectionId> On(Instant now, const RemovePeerTag& in);
  absl::StatusOr<ConnectionId> On(Instant now, const ProtectPeer& in);
  absl::StatusOr<ConnectionId> On(Instant now, const UnprotectPeer& in);
  absl::StatusOr<ConnectionId> On(Instant now, const BumpPeerTag& in);
  absl::StatusOr<ConnectionId> On(Instant now, const RegisterDecayingTag& in);
  absl::StatusOr<ConnectionId> OnAllowListChange(Instant now, const IpPrefix& prefix, bool add);
  // Checks the peer, applies `change` (a PeerTags call returning a status), re-ranks the peer.
  template <typename TagInput, typename Change>
  absl::StatusOr<ConnectionId> OnPeerTagChange(Instant now, const TagInput& in, Change change);

  // DialerHost.
  bool AdmitDialled(Connection& c, const PeerId& peer, Instant now) override {
    return AdmitOutbound(c, peer, now);
  }
  void Finish(ConnectionId id, CloseReason reason) override;
  void Finish(Connection& c, CloseReason reason);

  // Gates, limits and scopes for a dialled, upgraded outbound connection; opens it or starts
  // closing it. Returns whether it opened.
  bool AdmitOutbound(Connection& c, const PeerId& peer, Instant now);
  void Open(Connection& c, const PeerId& peer, Instant now);
  void StartClosing(Connection& c, CloseReason reason, Instant now);
  // Emits ConnectionGated and closes the connection with reason denied.
  void CloseGated(Connection& c, GateStage stage, std::string rule, Instant now);
  // Releases whatever the connection holds in the resource scopes and the source limiter.
  void ReleaseScopes(Connection& c);
  // Closes the peer's open connections beyond max_connections_per_peer; `peer_connections` is how
  // many it has in the table in any state (ConnectionTable::Open's count).
  void EnforcePeerLimit(ConnectionId opened, const PeerId& peer, size_t peer_connections,
                        Instant now);
  // Closes what the pruner chose, when open connections exceed the high watermark.
  void MaybeTrim(Instant now, Pruner::TrimMode mode = Pruner::TrimMode::kOverHighWatermark);

  Config config_;
  Instant last_now_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  Outbox outbox_;
  ConnectionTable table_;
  PeerTags tags_;
  ResourceScopes scopes_;
  ConnectionTimers timers_;
  std::array<uint64_t, kCloseReasonCount> closed_by_reason_{};
  // The parts, each owning its concern's state.
  Admission admission_;
  Pruner pruner_;
  Streams streams_;
  MemoryLedger memory_;
  Dialer dialer_;
  Reconnector reconnector_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CORE_H_
