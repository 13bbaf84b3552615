#include "core/core.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/random.h"

namespace connmgr {
namespace {

// The longest stream protocol id accepted; longer ones come from a misbehaving peer.
constexpr size_t kMaxProtocolLength = 256;

absl::Status CheckProtocol(absl::string_view input, absl::string_view protocol) {
  if (protocol.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": protocol must not be empty"));
  }
  if (protocol.size() > kMaxProtocolLength) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": protocol is ", protocol.size(),
                                                   " bytes, longer than ", kMaxProtocolLength));
  }
  return absl::OkStatus();
}

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

DnsResolverOptions DnsResolverOptionsFrom(const Config& c) {
  DnsResolverOptions o;
  o.max_depth = c.dnsaddr_max_depth;
  o.cache_max_entries = c.dns_cache_max_entries;
  o.negative_ttl = c.dns_negative_ttl;
  o.max_ttl = c.dns_max_ttl;
  return o;
}

DialBackoffOptions DialBackoffOptionsFrom(const Config& c) {
  return DialBackoffOptions{c.dial_backoff_base, c.dial_backoff_step, c.dial_backoff_max,
                            c.max_backoff_entries};
}

BlackHoleOptions BlackHoleOptionsFrom(const Config& c) {
  return BlackHoleOptions{c.black_hole_detection, c.black_hole_window, c.black_hole_min_successes,
                          c.black_hole_probe_interval};
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

absl::Status CheckAddresses(absl::string_view input, const Multiaddr& remote,
                            const Multiaddr& local) {
  if (remote.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": remote address must not be empty"));
  }
  if (local.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": local address must not be empty"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Core>> Core::Create(Config config,
                                                   std::shared_ptr<ConnectionGater> gater,
                                                   AddressLess address_order) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  return std::unique_ptr<Core>(
      new Core(std::move(config), std::move(gater), std::move(address_order)));
}

Core::Core(Config config, std::shared_ptr<ConnectionGater> gater, AddressLess address_order)
    : config_(std::move(config)),
      gater_(std::move(gater)),
      address_order_(std::move(address_order)),
      allow_set_(config_.max_list_entries),
      deny_set_(config_.max_list_entries),
      source_limiter_(SourceLimiterOptionsFrom(config_)),
      table_(config_.closable_protocols),
      tags_(PeerTagsLimits{config_.max_tags_per_peer, config_.max_tagged_peers,
                           config_.keep_alive_tag_prefix}),
      scopes_(config_.system_scope, config_.transient_scope, config_.peer_scope),
      dial_queue_(config_.max_dial_queue_length),
      dns_(DnsResolverOptionsFrom(config_)),
      dial_backoff_(DialBackoffOptionsFrom(config_)),
      black_holes_(BlackHoleOptionsFrom(config_)),
      rng_(config_.random_seed) {
  // Validate() bounded every list by max_list_entries, so these cannot fail.
  for (const IpPrefix& p : config_.allow_list) allow_set_.Insert(p).IgnoreError();
  for (const IpPrefix& p : config_.deny_list) deny_set_.Insert(p).IgnoreError();
  denied_peers_.insert(config_.denied_peers.begin(), config_.denied_peers.end());
}

absl::StatusOr<ConnectionId> Core::Handle(Instant now, const Input& input) {
  if (outputs_.size() >= config_.max_output_queue) {
    Count(Counter::kInputsRefusedQueueFull);
    return absl::ResourceExhaustedError(
        absl::StrCat(InputName(input), ": ", outputs_.size(),
                     " outputs wait undrained (max_output_queue); drain PollOutput first"));
  }
  if (now < last_now_) {
    Count(Counter::kClockRegressions);
    now = last_now_;
  }
  last_now_ = now;
  Count(Counter::kInputs);

  struct Dispatch {
    Core& core;
    Instant now;
    auto operator()(const InboundConnection& in) { return core.OnInbound(now, in); }
    auto operator()(const OutboundConnection& in) { return core.OnOutbound(now, in); }
    auto operator()(const ConnectionUpgraded& in) { return core.OnUpgraded(now, in); }
    auto operator()(const TransportClosed& in) { return core.OnTransportClosed(now, in); }
    auto operator()(const CloseRequest& in) { return core.OnCloseRequest(now, in); }
    auto operator()(const StreamOpened& in) { return core.OnStreamOpened(now, in); }
    auto operator()(const StreamClosed& in) { return core.OnStreamClosed(now, in); }
    auto operator()(const TimerExpired&) { return core.OnTimerExpired(now); }
    auto operator()(const PlaceStream& in) { return core.OnPlaceStream(in); }
    auto operator()(const ConnectionSecured& in) { return core.OnSecured(now, in); }
    auto operator()(const DialRequest& in) { return core.OnDialRequest(now, in); }
    auto operator()(const CancelDial& in) { return core.OnCancelDial(now, in); }
    auto operator()(const DialSucceeded& in) { return core.OnDialSucceeded(now, in); }
    auto operator()(const DialFailed& in) { return core.OnDialFailed(now, in); }
    auto operator()(const DnsAnswered& in) { return core.OnDnsAnswered(now, in); }
    auto operator()(const DnsFailed& in) { return core.OnDnsFailed(now, in); }
    auto operator()(const SetPeerAddresses& in) { return core.OnSetPeerAddresses(now, in); }
    auto operator()(const DenyAddress& in) { return core.OnDenyAddress(now, in.prefix); }
    auto operator()(const UpdateConfig& in) { return core.OnUpdateConfig(now, in.config); }
    auto operator()(const UndenyAddress& in) -> absl::StatusOr<ConnectionId> {
      core.deny_set_.Erase(in.prefix);
      return ConnectionId{};
    }
    auto operator()(const AllowAddress& in) {
      return core.OnAllowListChange(now, in.prefix, /*add=*/true);
    }
    auto operator()(const UnallowAddress& in) {
      return core.OnAllowListChange(now, in.prefix, /*add=*/false);
    }
    auto operator()(const DenyPeer& in) { return core.OnDenyPeer(now, in.peer); }
    auto operator()(const UndenyPeer& in) -> absl::StatusOr<ConnectionId> {
      if (in.peer.is_empty()) {
        return absl::InvalidArgumentError("undeny_peer: peer must not be empty");
      }
      core.denied_peers_.erase(in.peer);
      return ConnectionId{};
    }
    auto operator()(const ReserveMemory& in) { return core.OnReserveMemory(in); }
    auto operator()(const ReleaseMemory& in) { return core.OnReleaseMemory(in); }
    auto operator()(const SetPeerTag& in) {
      return core.OnPeerTagChange(now, in,
                                  [&] { return core.tags_.SetTag(in.peer, in.tag, in.value); });
    }
    auto operator()(const RemovePeerTag& in) {
      return core.OnPeerTagChange(now, in, [&] {
        core.tags_.RemoveTag(in.peer, in.tag);
        return absl::OkStatus();
      });
    }
    auto operator()(const ProtectPeer& in) {
      return core.OnPeerTagChange(now, in, [&] { return core.tags_.Protect(in.peer, in.tag); });
    }
    auto operator()(const AddToPeerTag& in) {
      return core.OnPeerTagChange(now, in,
                                  [&] { return core.tags_.AddToTag(in.peer, in.tag, in.delta); });
    }
    auto operator()(const BumpPeerTag& in) {
      return core.OnPeerTagChange(now, in,
                                  [&] { return core.tags_.Bump(in.peer, in.tag, in.delta, now); });
    }
    absl::StatusOr<ConnectionId> operator()(const RegisterDecayingTag& in) {
      absl::Status s = core.tags_.RegisterDecayingTag(in.tag, in.interval, in.decay, in.bump, now);
      if (!s.ok()) {
        return absl::Status(s.code(), absl::StrCat("register_decaying_tag: ", s.message()));
      }
      return ConnectionId{};
    }
    auto operator()(const UnprotectPeer& in) {
      return core.OnPeerTagChange(now, in, [&] {
        core.tags_.Unprotect(in.peer, in.tag);
        return absl::OkStatus();
      });
    }
  };
  absl::StatusOr<ConnectionId> result = std::visit(Dispatch{*this, now}, input);
  if (!result.ok()) Count(Counter::kInputErrors);
  return result;
}

std::optional<Output> Core::PollOutput() {
  if (outputs_.empty()) return std::nullopt;
  Output out = std::move(outputs_.front());
  outputs_.pop_front();
  return out;
}

Instant Core::NextDeadline() const {
  const Instant connection_timer = timers_.empty() ? Instant::Never() : timers_.begin()->first;
  return std::min({connection_timer, trim_deadline_, tags_.NextDeadline(), NextDialDeadline()});
}

absl::StatusOr<ConnectionId> Core::OnInbound(Instant now, const InboundConnection& in) {
  if (absl::Status s = CheckAddresses("inbound_connection", in.remote, in.local); !s.ok()) {
    return s;
  }
  std::optional<IpAddress> ip = in.remote.ip();
  if (ip) ip = ip->Unmapped();
  // Deny beats allow: the deny list and the gater come first.
  std::optional<std::string> gate_rule = DeniedAddressRule(ip);
  if (!gate_rule && gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyAccept(in.remote, in.local)) {
      gate_rule = absl::StrCat("gater: ", *r);
    }
  }
  // An allow-listed remote skips every limit below (js-libp2p semantics).
  const bool allow_listed = !gate_rule && IsAllowListed(ip);
  const bool uses_fd = UsesFileDescriptor(in.remote);
  std::optional<RejectReason> reject;
  std::optional<ScopeDenial> denial;
  bool source_charged = false;
  if (gate_rule) {
    reject = RejectReason::kDenied;
  } else if (allow_listed) {
  } else if (config_.allow_only_mode) {
    reject = RejectReason::kNotAllowed;
  } else if (table_.pending_count(Direction::kInbound) >=
             config_.max_incoming_pending_connections) {
    reject = RejectReason::kPendingLimit;
  } else if (config_.max_inbound_connections != 0 &&
             table_.count(Direction::kInbound, ConnectionState::kOpen) >=
                 config_.max_inbound_connections) {
    reject = RejectReason::kInboundLimit;
  } else if (table_.open_count() >= config_.max_connections) {
    reject = RejectReason::kConnectionLimit;
  } else if ((denial = scopes_.ReserveConnection(Direction::kInbound, uses_fd))) {
    // Allow-listed remotes are not charged to the scopes (go-libp2p keeps them apart).
    reject = RejectReason::kResourceLimit;
  } else if (ip) {
    // Last, so that an attempt refused for any other reason takes no token.
    const SourceVerdict verdict = source_limiter_.Admit(*ip, now, /*exempt=*/false);
    if (verdict != SourceVerdict::kAdmit) {
      scopes_.ReleaseConnection(Direction::kInbound, uses_fd, nullptr);
      reject = RejectReasonFor(verdict);
    } else {
      source_charged = source_limiter_.Charges(*ip);
    }
  }
  if (reject) {
    ConnectionId id = table_.SkipId();
    if (gate_rule) Emit(ConnectionGated{id, GateStage::kAccept, *std::move(gate_rule)});
    if (denial) EmitScopeDenied(id, *denial);
    Count(Counter::kInboundRejected);
    ++rejected_by_reason_[static_cast<int>(*reject)];
    Emit(RejectConnection{id, *reject, config_.delayed_reject});
    return id;
  }
  Connection& c = table_.AddPending(Direction::kInbound, in.remote, in.local, now);
  c.allow_listed = allow_listed;
  c.charge = allow_listed ? ScopeCharge::kNone : ScopeCharge::kTransient;
  c.source_charged = source_charged;
  Arm(c, now + config_.inbound_upgrade_timeout);
  Count(Counter::kInboundAccepted);
  Emit(AcceptConnection{c.id});
  return c.id;
}

absl::StatusOr<ConnectionId> Core::OnOutbound(Instant now, const OutboundConnection& in) {
  if (absl::Status s = CheckAddresses("outbound_connection", in.remote, in.local); !s.ok()) {
    return s;
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("outbound_connection: peer must not be empty");
  }
  Connection& c = table_.AddPending(Direction::kOutbound, in.remote, in.local, now);
  Count(Counter::kOutboundRegistered);
  const ConnectionId id = c.id;
  AdmitOutbound(c, in.peer, now);
  return id;
}

bool Core::AdmitOutbound(Connection& c, const PeerId& peer, Instant now) {
  // It arrives dialled and upgraded: every gate a dial would pass applies at once.
  std::optional<std::string> gate_rule = DeniedAddressRule(c.remote_ip);
  if (!gate_rule) gate_rule = DeniedPeerRule(c, peer, /*gater_passed=*/false);
  if (!gate_rule && gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyUpgraded(c.direction, peer, c.remote)) {
      gate_rule = absl::StrCat("gater: ", *r);
    }
  }
  if (gate_rule) {
    CloseGated(c, GateStage::kUpgraded, *std::move(gate_rule), now);
    return false;
  }
  c.allow_listed = IsAllowListed(c.remote_ip);
  const bool over_outbound_cap = config_.max_outbound_connections != 0 &&
                                 table_.count(Direction::kOutbound, ConnectionState::kOpen) >=
                                     config_.max_outbound_connections;
  const bool over_max =
      config_.reject_outbound_over_max && table_.open_count() >= config_.max_connections;
  if (!c.allow_listed && (over_outbound_cap || over_max)) {
    StartClosing(c, CloseReason::kOutboundLimit, now);
    return false;
  }
  if (!c.allow_listed) {
    if (std::optional<ScopeDenial> denial =
            scopes_.ReserveConnectionForPeer(Direction::kOutbound, c.uses_fd, peer)) {
      EmitScopeDenied(c.id, *denial);
      StartClosing(c, CloseReason::kResourceLimit, now);
      return false;
    }
    c.charge = ScopeCharge::kPeer;
  }
  Open(c, peer, now);
  return true;
}

absl::StatusOr<ConnectionId> Core::OnUpgraded(Instant now, const ConnectionUpgraded& in) {
  absl::StatusOr<Connection*> c = FindLive("connection_upgraded", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->dial_attempt) {
    return absl::FailedPreconditionError(absl::StrCat("connection_upgraded: connection ",
                                                      in.connection.value,
                                                      " is a dial attempt; report dial_succeeded"));
  }
  if ((*c)->state != ConnectionState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("connection_upgraded: connection ", in.connection.value, " is ",
                     ConnectionStateName((*c)->state), ", not pending"));
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("connection_upgraded: peer must not be empty");
  }
  if (std::optional<std::string> rule = DeniedPeerRule(**c, in.peer, (*c)->secured)) {
    CloseGated(**c, GateStage::kSecured, *std::move(rule), now);
    return in.connection;
  }
  // The deny list may have grown since the socket was accepted.
  if (std::optional<std::string> rule = DeniedAddressRule((*c)->remote_ip)) {
    CloseGated(**c, GateStage::kUpgraded, *std::move(rule), now);
    return in.connection;
  }
  if (gater_ != nullptr) {
    if (std::optional<std::string> r =
            gater_->DenyUpgraded((*c)->direction, in.peer, (*c)->remote)) {
      CloseGated(**c, GateStage::kUpgraded, absl::StrCat("gater: ", *r), now);
      return in.connection;
    }
  }
  Disarm(**c);
  if ((*c)->charge == ScopeCharge::kTransient) {
    if (std::optional<ScopeDenial> denial =
            scopes_.MoveConnectionToPeer((*c)->direction, (*c)->uses_fd, in.peer)) {
      // The peer's scope is full: the connection never opens; its charge stays transient.
      EmitScopeDenied(in.connection, *denial);
      StartClosing(**c, CloseReason::kResourceLimit, now);
      return in.connection;
    }
    (*c)->charge = ScopeCharge::kPeer;
  }
  Open(**c, in.peer, now);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnSecured(Instant now, const ConnectionSecured& in) {
  absl::StatusOr<Connection*> c = FindLive("connection_secured", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->dial_attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("connection_secured: connection ", in.connection.value, " is a dial attempt"));
  }
  if ((*c)->state != ConnectionState::kPending || (*c)->secured) {
    return absl::FailedPreconditionError(absl::StrCat(
        "connection_secured: connection ", in.connection.value, " is ",
        (*c)->secured ? "already secured" : ConnectionStateName((*c)->state), ", not pending"));
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("connection_secured: peer must not be empty");
  }
  if (std::optional<std::string> rule = DeniedPeerRule(**c, in.peer, /*gater_passed=*/false)) {
    CloseGated(**c, GateStage::kSecured, *std::move(rule), now);
    return in.connection;
  }
  (*c)->secured = true;
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnDenyAddress(Instant now, const IpPrefix& prefix) {
  absl::StatusOr<bool> added = deny_set_.Insert(prefix);
  if (!added.ok())
    return absl::Status(added.status().code(),
                        absl::StrCat("deny_address: ", added.status().message()));
  if (!config_.close_newly_denied_connections) return ConnectionId{};
  const std::string rule = absl::StrCat("deny_list ", prefix.ToString());
  for (ConnectionId id : table_.ConnectionsInPrefix(prefix)) {
    Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kClosing) CloseGated(c, GateStage::kListChange, rule, now);
  }
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::OnAllowListChange(Instant now, const IpPrefix& prefix,
                                                     bool add) {
  if (add) {
    absl::StatusOr<bool> added = allow_set_.Insert(prefix);
    if (!added.ok()) {
      return absl::Status(added.status().code(),
                          absl::StrCat("allow_address: ", added.status().message()));
    }
  } else {
    allow_set_.Erase(prefix);
  }
  // Live connections in the range gain or lose their exemption from pruning (their scope
  // charges, decided at admission, stay as they are).
  for (ConnectionId id : table_.ConnectionsInPrefix(prefix)) {
    Connection& c = *table_.Find(id);
    c.allow_listed = IsAllowListed(c.remote_ip);
    if (c.state == ConnectionState::kOpen) Reindex(c);
  }
  if (!add) MaybeTrim(now);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::OnDenyPeer(Instant now, const PeerId& peer) {
  if (peer.is_empty()) return absl::InvalidArgumentError("deny_peer: peer must not be empty");
  if (!denied_peers_.contains(peer) && denied_peers_.size() >= config_.max_list_entries) {
    return absl::ResourceExhaustedError(
        absl::StrCat("deny_peer: the denied peers list holds max_list_entries (",
                     config_.max_list_entries, ") peers"));
  }
  denied_peers_.insert(peer);
  if (!config_.close_newly_denied_connections) return ConnectionId{};
  const absl::Span<const ConnectionId> ids = table_.PeerConnections(peer);
  for (ConnectionId id : std::vector<ConnectionId>(ids.begin(), ids.end())) {
    Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kClosing) {
      CloseGated(c, GateStage::kListChange, "denied_peers", now);
    }
  }
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::OnTransportClosed(Instant, const TransportClosed& in) {
  if (table_.WasClosed(in.connection)) return in.connection;
  absl::StatusOr<Connection*> c = FindLive("transport_closed", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->dial_attempt) {
    AttemptFailed(**c, "transport closed", last_now_);
    return in.connection;
  }
  const CloseReason reason =
      (*c)->state == ConnectionState::kClosing ? (*c)->close_reason : CloseReason::kTransport;
  Disarm(**c);
  Finish(in.connection, reason);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnCloseRequest(Instant now, const CloseRequest& in) {
  if (table_.WasClosed(in.connection)) return in.connection;
  absl::StatusOr<Connection*> c = FindLive("close_request", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->dial_attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("close_request: connection ", in.connection.value,
                     " is a dial attempt; cancel its dial request instead"));
  }
  if ((*c)->state != ConnectionState::kClosing) {
    StartClosing(**c, CloseReason::kRequested, now);
  }
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnStreamOpened(Instant, const StreamOpened& in) {
  if (absl::Status s = CheckProtocol("stream_opened", in.protocol); !s.ok()) return s;
  absl::StatusOr<Connection*> c = FindLive("stream_opened", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->opened_at.is_never()) {
    return absl::FailedPreconditionError(
        absl::StrCat("stream_opened: connection ", in.connection.value, " was never upgraded"));
  }
  std::optional<ScopeDenial> denial;
  if (std::optional<StreamRejectReason> reason = StreamRoom(**c, in.direction, &denial)) {
    if (denial) EmitScopeDenied(in.connection, *denial);
    Count(Counter::kStreamsRejected);
    ++streams_rejected_by_reason_[static_cast<int>(*reason)];
    Emit(ResetStream{in.connection, in.protocol, in.direction, *reason});
    return in.connection;
  }
  if ((*c)->charge == ScopeCharge::kPeer) scopes_.ReserveStream(in.direction, (*c)->peer);
  table_.AddStream(**c, in.protocol, in.direction);
  Reindex(**c);
  Count(Counter::kStreamsOpened);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnStreamClosed(Instant, const StreamClosed& in) {
  if (absl::Status s = CheckProtocol("stream_closed", in.protocol); !s.ok()) return s;
  absl::StatusOr<Connection*> c = FindLive("stream_closed", in.connection);
  if (!c.ok()) return c.status();
  if (absl::Status s = table_.RemoveStream(**c, in.protocol, in.direction); !s.ok()) return s;
  if ((*c)->charge == ScopeCharge::kPeer) scopes_.ReleaseStream(in.direction, (*c)->peer);
  Reindex(**c);
  Count(Counter::kStreamsClosed);
  return in.connection;
}

std::optional<StreamRejectReason> Core::StreamRoom(const Connection& c, Direction direction,
                                                   std::optional<ScopeDenial>* denial) const {
  if (c.state == ConnectionState::kClosing) return StreamRejectReason::kConnectionClosing;
  if (config_.max_streams_per_connection != 0 &&
      c.stream_count() >= config_.max_streams_per_connection) {
    return StreamRejectReason::kConnectionStreamLimit;
  }
  // Only connections charged to their peer's scope charge their streams (allow-listed
  // connections are charged nowhere).
  if (c.charge == ScopeCharge::kPeer) {
    *denial = scopes_.CheckStream(direction, c.peer);
    if (*denial) return StreamRejectReason::kResourceLimit;
  }
  return std::nullopt;
}

absl::StatusOr<ConnectionId> Core::OnPlaceStream(const PlaceStream& in) {
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("place_stream: peer must not be empty");
  }
  // Candidates: open connections with room for an outbound stream, direct ones preferred over
  // relayed ones. The peer's connections come in id order.
  const Connection* best = nullptr;
  PlacementOutcome none = PlacementOutcome::kNotConnected;
  const ConnectionId cursor = [&] {
    auto it = round_robin_cursor_.find(in.peer);
    return it == round_robin_cursor_.end() ? ConnectionId{} : it->second;
  }();
  // Smaller is better: direct first; then least streams (least-loaded) or the first id after
  // the cursor, wrapping (round-robin); then lowest id.
  auto rank = [&](const Connection& c) {
    const bool wraps = c.id.value <= cursor.value;
    const uint32_t load =
        config_.stream_placement == StreamPlacement::kLeastLoaded ? c.stream_count() : wraps;
    return std::make_tuple(c.relayed, load, c.id);
  };
  for (ConnectionId id : table_.PeerConnections(in.peer)) {
    const Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kOpen) continue;
    std::optional<ScopeDenial> denial;
    if (std::optional<StreamRejectReason> full = StreamRoom(c, Direction::kOutbound, &denial)) {
      const PlacementOutcome why = *full == StreamRejectReason::kResourceLimit
                                       ? PlacementOutcome::kResourceLimit
                                       : PlacementOutcome::kStreamLimit;
      // Report the scope when any connection was stopped by one: the peer's scope is shared.
      if (none == PlacementOutcome::kNotConnected || why == PlacementOutcome::kResourceLimit) {
        none = why;
      }
      continue;
    }
    if (best == nullptr || rank(c) < rank(*best)) best = &c;
  }
  const PlacementOutcome outcome = best != nullptr ? PlacementOutcome::kPlaced : none;
  const ConnectionId chosen = best != nullptr ? best->id : ConnectionId{};
  if (best != nullptr && config_.stream_placement == StreamPlacement::kRoundRobin) {
    round_robin_cursor_[in.peer] = chosen;
  }
  Count(Counter::kStreamPlacements);
  ++placements_by_outcome_[static_cast<int>(outcome)];
  Emit(StreamPlaced{in.peer, chosen, outcome});
  return chosen;
}

absl::StatusOr<ConnectionId> Core::OnReserveMemory(const ReserveMemory& in) {
  if (in.priority > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("reserve_memory: priority ", in.priority, " is over 255"));
  }
  Connection* c = nullptr;
  if (in.connection != ConnectionId{}) {
    absl::StatusOr<Connection*> found = FindLive("reserve_memory", in.connection);
    if (!found.ok()) return found.status();
    c = *found;
    if (c->charge == ScopeCharge::kTransient) {
      return absl::FailedPreconditionError(
          absl::StrCat("reserve_memory: connection ", in.connection.value,
                       " is not upgraded yet; reserve with conn 0 (transient) until it opens"));
    }
  }
  const uint8_t priority = static_cast<uint8_t>(in.priority);
  std::optional<ScopeDenial> denial;
  if (c == nullptr) {
    denial = scopes_.ReserveMemory(in.bytes, priority, nullptr);
  } else if (c->charge == ScopeCharge::kPeer) {
    denial = scopes_.ReserveMemory(in.bytes, priority, &c->peer);
  }
  if (denial) {
    EmitScopeDenied(in.connection, *denial);
    Count(Counter::kMemoryDenied);
    Emit(MemoryReservation{in.connection, in.bytes, false});
    return in.connection;
  }
  uint64_t& held = c == nullptr ? transient_memory_bytes_ : c->memory_bytes;
  held += in.bytes;
  memory_bytes_ += in.bytes;
  Count(Counter::kMemoryReserved);
  Emit(MemoryReservation{in.connection, in.bytes, true});
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnReleaseMemory(const ReleaseMemory& in) {
  Connection* c = nullptr;
  if (in.connection != ConnectionId{}) {
    absl::StatusOr<Connection*> found = FindLive("release_memory", in.connection);
    if (!found.ok()) return found.status();
    c = *found;
  }
  uint64_t& held = c == nullptr ? transient_memory_bytes_ : c->memory_bytes;
  if (in.bytes > held) {
    return absl::InvalidArgumentError(absl::StrCat("release_memory: releases ", in.bytes,
                                                   " bytes, more than the ", held, " reserved"));
  }
  if (c == nullptr) {
    scopes_.ReleaseMemory(in.bytes, nullptr);
  } else if (c->charge == ScopeCharge::kPeer) {
    scopes_.ReleaseMemory(in.bytes, &c->peer);
  }
  held -= in.bytes;
  memory_bytes_ -= in.bytes;
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnTimerExpired(Instant now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const ConnectionId id = timers_.begin()->second;
    timers_.erase(timers_.begin());
    Connection* c = table_.Find(id);
    c->deadline = Instant::Never();
    if (c->dial_attempt) {
      AttemptFailed(*c, "timeout", now);
    } else if (c->state == ConnectionState::kPending) {
      StartClosing(*c, CloseReason::kUpgradeTimeout, now);
    } else if (c->state == ConnectionState::kOpen) {
      c->in_grace = false;
      Reindex(*c);
    } else {
      // connection_close_timeout passed: the transport never confirmed the close.
      Count(Counter::kAborts);
      Emit(AbortConnection{id});
      Finish(id, c->close_reason);
    }
  }
  FireDialTimers(now);
  for (const PeerId& peer : tags_.AdvanceTo(now)) ReindexPeer(peer);  // decaying tags
  if (trim_deadline_ <= now) trim_deadline_ = Instant::Never();
  // A connection leaving its grace period, or the silence period ending, may allow a trim.
  MaybeTrim(now);
  return ConnectionId{};
}

template <typename TagInput, typename Change>
absl::StatusOr<ConnectionId> Core::OnPeerTagChange(Instant now, const TagInput& in, Change change) {
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(InputName(Input(in)), ": peer must not be empty"));
  }
  if (absl::Status s = change(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(InputName(Input(in)), ": ", s.message()));
  }
  // A changed value re-ranks the peer's connections; an unprotected peer may leave the node
  // over its watermark, so a trim may follow (js-libp2p trims only when a connection opens).
  ReindexPeer(in.peer);
  MaybeTrim(now);
  MaybeStartReconnect(in.peer, now);  // a keep-alive tag on a peer that is not connected
  return ConnectionId{};
}

absl::StatusOr<Connection*> Core::FindLive(absl::string_view input, ConnectionId id) {
  if (Connection* c = table_.Find(id)) return c;
  if (table_.WasClosed(id)) {
    return absl::FailedPreconditionError(
        absl::StrCat(input, ": connection ", id.value, " is already closed"));
  }
  return absl::NotFoundError(absl::StrCat(input, ": no connection ", id.value));
}

void Core::Open(Connection& c, const PeerId& peer, Instant now) {
  const bool first = table_.Open(c, peer, now);
  dial_backoff_.ClearPeer(peer);  // any new connection to the peer clears its backoff
  // A connection from the peer ends a reconnect that is only waiting.
  if (auto r = reconnects_.find(peer); r != reconnects_.end() && !r->second.dialling) {
    EndReconnect(peer);
  }
  Count(Counter::kConnectionsOpened);
  Emit(ConnectionOpened{c.id, peer, c.direction});
  if (first) {
    Count(Counter::kPeersConnected);
    Emit(PeerConnected{peer});
  }
  if (config_.grace_period > Duration::Zero()) {
    c.in_grace = true;
    Arm(c, now + config_.grace_period);
  }
  Reindex(c);
  EnforcePeerLimit(c.id, peer, now);
  MaybeTrim(now);
}

void Core::StartClosing(Connection& c, CloseReason reason, Instant now) {
  Unindex(c);
  table_.StartClosing(c, reason, now);
  Count(Counter::kCloseCommands);
  Emit(CloseConnection{c.id, reason});
  Arm(c, now + config_.connection_close_timeout);
}

void Core::Finish(ConnectionId id, CloseReason reason) {
  Unindex(*table_.Find(id));
  ReleaseScopes(*table_.Find(id));
  const PeerId peer = table_.Find(id)->peer;
  const bool peer_gone = table_.Remove(id);
  Count(Counter::kConnectionsClosed);
  ++closed_by_reason_[static_cast<int>(reason)];
  Emit(ConnectionClosed{id, reason});
  if (peer_gone) {
    round_robin_cursor_.erase(peer);
    // Redial a keep-alive peer, when the core knows where (SetPeerAddresses).
    if (config_.reconnect_retries > 0 && tags_.HasKeepAlive(peer) && !reconnects_.contains(peer) &&
        peer_addresses_.contains(peer)) {
      ScheduleReconnect(peer, /*attempt=*/0, last_now_, ReconnectWait(0));
    }
    Count(Counter::kPeersDisconnected);
    Emit(PeerDisconnected{peer});
  }
}

void Core::Arm(Connection& c, Instant deadline) {
  Disarm(c);
  c.deadline = deadline;
  timers_.emplace(deadline, c.id);
}

void Core::Disarm(Connection& c) {
  if (c.deadline.is_never()) return;
  timers_.erase({c.deadline, c.id});
  c.deadline = Instant::Never();
}

void Core::EmitScopeDenied(ConnectionId id, const ScopeDenial& denial) {
  Emit(ScopeDenied{id, std::string(ScopeKindName(denial.scope)),
                   std::string(ResourceName(denial.resource)), denial.used, denial.limit});
}

void Core::ReleaseScopes(const Connection& c) {
  memory_bytes_ -= c.memory_bytes;
  if (c.source_charged) source_limiter_.Release(*c.remote_ip);
  switch (c.charge) {
    case ScopeCharge::kNone:
      return;
    case ScopeCharge::kTransient:
      scopes_.ReleaseConnection(c.direction, c.uses_fd, nullptr);
      return;
    case ScopeCharge::kPeer:
      scopes_.ReleaseConnection(c.direction, c.uses_fd, &c.peer);
      for (const Connection::StreamGroup& g : c.streams) {
        for (uint32_t i = 0; i < g.count; ++i) scopes_.ReleaseStream(g.direction, c.peer);
      }
      if (c.memory_bytes != 0) scopes_.ReleaseMemory(c.memory_bytes, &c.peer);
      return;
  }
}

bool Core::IsAllowListed(const std::optional<IpAddress>& ip) const {
  return ip && allow_set_.Contains(*ip);
}

std::optional<std::string> Core::DeniedAddressRule(const std::optional<IpAddress>& ip) const {
  if (!ip) return std::nullopt;
  std::optional<IpPrefix> match = deny_set_.LongestMatch(*ip);
  if (!match) return std::nullopt;
  return absl::StrCat("deny_list ", match->ToString());
}

std::optional<std::string> Core::DeniedPeerRule(const Connection& c, const PeerId& peer,
                                                bool gater_passed) const {
  if (denied_peers_.contains(peer)) return "denied_peers";
  if (gater_ != nullptr && !gater_passed) {
    if (std::optional<std::string> r = gater_->DenySecured(c.direction, peer, c.remote)) {
      return absl::StrCat("gater: ", *r);
    }
  }
  return std::nullopt;
}

void Core::CloseGated(Connection& c, GateStage stage, std::string rule, Instant now) {
  Emit(ConnectionGated{c.id, stage, std::move(rule)});
  StartClosing(c, CloseReason::kDenied, now);
}

void Core::Reindex(Connection& c) {
  PruneTier tier = PruneTier::kExempt;
  if (c.state == ConnectionState::kOpen && !c.allow_listed && !c.in_grace &&
      !tags_.IsProtected(c.peer)) {
    tier = c.busy_streams > 0 ? PruneTier::kBusy : PruneTier::kIdle;
  }
  const bool was_prunable = c.prune.tier != PruneTier::kExempt;
  const bool prunable = tier != PruneTier::kExempt;
  if (was_prunable != prunable) CountPrunableGroup(c, prunable ? +1 : -1);
  prune_index_.Upsert(
      c.prune, PruneKey{tags_.Value(c.peer), c.stream_count(), c.direction, c.opened_at, c.id},
      tier);
}

void Core::Unindex(Connection& c) {
  if (c.prune.tier != PruneTier::kExempt) CountPrunableGroup(c, -1);
  prune_index_.Erase(c.prune);
}

void Core::CountPrunableGroup(const Connection& c, int delta) {
  if (config_.diversity_protected_connections == 0) return;
  auto [it, inserted] = prunable_groups_.try_emplace({GroupRank(c.netgroup()), c.netgroup()}, 0);
  it->second += delta;
  if (it->second == 0) prunable_groups_.erase(it);
}

uint64_t Core::GroupRank(uint64_t netgroup) const {
  // Keyed by the configured seed, so which groups are kept cannot be read off the addresses.
  return Mix64(Mix64(netgroup ^ config_.random_seed) + config_.random_seed);
}

void Core::ReindexPeer(const PeerId& peer) {
  for (ConnectionId id : table_.PeerConnections(peer)) Reindex(*table_.Find(id));
}

void Core::EnforcePeerLimit(ConnectionId opened, const PeerId& peer, Instant now) {
  while (table_.OpenPeerConnectionCount(peer) > config_.max_connections_per_peer) {
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
    StartClosing(*table_.Find(victim->id), CloseReason::kPeerLimit, now);
  }
}

absl::StatusOr<ConnectionId> Core::OnUpdateConfig(Instant now, const Config& config) {
  if (absl::Status s = CheckRuntimeChange(config_, config); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("update_config: ", s.message()));
  }
  const bool diversity_was_on = config_.diversity_protected_connections != 0;
  const bool lower_limit = config.max_connections < config_.max_connections ||
                           config.effective_high_watermark() < config_.effective_high_watermark();
  config_ = config;
  source_limiter_.SetOptions(SourceLimiterOptionsFrom(config_));
  dial_queue_.set_max_jobs(config_.max_dial_queue_length);
  if (diversity_was_on != (config_.diversity_protected_connections != 0)) {
    // Group counts are kept only while diversity protection is on: rebuild them.
    prunable_groups_.clear();
    for (PruneTier tier : {PruneTier::kIdle, PruneTier::kBusy}) {
      prune_index_.Walk(tier, [&](ConnectionId id) {
        CountPrunableGroup(*table_.Find(id), +1);
        return true;
      });
    }
  }
  Count(Counter::kConfigUpdates);
  if (lower_limit) MaybeTrim(now, /*ignore_silence=*/true);
  PumpDialQueue(now);
  HandleReconnectResults(now);
  return ConnectionId{};
}

void Core::MaybeTrim(Instant now, bool ignore_silence) {
  const uint64_t open = table_.open_count();
  const uint64_t high = config_.effective_high_watermark();
  if (open <= high) return;
  if (!ignore_silence && now < last_trim_ + config_.silence_period) {
    trim_deadline_ = last_trim_ + config_.silence_period;
    return;
  }
  const uint64_t low = config_.effective_low_watermark();
  // Diversity protection: the first `diversity_protected_connections` net groups by keyed rank
  // each keep their last prunable connection (the one ranked to be pruned last).
  absl::flat_hash_map<uint64_t, uint64_t> protected_left;
  for (const auto& [rank_and_group, count] : prunable_groups_) {
    if (protected_left.size() == config_.diversity_protected_connections) break;
    protected_left[rank_and_group.second] = count;
  }
  std::vector<ConnectionId> chosen;
  auto choose_until = [&](PruneTier tier, uint64_t wanted) {
    if (chosen.size() >= wanted) return;
    prune_index_.Walk(tier, [&](ConnectionId id) {
      auto group = protected_left.find(table_.Find(id)->netgroup());
      if (group != protected_left.end()) {
        if (group->second == 1) return true;  // the group's survivor: skip it
        --group->second;
      }
      chosen.push_back(id);
      return chosen.size() < wanted;
    });
  };
  choose_until(PruneTier::kIdle, open - low);
  const size_t idle_chosen = chosen.size();
  if (open > config_.max_connections)
    choose_until(PruneTier::kBusy, open - config_.max_connections);
  if (chosen.empty()) return;
  last_trim_ = now;
  trim_deadline_ = Instant::Never();
  ConnectionsPruned event{open, low, {}};
  for (size_t i = 0; i < chosen.size(); ++i) {
    const Connection& c = *table_.Find(chosen[i]);
    event.pruned.push_back(
        PrunedConnection{c.id, c.peer, tags_.Value(c.peer), c.stream_count(), i >= idle_chosen});
  }
  Count(Counter::kTrims);
  Count(Counter::kPruned, chosen.size());
  Emit(std::move(event));
  for (ConnectionId id : chosen) StartClosing(*table_.Find(id), CloseReason::kPruned, now);
}

Metrics Core::GetMetrics() const {
  Metrics m;
  for (Direction d : {Direction::kInbound, Direction::kOutbound}) {
    for (ConnectionState s :
         {ConnectionState::kPending, ConnectionState::kOpen, ConnectionState::kClosing}) {
      m.connections_by_state[static_cast<int>(d)][static_cast<int>(s)] = table_.count(d, s);
    }
  }
  m.peers = table_.peer_count();
  m.streams_by_protocol = table_.StreamsByProtocol();
  for (const ProtocolStreams& p : m.streams_by_protocol) {
    m.streams_inbound += p.inbound;
    m.streams_outbound += p.outbound;
  }
  m.streams_per_connection_p90 = table_.StreamsPerConnectionP90();
  m.counters = counters_;
  m.rejected_by_reason = rejected_by_reason_;
  m.closed_by_reason = closed_by_reason_;
  m.streams_rejected_by_reason = streams_rejected_by_reason_;
  m.placements_by_outcome = placements_by_outcome_;
  m.memory_bytes = memory_bytes_;
  m.dial_outcomes = dial_outcomes_;
  m.dials_running = dial_queue_.running();
  m.dials_queued = dial_queue_.queued();
  m.dial_backoff_entries = dial_backoff_.size();
  m.dns_cache_entries = dns_.cache_size();
  m.tracked_sources = source_limiter_.tracked_sources();
  return m;
}

}  // namespace connmgr
