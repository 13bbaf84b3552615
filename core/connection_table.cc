#include "core/connection_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

// Distinct protocol names with open streams that keep their own row in the metrics.
constexpr size_t kMaxTrackedProtocols = 1024;

}  // namespace

ConnectionTable::ConnectionTable(absl::Span<const std::string> pinned_protocols)
    : protocols_(kMaxTrackedProtocols, pinned_protocols) {}

uint64_t NetGroupOf(const Multiaddr& remote) {
  const std::optional<IpAddress> ip = remote.ip();
  return ip ? NetGroupOf(*ip) : 0;
}

uint64_t NetGroupOf(const IpAddress& ip) {
  const IpAddress a = ip.Unmapped();
  const absl::Span<const uint8_t> b = a.bytes();
  if (a.is_v4()) return (uint64_t{4} << 32) | (uint64_t{b[0]} << 8) | b[1];
  return (uint64_t{6} << 32) | (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) |
         (uint64_t{b[2]} << 8) | b[3];
}

uint64_t PendingGroupOf(const IpAddress& ip) {
  const IpAddress a = ip.Unmapped();
  const absl::Span<const uint8_t> b = a.bytes();
  uint64_t group = a.is_v4() ? 4 : 6;
  for (size_t i = 0; i < (a.is_v4() ? 3u : 6u); ++i) group = (group << 8) | b[i];
  return group;
}

bool UsesFileDescriptor(const Multiaddr::Facts& remote) {
  return !remote.relayed && remote.transport != Transport::kMemory;
}

ConnectionTable::IpKey::IpKey(const IpAddress& ip, ConnectionId id)
    : high(0), low(0), v6_and_id((uint64_t{ip.is_v6()} << 63) | id.value) {
  const absl::Span<const uint8_t> b = ip.bytes();
  for (size_t i = 0; i < 16; ++i) {
    const uint64_t byte = i < b.size() ? b[i] : 0;
    (i < 8 ? high : low) |= byte << (8 * (7 - i % 8));
  }
}

IpAddress ConnectionTable::IpKey::ip() const {
  std::array<uint8_t, 16> b{};
  for (size_t i = 0; i < 16; ++i)
    b[i] = static_cast<uint8_t>((i < 8 ? high : low) >> (8 * (7 - i % 8)));
  if (!v6()) return IpAddress::V4({b[0], b[1], b[2], b[3]});
  return IpAddress::V6(b);
}

Connection& ConnectionTable::AddPending(Direction direction, Multiaddr remote,
                                        const Multiaddr::Facts& facts, Instant now) {
  const ConnectionId id = connections_.NextId();
  Connection& c = *connection_records_.New();
  c.id = id;
  connections_.Insert(&c);
  c.direction = direction;
  c.relayed = facts.relayed;
  c.uses_fd = UsesFileDescriptor(facts);
  if (facts.ip) {
    c.remote_ip = facts.ip->Unmapped();
    if (by_ip_) by_ip_->insert(IpKey(*c.remote_ip, id));
  }
  c.remote = std::move(remote);
  c.created_at = now;
  CountState(c, +1);
  return c;
}

Connection* ConnectionTable::Find(ConnectionId id) { return connections_.Find(id); }

std::vector<ConnectionId> ConnectionTable::ConnectionsInPrefix(const IpPrefix& prefix) {
  if (!by_ip_) {
    by_ip_.emplace();
    connections_.ForEach([&](const Connection* c) {
      if (c->remote_ip) by_ip_->insert(IpKey(*c->remote_ip, c->id));
    });
  }
  std::vector<ConnectionId> ids;
  // A prefix is one contiguous run of addresses in IpAddress order.
  for (auto it = by_ip_->lower_bound(IpKey(prefix.network(), ConnectionId{}));
       it != by_ip_->end() && prefix.Contains(it->ip()); ++it) {
    ids.push_back(it->id());
  }
  return ids;
}

const Connection* ConnectionTable::Find(ConnectionId id) const { return connections_.Find(id); }

absl::StatusOr<Connection*> ConnectionTable::FindLive(absl::string_view input, ConnectionId id) {
  if (Connection* c = Find(id)) return c;
  if (WasClosed(id)) {
    return absl::FailedPreconditionError(
        absl::StrCat(input, ": connection ", id.value, " is already closed"));
  }
  return absl::NotFoundError(absl::StrCat(input, ": no connection ", id.value));
}

void ConnectionTable::JoinPendingShare(Connection& c) {
  if (c.fair_pending || c.state != ConnectionState::kPending ||
      c.direction != Direction::kInbound) {
    return;
  }
  c.fair_pending = true;
  CountPendingShare(c, +1);
}

void ConnectionTable::CountPendingShare(const Connection& c, int delta) {
  const uint64_t group = c.remote_ip ? PendingGroupOf(*c.remote_ip) : 0;
  delta > 0 ? pending_shares_.Add(group, c.id) : pending_shares_.Remove(group, c.id);
}

std::optional<ConnectionId> ConnectionTable::PendingEvictionVictim(
    const IpAddress& newcomer) const {
  return pending_shares_.Victim(pending_shares_.Count(PendingGroupOf(newcomer)) + 2);
}

size_t ConnectionTable::Open(Connection& c, const PeerId& peer, Instant now) {
  CountState(c, -1);
  c.state = ConnectionState::kOpen;
  c.peer = peer;
  c.opened_at = now;
  CountState(c, +1);
  CountOpenStreams(c.stream_count(), +1);
  // One hash of the peer id, whether or not the peer is new.
  auto it = peers_.lazy_emplace(peer, [&](const auto& construct) {
    PeerRecord* record = peer_records_.New();
    record->peer = peer;
    construct(record);
  });
  auto& ids = (*it)->connections;
  ids.insert(std::upper_bound(ids.begin(), ids.end(), c.id), c.id);
  return ids.size();
}

void ConnectionTable::StartClosing(Connection& c, CloseReason reason, Instant now) {
  if (c.state == ConnectionState::kOpen) CountOpenStreams(c.stream_count(), -1);
  CountState(c, -1);
  c.state = ConnectionState::kClosing;
  c.closing_at = now;
  c.close_reason = reason;
  CountState(c, +1);
}

bool ConnectionTable::Remove(Connection& c) {
  const ConnectionId id = c.id;
  if (c.state == ConnectionState::kOpen) CountOpenStreams(c.stream_count(), -1);
  CountState(c, -1);
  if (c.remote_ip && by_ip_) by_ip_->erase(IpKey(*c.remote_ip, id));
  for (const Connection::StreamGroup& g : c.streams) {
    for (uint32_t i = 0; i < g.count; ++i) protocols_.Release(g.protocol, g.direction);
  }
  bool peer_gone = false;
  if (!c.peer.is_empty()) {
    auto peer_it = peers_.find(c.peer);
    if (peer_it != peers_.end()) {
      PeerRecord* record = *peer_it;
      auto& ids = record->connections;
      ids.erase(std::find(ids.begin(), ids.end(), id));
      if (ids.empty()) {
        peers_.erase(peer_it);
        peer_records_.Delete(record);
        peer_gone = true;
      }
    }
  }
  connections_.Erase(id);
  connection_records_.Delete(&c);
  return peer_gone;
}

void ConnectionTable::AddStream(Connection& c, absl::string_view protocol, Direction direction) {
  const uint32_t before = c.stream_count();
  ProtocolId id = protocols_.Acquire(protocol, direction);
  if (!IsClosable(id)) ++c.busy_streams;
  auto group = std::find_if(c.streams.begin(), c.streams.end(), [&](const auto& g) {
    return g.protocol == id && g.direction == direction;
  });
  if (group == c.streams.end()) {
    c.streams.push_back({id, direction, 1});
  } else {
    ++group->count;
  }
  if (c.state == ConnectionState::kOpen) {
    CountOpenStreams(before, -1);
    CountOpenStreams(before + 1, +1);
  }
}

absl::Status ConnectionTable::RemoveStream(Connection& c, absl::string_view protocol,
                                           Direction direction) {
  // A protocol counted under "(other)" (the table was full when it opened) is found there.
  auto find_group = [&](ProtocolId id) {
    return std::find_if(c.streams.begin(), c.streams.end(), [&](const auto& g) {
      return g.protocol == id && g.direction == direction;
    });
  };
  auto group = c.streams.end();
  if (std::optional<ProtocolId> id = protocols_.Find(protocol)) group = find_group(*id);
  if (group == c.streams.end()) group = find_group(ProtocolTable::kOther);
  if (group == c.streams.end()) {
    return absl::FailedPreconditionError(absl::StrCat("stream_closed: connection ", c.id.value,
                                                      " has no open ", DirectionName(direction),
                                                      " stream of protocol \"", protocol, "\""));
  }
  const uint32_t before = c.stream_count();
  if (!IsClosable(group->protocol)) --c.busy_streams;
  protocols_.Release(group->protocol, direction);
  if (--group->count == 0) c.streams.erase(group);
  if (c.state == ConnectionState::kOpen) {
    CountOpenStreams(before, -1);
    CountOpenStreams(before - 1, +1);
  }
  return absl::OkStatus();
}

absl::Span<const ConnectionId> ConnectionTable::PeerConnections(const PeerId& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return {};
  return (*it)->connections;
}

size_t ConnectionTable::OpenPeerConnectionCount(const PeerId& peer) const {
  size_t n = 0;
  for (ConnectionId id : PeerConnections(peer)) n += Find(id)->state == ConnectionState::kOpen;
  return n;
}

void ConnectionTable::CountOpenStreams(uint32_t streams, int delta) {
  if (streams < kDenseStreamCounts) {
    open_by_few_streams_[streams] += delta;
    return;
  }
  auto [it, inserted] = open_by_many_streams_.try_emplace(streams, 0);
  it->second += delta;
  if (it->second == 0) open_by_many_streams_.erase(it);
}

uint32_t ConnectionTable::StreamsPerConnectionP90() const {
  const uint64_t open = open_count();
  if (open == 0) return 0;
  const uint64_t rank = (open * 9 + 9) / 10;  // ceil(0.9 × open), nearest-rank
  uint64_t seen = 0;
  for (uint32_t streams = 0; streams < kDenseStreamCounts; ++streams) {
    seen += open_by_few_streams_[streams];
    if (seen >= rank) return streams;
  }
  for (const auto& [streams, connections] : open_by_many_streams_) {
    seen += connections;
    if (seen >= rank) return streams;
  }
  return open_by_many_streams_.rbegin()->first;
}

std::vector<const Connection*> ConnectionTable::SortedForInspection() const {
  std::vector<const Connection*> out;
  out.reserve(connections_.size());
  connections_.ForEach([&](const Connection* c) { out.push_back(c); });
  std::sort(out.begin(), out.end(),
            [](const Connection* a, const Connection* b) { return a->id < b->id; });
  return out;
}

}  // namespace connmgr
