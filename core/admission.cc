#include "core/admission.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

SourceLimiterOptions SourceLimiterOptionsFrom(const Config& c) {
  SourceLimiterOptions o;
  o.per_ip = c.inbound_rate_per_ip;
  o.per_ipv4_24 = c.inbound_rate_per_ipv4_24;
  o.per_ipv6_56 = c.inbound_rate_per_ipv6_56;
  o.per_ipv6_48 = c.inbound_rate_per_ipv6_48;
  o.global = c.inbound_rate_global;
  o.max_per_ipv4_32 = c.max_connections_per_ipv4_32;
  o.max_per_ipv6_56 = c.max_connections_per_ipv6_56;
  o.max_per_ipv6_48 = c.max_connections_per_ipv6_48;
  o.max_tracked_sources = c.max_tracked_sources;
  o.limit_loopback = c.limit_loopback_sources;
  return o;
}

RejectReason RejectReasonFor(SourceVerdict v) {
  switch (v) {
    case SourceVerdict::kRateLimitIp:
      return RejectReason::kRateLimitIp;
    case SourceVerdict::kRateLimitSubnet:
      return RejectReason::kRateLimitSubnet;
    case SourceVerdict::kRateLimitGlobal:
      return RejectReason::kRateLimitGlobal;
    case SourceVerdict::kIpConnectionLimit:
      return RejectReason::kIpLimit;
    case SourceVerdict::kSubnetConnectionLimit:
    case SourceVerdict::kAdmit:
      break;
  }
  return RejectReason::kSubnetLimit;
}

}  // namespace

Admission::Admission(const Config& config, std::shared_ptr<ConnectionGater> gater,
                     ResourceScopes& scopes)
    : config_(config),
      gater_(std::move(gater)),
      scopes_(scopes),
      allow_set_(config.max_list_entries),
      deny_set_(config.max_list_entries),
      source_limiter_(SourceLimiterOptionsFrom(config)) {
  // Validate() bounded every list by max_list_entries, so these cannot fail.
  for (const IpPrefix& p : config.allow_list) allow_set_.Insert(p).IgnoreError();
  for (const IpPrefix& p : config.deny_list) deny_set_.Insert(p).IgnoreError();
  denied_peers_.insert(config.denied_peers.begin(), config.denied_peers.end());
}

Admission::InboundVerdict Admission::DecideInbound(
    const Multiaddr& remote, const Multiaddr& local, const std::optional<IpAddress>& ip,
    bool uses_fd, const ConnectionTable& table,
    absl::FunctionRef<std::optional<ConnectionId>(uint64_t)> eviction_victim, Instant now) {
  InboundVerdict v;
  // Deny beats allow: the deny list and the gater come first.
  v.gate_rule = DeniedAddressRule(ip);
  if (!v.gate_rule && gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyAccept(remote, local)) {
      v.gate_rule = absl::StrCat("gater: ", *r);
    }
  }
  if (v.gate_rule) {
    v.reject = RejectReason::kDenied;
    return v;
  }
  // An allow-listed remote skips every limit below (js-libp2p semantics).
  v.allow_listed = IsAllowListed(ip);
  if (v.allow_listed) return v;
  if (config_.allow_only_mode) {
    v.reject = RejectReason::kNotAllowed;
    return v;
  }
  if (table.pending_count(Direction::kInbound) >= config_.max_incoming_pending_connections) {
    if (config_.pending_fair_share && ip) v.evict_pending = table.PendingEvictionVictim(*ip);
    if (!v.evict_pending) {
      v.reject = RejectReason::kPendingLimit;
      return v;
    }
  }
  std::optional<RejectReason> full;
  if (config_.max_inbound_connections != 0 &&
      table.count(Direction::kInbound, ConnectionState::kOpen) >= config_.max_inbound_connections) {
    full = RejectReason::kInboundLimit;
  } else if (table.open_count() >= config_.max_connections) {
    full = RejectReason::kConnectionLimit;
  }
  if (full) {
    if (config_.inbound_eviction && ip && EvictionTokenAvailable(now)) {
      v.evict_open = eviction_victim(NetGroupOf(*ip));
    }
    if (!v.evict_open) {
      v.reject = full;
      v.evict_pending.reset();
      return v;
    }
  }
  // Allow-listed remotes are not charged to the scopes (go-libp2p keeps them apart).
  if ((v.denial = scopes_.ReserveConnection(Direction::kInbound, uses_fd))) {
    v.reject = RejectReason::kResourceLimit;
  } else if (ip) {
    // Last, so that an attempt refused for any other reason takes no token.
    const SourceVerdict verdict =
        source_limiter_.Admit(*ip, now, /*exempt=*/false, &v.source_charge);
    if (verdict != SourceVerdict::kAdmit) {
      scopes_.ReleaseConnection(Direction::kInbound, uses_fd, nullptr);
      v.reject = RejectReasonFor(verdict);
    }
  }
  if (v.reject) {
    v.evict_pending.reset();
    v.evict_open.reset();
  } else if (v.evict_open && config_.inbound_eviction_rate.enabled()) {
    if (!eviction_bucket_) eviction_bucket_.emplace(config_.inbound_eviction_rate, now);
    eviction_bucket_->TryTake(now);
  }
  return v;
}

bool Admission::EvictionTokenAvailable(Instant now) const {
  // Before its first eviction the bucket is full.
  return !config_.inbound_eviction_rate.enabled() || !eviction_bucket_ ||
         eviction_bucket_->WouldAdmit(now);
}

Admission::OutboundVerdict Admission::DecideOutbound(const Connection& c, const PeerId& peer,
                                                     const ConnectionTable& table) {
  OutboundVerdict v;
  // It arrives dialled and upgraded: every gate a dial would pass applies at once.
  v.gate_rule = DeniedAddressRule(c.remote_ip);
  if (!v.gate_rule) v.gate_rule = DeniedPeerRule(c, peer, /*gater_passed=*/false);
  if (!v.gate_rule && gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyUpgraded(c.direction, peer, c.remote)) {
      v.gate_rule = absl::StrCat("gater: ", *r);
    }
  }
  if (v.gate_rule) return v;
  v.allow_listed = IsAllowListed(c.remote_ip);
  if (v.allow_listed) return v;
  const bool over_outbound_cap =
      config_.max_outbound_connections != 0 &&
      table.count(Direction::kOutbound, ConnectionState::kOpen) >= config_.max_outbound_connections;
  const bool over_max =
      config_.reject_outbound_over_max && table.open_count() >= config_.max_connections;
  if (over_outbound_cap || over_max) {
    v.close = CloseReason::kOutboundLimit;
  } else if ((v.denial = scopes_.ReserveConnectionForPeer(Direction::kOutbound, c.uses_fd, peer))) {
    v.close = CloseReason::kResourceLimit;
  }
  return v;
}

std::optional<Admission::UpgradeGate> Admission::UpgradeGateFor(const Connection& c,
                                                                const PeerId& peer) const {
  if (std::optional<std::string> rule = DeniedPeerRule(c, peer, c.secured)) {
    return UpgradeGate{GateStage::kSecured, *std::move(rule)};
  }
  // The deny list may have grown since the socket was accepted.
  if (std::optional<std::string> rule = DeniedAddressRule(c.remote_ip)) {
    return UpgradeGate{GateStage::kUpgraded, *std::move(rule)};
  }
  if (gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyUpgraded(c.direction, peer, c.remote)) {
      return UpgradeGate{GateStage::kUpgraded, absl::StrCat("gater: ", *r)};
    }
  }
  return std::nullopt;
}

std::optional<std::string> Admission::DeniedAddressRule(const std::optional<IpAddress>& ip) const {
  if (!ip) return std::nullopt;
  std::optional<IpPrefix> match = deny_set_.LongestMatch(*ip);
  if (!match) return std::nullopt;
  return absl::StrCat("deny_list ", match->ToString());
}

std::optional<std::string> Admission::DeniedPeerRule(const Connection& c, const PeerId& peer,
                                                     bool gater_passed) const {
  if (!denied_peers_.empty() && denied_peers_.contains(peer)) return "denied_peers";
  if (gater_ != nullptr && !gater_passed) {
    if (std::optional<std::string> r = gater_->DenySecured(c.direction, peer, c.remote)) {
      return absl::StrCat("gater: ", *r);
    }
  }
  return std::nullopt;
}

std::optional<std::string> Admission::DialPeerRule(const PeerId& peer) const {
  if (denied_peers_.contains(peer)) return "denied_peers";
  if (gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyDialPeer(peer)) {
      return absl::StrCat("gater: ", *r);
    }
  }
  return std::nullopt;
}

bool Admission::DialAddressDenied(const PeerId& peer, const Multiaddr& address) const {
  std::optional<IpAddress> ip = address.ip();
  if (ip && deny_set_.Contains(ip->Unmapped())) return true;
  return gater_ != nullptr && gater_->DenyDialAddress(peer, address).has_value();
}

bool Admission::IsAllowListed(const std::optional<IpAddress>& ip) const {
  return ip && allow_set_.Contains(*ip);
}

absl::Status Admission::Deny(const IpPrefix& prefix) {
  absl::StatusOr<bool> added = deny_set_.Insert(prefix);
  if (!added.ok()) {
    return absl::Status(added.status().code(),
                        absl::StrCat("deny_address: ", added.status().message()));
  }
  return absl::OkStatus();
}

absl::Status Admission::Allow(const IpPrefix& prefix) {
  absl::StatusOr<bool> added = allow_set_.Insert(prefix);
  if (!added.ok()) {
    return absl::Status(added.status().code(),
                        absl::StrCat("allow_address: ", added.status().message()));
  }
  return absl::OkStatus();
}

absl::Status Admission::DenyPeer(const PeerId& peer) {
  if (peer.is_empty()) return absl::InvalidArgumentError("deny_peer: peer must not be empty");
  if (!denied_peers_.contains(peer) && denied_peers_.size() >= config_.max_list_entries) {
    return absl::ResourceExhaustedError(
        absl::StrCat("deny_peer: the denied peers list holds max_list_entries (",
                     config_.max_list_entries, ") peers"));
  }
  denied_peers_.insert(peer);
  return absl::OkStatus();
}

void Admission::ReleaseSource(Connection& c, Instant now) {
  source_limiter_.Release(c.source_charge, now);
}

void Admission::ConfigChanged() {
  source_limiter_.SetOptions(SourceLimiterOptionsFrom(config_));
  eviction_bucket_.reset();  // a changed rate starts full again
}

void Admission::AddMetrics(Metrics& m) const {
  m.rejected_by_reason = rejected_by_reason_;
  m.tracked_sources = source_limiter_.tracked_sources();
}

}  // namespace connmgr
