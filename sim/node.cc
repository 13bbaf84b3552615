#include "sim/node.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/random.h"

namespace connmgr::sim {
namespace {

Multiaddr AddressOf(Endpoint e) {
  // Always valid: four octets and a port.
  return Multiaddr::Parse(absl::StrCat("/ip4/", IpText(e.ip), "/tcp/", e.port)).value();
}

Endpoint EndpointOf(const Multiaddr& address) {
  Endpoint e;
  std::optional<IpAddress> ip = address.ip();
  if (ip && ip->is_v4()) {
    for (uint8_t b : ip->bytes()) e.ip = (e.ip << 8) | b;
  }
  e.port = address.port().value_or(0);
  return e;
}

}  // namespace

std::string IpText(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 255, ".", (ip >> 8) & 255, ".", ip & 255);
}

PeerId SimPeerId(uint64_t seed, uint64_t index) {
  std::string multihash = {'\x12', '\x20'};
  SplitMix64 rng(Mix64(seed) ^ Mix64(index + 1));
  for (int i = 0; i < 4; ++i) {
    uint64_t v = rng.Next();
    for (int b = 0; b < 8; ++b) multihash.push_back(static_cast<char>(v >> (8 * b)));
  }
  return PeerId::FromBytes(multihash).value();
}

absl::StatusOr<std::unique_ptr<Node>> Node::Create(const Config& config,
                                                   TraceWriter::Sink trace_sink) {
  absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(config);
  if (!core.ok()) return core.status();
  return std::unique_ptr<Node>(new Node(*std::move(core), std::move(trace_sink)));
}

Node::Node(std::unique_ptr<Core> core, TraceWriter::Sink sink) : core_(std::move(core)) {
  if (sink) trace_.emplace(core_->config(), std::move(sink));
}

absl::StatusOr<ConnectionId> Node::Handle(Instant now, const Input& input) {
  absl::StatusOr<ConnectionId> result;
  outputs_.clear();
  if (trace_) {
    result = trace_->Handle(*core_, now, input, &outputs_);
  } else {
    result = core_->Handle(now, input);
    while (std::optional<Output> out = core_->PollOutput()) outputs_.push_back(*std::move(out));
  }
  if (!result.ok()) ++errors_;
  for (const Output& out : outputs_) {
    using K = NodeAction::Kind;
    auto act = [&](K kind, uint64_t conn = 0) -> NodeAction& {
      NodeAction& a = actions_.emplace_back();
      a.kind = kind;
      a.conn = conn;
      return a;
    };
    if (const auto* o = std::get_if<AcceptConnection>(&out)) {
      act(K::kAccept, o->connection.value);
    } else if (const auto* o = std::get_if<RejectConnection>(&out)) {
      ++rejected_;
      act(K::kReject, o->connection.value).rejected_for_rate =
          o->reason == RejectReason::kRateLimitIp || o->reason == RejectReason::kRateLimitSubnet ||
          o->reason == RejectReason::kRateLimitGlobal;
    } else if (const auto* o = std::get_if<CloseConnection>(&out)) {
      act(K::kClose, o->connection.value);
    } else if (const auto* o = std::get_if<AbortConnection>(&out)) {
      act(K::kAbort, o->connection.value);
    } else if (const auto* o = std::get_if<DialAddress>(&out)) {
      NodeAction& a = act(K::kDial, o->connection.value);
      a.endpoint = EndpointOf(o->address);
      a.peer = o->peer;
    } else if (const auto* o = std::get_if<CancelDialAttempt>(&out)) {
      act(K::kCancelDial, o->connection.value);
    } else if (const auto* o = std::get_if<ResolveDns>(&out)) {
      NodeAction& a = act(K::kResolveDns);
      a.query = o->query;
      a.name = o->name;
    } else if (const auto* o = std::get_if<ResetStream>(&out)) {
      act(K::kResetStream, o->connection.value);
    } else if (const auto* o = std::get_if<ConnectionOpened>(&out)) {
      act(K::kOpened, o->connection.value).peer = o->peer;
    } else if (const auto* o = std::get_if<ConnectionClosed>(&out)) {
      act(K::kClosed, o->connection.value);
    } else if (const auto* o = std::get_if<ConnectionsPruned>(&out)) {
      act(K::kPruned).count = static_cast<uint32_t>(o->pruned.size());
    } else if (const auto* o = std::get_if<DialResult>(&out)) {
      NodeAction& a = act(K::kDialResult);
      a.peer = o->peer;
      a.connected =
          o->outcome == DialOutcome::kConnected || o->outcome == DialOutcome::kExistingConnection;
    }
  }
  return result;
}

uint64_t Node::Inbound(Instant now, Endpoint remote, Endpoint local) {
  absl::StatusOr<ConnectionId> id =
      Handle(now, InboundConnection{AddressOf(remote), AddressOf(local)});
  return id.ok() ? id->value : 0;
}

void Node::Upgraded(Instant now, uint64_t conn, const PeerId& peer) {
  Handle(now, ConnectionUpgraded{ConnectionId{conn}, peer}).IgnoreError();
}

void Node::TransportClosed(Instant now, uint64_t conn) {
  Handle(now, connmgr::TransportClosed{ConnectionId{conn}}).IgnoreError();
}

void Node::DialSucceeded(Instant now, uint64_t conn) {
  Handle(now, connmgr::DialSucceeded{ConnectionId{conn}}).IgnoreError();
}

void Node::DialFailed(Instant now, uint64_t conn, const std::string& error) {
  Handle(now, connmgr::DialFailed{ConnectionId{conn}, error}).IgnoreError();
}

void Node::StreamOpened(Instant now, uint64_t conn, const std::string& protocol, bool inbound) {
  Handle(now, connmgr::StreamOpened{ConnectionId{conn}, next_stream_++, protocol,
                                    inbound ? Direction::kInbound : Direction::kOutbound})
      .IgnoreError();
}

void Node::Dial(Instant now, const PeerId& peer, Endpoint address) {
  const Config& c = core_->config();
  Handle(now, DialRequest{next_request_++,
                          peer,
                          {AddressOf(address)},
                          c.default_dial_priority,
                          /*force=*/false,
                          Duration::Zero()})
      .IgnoreError();
}

void Node::KeepAlive(Instant now, const PeerId& peer, Endpoint address) {
  Handle(now, SetPeerAddresses{peer, {AddressOf(address)}}).IgnoreError();
  Handle(now, SetPeerTag{peer, core_->config().keep_alive_tag_prefix, 100}).IgnoreError();
}

void Node::DnsAnswered(Instant now, uint64_t query, const std::vector<std::string>& records) {
  Handle(now, connmgr::DnsAnswered{query, records, Duration::Minutes(5)}).IgnoreError();
}

void Node::DnsLookupFailed(Instant now, uint64_t query, const std::string& error) {
  Handle(now, connmgr::DnsFailed{query, error}).IgnoreError();
}

void Node::Timer(Instant now) { Handle(now, TimerExpired{}).IgnoreError(); }

uint64_t Node::open_connections() const { return core_->connections().open_count(); }

uint64_t Node::peers() const { return core_->connections().peer_count(); }

bool Node::IsOpen(uint64_t conn) const {
  const Connection* c = core_->connections().Find(ConnectionId{conn});
  return c != nullptr && c->state == ConnectionState::kOpen;
}

bool Node::IsConnectedTo(const PeerId& peer) const {
  return core_->connections().OpenPeerConnectionCount(peer) > 0;
}

}  // namespace connmgr::sim
