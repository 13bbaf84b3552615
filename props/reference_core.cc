#include "props/reference_core.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace connmgr {
namespace {

using Code = absl::StatusCode;

bool BadProtocol(const std::string& p) { return p.empty() || p.size() > 256; }

// docs/design.md: IPv4 /16 or IPv6 /32 (mapped IPv4 as IPv4), 0 without an IP.
uint64_t NetGroupOfIp(const IpAddress& ip) {
  IpAddress a = ip.Unmapped();
  auto b = a.bytes();
  uint64_t g = a.is_v4() ? 4 : 6;
  const int n = a.is_v4() ? 2 : 4;
  uint64_t prefix = 0;
  for (int i = 0; i < n; ++i) prefix = prefix * 256 + b[i];
  return (g << 32) | prefix;
}

uint64_t NetGroup(const Multiaddr& remote) {
  std::optional<IpAddress> ip = remote.ip();
  return ip ? NetGroupOfIp(*ip) : 0;
}

// pending_fair_share's source group: IPv4 /24 or IPv6 /48, tagged by family; 0 without an IP.
uint64_t PendingGroup(const std::optional<IpAddress>& ip) {
  if (!ip) return 0;
  auto b = ip->bytes();
  uint64_t g = ip->is_v4() ? 4 : 6;
  const int n = ip->is_v4() ? 3 : 6;
  for (int i = 0; i < n; ++i) g = g * 256 + b[i];
  return g;
}

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

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
  return std::count_if(conns_.begin(), conns_.end(),
                       [&](const Conn& c) { return c.upgraded && c.peer == peer; });
}

bool ReferenceCore::AllowListed(const Multiaddr& remote) const {
  std::optional<IpAddress> ip = remote.ip();
  if (!ip) return false;
  for (const IpPrefix& p : allow_) {
    if (p.Contains(*ip)) return true;
  }
  return false;
}

std::optional<std::string> ReferenceCore::DenyRule(const std::optional<IpAddress>& ip) const {
  if (!ip) return std::nullopt;
  const IpPrefix* best = nullptr;
  auto depth = [](const IpPrefix& p) { return p.length() + (p.network().is_v4() ? 96 : 0); };
  for (const IpPrefix& p : deny_) {
    if (!p.Contains(*ip)) continue;
    if (best == nullptr || depth(p) > depth(*best) ||
        (depth(p) == depth(*best) && p.network().is_v4() && !best->network().is_v4())) {
      best = &p;
    }
  }
  if (best == nullptr) return std::nullopt;
  return "deny_list " + best->ToString();
}

std::optional<RejectReason> ReferenceCore::LimitSource(const IpAddress& ip, Instant now) {
  if (ip.IsLoopback()) return std::nullopt;
  auto live_in = [&](int length, bool v4) {
    uint32_t n = 0;
    for (const Conn& c : conns_) {
      n += c.source_charged && c.ip && c.ip->is_v4() == v4 && IpPrefix(*c.ip, length).Contains(ip);
    }
    return n;
  };
  if (ip.is_v4()) {
    if (config_.max_connections_per_ipv4_32 != 0 &&
        live_in(32, true) >= config_.max_connections_per_ipv4_32) {
      return RejectReason::kIpLimit;
    }
  } else {
    if (config_.max_connections_per_ipv6_56 != 0 &&
        live_in(56, false) >= config_.max_connections_per_ipv6_56) {
      return RejectReason::kIpLimit;
    }
    if (config_.max_connections_per_ipv6_48 != 0 &&
        live_in(48, false) >= config_.max_connections_per_ipv6_48) {
      return RejectReason::kSubnetLimit;
    }
  }
  struct Check {
    int kind;
    IpPrefix key;
    const RateLimit* rate;
    RejectReason reason;
  };
  std::vector<Check> checks;
  if (ip.is_v4()) {
    checks = {
        {0, IpPrefix(ip, 32), &config_.inbound_rate_per_ip, RejectReason::kRateLimitIp},
        {1, IpPrefix(ip, 24), &config_.inbound_rate_per_ipv4_24, RejectReason::kRateLimitSubnet}};
  } else {
    checks = {
        {0, IpPrefix(ip, 128), &config_.inbound_rate_per_ip, RejectReason::kRateLimitIp},
        {2, IpPrefix(ip, 56), &config_.inbound_rate_per_ipv6_56, RejectReason::kRateLimitSubnet},
        {3, IpPrefix(ip, 48), &config_.inbound_rate_per_ipv6_48, RejectReason::kRateLimitSubnet}};
  }
  checks.push_back({4, IpPrefix(), &config_.inbound_rate_global, RejectReason::kRateLimitGlobal});
  using U = unsigned __int128;
  auto credit = [&](const Check& c) -> U {
    const U capacity = static_cast<U>(c.rate->burst) * c.rate->interval.nanoseconds();
    auto it = buckets_.find({c.kind, c.key});
    if (it == buckets_.end()) return capacity;
    const U elapsed = now > it->second.last
                          ? static_cast<U>(now.nanoseconds() - it->second.last.nanoseconds())
                          : 0;
    const U refilled = it->second.credit + elapsed * c.rate->count;
    return refilled > capacity ? capacity : refilled;
  };
  for (const Check& c : checks) {
    if (c.rate->enabled() && credit(c) < static_cast<U>(c.rate->interval.nanoseconds()))
      return c.reason;
  }
  for (const Check& c : checks) {
    if (!c.rate->enabled()) continue;
    const U after = credit(c) - static_cast<U>(c.rate->interval.nanoseconds());
    auto [it, fresh] = buckets_.try_emplace({c.kind, c.key}, Bucket{after, now});
    it->second.credit = after;
    if (!fresh) it->second.last = std::max(it->second.last, now);
  }
  return std::nullopt;
}

void ReferenceCore::Gate(Conn& c, GateStage stage, std::string rule, Instant now,
                         std::vector<Output>* out) {
  out->push_back(ConnectionGated{c.id, stage, std::move(rule)});
  Close(c, CloseReason::kDenied, now, out);
}

std::optional<ConnectionId> ReferenceCore::PendingVictim(const std::optional<IpAddress>& ip) const {
  if (!config_.pending_fair_share || !ip) return std::nullopt;
  std::map<uint64_t, uint32_t> counts;
  for (const Conn& c : conns_) {
    if (c.direction == Direction::kInbound && c.state == ConnectionState::kPending &&
        c.charge != 0) {
      ++counts[PendingGroup(c.ip)];
    }
  }
  std::optional<std::pair<uint32_t, uint64_t>> largest;  // (count, group): the highest
  for (const auto& [group, count] : counts) {
    if (!largest || std::make_pair(count, group) > *largest) largest = {count, group};
  }
  const uint32_t mine = counts.count(PendingGroup(ip)) ? counts[PendingGroup(ip)] : 0;
  if (!largest || largest->first < mine + 2) return std::nullopt;
  std::optional<ConnectionId> oldest;
  for (const Conn& c : conns_) {
    if (c.direction == Direction::kInbound && c.state == ConnectionState::kPending &&
        c.charge != 0 && PendingGroup(c.ip) == largest->second && (!oldest || c.id < *oldest)) {
      oldest = c.id;
    }
  }
  return oldest;
}

std::optional<ConnectionId> ReferenceCore::OpenVictim(const std::optional<IpAddress>& ip,
                                                      Instant now) const {
  if (!config_.inbound_eviction || !ip) return std::nullopt;
  const RateLimit& rate = config_.inbound_eviction_rate;
  if (rate.enabled()) {
    if (auto it = buckets_.find({5, IpPrefix()}); it != buckets_.end()) {
      using U = unsigned __int128;
      const U capacity = static_cast<U>(rate.burst) * rate.interval.nanoseconds();
      const U elapsed = now > it->second.last
                            ? static_cast<U>(now.nanoseconds() - it->second.last.nanoseconds())
                            : 0;
      const U credit = std::min(capacity, it->second.credit + elapsed * rate.count);
      if (credit < static_cast<U>(rate.interval.nanoseconds())) return std::nullopt;
    }
  }
  auto inbound_in = [&](uint64_t netgroup) {
    uint32_t n = 0;
    for (const Conn& c : conns_) {
      n += c.state == ConnectionState::kOpen && c.direction == Direction::kInbound &&
           c.netgroup == netgroup;
    }
    return n;
  };
  const uint32_t mine = inbound_in(NetGroupOfIp(*ip));
  std::vector<const Conn*> idle;
  for (const Conn& c : conns_) {
    if (Prunable(c) && !Busy(c)) idle.push_back(&c);
  }
  std::sort(idle.begin(), idle.end(),
            [&](const Conn* a, const Conn* b) { return PruneOrder(*a) < PruneOrder(*b); });
  if (idle.size() > 64) idle.resize(64);
  for (const Conn* c : idle) {
    if (c->direction == Direction::kInbound && inbound_in(c->netgroup) >= mine + 2) return c->id;
  }
  return std::nullopt;
}

void ReferenceCore::TakeEvictionToken(Instant now) {
  const RateLimit& rate = config_.inbound_eviction_rate;
  if (!rate.enabled()) return;
  using U = unsigned __int128;
  const U capacity = static_cast<U>(rate.burst) * rate.interval.nanoseconds();
  const U cost = static_cast<U>(rate.interval.nanoseconds());
  auto [it, fresh] = buckets_.try_emplace({5, IpPrefix()}, Bucket{capacity - cost, now});
  if (fresh) return;
  const U elapsed =
      now > it->second.last ? static_cast<U>(now.nanoseconds() - it->second.last.nanoseconds()) : 0;
  it->second.credit = std::min(capacity, it->second.credit + elapsed * rate.count) - cost;
  it->second.last = std::max(it->second.last, now);
}

std::tuple<int64_t, size_t, int, int64_t, int64_t> ReferenceCore::PruneOrder(const Conn& c) const {
  // Lower value, fewer streams, inbound first, newest first, highest id first.
  return std::make_tuple(PeerValue(c.peer), c.streams.size(),
                         c.direction == Direction::kInbound ? 0 : 1, -c.opened_at.nanoseconds(),
                         -static_cast<int64_t>(c.id.value));
}

bool ReferenceCore::Busy(const Conn& c) const {
  for (const Stream& s : c.streams) {
    const auto& closable = config_.closable_protocols;
    if (std::find(closable.begin(), closable.end(), s.protocol) == closable.end()) return true;
  }
  return false;
}

int64_t ReferenceCore::PeerValue(const PeerId& peer) const { return tags_.Value(peer); }

bool ReferenceCore::Prunable(const Conn& c) const {
  return c.state == ConnectionState::kOpen && !c.allow_listed && !c.in_grace &&
         !tags_.IsProtected(c.peer);
}

size_t ReferenceCore::OpenCount(std::optional<Direction> d) const {
  return std::count_if(conns_.begin(), conns_.end(), [&](const Conn& c) {
    return c.state == ConnectionState::kOpen && (!d || c.direction == *d);
  });
}

void ReferenceCore::Open(Conn& c, const PeerId& peer, Instant now, std::vector<Output>* out) {
  // Any new connection to the peer clears its dial backoff.
  backoffs_.erase(std::remove_if(backoffs_.begin(), backoffs_.end(),
                                 [&](const Backoff& b) { return b.peer == peer; }),
                  backoffs_.end());
  // A connection from the peer ends a reconnect that is only waiting.
  if (Reconnect* r = ReconnectOf(peer); r != nullptr && !r->dialling) EndReconnect(peer);
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
  if (config_.grace_period > Duration::Zero()) {
    c.in_grace = true;
    c.deadline = now + config_.grace_period;
  }
  const ConnectionId opened = c.id;
  EnforcePeerLimit(opened, peer, now, out);
  MaybeTrim(now, out);
}

void ReferenceCore::EnforcePeerLimit(ConnectionId opened, const PeerId& peer, Instant now,
                                     std::vector<Output>* out) {
  for (;;) {
    std::vector<Conn*> mine;
    for (Conn& c : conns_) {
      if (c.state == ConnectionState::kOpen && c.peer == peer) mine.push_back(&c);
    }
    if (mine.size() <= config_.max_connections_per_peer) return;
    // Idle others first, then idle, then relayed, fewer streams, oldest, lowest id.
    auto rank = [&](const Conn* c) {
      const bool idle_other = c->id != opened && c->streams.empty();
      return std::make_tuple(!idle_other, !c->streams.empty(), !c->relayed, c->streams.size(),
                             c->opened_at, c->id);
    };
    std::sort(mine.begin(), mine.end(),
              [&](const Conn* a, const Conn* b) { return rank(a) < rank(b); });
    Close(*mine.front(), CloseReason::kPeerLimit, now, out);
  }
}

std::optional<ScopeDenied> ReferenceCore::CheckScope(int scope, const PeerId* peer, Direction d,
                                                     bool uses_fd) const {
  const ScopeLimits& limits = scope == 0   ? config_.system_scope
                              : scope == 1 ? config_.transient_scope
                                           : config_.peer_scope;
  uint64_t in = 0, out = 0, fds = 0;
  for (const Conn& c : conns_) {
    const bool counted = c.charge != 0 && (scope == 0 || (scope == 1 && c.charge == 1) ||
                                           (scope == 2 && c.charge == 2 && c.peer == *peer));
    if (!counted) continue;
    (c.direction == Direction::kInbound ? in : out) += 1;
    fds += c.uses_fd;
  }
  const char* name = scope == 0 ? "system" : scope == 1 ? "transient" : "peer";
  const uint64_t dir_used = d == Direction::kInbound ? in : out;
  const uint64_t dir_limit =
      d == Direction::kInbound ? limits.connections_inbound : limits.connections_outbound;
  const char* dir_name = d == Direction::kInbound ? "connections_inbound" : "connections_outbound";
  if (dir_limit != 0 && dir_used + 1 > dir_limit) {
    return ScopeDenied{ConnectionId{}, name, dir_name, dir_used, dir_limit};
  }
  if (limits.connections != 0 && in + out + 1 > limits.connections) {
    return ScopeDenied{ConnectionId{}, name, "connections", in + out, limits.connections};
  }
  if (uses_fd && limits.file_descriptors != 0 && fds + 1 > limits.file_descriptors) {
    return ScopeDenied{ConnectionId{}, name, "file_descriptors", fds, limits.file_descriptors};
  }
  return std::nullopt;
}

std::optional<ScopeDenied> ReferenceCore::CheckStreamScope(int scope, const PeerId& peer,
                                                           Direction d) const {
  const ScopeLimits& limits = scope == 0 ? config_.system_scope : config_.peer_scope;
  uint64_t in = 0, out = 0;
  for (const Conn& c : conns_) {
    if (c.charge != 2 || (scope == 2 && c.peer != peer)) continue;
    for (const Stream& s : c.streams) (s.direction == Direction::kInbound ? in : out) += 1;
  }
  const char* name = scope == 0 ? "system" : "peer";
  const uint64_t dir_used = d == Direction::kInbound ? in : out;
  const uint64_t dir_limit =
      d == Direction::kInbound ? limits.streams_inbound : limits.streams_outbound;
  if (dir_limit != 0 && dir_used + 1 > dir_limit) {
    return ScopeDenied{ConnectionId{}, name,
                       d == Direction::kInbound ? "streams_inbound" : "streams_outbound", dir_used,
                       dir_limit};
  }
  if (limits.streams != 0 && in + out + 1 > limits.streams) {
    return ScopeDenied{ConnectionId{}, name, "streams", in + out, limits.streams};
  }
  return std::nullopt;
}

std::optional<ScopeDenied> ReferenceCore::CheckMemoryScope(int scope, const PeerId* peer,
                                                           uint64_t bytes,
                                                           uint32_t priority) const {
  const ScopeLimits& limits = scope == 0   ? config_.system_scope
                              : scope == 1 ? config_.transient_scope
                                           : config_.peer_scope;
  uint64_t used = scope == 2 ? 0 : transient_memory_;
  if (scope != 1) {
    for (const Conn& c : conns_) {
      if (c.charge == 2 && (scope == 0 || c.peer == *peer)) used += c.memory;
    }
  }
  const char* name = scope == 0 ? "system" : scope == 1 ? "transient" : "peer";
  return MemoryOver(name, used, bytes, limits.memory_bytes, priority);
}

std::optional<ScopeDenied> ReferenceCore::MemoryOver(const char* scope, uint64_t used,
                                                     uint64_t bytes, uint64_t limit,
                                                     uint32_t priority) {
  const unsigned __int128 total = static_cast<unsigned __int128>(used) + bytes;
  if (limit == 0) {
    if (total > UINT64_MAX)
      return ScopeDenied{ConnectionId{}, scope, "memory_bytes", used, UINT64_MAX};
    return std::nullopt;
  }
  const unsigned __int128 allowed = static_cast<unsigned __int128>(limit) * (priority + 1) / 256;
  if (total > allowed) return ScopeDenied{ConnectionId{}, scope, "memory_bytes", used, limit};
  return std::nullopt;
}

void ReferenceCore::HandlePlaceStream(const PlaceStream& in, std::vector<Output>* out,
                                      ConnectionId* id) {
  std::vector<Conn*> open;
  PlacementOutcome none = PlacementOutcome::kNotConnected;
  for (Conn& c : conns_) {
    if (c.state != ConnectionState::kOpen || c.peer != in.peer) continue;
    if (config_.max_streams_per_connection != 0 &&
        c.streams.size() >= config_.max_streams_per_connection) {
      if (none == PlacementOutcome::kNotConnected) none = PlacementOutcome::kStreamLimit;
      continue;
    }
    if (c.charge == 2 && (CheckStreamScope(0, c.peer, Direction::kOutbound) ||
                          CheckStreamScope(2, c.peer, Direction::kOutbound))) {
      none = PlacementOutcome::kResourceLimit;
      continue;
    }
    open.push_back(&c);
  }
  // Direct connections only, when there is one.
  if (std::any_of(open.begin(), open.end(), [](Conn* c) { return !c->relayed; })) {
    open.erase(std::remove_if(open.begin(), open.end(), [](Conn* c) { return c->relayed; }),
               open.end());
  }
  Conn* chosen = nullptr;
  if (!open.empty()) {
    std::sort(open.begin(), open.end(), [](Conn* a, Conn* b) { return a->id < b->id; });
    if (config_.stream_placement == StreamPlacement::kLeastLoaded) {
      chosen = *std::min_element(open.begin(), open.end(), [](Conn* a, Conn* b) {
        return std::make_pair(a->streams.size(), a->id) < std::make_pair(b->streams.size(), b->id);
      });
    } else {
      const ConnectionId cursor =
          round_robin_.count(in.peer) ? round_robin_[in.peer] : ConnectionId{};
      chosen = open.front();
      for (Conn* c : open) {
        if (c->id > cursor) {
          chosen = c;
          break;
        }
      }
      round_robin_[in.peer] = chosen->id;
    }
  }
  const PlacementOutcome outcome = chosen ? PlacementOutcome::kPlaced : none;
  *id = chosen ? chosen->id : ConnectionId{};
  Count(Counter::kStreamPlacements);
  ++placements_[static_cast<int>(outcome)];
  out->push_back(StreamPlaced{in.peer, *id, outcome});
}

void ReferenceCore::MaybeTrim(Instant now, std::vector<Output>* out, bool now_to_low) {
  const size_t open = OpenCount();
  if (open <=
      (now_to_low ? config_.effective_low_watermark() : config_.effective_high_watermark())) {
    return;
  }
  if (!now_to_low && now < last_trim_ + config_.silence_period) {
    trim_deadline_ = last_trim_ + config_.silence_period;
    return;
  }
  const size_t low = config_.effective_low_watermark();
  auto key = [&](const Conn* c) { return PruneOrder(*c); };
  std::vector<Conn*> idle, busy;
  for (Conn& c : conns_) {
    if (Prunable(c)) (Busy(c) ? busy : idle).push_back(&c);
  }
  auto by_key = [&](const Conn* a, const Conn* b) { return key(a) < key(b); };
  std::sort(idle.begin(), idle.end(), by_key);
  std::sort(busy.begin(), busy.end(), by_key);
  // Diversity: the D groups with the lowest keyed rank keep their last prunable connection.
  std::map<uint64_t, uint64_t> group_count;
  for (const Conn* c : idle) ++group_count[c->netgroup];
  for (const Conn* c : busy) ++group_count[c->netgroup];
  std::vector<std::pair<uint64_t, uint64_t>> ranked;  // (rank, group)
  for (const auto& [group, count] : group_count) {
    const uint64_t seed = config_.random_seed;
    ranked.emplace_back(Mix(Mix(group ^ seed) + seed), group);
  }
  std::sort(ranked.begin(), ranked.end());
  std::map<uint64_t, uint64_t> protected_left;
  for (size_t i = 0; i < ranked.size() && i < config_.diversity_protected_connections; ++i) {
    protected_left[ranked[i].second] = group_count[ranked[i].second];
  }
  std::vector<Conn*> chosen;
  auto take = [&](const std::vector<Conn*>& candidates, size_t wanted) {
    for (Conn* c : candidates) {
      if (chosen.size() >= wanted) return;
      if (auto it = protected_left.find(c->netgroup); it != protected_left.end()) {
        if (it->second == 1) continue;
        --it->second;
      }
      chosen.push_back(c);
    }
  };
  take(idle, open - low);
  const size_t idle_chosen = chosen.size();
  if (open > config_.max_connections) take(busy, open - config_.max_connections);
  if (chosen.empty()) return;
  last_trim_ = now;
  trim_deadline_ = Instant::Never();
  ConnectionsPruned event{open, low, {}};
  for (size_t i = 0; i < chosen.size(); ++i) {
    event.pruned.push_back(
        PrunedConnection{chosen[i]->id, chosen[i]->peer, PeerValue(chosen[i]->peer),
                         static_cast<uint32_t>(chosen[i]->streams.size()), i >= idle_chosen});
  }
  Count(Counter::kTrims);
  Count(Counter::kPruned, chosen.size());
  out->push_back(std::move(event));
  for (Conn* c : chosen) Close(*c, CloseReason::kPruned, now, out);
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
    round_robin_.erase(gone.peer);
    // Redial a keep-alive peer whose addresses are known.
    const bool known = std::any_of(peer_addresses_.begin(), peer_addresses_.end(),
                                   [&](const auto& p) { return p.first == gone.peer; });
    if (config_.reconnect_retries > 0 && tags_.HasKeepAlive(gone.peer) &&
        ReconnectOf(gone.peer) == nullptr && known) {
      ScheduleReconnect(gone.peer, 0, last_now_, ReconnectWait(0));
    }
    Count(Counter::kPeersDisconnected);
    out->push_back(PeerDisconnected{gone.peer});
  }
}

ReferenceCore::Conn ReferenceCore::NewOutbound(ConnectionId id, const Multiaddr& remote,
                                               Instant now) const {
  Conn c;
  c.id = id;
  c.direction = Direction::kOutbound;
  c.state = ConnectionState::kPending;
  c.created_at = now;
  c.relayed = remote.is_relayed();
  c.ip = remote.ip();
  if (c.ip) c.ip = c.ip->Unmapped();
  c.uses_fd = !remote.is_relayed() && remote.transport() != Transport::kMemory;
  c.netgroup = NetGroup(remote);
  c.remote = remote;
  return c;
}

bool ReferenceCore::AdmitOutbound(Conn& c, const PeerId& peer, Instant now,
                                  std::vector<Output>* out) {
  std::optional<std::string> gate_rule = DenyRule(c.ip);
  if (!gate_rule && denied_peers_.contains(peer)) gate_rule = "denied_peers";
  c.allow_listed = !gate_rule && AllowListed(c.remote);
  const bool over = (config_.max_outbound_connections != 0 &&
                     OpenCount(Direction::kOutbound) >= config_.max_outbound_connections) ||
                    (config_.reject_outbound_over_max && OpenCount() >= config_.max_connections);
  std::optional<ScopeDenied> denied;
  if (!gate_rule && !over && !c.allow_listed) {
    denied = CheckScope(0, nullptr, Direction::kOutbound, c.uses_fd);
    if (!denied) denied = CheckScope(2, &peer, Direction::kOutbound, c.uses_fd);
    if (!denied) c.charge = 2;
  }
  if (gate_rule) {
    Gate(c, GateStage::kUpgraded, *gate_rule, now, out);
    return false;
  }
  if (over && !c.allow_listed) {
    Close(c, CloseReason::kOutboundLimit, now, out);
    return false;
  }
  if (denied) {
    denied->connection = c.id;
    out->push_back(*denied);
    Close(c, CloseReason::kResourceLimit, now, out);
    return false;
  }
  Open(c, peer, now, out);
  return true;
}

// One naive chain over every input kind on purpose, so that the reference reads as the
// specification it checks the core against.
// NOLINTNEXTLINE(readability-function-size)
absl::StatusCode ReferenceCore::Handle(Instant now, const Input& input, std::vector<Output>* out,
                                       ConnectionId* id) {
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
      size_t pending = 0;
      for (const Conn& c : conns_) {
        pending += c.direction == Direction::kInbound && c.state == ConnectionState::kPending;
      }
      std::optional<IpAddress> ip = in->remote.ip();
      if (ip) ip = ip->Unmapped();
      std::optional<std::string> gate_rule = DenyRule(ip);
      const bool allow_listed = !gate_rule && AllowListed(in->remote);
      std::optional<RejectReason> reject;
      std::optional<ScopeDenied> denied;
      std::optional<ConnectionId> evict_pending, evict_open;
      bool source_charged = false;
      const bool uses_fd = !in->remote.is_relayed() && in->remote.transport() != Transport::kMemory;
      if (gate_rule) {
        reject = RejectReason::kDenied;
      } else if (allow_listed) {
      } else if (config_.allow_only_mode) {
        reject = RejectReason::kNotAllowed;
      } else if (pending >= config_.max_incoming_pending_connections &&
                 !(evict_pending = PendingVictim(ip))) {
        reject = RejectReason::kPendingLimit;
      } else if (config_.max_inbound_connections != 0 &&
                 OpenCount(Direction::kInbound) >= config_.max_inbound_connections &&
                 !(evict_open = OpenVictim(ip, now))) {
        reject = RejectReason::kInboundLimit;
      } else if (OpenCount() >= config_.max_connections && !evict_open &&
                 !(evict_open = OpenVictim(ip, now))) {
        reject = RejectReason::kConnectionLimit;
      } else {
        denied = CheckScope(0, nullptr, Direction::kInbound, uses_fd);
        if (!denied) denied = CheckScope(1, nullptr, Direction::kInbound, uses_fd);
        if (denied) {
          reject = RejectReason::kResourceLimit;
        } else if (ip) {
          reject = LimitSource(*ip, now);
          source_charged = !reject && !ip->IsLoopback();
        }
      }
      if (gate_rule) out->push_back(ConnectionGated{*id, GateStage::kAccept, *gate_rule});
      if (reject) {
        if (denied) {
          denied->connection = *id;
          out->push_back(*denied);
        }
        const RejectReason reason = *reject;
        Count(Counter::kInboundRejected);
        ++rejected_[static_cast<int>(reason)];
        out->push_back(RejectConnection{*id, reason, config_.delayed_reject});
      } else {
        if (evict_pending) Close(*Find(*evict_pending), CloseReason::kPendingEvicted, now, out);
        if (evict_open) {
          Close(*Find(*evict_open), CloseReason::kEvicted, now, out);
          TakeEvictionToken(now);
        }
        Conn c;
        c.id = *id;
        c.direction = Direction::kInbound;
        c.state = ConnectionState::kPending;
        c.created_at = now;
        c.deadline = now + config_.inbound_upgrade_timeout;
        c.allow_listed = allow_listed;
        c.relayed = in->remote.is_relayed();
        c.uses_fd = uses_fd;
        c.netgroup = NetGroup(in->remote);
        c.charge = allow_listed ? 0 : 1;
        c.ip = ip;
        c.source_charged = source_charged;
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
      conns_.push_back(NewOutbound(*id, in->remote, now));
      Count(Counter::kOutboundRegistered);
      AdmitOutbound(conns_.back(), in->peer, now, out);
    }
  } else if (const auto* in = std::get_if<ConnectionUpgraded>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection);
    } else if (c->dial_attempt || c->state != ConnectionState::kPending) {
      code = Code::kFailedPrecondition;
    } else if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else if (denied_peers_.contains(in->peer)) {
      *id = c->id;
      Gate(*c, GateStage::kSecured, "denied_peers", now, out);
    } else if (std::optional<std::string> rule = DenyRule(c->ip)) {
      *id = c->id;
      Gate(*c, GateStage::kUpgraded, *rule, now, out);
    } else {
      *id = c->id;
      std::optional<ScopeDenied> denied;
      if (c->charge == 1) denied = CheckScope(2, &in->peer, c->direction, c->uses_fd);
      if (denied) {
        denied->connection = c->id;
        out->push_back(*denied);
        Close(*c, CloseReason::kResourceLimit, now, out);
      } else {
        if (c->charge == 1) c->charge = 2;
        Open(*c, in->peer, now, out);
      }
    }
  } else if (const auto* in = std::get_if<TransportClosed>(&input)) {
    Conn* c = Find(in->connection);
    const CloseReason r = in->reason;
    if (r != CloseReason::kTransport && r != CloseReason::kProtocolError &&
        r != CloseReason::kHandshakeFailed && r != CloseReason::kSlowReader &&
        r != CloseReason::kMemoryLimit) {
      code = Code::kInvalidArgument;
    } else if (c == nullptr) {
      code = Missing(in->connection) == Code::kFailedPrecondition ? Code::kOk : Code::kNotFound;
    } else if (c->dial_attempt) {
      AttemptFailed(*c,
                    r == CloseReason::kTransport
                        ? std::string("transport closed")
                        : "transport closed: " + std::string(CloseReasonName(r)),
                    now, out);
    } else {
      Finish(c->id, c->state == ConnectionState::kClosing ? c->close_reason : r, out);
    }
    if (code == Code::kOk) *id = in->connection;
  } else if (const auto* in = std::get_if<CloseRequest>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection) == Code::kFailedPrecondition ? Code::kOk : Code::kNotFound;
    } else if (c->dial_attempt) {
      code = Code::kFailedPrecondition;
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
      *id = c->id;
      std::optional<StreamRejectReason> reason;
      std::optional<ScopeDenied> denied;
      if (c->state == ConnectionState::kClosing) {
        reason = StreamRejectReason::kConnectionClosing;
      } else if (config_.max_streams_per_connection != 0 &&
                 c->streams.size() >= config_.max_streams_per_connection) {
        reason = StreamRejectReason::kConnectionStreamLimit;
      } else if (c->charge == 2) {
        denied = CheckStreamScope(0, c->peer, in->direction);
        if (!denied) denied = CheckStreamScope(2, c->peer, in->direction);
        if (denied) reason = StreamRejectReason::kResourceLimit;
      }
      if (reason) {
        if (denied) {
          denied->connection = c->id;
          out->push_back(*denied);
        }
        Count(Counter::kStreamsRejected);
        ++streams_rejected_[static_cast<int>(*reason)];
        out->push_back(ResetStream{c->id, in->stream, in->protocol, in->direction, *reason});
      } else {
        c->streams.push_back({in->protocol, in->direction});
        Count(Counter::kStreamsOpened);
      }
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
  } else if (const auto* in = std::get_if<ConnectionSecured>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection);
    } else if (c->dial_attempt || c->state != ConnectionState::kPending || c->secured) {
      code = Code::kFailedPrecondition;
    } else if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      *id = c->id;
      if (denied_peers_.contains(in->peer)) {
        Gate(*c, GateStage::kSecured, "denied_peers", now, out);
      } else {
        c->secured = true;
      }
    }
  } else if (const auto* in = std::get_if<DenyAddress>(&input)) {
    if (std::find(deny_.begin(), deny_.end(), in->prefix) == deny_.end()) {
      if (deny_.size() >= config_.max_list_entries) {
        code = Code::kResourceExhausted;
      } else {
        deny_.push_back(in->prefix);
      }
    }
    if (code == Code::kOk && config_.close_newly_denied_connections) {
      std::vector<Conn*> hit;
      for (Conn& c : conns_) {
        if (c.ip && in->prefix.Contains(*c.ip) && c.state != ConnectionState::kClosing)
          hit.push_back(&c);
      }
      std::sort(hit.begin(), hit.end(),
                [](Conn* a, Conn* b) { return std::tie(*a->ip, a->id) < std::tie(*b->ip, b->id); });
      for (Conn* c : hit)
        Gate(*c, GateStage::kListChange, "deny_list " + in->prefix.ToString(), now, out);
    }
  } else if (const auto* in = std::get_if<UndenyAddress>(&input)) {
    deny_.erase(std::remove(deny_.begin(), deny_.end(), in->prefix), deny_.end());
  } else if (std::holds_alternative<AllowAddress>(input) ||
             std::holds_alternative<UnallowAddress>(input)) {
    const bool add = std::holds_alternative<AllowAddress>(input);
    const IpPrefix prefix =
        add ? std::get<AllowAddress>(input).prefix : std::get<UnallowAddress>(input).prefix;
    const bool present = std::find(allow_.begin(), allow_.end(), prefix) != allow_.end();
    if (add && !present && allow_.size() >= config_.max_list_entries) {
      code = Code::kResourceExhausted;
    } else {
      if (add && !present) allow_.push_back(prefix);
      if (!add) allow_.erase(std::remove(allow_.begin(), allow_.end(), prefix), allow_.end());
      for (Conn& c : conns_) {
        if (!c.ip || !prefix.Contains(*c.ip)) continue;
        c.allow_listed = false;
        for (const IpPrefix& p : allow_) c.allow_listed = c.allow_listed || p.Contains(*c.ip);
      }
      if (!add) MaybeTrim(now, out);
    }
  } else if (const auto* in = std::get_if<DenyPeer>(&input)) {
    if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else if (!denied_peers_.contains(in->peer) &&
               denied_peers_.size() >= config_.max_list_entries) {
      code = Code::kResourceExhausted;
    } else {
      denied_peers_.insert(in->peer);
      if (config_.close_newly_denied_connections) {
        for (Conn& c : conns_) {
          if (c.upgraded && c.peer == in->peer && c.state != ConnectionState::kClosing) {
            Gate(c, GateStage::kListChange, "denied_peers", now, out);
          }
        }
      }
    }
  } else if (const auto* in = std::get_if<UndenyPeer>(&input)) {
    if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      denied_peers_.erase(in->peer);
    }
  } else if (const auto* in = std::get_if<PlaceStream>(&input)) {
    if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      HandlePlaceStream(*in, out, id);
    }
  } else if (const auto* in = std::get_if<ReserveMemory>(&input)) {
    Conn* c = in->connection == ConnectionId{} ? nullptr : Find(in->connection);
    if (in->priority > 255) {
      code = Code::kInvalidArgument;
    } else if (in->connection != ConnectionId{} && c == nullptr) {
      code = Missing(in->connection);
    } else if (c != nullptr && c->charge == 1) {
      code = Code::kFailedPrecondition;
    } else {
      *id = in->connection;
      std::optional<ScopeDenied> denied;
      if (c != nullptr) {
        denied = MemoryOver("connection", c->memory, in->bytes, config_.connection_memory_bytes,
                            in->priority);
      }
      if (!denied && (c == nullptr || c->charge == 2)) {
        denied = CheckMemoryScope(0, nullptr, in->bytes, in->priority);
        if (!denied) {
          denied = c == nullptr ? CheckMemoryScope(1, nullptr, in->bytes, in->priority)
                                : CheckMemoryScope(2, &c->peer, in->bytes, in->priority);
        }
      }
      if (denied) {
        denied->connection = in->connection;
        out->push_back(*denied);
        Count(Counter::kMemoryDenied);
        out->push_back(MemoryReservation{in->connection, in->bytes, false});
      } else {
        (c == nullptr ? transient_memory_ : c->memory) += in->bytes;
        Count(Counter::kMemoryReserved);
        out->push_back(MemoryReservation{in->connection, in->bytes, true});
      }
    }
  } else if (const auto* in = std::get_if<ReleaseMemory>(&input)) {
    Conn* c = in->connection == ConnectionId{} ? nullptr : Find(in->connection);
    if (in->connection != ConnectionId{} && c == nullptr) {
      code = Missing(in->connection);
    } else if (in->bytes > (c == nullptr ? transient_memory_ : c->memory)) {
      code = Code::kInvalidArgument;
    } else {
      (c == nullptr ? transient_memory_ : c->memory) -= in->bytes;
      *id = in->connection;
    }
  } else if (const auto* in = std::get_if<SetPeerTag>(&input)) {
    code = in->peer.is_empty() ? Code::kInvalidArgument
                               : tags_.SetTag(in->peer, in->tag, in->value).code();
  } else if (const auto* in = std::get_if<RemovePeerTag>(&input)) {
    if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      tags_.RemoveTag(in->peer, in->tag);
    }
  } else if (const auto* in = std::get_if<ProtectPeer>(&input)) {
    code = in->peer.is_empty() ? Code::kInvalidArgument : tags_.Protect(in->peer, in->tag).code();
  } else if (const auto* in = std::get_if<UnprotectPeer>(&input)) {
    if (in->peer.is_empty()) {
      code = Code::kInvalidArgument;
    } else {
      tags_.Unprotect(in->peer, in->tag);
    }
  } else if (const auto* in = std::get_if<AddToPeerTag>(&input)) {
    code = in->peer.is_empty() ? Code::kInvalidArgument
                               : tags_.AddToTag(in->peer, in->tag, in->delta).code();
  } else if (const auto* in = std::get_if<BumpPeerTag>(&input)) {
    code = in->peer.is_empty() ? Code::kInvalidArgument
                               : tags_.Bump(in->peer, in->tag, in->delta, now).code();
  } else if (const auto* in = std::get_if<RegisterDecayingTag>(&input)) {
    code = tags_.RegisterDecayingTag(in->tag, in->interval, in->decay, in->bump, now).code();
  } else if (const auto* in = std::get_if<DialRequest>(&input)) {
    HandleDialRequest(now, *in, out, id, &code);
  } else if (const auto* in = std::get_if<CancelDial>(&input)) {
    Job* job = JobWaitingFor(in->request);
    if (job == nullptr) {
      code = Code::kNotFound;
    } else {
      auto j = std::find_if(job->joiners.begin(), job->joiners.end(), [&](const Joiner& x) {
        return !x.internal && x.request == in->request;
      });
      dial_timers_.erase({j->deadline, 0, j->request});
      job->joiners.erase(j);
      DialResultOut(in->request, job->peer, ConnectionId{}, DialOutcome::kCancelled, "cancelled",
                    out);
      if (job->joiners.empty()) EndJob(job->id, now, std::nullopt, ConnectionId{}, "", out);
    }
  } else if (std::holds_alternative<DialSucceeded>(input) ||
             std::holds_alternative<DialFailed>(input)) {
    const bool success = std::holds_alternative<DialSucceeded>(input);
    const ConnectionId attempt = success ? std::get<DialSucceeded>(input).connection
                                         : std::get<DialFailed>(input).connection;
    Conn* c = Find(attempt);
    if (c == nullptr) {
      // A closed connection (a cancelled attempt): ignored.
      code = Missing(attempt) == Code::kFailedPrecondition ? Code::kOk : Code::kNotFound;
    } else if (!c->dial_attempt || JobOfAttempt(attempt) == nullptr) {
      code = Code::kFailedPrecondition;
    } else if (success) {
      DialSucceededIn(now, *c, out);
    } else {
      const std::string& error = std::get<DialFailed>(input).error;
      AttemptFailed(*c, error.empty() ? "failed" : error, now, out);
    }
    if (code == Code::kOk) *id = attempt;
  } else if (const auto* in = std::get_if<DnsAnswered>(&input)) {
    HandleDnsAnswer(now, in->query, {in->records, std::nullopt}, in->ttl, out, &code);
  } else if (const auto* in = std::get_if<DnsFailed>(&input)) {
    HandleDnsAnswer(now, in->query, {{}, in->error.empty() ? "failed" : in->error},
                    Duration::Zero(), out, &code);
  } else if (const auto* in = std::get_if<SetPeerAddresses>(&input)) {
    HandleSetPeerAddresses(now, *in, &code);
    if (code == Code::kOk && !in->addresses.empty()) MaybeStartReconnect(in->peer, now, out);
  } else if (std::holds_alternative<TrimOpenConnections>(input)) {
    MaybeTrim(now, out, /*now_to_low=*/true);
  } else if (!std::holds_alternative<TimerExpired>(input)) {
  } else {  // TimerExpired
    for (;;) {
      Conn* due = nullptr;
      for (Conn& c : conns_) {
        if (c.deadline <= now && (due == nullptr || std::make_pair(c.deadline, c.id) <
                                                        std::make_pair(due->deadline, due->id))) {
          due = &c;
        }
      }
      if (due == nullptr) break;
      if (due->dial_attempt) {
        due->deadline = Instant::Never();
        AttemptFailed(*due, "timeout", now, out);
      } else if (due->state == ConnectionState::kPending) {
        Close(*due, CloseReason::kUpgradeTimeout, now, out);
      } else if (due->state == ConnectionState::kOpen) {
        due->in_grace = false;
        due->deadline = Instant::Never();
      } else {
        Count(Counter::kAborts);
        out->push_back(AbortConnection{due->id});
        Finish(due->id, due->close_reason, out);
      }
    }
    FireDialTimers(now, out);
    tags_.AdvanceTo(now);
    if (trim_deadline_ <= now) trim_deadline_ = Instant::Never();
    MaybeTrim(now, out);
  }
  const bool tag_input =
      std::holds_alternative<SetPeerTag>(input) || std::holds_alternative<BumpPeerTag>(input) ||
      std::holds_alternative<AddToPeerTag>(input) || std::holds_alternative<RemovePeerTag>(input) ||
      std::holds_alternative<ProtectPeer>(input) || std::holds_alternative<UnprotectPeer>(input);
  if (tag_input && code == Code::kOk) {
    MaybeTrim(now, out);
    // A keep-alive tag on a peer that is not connected starts a reconnect.
    std::visit(
        [&](const auto& in) {
          if constexpr (requires { in.peer; }) MaybeStartReconnect(in.peer, now, out);
        },
        input);
  }
  if (code != Code::kOk) Count(Counter::kInputErrors);
  return code;
}

Instant ReferenceCore::NextDeadline() const {
  Instant next = std::min(trim_deadline_, tags_.NextDeadline());
  for (const Conn& c : conns_) next = std::min(next, c.deadline);
  if (!dial_timers_.empty()) next = std::min(next, dial_timers_.begin()->at);
  for (const Backoff& b : backoffs_) next = std::min(next, b.until + config_.dial_backoff_max);
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
  m.streams_rejected_by_reason = streams_rejected_;
  m.placements_by_outcome = placements_;
  m.memory_bytes = transient_memory_;
  for (const Conn& c : conns_) m.memory_bytes += c.memory;
  m.dial_outcomes = dial_outcomes_;
  for (const Job& j : jobs_) (j.state == 0 ? m.dials_queued : m.dials_running) += 1;
  m.dial_backoff_entries = backoffs_.size();
  m.dns_cache_entries = dns_.cache_entries();
  return m;
}

// --- Dialing -----------------------------------------------------------------------------------

namespace {

constexpr size_t kMaxDialCandidates = 64;

// js-libp2p's default order, as docs/design.md states it: the key, then the binary form.
std::tuple<bool, bool, bool, bool, int, std::string> JsKey(const Multiaddr& a, bool certified) {
  const std::optional<IpAddress> ip = a.ip();
  const bool webrtc = a.transport() == Transport::kWebRtc;
  const bool circuit = a.is_relayed() && !webrtc;
  int rank = 6;
  if (!circuit) {
    const std::vector<Transport> order = {Transport::kTcp,          Transport::kWss,
                                          Transport::kWs,           Transport::kWebRtc,
                                          Transport::kWebRtcDirect, Transport::kWebTransport};
    for (size_t i = 0; i < order.size(); ++i) {
      if (a.transport() == order[i]) rank = static_cast<int>(i);
    }
  }
  return {ip && ip->IsLoopback(), ip && ip->IsPrivate(), circuit, !certified, rank, a.ToBytes()};
}

bool Has(const Multiaddr& a, Protocol p) {
  for (const MultiaddrComponent& c : a.components()) {
    if (c.protocol == p) return true;
  }
  return false;
}

int FirstPort(const Multiaddr& a, Protocol p) {
  for (const MultiaddrComponent& c : a.components()) {
    if (c.protocol == p)
      return (static_cast<uint8_t>(c.value[0]) << 8) | static_cast<uint8_t>(c.value[1]);
  }
  return 0;
}

// go-libp2p's ranker as docs/design.md and core/address_order.h state it, spelled out per
// transport list: (address, delay) in dial order.
std::vector<std::pair<Multiaddr, Duration>> RankNaively(const std::vector<Multiaddr>& addresses,
                                                        Duration public_step,
                                                        Duration private_step) {
  const Duration relay_delay = Duration::Milliseconds(500);
  const Duration public_other = Duration::Seconds(1), private_other = Duration::Milliseconds(100);
  auto quic = [](const Multiaddr& a) {
    return Has(a, Protocol::kQuic) || Has(a, Protocol::kQuicV1);
  };
  auto tcp = [](const Multiaddr& a) { return Has(a, Protocol::kTcp); };
  auto score = [&](const Multiaddr& a) {
    // QUIC-v1, draft-29, WebTransport, TCP, WebRTC-direct, the rest; IPv6 first; lowest port.
    const int v4 = Has(a, Protocol::kIp4) ? 1 : 0;
    if (Has(a, Protocol::kWebTransport))
      return std::make_tuple(2, v4, FirstPort(a, Protocol::kUdp));
    if (Has(a, Protocol::kQuic))
      return std::make_tuple(v4 == 0 ? 0 : 1, 1, FirstPort(a, Protocol::kUdp));
    if (Has(a, Protocol::kQuicV1))
      return std::make_tuple(v4 == 0 ? 0 : 1, 0, FirstPort(a, Protocol::kUdp));
    if (tcp(a)) return std::make_tuple(3, v4, FirstPort(a, Protocol::kTcp));
    if (Has(a, Protocol::kWebRtcDirect)) return std::make_tuple(4, 0, 0);
    return std::make_tuple(5, 0, 0);
  };
  std::vector<std::pair<Multiaddr, Duration>> out;
  auto group = [&](std::vector<Multiaddr> g, Duration step, Duration other, Duration offset) {
    std::stable_sort(g.begin(), g.end(),
                     [&](const Multiaddr& x, const Multiaddr& y) { return score(x) < score(y); });
    std::vector<Multiaddr> q, t, rest;
    for (const Multiaddr& a : g) (quic(a) ? q : tcp(a) ? t : rest).push_back(a);
    // Happy eyeballs: an IPv6 first moves the first IPv4 one second.
    auto eyeballs = [](std::vector<Multiaddr>& v) {
      if (v.empty() || !Has(v[0], Protocol::kIp6)) return false;
      for (size_t j = 1; j < v.size(); ++j) {
        if (!Has(v[j], Protocol::kIp4)) continue;
        const Multiaddr moved = v[j];
        v.erase(v.begin() + static_cast<ptrdiff_t>(j));
        v.insert(v.begin() + 1, moved);
        return true;
      }
      return false;
    };
    const bool eq = eyeballs(q), et = eyeballs(t);
    auto at = [&](size_t k, bool moved) {
      return k == 0 ? Duration::Zero() : k == 1 || !moved ? step : step * 2;
    };
    Duration last = Duration::Zero();
    for (size_t k = 0; k < q.size(); ++k) out.push_back({q[k], offset + (last = at(k, eq))});
    const Duration tcp_start = q.empty() ? Duration::Zero() : last + step;
    for (size_t k = 0; k < t.size(); ++k) {
      out.push_back({t[k], offset + (last = tcp_start + at(k, et))});
    }
    for (const Multiaddr& a : rest) out.push_back({a, offset + last + other});
  };
  std::vector<Multiaddr> private_, public_, relayed, no_ip;
  for (const Multiaddr& a : addresses) {
    const std::vector<MultiaddrComponent> parts = a.components();
    size_t first = !parts.empty() && parts[0].protocol == Protocol::kIp6Zone ? 1 : 0;
    const bool ip_first = first < parts.size() && (parts[first].protocol == Protocol::kIp4 ||
                                                   parts[first].protocol == Protocol::kIp6);
    if (a.is_relayed()) {
      relayed.push_back(a);
    } else if (ip_first && a.ip()->IsPrivate()) {
      private_.push_back(a);
    } else if (a.ip()) {
      public_.push_back(a);
    } else {
      no_ip.push_back(a);
    }
  }
  group(private_, private_step, private_other, Duration::Zero());
  group(public_, public_step, public_other, Duration::Zero());
  group(relayed, public_step, public_other, public_.empty() ? Duration::Zero() : relay_delay);
  const Duration last = out.empty() ? Duration::Zero() : out.back().second;
  for (const Multiaddr& a : no_ip) out.push_back({a, last + public_other});
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& x, const auto& y) { return x.second < y.second; });
  return out;
}

}  // namespace

ReferenceCore::Job* ReferenceCore::JobOf(uint64_t job_id) {
  for (Job& j : jobs_) {
    if (j.id == job_id) return &j;
  }
  return nullptr;
}

ReferenceCore::Job* ReferenceCore::JobOfAttempt(ConnectionId attempt) {
  for (Job& j : jobs_) {
    for (const Planned& p : j.plan) {
      if (p.attempt == attempt && !p.done) return &j;
    }
  }
  return nullptr;
}

ReferenceCore::Job* ReferenceCore::JobWaitingFor(uint64_t request) {
  for (Job& j : jobs_) {
    for (const Joiner& x : j.joiners) {
      if (!x.internal && x.request == request) return &j;
    }
  }
  return nullptr;
}

std::vector<ConnectionId> ReferenceCore::DialAttempts() const {
  std::vector<ConnectionId> ids;
  for (const Conn& c : conns_) {
    if (c.dial_attempt) ids.push_back(c.id);
  }
  return ids;
}

size_t ReferenceCore::PendingOutbound() const {
  return std::count_if(conns_.begin(), conns_.end(), [](const Conn& c) {
    return c.direction == Direction::kOutbound && c.state == ConnectionState::kPending;
  });
}

void ReferenceCore::DialResultOut(uint64_t request, const PeerId& peer, ConnectionId c,
                                  DialOutcome o, std::string detail, std::vector<Output>* out) {
  ++dial_outcomes_[static_cast<int>(o)];
  out->push_back(DialResult{request, peer, c, o, std::move(detail)});
}

void ReferenceCore::HandleDialRequest(Instant now, const DialRequest& in, std::vector<Output>* out,
                                      ConnectionId* id, absl::StatusCode* code) {
  if (in.peer.is_empty() || in.request == 0 || JobWaitingFor(in.request) != nullptr ||
      in.timeout < Duration::Zero() || in.addresses.size() > kMaxDialCandidates ||
      in.certified.size() > kMaxDialCandidates) {
    *code = Code::kInvalidArgument;
    return;
  }
  Count(Counter::kDialRequests);
  if (!in.force) {
    // Reuse an open connection: direct before relayed, lowest id; a relayed one only when no
    // direct address is asked for.
    const Conn* best = nullptr;
    for (const Conn& c : conns_) {
      if (c.state != ConnectionState::kOpen || c.peer != in.peer) continue;
      if (best == nullptr ||
          std::make_pair(c.relayed, c.id) < std::make_pair(best->relayed, best->id)) {
        best = &c;
      }
    }
    const bool direct_wanted = std::any_of(in.addresses.begin(), in.addresses.end(),
                                           [](const Multiaddr& a) { return !a.is_relayed(); });
    if (best != nullptr && !(best->relayed && direct_wanted)) {
      *id = best->id;
      DialResultOut(in.request, in.peer, best->id, DialOutcome::kExistingConnection, "", out);
      return;
    }
  }
  if (denied_peers_.contains(in.peer)) {
    DialResultOut(in.request, in.peer, ConnectionId{}, DialOutcome::kDenied, "denied_peers", out);
    return;
  }
  const Instant deadline =
      now + (in.timeout == Duration::Zero() ? config_.dial_timeout : in.timeout);
  Job* job = nullptr;
  for (Job& j : jobs_) {
    if (j.peer == in.peer) job = &j;
  }
  if (job != nullptr) {
    Count(Counter::kDialsJoined);
  } else {
    if (jobs_.size() >= config_.max_dial_queue_length) {
      Count(Counter::kDialsRefusedQueueFull);
      *code = Code::kResourceExhausted;
      return;
    }
    Job fresh;
    fresh.id = next_job_++;
    fresh.peer = in.peer;
    fresh.priority = in.priority;
    fresh.sequence = next_job_sequence_++;
    jobs_.push_back(std::move(fresh));
    job = &jobs_.back();
  }
  job->joiners.push_back({in.request, deadline, false});
  if (job->state == 0) {
    for (const Multiaddr& a : in.addresses) {
      const Multiaddr full = a.WithPeerId(in.peer);
      if (job->candidates.size() < kMaxDialCandidates &&
          std::find(job->candidates.begin(), job->candidates.end(), full) ==
              job->candidates.end()) {
        job->candidates.push_back(full);
      }
    }
    for (const Multiaddr& a : in.certified) {
      const Multiaddr full = a.WithPeerId(in.peer);
      const auto& cands = job->candidates;
      if (std::find(cands.begin(), cands.end(), full) != cands.end() &&
          std::find(job->certified.begin(), job->certified.end(), full) == job->certified.end()) {
        job->certified.push_back(full);
      }
    }
  }
  dial_timers_.insert({deadline, 0, in.request});
  Pump(now, out);
}

void ReferenceCore::Pump(Instant now, std::vector<Output>* out) {
  for (;;) {
    const size_t running =
        std::count_if(jobs_.begin(), jobs_.end(), [](const Job& j) { return j.state != 0; });
    if (running >= config_.max_parallel_dials) return;
    Job* next = nullptr;
    for (Job& j : jobs_) {
      if (j.state != 0) continue;
      if (next == nullptr ||
          std::make_pair(-static_cast<int64_t>(j.priority), j.sequence) <
              std::make_pair(-static_cast<int64_t>(next->priority), next->sequence)) {
        next = &j;
      }
    }
    if (next == nullptr) return;
    next->state = 1;
    const uint64_t job_id = next->id;
    // Addresses without DNS as they are; each DNS one through its own resolution.
    std::vector<ResolveDns> asked;
    for (const Multiaddr& a : next->candidates) {
      if (!a.dns()) {
        next->resolved.push_back(a);
        continue;
      }
      next->resolutions.push_back(next_resolution_++);
      dns_.Start(next->resolutions.back(), a, now, &asked);
    }
    Ask(asked, out);
    DrainDns(now, out);  // may end jobs, this one included
    if (Job* job = JobOf(job_id); job != nullptr && job->state == 1 && job->resolutions.empty()) {
      PlanJob(*job, now, out);
    }
  }
}

void ReferenceCore::Ask(const std::vector<ResolveDns>& asked, std::vector<Output>* out) {
  for (const ResolveDns& q : asked) {
    Count(Counter::kDnsQueries);
    out->push_back(q);
  }
}

void ReferenceCore::DrainDns(Instant now, std::vector<Output>* out) {
  std::vector<uint64_t> completed;  // jobs, in the order their last resolution finished
  for (ReferenceDns::Finished& f : dns_.TakeFinished()) {
    Job* job = nullptr;
    for (Job& j : jobs_) {
      if (std::find(j.resolutions.begin(), j.resolutions.end(), f.resolution) !=
          j.resolutions.end()) {
        job = &j;
      }
    }
    if (job == nullptr) continue;
    std::erase(job->resolutions, f.resolution);
    if (f.error.empty()) {
      job->resolved.insert(job->resolved.end(), f.addresses.begin(), f.addresses.end());
    } else {
      job->last_error = f.error;
    }
    if (job->resolutions.empty() && job->state == 1) completed.push_back(job->id);
  }
  for (uint64_t id : completed) {
    if (Job* job = JobOf(id)) PlanJob(*job, now, out);
  }
}

void ReferenceCore::HandleDnsAnswer(Instant now, uint64_t query,
                                    const ReferenceDns::Records& answer, Duration ttl,
                                    std::vector<Output>* out, absl::StatusCode* code) {
  std::vector<ResolveDns> asked;
  if (!dns_.Answer(query, answer, ttl, now, &asked)) {
    *code = Code::kNotFound;
    return;
  }
  Ask(asked, out);
  DrainDns(now, out);
}

void ReferenceCore::PlanJob(Job& job, Instant now, std::vector<Output>* out) {
  std::vector<Multiaddr> kept;
  size_t denied = 0, backed_off = 0;
  for (const Multiaddr& a : job.resolved) {
    if (std::optional<PeerId> named = a.peer_id(); named && *named != job.peer) continue;
    const Multiaddr full = a.WithPeerId(job.peer);
    if (std::find(kept.begin(), kept.end(), full) == kept.end()) kept.push_back(full);
  }
  std::vector<Multiaddr> usable;
  for (const Multiaddr& a : kept) {
    std::optional<IpAddress> ip = a.ip();
    if (ip) ip = ip->Unmapped();
    if (DenyRule(ip)) {
      ++denied;
    } else if (BackedOff(job.peer, a, now)) {
      ++backed_off;
    } else {
      usable.push_back(a);
    }
  }
  if (usable.empty()) {
    DialOutcome outcome = DialOutcome::kBackedOff;
    std::string detail;
    if (kept.empty()) {
      outcome = DialOutcome::kNoAddresses;
      detail = "no addresses for " + job.peer.ToString();
    } else if (denied == kept.size()) {
      outcome = DialOutcome::kDenied;
      detail = "all " + std::to_string(denied) + " addresses are denied";
    } else if (backed_off == kept.size()) {
      detail = "all " + std::to_string(backed_off) + " addresses are backed off";
    } else {
      detail = "no address left: " + std::to_string(denied) + " denied, " +
               std::to_string(backed_off) + " backed off";
    }
    if (!job.last_error.empty()) detail += "; " + job.last_error;
    EndJob(job.id, now, outcome, ConnectionId{}, detail, out);
    return;
  }
  auto certified = [&](const Multiaddr& a) {
    return std::find(job.certified.begin(), job.certified.end(), a) != job.certified.end();
  };
  std::sort(usable.begin(), usable.end(), [&](const Multiaddr& a, const Multiaddr& b) {
    return JsKey(a, certified(a)) < JsKey(b, certified(b));
  });
  if (usable.size() > config_.max_peer_addrs_to_dial) usable.resize(config_.max_peer_addrs_to_dial);
  job.state = 2;
  job.since = now;
  if (config_.dial_strategy == DialStrategy::kRanked) {
    for (const auto& [a, delay] :
         RankNaively(usable, config_.ranked_public_delay, config_.ranked_private_delay)) {
      job.plan.push_back({a, delay, ConnectionId{}, false});
    }
  } else {
    for (const Multiaddr& a : usable)
      job.plan.push_back({a, Duration::Zero(), ConnectionId{}, false});
  }
  DialNext(job, now, out);
}

void ReferenceCore::DialNext(Job& job, Instant now, std::vector<Output>* out) {
  const bool ranked = config_.dial_strategy == DialStrategy::kRanked;
  // Ranked: each address at its delay; with nothing in flight the lowest remaining delay is
  // due now. Sequential: one at a time.
  Instant horizon = now;
  if (ranked && job.in_flight == 0) {
    Instant lowest = Instant::Never();
    for (const Planned& p : job.plan) {
      if (p.attempt == ConnectionId{} && !p.done) lowest = std::min(lowest, job.since + p.delay);
    }
    if (lowest != Instant::Never()) horizon = std::max(now, lowest);
  }
  std::optional<Instant> next_due;
  bool waiting = false;
  for (Planned& p : job.plan) {
    if (p.attempt != ConnectionId{} || p.done) continue;
    const Instant due = ranked ? job.since + p.delay : now;
    if (job.in_flight > 0 && (!ranked || due > horizon)) {
      if (!ranked) break;
      if (!next_due || due < *next_due) next_due = due;
      continue;
    }
    if (PendingOutbound() >= config_.max_outbound_pending_connections) {
      waiting = true;
      break;
    }
    Conn c = NewOutbound(ConnectionId{next_id_++}, p.address, now);
    c.dial_attempt = true;
    c.deadline = now + config_.address_dial_timeout;
    p.attempt = c.id;
    ++job.in_flight;
    conns_.push_back(c);
    Count(Counter::kDialAttempts);
    out->push_back(DialAddress{c.id, job.peer, p.address});
  }
  if (job.in_flight == 0 && !waiting) {
    EndJob(job.id, now, DialOutcome::kFailed, ConnectionId{},
           "all " + std::to_string(job.plan.size()) + " addresses failed; last: " + job.last_error,
           out);
    return;
  }
  if (waiting && job.in_flight == 0) waiting_for_slot_.insert(job.id);
  if (next_due) dial_timers_.insert({*next_due, 1, job.id});
}

void ReferenceCore::AttemptFailed(Conn& attempt, std::string error, Instant now,
                                  std::vector<Output>* out) {
  const ConnectionId id = attempt.id;
  const Multiaddr address = attempt.remote;
  Job& job = *JobOfAttempt(id);
  const uint64_t job_id = job.id;
  Count(Counter::kDialAttemptsFailed);
  out->push_back(DialAttemptFailed{id, job.peer, address, error});
  RecordFailure(job.peer, address, now);
  Finish(id, CloseReason::kDialFailed, out);
  Job& same = *JobOf(job_id);
  --same.in_flight;
  for (Planned& p : same.plan) {
    if (p.attempt == id) p.done = true;
  }
  same.last_error = std::move(error);
  DialNext(same, now, out);
  RetryWaiting(now, out);
}

void ReferenceCore::DialSucceededIn(Instant now, Conn& attempt, std::vector<Output>* out) {
  const ConnectionId id = attempt.id;
  Job& job = *JobOfAttempt(id);
  const uint64_t job_id = job.id;
  const PeerId peer = job.peer;
  attempt.deadline = Instant::Never();
  attempt.dial_attempt = false;
  --job.in_flight;
  for (Planned& p : job.plan) {
    if (p.attempt == id) p.done = true;
  }
  const bool opened = AdmitOutbound(attempt, peer, now, out);
  if (JobOf(job_id) == nullptr) return;
  if (opened) {
    EndJob(job_id, now, DialOutcome::kConnected, id, "", out);
  } else {
    Job& same = *JobOf(job_id);
    same.last_error = "connection " + std::to_string(id.value) +
                      " refused: " + std::string(CloseReasonName(Find(id)->close_reason));
    DialNext(same, now, out);
  }
}

void ReferenceCore::EndJob(uint64_t job_id, Instant now, std::optional<DialOutcome> outcome,
                           ConnectionId c, const std::string& detail, std::vector<Output>* out) {
  auto it = std::find_if(jobs_.begin(), jobs_.end(), [&](const Job& j) { return j.id == job_id; });
  const Job job = *it;
  jobs_.erase(it);
  for (const Joiner& j : job.joiners) {
    dial_timers_.erase({j.deadline, j.internal ? 3 : 0, j.request});
    if (outcome && !j.internal) DialResultOut(j.request, job.peer, c, *outcome, detail, out);
    if (j.internal) reconnect_results_.push_back({job.peer, outcome && c != ConnectionId{}});
  }
  if (outcome) Count(Counter::kDialJobsFinished);
  for (const Planned& p : job.plan) {
    if (p.attempt == ConnectionId{} || p.done) continue;
    Conn* attempt = Find(p.attempt);
    if (attempt == nullptr || !attempt->dial_attempt) continue;
    out->push_back(CancelDialAttempt{p.attempt});
    Finish(p.attempt, CloseReason::kDialCancelled, out);
  }
  for (uint64_t r : job.resolutions) dns_.Cancel(r);
  waiting_for_slot_.erase(job.id);
  Pump(now, out);
  RetryWaiting(now, out);
  HandleReconnectResults(now, out);
}

void ReferenceCore::RetryWaiting(Instant now, std::vector<Output>* out) {
  while (!waiting_for_slot_.empty() &&
         PendingOutbound() < config_.max_outbound_pending_connections) {
    const uint64_t job_id = *waiting_for_slot_.begin();
    waiting_for_slot_.erase(waiting_for_slot_.begin());
    if (Job* job = JobOf(job_id); job != nullptr && job->in_flight == 0) DialNext(*job, now, out);
  }
}

bool ReferenceCore::BackedOff(const PeerId& peer, const Multiaddr& a, Instant now) const {
  for (const Backoff& b : backoffs_) {
    if (b.peer == peer && b.address == a) return now < b.until;
  }
  return false;
}

void ReferenceCore::RecordFailure(const PeerId& peer, const Multiaddr& a, Instant now) {
  auto it = std::find_if(backoffs_.begin(), backoffs_.end(),
                         [&](const Backoff& b) { return b.peer == peer && b.address == a; });
  if (it == backoffs_.end()) {
    while (backoffs_.size() >= std::max<uint32_t>(config_.max_backoff_entries, 1)) {
      backoffs_.erase(std::min_element(
          backoffs_.begin(), backoffs_.end(), [](const Backoff& x, const Backoff& y) {
            return std::tie(x.until, x.sequence) < std::tie(y.until, y.sequence);
          }));
    }
    backoffs_.push_back({peer, a, 0, now, 0});
    it = backoffs_.end() - 1;
  }
  ++it->failures;
  // 5 s, then 5 s + 1 s × (n−1)² after the n-th failure in a row, at most 5 min.
  const int64_t prior = it->failures - 1;
  it->until =
      now + std::min(config_.dial_backoff_base + config_.dial_backoff_step * (prior * prior),
                     config_.dial_backoff_max);
  it->sequence = next_backoff_sequence_++;
}

void ReferenceCore::FireDialTimers(Instant now, std::vector<Output>* out) {
  while (!dial_timers_.empty() && dial_timers_.begin()->at <= now) {
    const DialTimer t = *dial_timers_.begin();
    dial_timers_.erase(dial_timers_.begin());
    if (t.kind == 0) {
      Job* job = JobWaitingFor(t.id);
      if (job == nullptr) continue;
      job->joiners.erase(
          std::find_if(job->joiners.begin(), job->joiners.end(),
                       [&](const Joiner& x) { return !x.internal && x.request == t.id; }));
      DialResultOut(t.id, job->peer, ConnectionId{}, DialOutcome::kTimeout,
                    "the request's dial timeout passed", out);
      if (job->joiners.empty()) EndJob(job->id, now, std::nullopt, ConnectionId{}, "", out);
    } else if (t.kind == 1) {
      if (Job* job = JobOf(t.id); job != nullptr && job->state == 2) DialNext(*job, now, out);
    } else if (t.kind == 2) {
      FireReconnect(t.id, now, out);
    } else {
      Reconnect* r = ReconnectById(t.id);
      if (r == nullptr) continue;
      const PeerId peer = r->peer;
      reconnect_results_.push_back({peer, false});
      for (Job& job : jobs_) {
        if (job.peer != peer) continue;
        auto j = std::find_if(job.joiners.begin(), job.joiners.end(),
                              [&](const Joiner& x) { return x.internal && x.request == t.id; });
        if (j != job.joiners.end()) job.joiners.erase(j);
        if (job.joiners.empty()) EndJob(job.id, now, std::nullopt, ConnectionId{}, "", out);
        break;
      }
      HandleReconnectResults(now, out);
    }
  }
  backoffs_.erase(
      std::remove_if(backoffs_.begin(), backoffs_.end(),
                     [&](const Backoff& b) { return b.until + config_.dial_backoff_max <= now; }),
      backoffs_.end());
}

// --- Reconnects --------------------------------------------------------------------------------

ReferenceCore::Reconnect* ReferenceCore::ReconnectOf(const PeerId& peer) {
  for (Reconnect& r : reconnects_) {
    if (r.peer == peer) return &r;
  }
  return nullptr;
}

ReferenceCore::Reconnect* ReferenceCore::ReconnectById(uint64_t id) {
  for (Reconnect& r : reconnects_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

void ReferenceCore::HandleSetPeerAddresses(Instant, const SetPeerAddresses& in,
                                           absl::StatusCode* code) {
  if (in.peer.is_empty() || in.addresses.size() > config_.max_peer_addrs_to_dial) {
    *code = Code::kInvalidArgument;
    return;
  }
  auto it = std::find_if(peer_addresses_.begin(), peer_addresses_.end(),
                         [&](const auto& p) { return p.first == in.peer; });
  if (in.addresses.empty()) {
    if (it != peer_addresses_.end()) peer_addresses_.erase(it);
    return;
  }
  if (it == peer_addresses_.end()) {
    if (peer_addresses_.size() >= config_.max_tagged_peers) {
      *code = Code::kResourceExhausted;
      return;
    }
    peer_addresses_.push_back({in.peer, in.addresses});
  } else {
    it->second = in.addresses;
  }
}

void ReferenceCore::MaybeStartReconnect(const PeerId& peer, Instant now, std::vector<Output>* out) {
  if (config_.reconnect_retries == 0 || !tags_.HasKeepAlive(peer)) return;
  const bool open = std::any_of(conns_.begin(), conns_.end(), [&](const Conn& c) {
    return c.state == ConnectionState::kOpen && c.peer == peer;
  });
  if (ReconnectOf(peer) != nullptr || open) return;
  if (std::none_of(peer_addresses_.begin(), peer_addresses_.end(),
                   [&](const auto& p) { return p.first == peer; })) {
    return;
  }
  ScheduleReconnect(peer, 0, now, Duration::Zero());
  FireDialTimers(now, out);  // due now: dial at once
}

Duration ReferenceCore::ReconnectWait(uint32_t attempt) {
  // retry_interval × factor^attempt, capped at max_wait, ± jitter_percent.
  Duration wait = config_.reconnect_retry_interval;
  for (uint32_t i = 0; i < attempt && wait < config_.reconnect_max_wait; ++i) {
    wait = wait * static_cast<int64_t>(config_.reconnect_backoff_factor);
  }
  wait = std::min(wait, config_.reconnect_max_wait);
  const int64_t percent = config_.reconnect_jitter_percent;
  if (percent == 0) return wait;
  const int64_t offset = static_cast<int64_t>(rng_.Below(2 * percent + 1)) - percent;
  return wait + Duration::Nanoseconds(wait.nanoseconds() / 100 * offset);
}

void ReferenceCore::ScheduleReconnect(const PeerId& peer, uint32_t attempt, Instant now,
                                      Duration wait) {
  const uint64_t id = next_reconnect_id_++;
  reconnects_.push_back({peer, id, attempt, now + wait, false});
  dial_timers_.insert({now + wait, 2, id});
}

void ReferenceCore::FireReconnect(uint64_t id, Instant now, std::vector<Output>* out) {
  Reconnect* r = ReconnectById(id);
  if (r == nullptr) return;
  const PeerId peer = r->peer;
  if (reconnects_in_flight_ >= config_.max_parallel_reconnects) {
    reconnect_waiting_.insert({r->due, id});
    return;
  }
  auto addresses = std::find_if(peer_addresses_.begin(), peer_addresses_.end(),
                                [&](const auto& p) { return p.first == peer; });
  if (addresses == peer_addresses_.end()) {
    reconnect_results_.push_back({peer, false});
    HandleReconnectResults(now, out);
    return;
  }
  // Every address not denied backed off, and no dial of the peer running: wait for the first
  // backoff to end; the turn is not an attempt.
  bool running = false;
  for (const Job& j : jobs_) running = running || j.peer == peer;
  Instant first_free = Instant::Never();
  bool dialable = running;
  for (const Multiaddr& a : addresses->second) {
    if (dialable) break;
    if (std::optional<PeerId> named = a.peer_id(); named && *named != peer) continue;
    const Multiaddr full = a.WithPeerId(peer);
    std::optional<IpAddress> ip = full.ip();
    if (ip && DenyRule(ip->Unmapped())) continue;
    if (!BackedOff(peer, full, now)) {
      dialable = true;
    } else {
      for (const Backoff& b : backoffs_) {
        if (b.peer == peer && b.address == full) first_free = std::min(first_free, b.until);
      }
    }
  }
  if (!dialable && first_free != Instant::Never()) {
    const uint32_t attempt = r->attempt;
    EndReconnect(peer);
    ScheduleReconnect(peer, attempt, now, first_free - now);
    return;
  }
  r->dialling = true;
  ++reconnects_in_flight_;
  Count(Counter::kReconnectAttempts);
  Job* job = nullptr;
  for (Job& j : jobs_) {
    if (j.peer == peer) job = &j;
  }
  if (job == nullptr) {
    if (jobs_.size() >= config_.max_dial_queue_length) {
      --reconnects_in_flight_;
      r->dialling = false;
      reconnect_results_.push_back({peer, false});
      HandleReconnectResults(now, out);
      return;
    }
    Job fresh;
    fresh.id = next_job_++;
    fresh.peer = peer;
    fresh.priority = config_.default_dial_priority;
    fresh.sequence = next_job_sequence_++;
    for (const Multiaddr& a : addresses->second) {
      const Multiaddr full = a.WithPeerId(peer);
      if (fresh.candidates.size() < kMaxDialCandidates &&
          std::find(fresh.candidates.begin(), fresh.candidates.end(), full) ==
              fresh.candidates.end()) {
        fresh.candidates.push_back(full);
      }
    }
    jobs_.push_back(std::move(fresh));
    job = &jobs_.back();
  }
  job->joiners.push_back({id, now + config_.dial_timeout, true});
  dial_timers_.insert({now + config_.dial_timeout, 3, id});
  Pump(now, out);
}

void ReferenceCore::HandleReconnectResults(Instant now, std::vector<Output>* out) {
  while (!reconnect_results_.empty()) {
    // Copies, not a structured binding: lambdas below capture `peer` (clang 14 refuses that).
    const PeerId peer = reconnect_results_.front().first;
    const bool connected = reconnect_results_.front().second;
    reconnect_results_.erase(reconnect_results_.begin());
    Reconnect* r = ReconnectOf(peer);
    if (r == nullptr) continue;
    const Reconnect state = *r;
    if (state.dialling) --reconnects_in_flight_;
    EndReconnect(peer);
    if (connected) continue;
    if (state.attempt + 1 >= config_.reconnect_retries) {
      tags_.RemoveKeepAliveTags(peer);
      peer_addresses_.erase(std::remove_if(peer_addresses_.begin(), peer_addresses_.end(),
                                           [&](const auto& p) { return p.first == peer; }),
                            peer_addresses_.end());
      Count(Counter::kReconnectsFailed);
      out->push_back(ReconnectFailed{peer, state.attempt + 1});
      continue;
    }
    ScheduleReconnect(peer, state.attempt + 1, now, ReconnectWait(state.attempt + 1));
  }
  while (!reconnect_waiting_.empty() && reconnects_in_flight_ < config_.max_parallel_reconnects) {
    const uint64_t id = reconnect_waiting_.begin()->second;
    reconnect_waiting_.erase(reconnect_waiting_.begin());
    FireReconnect(id, now, out);
  }
}

void ReferenceCore::EndReconnect(const PeerId& peer) {
  auto it = std::find_if(reconnects_.begin(), reconnects_.end(),
                         [&](const Reconnect& r) { return r.peer == peer; });
  if (it == reconnects_.end()) return;
  dial_timers_.erase({it->due, 2, it->id});
  reconnect_waiting_.erase({it->due, it->id});
  reconnects_.erase(it);
}

}  // namespace connmgr
