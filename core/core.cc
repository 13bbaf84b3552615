#include "core/core.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

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
      table_(config_.closable_protocols),
      tags_(PeerTagsLimits{config_.max_tags_per_peer, config_.max_tagged_peers,
                           config_.keep_alive_tag_prefix}),
      scopes_(config_.system_scope, config_.transient_scope, config_.peer_scope),
      admission_(config_, std::move(gater), scopes_),
      pruner_(config_, table_, tags_, outbox_),
      streams_(config_, table_, scopes_, pruner_, outbox_),
      memory_(config_, table_, scopes_, outbox_),
      dialer_(config_, std::move(address_order), table_, timers_, admission_, outbox_, *this),
      reconnector_(config_, table_, tags_, pruner_, dialer_, outbox_) {
  dialer_.set_reconnector(&reconnector_);
}

absl::StatusOr<ConnectionId> Core::Handle(Instant now, const Input& input) {
  if (outbox_.draining()) {
    return absl::FailedPreconditionError(
        absl::StrCat(InputName(input), ": handed in from DrainOutputs' callback; call after it"));
  }
  if (outbox_.size() >= config_.max_output_queue) {
    outbox_.Count(Counter::kInputsRefusedQueueFull);
    return absl::ResourceExhaustedError(
        absl::StrCat(InputName(input), ": ", outbox_.size(),
                     " outputs wait undrained (max_output_queue); drain PollOutput first"));
  }
  if (now < last_now_) {
    outbox_.Count(Counter::kClockRegressions);
    now = last_now_;
  }
  last_now_ = now;
  outbox_.Count(Counter::kInputs);

  // Each input goes to the one part that declares a handler for it; the others are the
  // facade's own (the connection lifecycle, the lists, the tags, the clock, the config).
  absl::StatusOr<ConnectionId> result = std::visit(
      [&](const auto& in) -> absl::StatusOr<ConnectionId> {
        if constexpr (requires { dialer_.On(now, in); }) {
          return dialer_.On(now, in);
        } else if constexpr (requires { reconnector_.On(now, in); }) {
          return reconnector_.On(now, in);
        } else if constexpr (requires { streams_.On(now, in); }) {
          return streams_.On(now, in);
        } else if constexpr (requires { memory_.On(now, in); }) {
          return memory_.On(now, in);
        } else {
          return On(now, in);
        }
      },
      input);
  if (!result.ok()) outbox_.Count(Counter::kInputErrors);
  return result;
}

std::optional<Output> Core::PollOutput() { return outbox_.Pop(); }

absl::StatusOr<ConnectionId> Core::On(Instant now, const InboundConnection& in) {
  if (absl::Status s = CheckAddresses("inbound_connection", in.remote, in.local); !s.ok()) {
    return s;
  }
  const Multiaddr::Facts remote = in.remote.facts();
  std::optional<IpAddress> ip = remote.ip;
  if (ip) ip = ip->Unmapped();
  const bool uses_fd = UsesFileDescriptor(remote);
  Admission::InboundVerdict verdict = admission_.DecideInbound(
      in.remote, in.local, ip, uses_fd, table_,
      [&](uint64_t netgroup) { return pruner_.EvictionVictim(netgroup); }, now);
  if (verdict.reject) {
    ConnectionId id = table_.SkipId();
    if (verdict.gate_rule) {
      outbox_.Emit(ConnectionGated{id, GateStage::kAccept, *std::move(verdict.gate_rule)});
    }
    if (verdict.denial) EmitScopeDenied(outbox_, id, *verdict.denial);
    outbox_.Count(Counter::kInboundRejected);
    admission_.CountRejected(*verdict.reject);
    outbox_.Emit(RejectConnection{id, *verdict.reject, config_.delayed_reject});
    return id;
  }
  // Make room first: the victims close before the newcomer's AcceptConnection.
  for (const auto& [victim, reason] :
       {std::pair{verdict.evict_pending, CloseReason::kPendingEvicted},
        std::pair{verdict.evict_open, CloseReason::kEvicted}}) {
    if (victim) StartClosing(*table_.Find(*victim), reason, now);
  }
  Connection& c = table_.AddPending(Direction::kInbound, in.remote, remote, now);
  c.allow_listed = verdict.allow_listed;
  if (!c.allow_listed) table_.JoinPendingShare(c);
  c.charge = verdict.allow_listed ? ScopeCharge::kNone : ScopeCharge::kTransient;
  c.source_charge = std::move(verdict.source_charge);
  timers_.Arm(c, now + config_.inbound_upgrade_timeout);
  outbox_.Count(Counter::kInboundAccepted);
  outbox_.Emit(AcceptConnection{c.id});
  return c.id;
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const OutboundConnection& in) {
  if (absl::Status s = CheckAddresses("outbound_connection", in.remote, in.local); !s.ok()) {
    return s;
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("outbound_connection: peer must not be empty");
  }
  Connection& c = table_.AddPending(Direction::kOutbound, in.remote, now);
  outbox_.Count(Counter::kOutboundRegistered);
  const ConnectionId id = c.id;
  AdmitOutbound(c, in.peer, now);
  return id;
}

bool Core::AdmitOutbound(Connection& c, const PeerId& peer, Instant now) {
  Admission::OutboundVerdict verdict = admission_.DecideOutbound(c, peer, table_);
  if (verdict.gate_rule) {
    CloseGated(c, GateStage::kUpgraded, *std::move(verdict.gate_rule), now);
    return false;
  }
  c.allow_listed = verdict.allow_listed;
  if (verdict.denial) EmitScopeDenied(outbox_, c.id, *verdict.denial);
  if (verdict.close) {
    StartClosing(c, *verdict.close, now);
    return false;
  }
  if (!c.allow_listed) c.charge = ScopeCharge::kPeer;
  Open(c, peer, now);
  return true;
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const ConnectionUpgraded& in) {
  absl::StatusOr<Connection*> found = table_.FindLive("connection_upgraded", in.connection);
  if (!found.ok()) return found.status();
  Connection& c = **found;
  if (c.dial_attempt) {
    return absl::FailedPreconditionError(absl::StrCat("connection_upgraded: connection ",
                                                      in.connection.value,
                                                      " is a dial attempt; report dial_succeeded"));
  }
  if (c.state != ConnectionState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("connection_upgraded: connection ", in.connection.value, " is ",
                     ConnectionStateName(c.state), ", not pending"));
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("connection_upgraded: peer must not be empty");
  }
  if (std::optional<Admission::UpgradeGate> gate = admission_.UpgradeGateFor(c, in.peer)) {
    CloseGated(c, gate->stage, std::move(gate->rule), now);
    return in.connection;
  }
  timers_.Disarm(c);
  if (c.charge == ScopeCharge::kTransient) {
    if (std::optional<ScopeDenial> denial =
            scopes_.MoveConnectionToPeer(c.direction, c.uses_fd, in.peer)) {
      // The peer's scope is full: the connection never opens; its charge stays transient.
      EmitScopeDenied(outbox_, in.connection, *denial);
      StartClosing(c, CloseReason::kResourceLimit, now);
      return in.connection;
    }
    c.charge = ScopeCharge::kPeer;
  }
  Open(c, in.peer, now);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const ConnectionSecured& in) {
  absl::StatusOr<Connection*> found = table_.FindLive("connection_secured", in.connection);
  if (!found.ok()) return found.status();
  Connection& c = **found;
  if (c.dial_attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("connection_secured: connection ", in.connection.value, " is a dial attempt"));
  }
  if (c.state != ConnectionState::kPending || c.secured) {
    return absl::FailedPreconditionError(absl::StrCat(
        "connection_secured: connection ", in.connection.value, " is ",
        c.secured ? "already secured" : ConnectionStateName(c.state), ", not pending"));
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("connection_secured: peer must not be empty");
  }
  if (std::optional<std::string> rule =
          admission_.DeniedPeerRule(c, in.peer, /*gater_passed=*/false)) {
    CloseGated(c, GateStage::kSecured, *std::move(rule), now);
    return in.connection;
  }
  c.secured = true;
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const DenyAddress& in) {
  if (absl::Status s = admission_.Deny(in.prefix); !s.ok()) return s;
  if (!config_.close_newly_denied_connections) return ConnectionId{};
  const std::string rule = absl::StrCat("deny_list ", in.prefix.ToString());
  for (ConnectionId id : table_.ConnectionsInPrefix(in.prefix)) {
    Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kClosing) CloseGated(c, GateStage::kListChange, rule, now);
  }
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::OnAllowListChange(Instant now, const IpPrefix& prefix,
                                                     bool add) {
  if (add) {
    if (absl::Status s = admission_.Allow(prefix); !s.ok()) return s;
  } else {
    admission_.Unallow(prefix);
  }
  // Live connections in the range gain or lose their exemption from pruning (their scope
  // charges, decided at admission, stay as they are).
  for (ConnectionId id : table_.ConnectionsInPrefix(prefix)) {
    Connection& c = *table_.Find(id);
    c.allow_listed = admission_.IsAllowListed(c.remote_ip);
    if (c.state == ConnectionState::kOpen) pruner_.Reindex(c);
  }
  if (!add) MaybeTrim(now);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::On(Instant, const UndenyAddress& in) {
  admission_.Undeny(in.prefix);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const AllowAddress& in) {
  return OnAllowListChange(now, in.prefix, /*add=*/true);
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const UnallowAddress& in) {
  return OnAllowListChange(now, in.prefix, /*add=*/false);
}

absl::StatusOr<ConnectionId> Core::On(Instant, const UndenyPeer& in) {
  if (in.peer.is_empty()) return absl::InvalidArgumentError("undeny_peer: peer must not be empty");
  admission_.UndenyPeer(in.peer);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const DenyPeer& in) {
  if (absl::Status s = admission_.DenyPeer(in.peer); !s.ok()) return s;
  if (!config_.close_newly_denied_connections) return ConnectionId{};
  const absl::Span<const ConnectionId> ids = table_.PeerConnections(in.peer);
  for (ConnectionId id : std::vector<ConnectionId>(ids.begin(), ids.end())) {
    Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kClosing) {
      CloseGated(c, GateStage::kListChange, "denied_peers", now);
    }
  }
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::On(Instant, const TransportClosed& in) {
  switch (in.reason) {
    case CloseReason::kTransport:
    case CloseReason::kProtocolError:
    case CloseReason::kHandshakeFailed:
    case CloseReason::kSlowReader:
    case CloseReason::kMemoryLimit:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("transport_closed: reason \"", CloseReasonName(in.reason),
                       "\" is the core's to give; the transport reports transport, protocol_error, "
                       "handshake_failed, slow_reader or memory_limit"));
  }
  Connection* c = table_.Find(in.connection);
  if (c == nullptr) {
    if (table_.WasClosed(in.connection)) return in.connection;
    return table_.FindLive("transport_closed", in.connection).status();
  }
  if (c->dial_attempt) {
    dialer_.AttemptFailed(*c,
                          in.reason == CloseReason::kTransport
                              ? std::string("transport closed")
                              : absl::StrCat("transport closed: ", CloseReasonName(in.reason)),
                          last_now_);
    return in.connection;
  }
  Finish(*c, c->state == ConnectionState::kClosing ? c->close_reason : in.reason);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const CloseRequest& in) {
  if (table_.WasClosed(in.connection)) return in.connection;
  absl::StatusOr<Connection*> c = table_.FindLive("close_request", in.connection);
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

absl::StatusOr<ConnectionId> Core::On(Instant now, const TimerExpired&) {
  while (std::optional<ConnectionId> id = timers_.PopDue(now)) {
    Connection* c = table_.Find(*id);
    c->deadline = Instant::Never();
    if (c->dial_attempt) {
      dialer_.AttemptFailed(*c, "timeout", now);
    } else if (c->state == ConnectionState::kPending) {
      StartClosing(*c, CloseReason::kUpgradeTimeout, now);
    } else if (c->state == ConnectionState::kOpen) {
      c->in_grace = false;
      pruner_.Reindex(*c);
    } else {
      // connection_close_timeout passed: the transport never confirmed the close.
      outbox_.Count(Counter::kAborts);
      outbox_.Emit(AbortConnection{*id});
      Finish(*c, c->close_reason);
    }
  }
  dialer_.FireTimers(now);
  for (const PeerId& peer : tags_.AdvanceTo(now)) pruner_.ReindexPeer(peer);  // decaying tags
  pruner_.AdvanceTo(now);
  // A connection leaving its grace period, or the silence period ending, may allow a trim.
  MaybeTrim(now);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const SetPeerTag& in) {
  return OnPeerTagChange(now, in, [&] { return tags_.SetTag(in.peer, in.tag, in.value); });
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const AddToPeerTag& in) {
  return OnPeerTagChange(now, in, [&] { return tags_.AddToTag(in.peer, in.tag, in.delta); });
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const RemovePeerTag& in) {
  return OnPeerTagChange(now, in, [&] {
    tags_.RemoveTag(in.peer, in.tag);
    return absl::OkStatus();
  });
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const ProtectPeer& in) {
  return OnPeerTagChange(now, in, [&] { return tags_.Protect(in.peer, in.tag); });
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const UnprotectPeer& in) {
  return OnPeerTagChange(now, in, [&] {
    tags_.Unprotect(in.peer, in.tag);
    return absl::OkStatus();
  });
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const BumpPeerTag& in) {
  return OnPeerTagChange(now, in, [&] { return tags_.Bump(in.peer, in.tag, in.delta, now); });
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const RegisterDecayingTag& in) {
  absl::Status s = tags_.RegisterDecayingTag(in.tag, in.interval, in.decay, in.bump, now);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(in.kKind, ": ", s.message()));
  return ConnectionId{};
}

template <typename TagInput, typename Change>
absl::StatusOr<ConnectionId> Core::OnPeerTagChange(Instant now, const TagInput& in, Change change) {
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError(absl::StrCat(in.kKind, ": peer must not be empty"));
  }
  if (absl::Status s = change(); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(in.kKind, ": ", s.message()));
  }
  // A changed value re-ranks the peer's connections; an unprotected peer may leave the node
  // over its watermark, so a trim may follow (js-libp2p trims only when a connection opens).
  pruner_.ReindexPeer(in.peer);
  MaybeTrim(now);
  reconnector_.MaybeStart(in.peer, now);  // a keep-alive tag on a peer that is not connected
  return ConnectionId{};
}

void Core::Open(Connection& c, const PeerId& peer, Instant now) {
  const size_t peer_connections = table_.Open(c, peer, now);
  const bool first = peer_connections == 1;
  dialer_.PeerConnected(peer);
  reconnector_.PeerConnected(peer);
  outbox_.Count(Counter::kConnectionsOpened);
  outbox_.Emit(ConnectionOpened{c.id, peer, c.direction});
  if (first) {
    outbox_.Count(Counter::kPeersConnected);
    outbox_.Emit(PeerConnected{peer});
  }
  if (config_.grace_period > Duration::Zero()) {
    c.in_grace = true;
    timers_.Arm(c, now + config_.grace_period);
  }
  pruner_.Reindex(c);
  EnforcePeerLimit(c.id, peer, peer_connections, now);
  MaybeTrim(now);
}

void Core::StartClosing(Connection& c, CloseReason reason, Instant now) {
  pruner_.Unindex(c);
  table_.StartClosing(c, reason, now);
  outbox_.Count(Counter::kCloseCommands);
  outbox_.Emit(CloseConnection{c.id, reason});
  timers_.Arm(c, now + config_.connection_close_timeout);
}

void Core::Finish(ConnectionId id, CloseReason reason) { Finish(*table_.Find(id), reason); }

void Core::Finish(Connection& c, CloseReason reason) {
  const ConnectionId id = c.id;
  timers_.Disarm(c);  // the timers point at the record
  pruner_.Unindex(c);
  ReleaseScopes(c);
  const PeerId peer = c.peer;
  const bool peer_gone = table_.Remove(c);
  outbox_.Count(Counter::kConnectionsClosed);
  ++closed_by_reason_[static_cast<int>(reason)];
  outbox_.Emit(ConnectionClosed{id, reason});
  if (peer_gone) {
    streams_.PeerGone(peer);
    reconnector_.PeerGone(peer, last_now_);
    outbox_.Count(Counter::kPeersDisconnected);
    outbox_.Emit(PeerDisconnected{peer});
  }
}

void Core::ReleaseScopes(Connection& c) {
  memory_.ConnectionEnded(c);
  admission_.ReleaseSource(c, last_now_);
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

void Core::CloseGated(Connection& c, GateStage stage, std::string rule, Instant now) {
  outbox_.Emit(ConnectionGated{c.id, stage, std::move(rule)});
  StartClosing(c, CloseReason::kDenied, now);
}

void Core::EnforcePeerLimit(ConnectionId opened, const PeerId& peer, size_t peer_connections,
                            Instant now) {
  // Only open ones count against the limit: under it in all states, none need be counted.
  if (peer_connections <= config_.max_connections_per_peer) return;
  while (table_.OpenPeerConnectionCount(peer) > config_.max_connections_per_peer) {
    StartClosing(*table_.Find(pruner_.PeerLimitVictim(opened, peer)), CloseReason::kPeerLimit, now);
  }
}

void Core::MaybeTrim(Instant now, Pruner::TrimMode mode) {
  const absl::Span<const ConnectionId> chosen = pruner_.ChooseTrim(now, mode);
  if (chosen.size() > 1) {  // one CloseConnection and one close timer each
    outbox_.Reserve(chosen.size());
    timers_.Reserve(chosen.size());
  }
  for (ConnectionId id : chosen) {
    StartClosing(*table_.Find(id), CloseReason::kPruned, now);
  }
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const UpdateConfig& in) {
  const Config& config = *in.config;
  if (absl::Status s = CheckRuntimeChange(config_, config); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("update_config: ", s.message()));
  }
  const bool diversity_was_on = config_.diversity_protected_connections != 0;
  // Fewer diversity-protected connections lowers what a trim keeps over the limits too.
  const bool lower_limit =
      config.max_connections < config_.max_connections ||
      config.effective_high_watermark() < config_.effective_high_watermark() ||
      config.diversity_protected_connections < config_.diversity_protected_connections;
  config_ = config;
  admission_.ConfigChanged();
  dialer_.ConfigChanged();
  pruner_.ConfigChanged(diversity_was_on);
  outbox_.Count(Counter::kConfigUpdates);
  if (lower_limit) MaybeTrim(now, Pruner::TrimMode::kLimitLowered);
  dialer_.Pump(now);
  reconnector_.HandleResults(now);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::On(Instant now, const TrimOpenConnections&) {
  MaybeTrim(now, Pruner::TrimMode::kToLowWatermarkNow);
  return ConnectionId{};
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
  m.counters = outbox_.counters();
  m.closed_by_reason = closed_by_reason_;
  m.memory_bytes = memory_.reserved();
  admission_.AddMetrics(m);
  streams_.AddMetrics(m);
  dialer_.AddMetrics(m);
  return m;
}

}  // namespace connmgr
