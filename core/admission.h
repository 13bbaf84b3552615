// Admission and gating (docs/design.md, "Admission and gating"): the allow and deny lists, the
// denied peers, the embedder's gater, the count limits, the resource scopes' connection charges
// and the per-source limiter. It decides; the core carries the decision out.
#ifndef CONNMGR_CORE_ADMISSION_H_
#define CONNMGR_CORE_ADMISSION_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/gater.h"
#include "core/ip.h"
#include "core/ip_prefix_set.h"
#include "core/metrics.h"
#include "core/multiaddr.h"
#include "core/output.h"
#include "core/peer_id.h"
#include "core/resource_scopes.h"
#include "core/source_limiter.h"
#include "core/time.h"
#include "core/token_bucket.h"

namespace connmgr {

class Admission {
 public:
  // `config` and `scopes` are the core's own and outlive this object.
  Admission(const Config& config, std::shared_ptr<ConnectionGater> gater, ResourceScopes& scopes);

  // The decision on an inbound socket. When it is admitted (no `reject`), its scope charge and
  // source-limiter charge are already taken.
  // An admitted socket may come with connections to close for it: a pending one of a crowded
  // source group (pending_fair_share) and an open one chosen by `eviction_victim` for the
  // newcomer's net group (inbound_eviction, rate limited).
  struct InboundVerdict {
    std::optional<RejectReason> reject;
    std::optional<std::string> gate_rule;  // set when a gate refused it
    std::optional<ScopeDenial> denial;     // set when a scope refused it
    std::optional<ConnectionId> evict_pending;
    std::optional<ConnectionId> evict_open;
    bool allow_listed = false;
    SourceLimiter::Charge source_charge;  // release when the connection ends
  };
  InboundVerdict DecideInbound(
      const Multiaddr& remote, const Multiaddr& local, const std::optional<IpAddress>& ip,
      bool uses_fd, const ConnectionTable& table,
      absl::FunctionRef<std::optional<ConnectionId>(uint64_t)> eviction_victim, Instant now);

  // Why a connection the embedder or the dialer opened may not open, if it may not.
  struct OutboundVerdict {
    std::optional<std::string> gate_rule;  // close with reason denied (stage upgraded)
    std::optional<CloseReason> close;      // outbound_limit or resource_limit
    std::optional<ScopeDenial> denial;     // with resource_limit
    bool allow_listed = false;
  };
  // Charges the peer's scope when the connection may open (unless allow-listed).
  OutboundVerdict DecideOutbound(const Connection& c, const PeerId& peer,
                                 const ConnectionTable& table);

  // The gate that stops a pending inbound connection of `peer` at its upgrade, if any.
  struct UpgradeGate {
    GateStage stage;
    std::string rule;
  };
  std::optional<UpgradeGate> UpgradeGateFor(const Connection& c, const PeerId& peer) const;

  // The rule that denies this remote ("deny_list 10.0.0.0/8"), if any.
  std::optional<std::string> DeniedAddressRule(const std::optional<IpAddress>& ip) const;
  // The rule that denies a connection of `peer` at the secured stage, if any (denied peers,
  // then the gater unless `gater_passed`).
  std::optional<std::string> DeniedPeerRule(const Connection& c, const PeerId& peer,
                                            bool gater_passed) const;
  // The rule that stops dialling `peer`, if any.
  std::optional<std::string> DialPeerRule(const PeerId& peer) const;
  // Whether `address` may not be dialled for `peer` (deny list, the gater).
  bool DialAddressDenied(const PeerId& peer, const Multiaddr& address) const;
  bool IsAllowListed(const std::optional<IpAddress>& ip) const;

  // Runtime list changes; a full list is ResourceExhausted naming the input.
  absl::Status Deny(const IpPrefix& prefix);
  void Undeny(const IpPrefix& prefix) { deny_set_.Erase(prefix); }
  absl::Status Allow(const IpPrefix& prefix);
  void Unallow(const IpPrefix& prefix) { allow_set_.Erase(prefix); }
  absl::Status DenyPeer(const PeerId& peer);
  void UndenyPeer(const PeerId& peer) { denied_peers_.erase(peer); }

  // Gives back what an admitted connection holds in the source limiter.
  void ReleaseSource(Connection& c, Instant now);
  // The config changed (UpdateConfig): the limiter takes its new rates.
  void ConfigChanged();
  void CountRejected(RejectReason reason) { ++rejected_by_reason_[static_cast<int>(reason)]; }
  void AddMetrics(Metrics& m) const;

  const IpPrefixSet& allow_list() const { return allow_set_; }
  const IpPrefixSet& deny_list() const { return deny_set_; }
  bool IsPeerDenied(const PeerId& peer) const { return denied_peers_.contains(peer); }

 private:
  const Config& config_;
  std::shared_ptr<ConnectionGater> gater_;
  ResourceScopes& scopes_;
  IpPrefixSet allow_set_;
  IpPrefixSet deny_set_;
  absl::flat_hash_set<PeerId> denied_peers_;  // looked up only, never iterated
  // Whether inbound_eviction_rate allows an eviction now.
  bool EvictionTokenAvailable(Instant now) const;

  SourceLimiter source_limiter_;
  std::optional<TokenBucket> eviction_bucket_;
  std::array<uint64_t, kRejectReasonCount> rejected_by_reason_{};
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_ADMISSION_H_
