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
uint64_t NetGroup(const Multiaddr& remote) {
  std::optional<IpAddress> ip = remote.ip();
  if (!ip) return 0;
  IpAddress a = ip->Unmapped();
  auto b = a.bytes();
  uint64_t g = a.is_v4() ? 4 : 6;
  const int n = a.is_v4() ? 2 : 4;
  uint64_t prefix = 0;
  for (int i = 0; i < n; ++i) prefix = prefix * 256 + b[i];
  return (g << 32) | prefix;
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
  const unsigned __int128 total = static_cast<unsigned __int128>(used) + bytes;
  if (limits.memory_bytes == 0) {
    if (total > UINT64_MAX)
      return ScopeDenied{ConnectionId{}, name, "memory_bytes", used, UINT64_MAX};
    return std::nullopt;
  }
  const unsigned __int128 allowed =
      static_cast<unsigned __int128>(limits.memory_bytes) * (priority + 1) / 256;
  if (total > allowed) {
    return ScopeDenied{ConnectionId{}, name, "memory_bytes", used, limits.memory_bytes};
  }
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

void ReferenceCore::MaybeTrim(Instant now, std::vector<Output>* out) {
  const size_t open = OpenCount();
  if (open <= config_.effective_high_watermark()) return;
  if (now < last_trim_ + config_.silence_period) {
    trim_deadline_ = last_trim_ + config_.silence_period;
    return;
  }
  const size_t low = config_.effective_low_watermark();
  auto key = [&](const Conn* c) {
    // Lower value, fewer streams, inbound first, newest first, highest id first.
    return std::make_tuple(PeerValue(c->peer), c->streams.size(),
                           c->direction == Direction::kInbound ? 0 : 1, -c->opened_at.nanoseconds(),
                           -static_cast<int64_t>(c->id.value));
  };
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
    Count(Counter::kPeersDisconnected);
    out->push_back(PeerDisconnected{gone.peer});
  }
}

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
      bool source_charged = false;
      const bool uses_fd = !in->remote.is_relayed() && in->remote.transport() != Transport::kMemory;
      if (gate_rule) {
        reject = RejectReason::kDenied;
      } else if (allow_listed) {
      } else if (config_.allow_only_mode) {
        reject = RejectReason::kNotAllowed;
      } else if (pending >= config_.max_incoming_pending_connections) {
        reject = RejectReason::kPendingLimit;
      } else if (config_.max_inbound_connections != 0 &&
                 OpenCount(Direction::kInbound) >= config_.max_inbound_connections) {
        reject = RejectReason::kInboundLimit;
      } else if (OpenCount() >= config_.max_connections) {
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
      Conn c;
      c.id = *id;
      c.direction = Direction::kOutbound;
      c.state = ConnectionState::kPending;
      c.created_at = now;
      c.relayed = in->remote.is_relayed();
      c.ip = in->remote.ip();
      if (c.ip) c.ip = c.ip->Unmapped();
      std::optional<std::string> gate_rule = DenyRule(c.ip);
      if (!gate_rule && denied_peers_.contains(in->peer)) gate_rule = "denied_peers";
      c.allow_listed = !gate_rule && AllowListed(in->remote);
      const bool over =
          (config_.max_outbound_connections != 0 &&
           OpenCount(Direction::kOutbound) >= config_.max_outbound_connections) ||
          (config_.reject_outbound_over_max && OpenCount() >= config_.max_connections);
      c.uses_fd = !in->remote.is_relayed() && in->remote.transport() != Transport::kMemory;
      c.netgroup = NetGroup(in->remote);
      std::optional<ScopeDenied> denied;
      if (!gate_rule && !over && !c.allow_listed) {
        denied = CheckScope(0, nullptr, Direction::kOutbound, c.uses_fd);
        if (!denied) denied = CheckScope(2, &in->peer, Direction::kOutbound, c.uses_fd);
        if (!denied) c.charge = 2;
      }
      conns_.push_back(c);
      Count(Counter::kOutboundRegistered);
      if (gate_rule) {
        Gate(conns_.back(), GateStage::kUpgraded, *gate_rule, now, out);
      } else if (over && !c.allow_listed) {
        Close(conns_.back(), CloseReason::kOutboundLimit, now, out);
      } else if (denied) {
        denied->connection = *id;
        out->push_back(*denied);
        Close(conns_.back(), CloseReason::kResourceLimit, now, out);
      } else {
        Open(conns_.back(), in->peer, now, out);
      }
    }
  } else if (const auto* in = std::get_if<ConnectionUpgraded>(&input)) {
    Conn* c = Find(in->connection);
    if (c == nullptr) {
      code = Missing(in->connection);
    } else if (c->state != ConnectionState::kPending) {
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
    } else if (c->state != ConnectionState::kPending || c->secured) {
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
      if (c == nullptr || c->charge == 2) {
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
      if (due->state == ConnectionState::kPending) {
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
    tags_.AdvanceTo(now);
    if (trim_deadline_ <= now) trim_deadline_ = Instant::Never();
    MaybeTrim(now, out);
  }
  const bool tag_input =
      std::holds_alternative<SetPeerTag>(input) || std::holds_alternative<BumpPeerTag>(input) ||
      std::holds_alternative<AddToPeerTag>(input) || std::holds_alternative<RemovePeerTag>(input) ||
      std::holds_alternative<ProtectPeer>(input) || std::holds_alternative<UnprotectPeer>(input);
  if (tag_input && code == Code::kOk) MaybeTrim(now, out);
  if (code != Code::kOk) Count(Counter::kInputErrors);
  return code;
}

Instant ReferenceCore::NextDeadline() const {
  Instant next = std::min(trim_deadline_, tags_.NextDeadline());
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
  m.streams_rejected_by_reason = streams_rejected_;
  m.placements_by_outcome = placements_;
  m.memory_bytes = transient_memory_;
  for (const Conn& c : conns_) m.memory_bytes += c.memory;
  return m;
}

}  // namespace connmgr
