#include "core/core.h"

#include <utility>

#include "absl/strings/str_cat.h"

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

absl::StatusOr<std::unique_ptr<Core>> Core::Create(Config config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  return std::unique_ptr<Core>(new Core(std::move(config)));
}

Core::Core(Config config) : config_(std::move(config)), table_(config_.closable_protocols) {}

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
  return timers_.empty() ? Instant::Never() : timers_.begin()->first;
}

absl::StatusOr<ConnectionId> Core::OnInbound(Instant now, const InboundConnection& in) {
  if (absl::Status s = CheckAddresses("inbound_connection", in.remote, in.local); !s.ok()) {
    return s;
  }
  std::optional<RejectReason> reject;
  if (table_.pending_count(Direction::kInbound) >= config_.max_incoming_pending_connections) {
    reject = RejectReason::kPendingLimit;
  } else if (table_.open_count() >= config_.max_connections) {
    reject = RejectReason::kConnectionLimit;
  }
  if (reject) {
    ConnectionId id = table_.SkipId();
    Count(Counter::kInboundRejected);
    ++rejected_by_reason_[static_cast<int>(*reject)];
    Emit(RejectConnection{id, *reject});
    return id;
  }
  Connection& c = table_.AddPending(Direction::kInbound, in.remote, in.local, now);
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
  Open(c, in.peer, now);
  return c.id;
}

absl::StatusOr<ConnectionId> Core::OnUpgraded(Instant now, const ConnectionUpgraded& in) {
  absl::StatusOr<Connection*> c = FindLive("connection_upgraded", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->state != ConnectionState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("connection_upgraded: connection ", in.connection.value, " is ",
                     ConnectionStateName((*c)->state), ", not pending"));
  }
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("connection_upgraded: peer must not be empty");
  }
  Disarm(**c);
  Open(**c, in.peer, now);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnTransportClosed(Instant, const TransportClosed& in) {
  if (table_.WasClosed(in.connection)) return in.connection;
  absl::StatusOr<Connection*> c = FindLive("transport_closed", in.connection);
  if (!c.ok()) return c.status();
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
    return absl::FailedPreconditionError(absl::StrCat(
        "stream_opened: connection ", in.connection.value, " was never upgraded"));
  }
  table_.AddStream(**c, in.protocol, in.direction);
  Count(Counter::kStreamsOpened);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnStreamClosed(Instant, const StreamClosed& in) {
  if (absl::Status s = CheckProtocol("stream_closed", in.protocol); !s.ok()) return s;
  absl::StatusOr<Connection*> c = FindLive("stream_closed", in.connection);
  if (!c.ok()) return c.status();
  if (absl::Status s = table_.RemoveStream(**c, in.protocol, in.direction); !s.ok()) return s;
  Count(Counter::kStreamsClosed);
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnTimerExpired(Instant now) {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const ConnectionId id = timers_.begin()->second;
    timers_.erase(timers_.begin());
    Connection* c = table_.Find(id);
    c->deadline = Instant::Never();
    if (c->state == ConnectionState::kPending) {
      StartClosing(*c, CloseReason::kUpgradeTimeout, now);
    } else {
      // connection_close_timeout passed: the transport never confirmed the close.
      Count(Counter::kAborts);
      Emit(AbortConnection{id});
      Finish(id, c->close_reason);
    }
  }
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
  Count(Counter::kConnectionsOpened);
  Emit(ConnectionOpened{c.id, peer, c.direction});
  if (first) {
    Count(Counter::kPeersConnected);
    Emit(PeerConnected{peer});
  }
}

void Core::StartClosing(Connection& c, CloseReason reason, Instant now) {
  table_.StartClosing(c, reason, now);
  Count(Counter::kCloseCommands);
  Emit(CloseConnection{c.id, reason});
  Arm(c, now + config_.connection_close_timeout);
}

void Core::Finish(ConnectionId id, CloseReason reason) {
  const PeerId peer = table_.Find(id)->peer;
  const bool peer_gone = table_.Remove(id);
  Count(Counter::kConnectionsClosed);
  ++closed_by_reason_[static_cast<int>(reason)];
  Emit(ConnectionClosed{id, reason});
  if (peer_gone) {
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
  return m;
}

}  // namespace connmgr
