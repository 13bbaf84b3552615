#include "props/reference_core.h"

#include <algorithm>
#include <map>
#include <set>

namespace connmgr {
namespace {

using Code = absl::StatusCode;

bool BadProtocol(const std::string& p) { return p.empty() || p.size() > 256; }

}  // namespace

ReferenceCore::Conn* ReferenceCore::Find(ConnectionId id) {
  for (Conn& c : conns_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

absl::StatusCode ReferenceCore::Missing(ConnectionId id) const {
  const bool handed_out = id.value >= 1 && id.value < next_id_;
  return handed_out ? Code::kFailedPrecondition : Code::kNotFound;
}

size_t ReferenceCore::PeerConnectionCount(const PeerId& peer) const {
  return std::count_if(conns_.begin(), conns_.end(), [&](const Conn& c) {
    return c.upgraded && c.peer == peer;
  });
}

void ReferenceCore::Open(Conn& c, const PeerId& peer, Instant now, std::vector<Output>* out) {
  c.state = ConnectionState::kOpen;
  c.upgraded = true;
  c.peer = peer;
  c.opened_at = now;
  c.deadline = Instant::Never();
  Count(Counter::kConnectionsOpened);
  out->push_back(ConnectionOpened{c.id, peer, c.direction});
  if (PeerConnectionCount(peer) == 1) {
    Count(Counter::kPeersConnected);
    out->push_back(PeerConnected{peer});
  }
}

void ReferenceCore::Close(Conn& c, CloseReason reason, Instant now, std::vector<Output>* out) {
  c.state = ConnectionState::kClosing;
  c.close_reason = reason;
  c.closing_at = now;
  c.deadline = now + config_.connection_close_timeout;
  Count(Counter::kCloseCommands);
  out->push_back(CloseConnection{c.id, reason});
}

void ReferenceCore::Finish(ConnectionId id, CloseReason reason, std::vector<Output>* out) {
  auto it = std::find_if(conns_.begin(), conns_.end(), [&](const Conn& c) { return c.id == id; });
  const Conn gone = *it;
  conns_.erase(it);
  Count(Counter::kConnectionsClosed);
  ++closed_[static_cast<int>(reason)];
  out->push_back(ConnectionClosed{id, reason});
  if (gone.upgraded && PeerConnectionCount(gone.peer) == 0) {
    Count(Counter::kPeersDisconnected);
    out->push_back(PeerDisconnected{gone.peer});
  }
}

absl::StatusCode ReferenceCore::Handle(Instant now, const Input& input,
                                       std::vector<Output>* out, ConnectionId* id) {
  if (now < last_now_) {
    Count(Counter::kClockRegressions);
    now = last_now_;
  }
  last_now_ = now;
  Count(Counter::kInputs);
  *id = ConnectionId{};
  Code code = Code::kOk;

  if (const auto* in = std::get_if<InboundConnection>(&input)) {
    if (in->remote.empty() || in->local.empty()) {
      code = Code::kInvalidArgument;
    } else {
      *id = ConnectionId{next_id_++};
      size_t pending = 0, open = 0;
      for (const Conn& c : conns_) {
        pending += c.direction == Direction::kInbound && c.state == ConnectionState::kPending;
        open += c.state == ConnectionState::kOpen;
      }
      if (pending >= config_.max_incoming_pending_connections || open >= config_.max_connections) {
        const RejectReason reason = pending >= config_.max_incoming_pending_connections
                                        ? RejectReason::kPendingLimit
                                        : RejectReason::kConnectionLimit;
        Count(Counter::kInboundRejected);
        ++rejected_[static_cast<int>(reason)];
        out->push_back(RejectConnection{*id, reason});
      } else {
        Conn c;
        c.id = *id;
        c.direction = Direction::kInbound;
        c.state = ConnectionState::kPending;
        c.created_at = now;
        c.deadline = now + config_.inbound_upgrade_timeout;
        conns_.push_back(c);
        Count(Counter::kInboundAccepted);
        out->push_back(AcceptConnection{*id});
      }
    }
  } else if (const auto* in = std::get_if<OutboundConnection>(&input)) {
    if (in->remote.empty() || in->local.empty() || in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      *id = ConnectionId{next_id_++};
      Conn c;
      c.id = *id;
      c.direction = Direction::kOutbound;
      c.state = ConnectionState::kPending;
      c.created_at = now;
      conns_.push_back(c);
      Count(Counter::kOutboundRegistered);
      Open(conns_.back(), in->peer, now, out);
    }
  } else if (const auto* in = std::get_if<ConnectionUpgraded>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection);
    } else if (c->state != ConnectionState::kPending) {
      code = Code::kFailedPrecondition;
    } else if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      *id = c->id;
      Open(*c, in->peer, now, out);
    }
  } else if (const auto* in = std::get_if<TransportClosed>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection) == Code::kFailedPrecondition ? Code::kOk : Code::kNotFound;
    } else {
      Finish(c->id,
             c->state == ConnectionState::kClosing ? c->close_reason : CloseReason::kTransport,
             out);
    }
    if (code == Code::kOk) *id = in->connection;
  } else if (const auto* in = std::get_if<CloseRequest>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection) == Code::kFailedPrecondition ? Code::kOk : Code::kNotFound;
    } else if (c->state != ConnectionState::kClosing) {
      Close(*c, CloseReason::kRequested, now, out);
    }
    if (code == Code::kOk) *id = in->connection;
  } else if (const auto* in = std::get_if<StreamOpened>(&input)) {
    Conn* c = Find(in->connection);
    if (BadProtocol(in->protocol)) {
      code = Code::kInvalidArgument;
    } else if (c == nullptr) {
      code = Missing(in->connection);
    } else if (!c->upgraded) {
      code = Code::kFailedPrecondition;
    } else {
      c->streams.push_back({in->protocol, in->direction});
      Count(Counter::kStreamsOpened);
      *id = c->id;
    }
  } else if (const auto* in = std::get_if<StreamClosed>(&input)) {
    Conn* c = Find(in->connection);
    if (BadProtocol(in->protocol)) {
      code = Code::kInvalidArgument;
    } else if (c == nullptr) {
      code = Missing(in->connection);
    } else {
      auto s = std::find_if(c->streams.begin(), c->streams.end(), [&](const Stream& s) {
        return s.protocol == in->protocol && s.direction == in->direction;
      });
      if (s == c->streams.end()) {
        code = Code::kFailedPrecondition;
      } else {
        c->streams.erase(s);
        Count(Counter::kStreamsClosed);
        *id = c->id;
      }
    }
  } else {  // TimerExpired
    for (;;) {
      Conn* due = nullptr;
      for (Conn& c : conns_) {
        if (c.deadline <= now &&
            (due == nullptr || std::make_pair(c.deadline, c.id) < std::make_pair(due->deadline, due->id))) {
          due = &c;
        }
      }
      if (due == nullptr) break;
      if (due->state == ConnectionState::kPending) {
        Close(*due, CloseReason::kUpgradeTimeout, now, out);
      } else {
        Count(Counter::kAborts);
        out->push_back(AbortConnection{due->id});
        Finish(due->id, due->close_reason, out);
      }
    }
  }
  if (code != Code::kOk) Count(Counter::kInputErrors);
  return code;
}

Instant ReferenceCore::NextDeadline() const {
  Instant next = Instant::Never();
  for (const Conn& c : conns_) next = std::min(next, c.deadline);
  return next;
}

Metrics ReferenceCore::ExpectedMetrics() const {
  Metrics m;
  std::set<PeerId> peers;
  std::map<std::string, ProtocolStreams> by_protocol;
  std::vector<uint32_t> open_stream_counts;
  for (const Conn& c : conns_) {
    ++m.connections_by_state[static_cast<int>(c.direction)][static_cast<int>(c.state)];
    if (c.upgraded) peers.insert(c.peer);
    if (c.state == ConnectionState::kOpen) open_stream_counts.push_back(c.streams.size());
    for (const Stream& s : c.streams) {
      ProtocolStreams& p = by_protocol[s.protocol];
      p.protocol = s.protocol;
      (s.direction == Direction::kInbound ? p.inbound : p.outbound) += 1;
      (s.direction == Direction::kInbound ? m.streams_inbound : m.streams_outbound) += 1;
    }
  }
  m.peers = peers.size();
  for (auto& [name, p] : by_protocol) m.streams_by_protocol.push_back(p);
  std::sort(open_stream_counts.begin(), open_stream_counts.end());
  if (!open_stream_counts.empty()) {
    const size_t rank = (open_stream_counts.size() * 9 + 9) / 10;
    m.streams_per_connection_p90 = open_stream_counts[rank - 1];
  }
  m.counters = counters_;
  m.rejected_by_reason = rejected_;
  m.closed_by_reason = closed_;
  return m;
}

}  // namespace connmgr
