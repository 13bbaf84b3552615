#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/random.h"
#include "sim/node.h"

namespace connmgr::sim {
namespace {

constexpr uint16_t kListenPort = 4001;
constexpr int64_t kBucketNs = 100'000'000;  // arrival counts at node 0, per 100 ms
constexpr const char kFloodProtocol[] = "/sim/flood/1.0.0";

enum class EventKind : uint8_t {
  kBoot,          // node: comes up (first boot or back after churn)
  kDown,          // node: goes down (churn)
  kTimer,         // node, gen: the core's deadline
  kMaintain,      // node, gen: the node's peer maintenance tick
  kSyn,           // link: the dial's first packet reaches the listener
  kHandshake,     // link: security and muxer done on both sides
  kDropSide,      // link, side: that side learns the connection is gone
  kLocalClosed,   // node, gen, conn: the close the core asked for completed
  kDialFailFast,  // link: the dialer learns the address is unreachable
  kDns,           // node, gen, query: the DNS answer arrives
  kAttack,        // the attacker opens one connection to node 0
  kOutage,        // outage_percent of the nodes lose connectivity
  kSample,        // measurements
};

struct Event {
  int64_t at;
  uint64_t seq;
  EventKind kind;
  uint32_t node = 0;
  uint32_t gen = 0;
  uint64_t x = 0;  // link id, conn id or query
  uint32_t side = 0;
  bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

struct Link {
  static constexpr uint32_t kAttacker = UINT32_MAX;
  uint32_t a = 0, b = 0;  // dialer, listener (a == kAttacker: the scripted attacker)
  uint32_t gen_a = 0, gen_b = 0;
  uint64_t conn_a = 0, conn_b = 0;
  bool live[2] = {true, false};  // a's side, b's side (b's once it has an id)
  bool established = false;
  Endpoint a_endpoint;
  PeerId attacker_peer;
};

struct SimNode {
  std::unique_ptr<Node> node;  // null while down
  uint32_t ip = 0;
  PeerId peer;
  uint32_t gen = 0;
  Instant armed = Instant::Never();
  absl::flat_hash_map<uint64_t, uint64_t> links;  // core conn id → link id
  int64_t unreachable_until = 0;
  bool in_outage = false;
  bool reconnected = false;
};

class Simulation {
 public:
  Simulation(const Scenario& s, const RunOptions& o)
      : s_(s), options_(o), rng_(Mix64(s.seed) ^ 0x5151), nodes_(s.nodes) {}

  absl::StatusOr<RunResult> Run();

 private:
  Endpoint NodeEndpoint(uint32_t n) const { return {nodes_[n].ip, kListenPort}; }
  int64_t Latency(uint64_t a_key, uint64_t b_key) const {
    const uint64_t lo = std::min(a_key, b_key), hi = std::max(a_key, b_key);
    const int64_t span = (s_.latency_max - s_.latency_min).nanoseconds() / 1'000'000 + 1;
    const uint64_t h = Mix64(Mix64(s_.seed ^ lo) ^ (hi * 0x9E3779B97F4A7C15ull));
    return s_.latency_min.nanoseconds() + static_cast<int64_t>(h % span) * 1'000'000;
  }
  int64_t LinkLatency(const Link& l) const {
    const uint64_t a_key = l.a == Link::kAttacker ? (1ull << 40) + l.a_endpoint.ip : l.a;
    return Latency(a_key, l.b);
  }
  void Push(int64_t at, EventKind kind, uint32_t node = 0, uint32_t gen = 0, uint64_t x = 0,
            uint32_t side = 0) {
    queue_.push(Event{at, next_seq_++, kind, node, gen, x, side});
  }
  double Uniform() { return static_cast<double>((rng_.Next() >> 11) + 1) / 9007199254740992.0; }
  int64_t Exponential(Duration mean) {
    return static_cast<int64_t>(-std::log(Uniform()) * static_cast<double>(mean.nanoseconds()));
  }
  bool Up(uint32_t n, uint32_t gen) const {
    return nodes_[n].node != nullptr && nodes_[n].gen == gen;
  }

  absl::Status Boot(uint32_t n, int64_t now);
  void Down(uint32_t n, int64_t now);
  // Carries out the node's actions (schedules events only: no input is handed in here) and
  // re-arms its timer.
  void Apply(uint32_t n, int64_t now);
  void StartDial(uint32_t n, int64_t now, uint64_t conn, Endpoint to);
  // That side of the link learns the connection is gone (DialFailed before the handshake on
  // the dialer's side, TransportClosed otherwise).
  void DropSide(uint64_t link_id, int side, int64_t now, const std::string& why);
  void NotifySide(uint64_t link_id, int side, int64_t at) {
    Push(at, EventKind::kDropSide, 0, 0, link_id, side);
  }
  void MaybeForget(uint64_t link_id);
  void OnSyn(uint64_t link_id, int64_t now);
  void OnHandshake(uint64_t link_id, int64_t now);
  void Maintain(uint32_t n, int64_t now);
  void Attack(int64_t now);
  void Outage(int64_t now);
  void Sever(uint32_t n, int64_t now);
  void Sample(int64_t now);
  uint32_t RandomLiveNode(uint32_t not_this);

  const Scenario& s_;
  RunOptions options_;
  SplitMix64 rng_;
  std::vector<SimNode> nodes_;
  absl::flat_hash_map<uint32_t, uint32_t> by_ip_;
  absl::flat_hash_map<uint64_t, Link> links_;
  uint64_t next_link_ = 1;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  uint64_t next_seq_ = 0;
  uint64_t next_port_ = 0;
  uint64_t next_attacker_ = 0;
  uint32_t attacker_base_ = 0;  // the attacker's /16, host order
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, std::string> dns_names_;  // (node, query)
  std::string trace_;
  bool trace_open_ = false;
  bool trace_overflow_ = false;
  RunResult result_;

  // Counters.
  uint64_t events_ = 0, dials_ = 0, opened_ = 0, pruned_ = 0, rejected_ = 0, core_errors_ = 0;
  uint64_t joins_ = 0, leaves_ = 0, lost_packets_ = 0, dns_queries_ = 0;
  uint64_t attack_attempts_ = 0, attack_accepted_ = 0, attack_streams_reset_ = 0;
  uint64_t popular_rate_rejects_ = 0;
  std::vector<uint32_t> arrivals_;  // at node 0, per 100 ms bucket
  // Judged figures.
  int64_t honest_before_ = -1, honest_min_ = -1, honest_end_ = 0, attackers_end_ = 0;
  int64_t max_open_ = 0, min_component_permille_ = 1000, samples_judged_ = 0;
  int64_t outage_nodes_ = 0, reconnected_ = 0, reconnected_at_ = -1;
  double sum_mean_peers_ = 0;
};

absl::Status Simulation::Boot(uint32_t n, int64_t now) {
  SimNode& sn = nodes_[n];
  TraceWriter::Sink sink;
  if (options_.trace_node && *options_.trace_node == n && sn.gen == 0) {
    trace_open_ = true;
    sink = [this](absl::string_view line) {
      if (!trace_open_) return;
      if (trace_.size() + line.size() + 1 > options_.max_trace_bytes) {
        trace_overflow_ = true;
        trace_open_ = false;
        return;
      }
      absl::StrAppend(&trace_, line, "\n");
    };
  }
  Config config = n == 0 ? s_.popular_config : s_.node_config;
  // Each node (and each life of it) gets its own seed for jitter and diversity keys, as an
  // embedder must give it: nodes sharing one seed draw the same jitter and redial in lockstep.
  if (!s_.shared_random_seed)
    config.random_seed = Mix64(s_.seed ^ Mix64(n) ^ (uint64_t{sn.gen} << 40));
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(config, std::move(sink));
  if (!node.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(n == 0 ? "popular_config" : "node_config", ": ", node.status().message()));
  }
  sn.node = *std::move(node);
  ++sn.gen;
  sn.armed = Instant::Never();
  ++joins_;
  const Instant t = Instant::FromNanoseconds(now);
  if (n != 0 && s_.keep_alive_popular) {
    sn.node->KeepAlive(t, nodes_[0].peer, NodeEndpoint(0));
    Apply(n, now);
  }
  if (n != 0 || s_.popular_maintains) Push(now, EventKind::kMaintain, n, sn.gen);
  if (n != 0 && s_.mean_lifetime > Duration::Zero()) {
    Push(now + std::max<int64_t>(1, Exponential(s_.mean_lifetime)), EventKind::kDown, n, sn.gen);
  }
  return absl::OkStatus();
}

void Simulation::Down(uint32_t n, int64_t now) {
  SimNode& sn = nodes_[n];
  ++leaves_;
  std::vector<uint64_t> ids;
  for (const auto& [conn, link] : sn.links) ids.push_back(link);
  std::sort(ids.begin(), ids.end());  // hash order must not decide event order
  for (uint64_t id : ids) {
    Link& l = links_[id];
    const int side = l.a == n ? 0 : 1;
    l.live[side] = false;
    if (l.live[1 - side]) NotifySide(id, 1 - side, now + LinkLatency(l));
    MaybeForget(id);
  }
  sn.links.clear();
  core_errors_ += sn.node->errors();
  if (n == options_.trace_node) trace_open_ = false;
  sn.node.reset();
  ++sn.gen;  // stale events of this life are ignored
  Push(now + std::max<int64_t>(1, Exponential(s_.mean_downtime)), EventKind::kBoot, n);
}

void Simulation::MaybeForget(uint64_t link_id) {
  auto it = links_.find(link_id);
  if (it != links_.end() && !it->second.live[0] && !it->second.live[1]) links_.erase(it);
}

void Simulation::Apply(uint32_t n, int64_t now) {
  SimNode& sn = nodes_[n];
  if (sn.node == nullptr) return;
  for (NodeAction& a : sn.node->TakeActions()) {
    using K = NodeAction::Kind;
    switch (a.kind) {
      case K::kAccept: {
        auto it = sn.links.find(a.conn);
        if (it == sn.links.end()) break;
        Link& l = links_[it->second];
        Push(now + 2 * LinkLatency(l) * s_.handshake_round_trips, EventKind::kHandshake, 0, 0,
             it->second);
        break;
      }
      case K::kReject:
      case K::kClose:
      case K::kAbort: {
        if (a.kind == K::kReject) {
          ++rejected_;
          if (n == 0 && a.rejected_for_rate) ++popular_rate_rejects_;
        }
        auto it = sn.links.find(a.conn);
        if (it == sn.links.end()) break;
        const uint64_t id = it->second;
        sn.links.erase(it);
        Link& l = links_[id];
        const int side = l.a == n ? 0 : 1;
        l.live[side] = false;
        if (l.live[1 - side]) NotifySide(id, 1 - side, now + LinkLatency(l));
        if (a.kind == K::kClose) Push(now, EventKind::kLocalClosed, n, sn.gen, a.conn);
        MaybeForget(id);
        break;
      }
      case K::kDial:
        StartDial(n, now, a.conn, a.endpoint);
        break;
      case K::kCancelDial: {
        auto it = sn.links.find(a.conn);
        if (it == sn.links.end()) break;
        const uint64_t id = it->second;
        sn.links.erase(it);
        Link& l = links_[id];
        l.live[0] = false;
        if (l.live[1]) NotifySide(id, 1, now + LinkLatency(l));
        MaybeForget(id);
        break;
      }
      case K::kResolveDns:
        ++dns_queries_;
        Push(now + 2 * s_.latency_min.nanoseconds(), EventKind::kDns, n, sn.gen, a.query);
        dns_names_[{n, a.query}] = a.name;
        break;
      case K::kResetStream:
        if (n == 0) ++attack_streams_reset_;
        break;
      case K::kOpened:
        ++opened_;
        if (sn.in_outage && !sn.reconnected && a.peer == nodes_[0].peer) {
          sn.reconnected = true;
          ++reconnected_;
          if (reconnected_ == outage_nodes_) {
            reconnected_at_ = now - s_.outage_at.nanoseconds();
          }
        }
        break;
      case K::kPruned:
        pruned_ += a.count;
        break;
      case K::kClosed:
      case K::kDialResult:
        break;
    }
  }
  const Instant deadline = sn.node->NextDeadline();
  if (deadline != sn.armed) {
    sn.armed = deadline;
    if (!deadline.is_never()) {
      Push(std::max(now, deadline.nanoseconds()), EventKind::kTimer, n, sn.gen,
           static_cast<uint64_t>(deadline.nanoseconds()));
    }
  }
}

void Simulation::StartDial(uint32_t n, int64_t now, uint64_t conn, Endpoint to) {
  ++dials_;
  SimNode& sn = nodes_[n];
  const uint64_t id = next_link_++;
  Link& l = links_[id];
  l.a = n;
  l.gen_a = sn.gen;
  l.conn_a = conn;
  l.a_endpoint = {sn.ip, static_cast<uint16_t>(10'000 + (next_port_++ % 50'000))};
  sn.links[conn] = id;
  auto target = by_ip_.find(to.ip);
  if (target == by_ip_.end() || to.port != kListenPort || sn.unreachable_until > now) {
    // Nobody there, or this node's own network is down: fails at once.
    Push(now, EventKind::kDialFailFast, 0, 0, id);
    return;
  }
  l.b = target->second;
  if (s_.loss_per_mille > 0 && rng_.Below(1000) < s_.loss_per_mille) {
    ++lost_packets_;  // the dialer's address_dial_timeout will end it
    return;
  }
  Push(now + LinkLatency(l), EventKind::kSyn, 0, 0, id);
}

void Simulation::DropSide(uint64_t link_id, int side, int64_t now, const std::string& why) {
  auto it = links_.find(link_id);
  if (it == links_.end()) return;
  Link& l = it->second;
  if (!l.live[side]) return;
  l.live[side] = false;
  const uint32_t n = side == 0 ? l.a : l.b;
  const uint64_t conn = side == 0 ? l.conn_a : l.conn_b;
  const uint32_t gen = side == 0 ? l.gen_a : l.gen_b;
  const bool established = l.established;
  MaybeForget(link_id);
  if (n == Link::kAttacker || !Up(n, gen)) return;
  SimNode& sn = nodes_[n];
  sn.links.erase(conn);
  const Instant t = Instant::FromNanoseconds(now);
  if (side == 0 && !established) {
    sn.node->DialFailed(t, conn, why);
  } else {
    sn.node->TransportClosed(t, conn);
  }
  Apply(n, now);
}

void Simulation::OnSyn(uint64_t link_id, int64_t now) {
  auto it = links_.find(link_id);
  if (it == links_.end()) return;
  Link& l = it->second;
  if (!l.live[0]) {
    MaybeForget(link_id);
    return;
  }
  const uint32_t b = l.b;
  if (b == 0) {
    const int64_t bucket = now / kBucketNs;
    if (bucket < static_cast<int64_t>(arrivals_.size())) ++arrivals_[bucket];
  }
  SimNode& sb = nodes_[b];
  if (sb.node == nullptr || sb.unreachable_until > now) {
    NotifySide(link_id, 0, now + LinkLatency(l));  // refused
    return;
  }
  const uint64_t conn =
      sb.node->Inbound(Instant::FromNanoseconds(now), l.a_endpoint, NodeEndpoint(b));
  if (conn == 0) {
    NotifySide(link_id, 0, now + LinkLatency(l));
    Apply(b, now);
    return;
  }
  l.conn_b = conn;
  l.gen_b = sb.gen;
  l.live[1] = true;
  sb.links[conn] = link_id;
  Apply(b, now);
}

void Simulation::OnHandshake(uint64_t link_id, int64_t now) {
  auto it = links_.find(link_id);
  if (it == links_.end()) return;
  Link& l = it->second;
  if (!l.live[0] || !l.live[1]) {
    // One side gave up during the handshake: the other learns now.
    if (l.live[0]) DropSide(link_id, 0, now, "connection closed during handshake");
    if (links_.contains(link_id) && links_.at(link_id).live[1]) {
      DropSide(link_id, 1, now, "connection closed during handshake");
    }
    return;
  }
  l.established = true;
  const Instant t = Instant::FromNanoseconds(now);
  // Copies: carrying out a node's actions may add links, which moves `l`.
  const uint32_t a = l.a, b = l.b, gen_a = l.gen_a;
  const uint64_t conn_a = l.conn_a, conn_b = l.conn_b;
  const PeerId peer_a = a == Link::kAttacker ? l.attacker_peer : nodes_[a].peer;
  nodes_[b].node->Upgraded(t, conn_b, peer_a);
  if (a == Link::kAttacker) {
    ++attack_accepted_;
    for (uint32_t i = 0; i < s_.attacker_streams && nodes_[b].node->IsOpen(conn_b); ++i) {
      nodes_[b].node->StreamOpened(t, conn_b, kFloodProtocol, /*inbound=*/true);
    }
  }
  Apply(b, now);
  if (a != Link::kAttacker && Up(a, gen_a) && links_.contains(link_id) &&
      links_.at(link_id).live[0]) {
    nodes_[a].node->DialSucceeded(t, conn_a);
    Apply(a, now);
  }
}

uint32_t Simulation::RandomLiveNode(uint32_t not_this) {
  for (int i = 0; i < 8; ++i) {
    const uint32_t m = 1 + static_cast<uint32_t>(rng_.Below(s_.nodes - 1));
    if (m != not_this && nodes_[m].node != nullptr) return m;
  }
  return 0;
}

void Simulation::Maintain(uint32_t n, int64_t now) {
  SimNode& sn = nodes_[n];
  const Instant t = Instant::FromNanoseconds(now);
  if (s_.want_popular && n != 0 && !sn.node->IsConnectedTo(nodes_[0].peer)) {
    sn.node->Dial(t, nodes_[0].peer, NodeEndpoint(0));
  }
  if (sn.node->peers() < s_.target_peers) {
    for (uint32_t i = 0; i < s_.dials_per_tick; ++i) {
      const uint32_t m = RandomLiveNode(n);
      if (m != 0) sn.node->Dial(t, nodes_[m].peer, NodeEndpoint(m));
    }
  }
  Apply(n, now);
  Push(now + s_.maintain_interval.nanoseconds(), EventKind::kMaintain, n, sn.gen);
}

void Simulation::Attack(int64_t now) {
  ++attack_attempts_;
  const uint64_t id = next_link_++;
  Link& l = links_[id];
  l.a = Link::kAttacker;
  l.b = 0;
  const uint32_t index = static_cast<uint32_t>(rng_.Below(s_.attacker_addresses));
  l.a_endpoint = {attacker_base_ | (index & 0xFFFF),
                  static_cast<uint16_t>(10'000 + (next_port_++ % 50'000))};
  l.attacker_peer = SimPeerId(s_.seed ^ 0xA77AC4, next_attacker_++);
  Push(now + LinkLatency(l), EventKind::kSyn, 0, 0, id);
  const int64_t step = std::max<int64_t>(1, 1'000'000'000 / s_.attack_rate);
  if (now + step < s_.duration.nanoseconds()) Push(now + step, EventKind::kAttack);
}

void Simulation::Sever(uint32_t n, int64_t now) {
  SimNode& sn = nodes_[n];
  std::vector<uint64_t> ids;
  for (const auto& [conn, link] : sn.links) ids.push_back(link);
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) {
    auto it = links_.find(id);
    if (it == links_.end()) continue;
    const int side = it->second.a == n ? 0 : 1;
    if (it->second.live[1 - side]) NotifySide(id, 1 - side, now + LinkLatency(it->second));
    DropSide(id, side, now, "network unreachable");
  }
}

void Simulation::Outage(int64_t now) {
  std::vector<uint32_t> candidates;
  for (uint32_t n = 1; n < s_.nodes; ++n) {
    if (nodes_[n].node != nullptr) candidates.push_back(n);
  }
  // A seeded partial Fisher-Yates shuffle picks the nodes.
  const size_t k = candidates.size() * s_.outage_percent / 100;
  for (size_t i = 0; i < k; ++i) {
    std::swap(candidates[i], candidates[i + rng_.Below(candidates.size() - i)]);
  }
  outage_nodes_ = static_cast<int64_t>(k);
  const int64_t until = now + s_.outage_downtime.nanoseconds();
  for (size_t i = 0; i < k; ++i) {
    SimNode& sn = nodes_[candidates[i]];
    sn.in_outage = true;
    sn.unreachable_until = until;
    Sever(candidates[i], now);
  }
  if (k == 0) reconnected_at_ = 0;
}

void Simulation::Sample(int64_t now) {
  // Node 0: honest peers and attacker connections.
  int64_t honest = 0, attackers = 0;
  if (nodes_[0].node != nullptr) {
    for (const auto& [conn, link] : nodes_[0].links) {
      if (!nodes_[0].node->IsOpen(conn)) continue;
      (links_.at(link).a == Link::kAttacker ? attackers : honest)++;
    }
  }
  // Every other node: open connections, and the largest connected component (union-find
  // over links open on both sides).
  std::vector<uint32_t> parent(s_.nodes);
  std::iota(parent.begin(), parent.end(), 0u);
  auto find = [&](uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const auto& [id, l] : links_) {
    if (l.a == Link::kAttacker || !l.established || !l.live[0] || !l.live[1]) continue;
    const uint32_t ra = find(l.a), rb = find(l.b);
    if (ra != rb) parent[std::max(ra, rb)] = std::min(ra, rb);
  }
  std::vector<uint32_t> size(s_.nodes, 0);
  int64_t alive = 0, open_sum = 0, open_max = 0, largest = 0;
  for (uint32_t n = 0; n < s_.nodes; ++n) {
    if (nodes_[n].node == nullptr) continue;
    ++alive;
    const int64_t root = find(n);
    largest = std::max<int64_t>(largest, ++size[root]);
    if (n == 0) continue;
    const int64_t open = static_cast<int64_t>(nodes_[n].node->open_connections());
    open_sum += open;
    open_max = std::max(open_max, open);
  }
  const double mean_open =
      alive > 1 ? static_cast<double>(open_sum) / static_cast<double>(alive - 1) : 0;
  const int64_t component_permille = alive > 0 ? largest * 1000 / alive : 0;
  const int64_t bucket = now / kBucketNs;
  int64_t recent_arrivals = 0;  // at node 0 over the last sample interval
  for (int64_t b = std::max<int64_t>(0, bucket - s_.sample_interval.nanoseconds() / kBucketNs);
       b < bucket && b < static_cast<int64_t>(arrivals_.size()); ++b) {
    recent_arrivals += arrivals_[b];
  }

  result_.sample_seconds.push_back(static_cast<double>(now) / 1e9);
  auto add = [&](size_t i, const char* name, double v) {
    if (result_.series.size() <= i) result_.series.push_back({name, {}});
    result_.series[i].second.push_back(v);
  };
  add(0, "honest peers of node 0", static_cast<double>(honest));
  add(1, "attacker connections at node 0", static_cast<double>(attackers));
  add(2, "mean connections per node", mean_open);
  add(3, "most connections at a node", static_cast<double>(open_max));
  add(4, "largest component (% of live nodes)", static_cast<double>(component_permille) / 10);
  add(5, "dials arriving at node 0 per second",
      static_cast<double>(recent_arrivals) * 1e9 /
          static_cast<double>(s_.sample_interval.nanoseconds()));
  add(6, "live nodes", static_cast<double>(alive));

  if (s_.attack_rate > 0) {
    if (now <= s_.attack_start.nanoseconds()) honest_before_ = honest;
    if (now > s_.attack_start.nanoseconds()) {
      honest_min_ = honest_min_ < 0 ? honest : std::min(honest_min_, honest);
    }
  }
  honest_end_ = honest;
  attackers_end_ = attackers;
  if (now >= s_.warmup.nanoseconds()) {
    ++samples_judged_;
    max_open_ = std::max(max_open_, open_max);
    min_component_permille_ = std::min(min_component_permille_, component_permille);
    sum_mean_peers_ += mean_open;
  }
}

// The event loop, one case per event kind: kept whole so that the order of events reads in one
// place.
// NOLINTNEXTLINE(readability-function-size)
absl::StatusOr<RunResult> Simulation::Run() {
  // Addresses: node i is the only node in its IPv4 /16 ((20 + i / 256).(i % 256).0.1).
  {
    int a = 0, b = 0;
    std::sscanf(s_.attacker_prefix.c_str(), "%d.%d", &a, &b);
    attacker_base_ = (static_cast<uint32_t>(a) << 24) | (static_cast<uint32_t>(b) << 16);
  }
  if (s_.nodes > 200 * 256) {
    return absl::InvalidArgumentError("scenario: nodes: at most 51200 (one IPv4 /16 each)");
  }
  for (uint32_t n = 0; n < s_.nodes; ++n) {
    nodes_[n].ip = ((20 + n / 256) << 24) | ((n % 256) << 16) | 1;
    if ((nodes_[n].ip & 0xFFFF0000) == attacker_base_ && s_.attack_rate > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("scenario: attacker_prefix: node ", n, " is in that /16"));
    }
    nodes_[n].peer = SimPeerId(s_.seed, n);
    by_ip_[nodes_[n].ip] = n;
  }
  arrivals_.assign(static_cast<size_t>(s_.duration.nanoseconds() / kBucketNs + 1), 0);
  const int64_t end = s_.duration.nanoseconds();
  // Node 0 first, the others spread over the first maintain interval.
  Push(0, EventKind::kBoot, 0);
  for (uint32_t n = 1; n < s_.nodes; ++n) {
    Push(1 + static_cast<int64_t>(rng_.Below(s_.maintain_interval.nanoseconds())), EventKind::kBoot,
         n);
  }
  for (int64_t t = s_.sample_interval.nanoseconds(); t <= end;
       t += s_.sample_interval.nanoseconds()) {
    Push(t, EventKind::kSample);
  }
  if (s_.attack_rate > 0) Push(s_.attack_start.nanoseconds(), EventKind::kAttack);
  if (s_.outage_percent > 0) Push(s_.outage_at.nanoseconds(), EventKind::kOutage);

  while (!queue_.empty()) {
    const Event e = queue_.top();
    if (e.at > end) break;
    queue_.pop();
    ++events_;
    const Instant t = Instant::FromNanoseconds(e.at);
    switch (e.kind) {
      case EventKind::kBoot:
        if (absl::Status st = Boot(e.node, e.at); !st.ok()) return st;
        break;
      case EventKind::kDown:
        if (Up(e.node, e.gen)) Down(e.node, e.at);
        break;
      case EventKind::kTimer:
        if (Up(e.node, e.gen) && nodes_[e.node].armed.nanoseconds() == static_cast<int64_t>(e.x)) {
          nodes_[e.node].armed = Instant::Never();
          nodes_[e.node].node->Timer(t);
          Apply(e.node, e.at);
        }
        break;
      case EventKind::kMaintain:
        if (Up(e.node, e.gen)) Maintain(e.node, e.at);
        break;
      case EventKind::kSyn:
        OnSyn(e.x, e.at);
        break;
      case EventKind::kHandshake:
        OnHandshake(e.x, e.at);
        break;
      case EventKind::kDropSide:
        DropSide(e.x, static_cast<int>(e.side), e.at, "connection refused");
        break;
      case EventKind::kDialFailFast:
        DropSide(e.x, 0, e.at, "network unreachable");
        break;
      case EventKind::kLocalClosed:
        if (Up(e.node, e.gen)) {
          nodes_[e.node].node->TransportClosed(t, e.x);
          Apply(e.node, e.at);
        }
        break;
      case EventKind::kDns:
        if (Up(e.node, e.gen)) {
          auto it = dns_names_.find({e.node, e.x});
          std::string name = it == dns_names_.end() ? "" : it->second;
          if (it != dns_names_.end()) dns_names_.erase(it);
          // Simulated DNS: "nodeN.sim" is node N's address.
          uint32_t m = 0;
          char tail = 0;
          if (std::sscanf(name.c_str(), "node%u.si%c", &m, &tail) == 2 && m < s_.nodes) {
            nodes_[e.node].node->DnsAnswered(t, e.x, {IpText(nodes_[m].ip)});
          } else {
            nodes_[e.node].node->DnsLookupFailed(t, e.x, "NXDOMAIN");
          }
          Apply(e.node, e.at);
        }
        break;
      case EventKind::kAttack:
        Attack(e.at);
        break;
      case EventKind::kOutage:
        Outage(e.at);
        break;
      case EventKind::kSample:
        Sample(e.at);
        break;
    }
  }
  if (trace_overflow_) {
    return absl::ResourceExhaustedError(absl::StrCat("sim: trace of node ", *options_.trace_node,
                                                     " over max_trace_bytes (",
                                                     options_.max_trace_bytes, ")"));
  }

  for (const SimNode& sn : nodes_) {
    if (sn.node != nullptr) core_errors_ += sn.node->errors();
  }
  RunResult& r = result_;
  r.scenario = s_;
  r.events = events_;
  auto fig = [&](const char* name, int64_t v) { r.figures.push_back({name, v}); };
  fig("nodes", s_.nodes);
  fig("simulated_seconds", s_.duration.nanoseconds() / 1'000'000'000);
  fig("events", static_cast<int64_t>(events_));
  fig("dial_attempts", static_cast<int64_t>(dials_));
  fig("connections_opened", static_cast<int64_t>(opened_));
  fig("inbound_rejected", static_cast<int64_t>(rejected_));
  fig("connections_pruned", static_cast<int64_t>(pruned_));
  fig("core_errors", static_cast<int64_t>(core_errors_));
  fig("mean_connections_x10",
      samples_judged_ > 0
          ? static_cast<int64_t>(sum_mean_peers_ * 10 / static_cast<double>(samples_judged_))
          : 0);
  fig("max_connections_at_a_node", max_open_);
  fig("min_largest_component_permille", min_component_permille_);
  if (s_.loss_per_mille > 0) fig("lost_first_packets", static_cast<int64_t>(lost_packets_));
  if (s_.mean_lifetime > Duration::Zero()) {
    fig("node_high_watermark", s_.node_config.effective_high_watermark());
    fig("joins", static_cast<int64_t>(joins_));
    fig("leaves", static_cast<int64_t>(leaves_));
  }
  if (s_.attack_rate > 0) {
    fig("attack_attempts", static_cast<int64_t>(attack_attempts_));
    fig("attack_accepted", static_cast<int64_t>(attack_accepted_));
    fig("honest_peers_before_attack", honest_before_);
    fig("honest_peers_min", honest_min_);
    fig("honest_peers_end", honest_end_);
    fig("attacker_connections_end", attackers_end_);
    fig("honest_kept_percent", honest_before_ > 0 ? honest_min_ * 100 / honest_before_ : 0);
  }
  if (s_.outage_percent > 0) {
    // The busiest second at node 0 after the outage: a sliding 1 s window over 100 ms buckets.
    int64_t peak = 0;
    const size_t from = static_cast<size_t>(s_.outage_at.nanoseconds() / kBucketNs);
    for (size_t i = from; i < arrivals_.size(); ++i) {
      int64_t w = 0;
      for (size_t j = i; j < std::min(arrivals_.size(), i + 10); ++j) w += arrivals_[j];
      peak = std::max(peak, w);
    }
    const RateLimit& limit = s_.popular_config.inbound_rate_global;
    fig("outage_nodes", outage_nodes_);
    fig("popular_rate_limit_per_s", limit.enabled()
                                        ? static_cast<int64_t>(limit.count) * 1'000'000'000 /
                                              std::max<int64_t>(1, limit.interval.nanoseconds())
                                        : 0);
    fig("popular_rate_limit_burst", limit.burst);
    fig("peak_dials_per_s_at_popular", peak);
    fig("popular_rate_limit_rejects", static_cast<int64_t>(popular_rate_rejects_));
    fig("reconnected", reconnected_);
    fig("all_reconnected_ms", reconnected_at_ < 0 ? -1 : reconnected_at_ / 1'000'000);
  }
  r.trace = std::move(trace_);
  return std::move(result_);
}

}  // namespace

int64_t RunResult::figure(const std::string& name) const {
  for (const auto& [n, v] : figures) {
    if (n == name) return v;
  }
  return -1;
}

std::string FormatSummary(const std::vector<RunResult>& runs) {
  if (runs.empty()) return "";
  const Scenario& s = runs[0].scenario;
  std::string out = absl::StrFormat("scenario %s, seed %d, %d nodes, %d s simulated\n\n", s.name,
                                    s.seed, s.nodes, s.duration.nanoseconds() / 1'000'000'000);
  std::vector<std::string> names;
  for (const RunResult& r : runs) {
    for (const auto& [name, v] : r.figures) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  absl::StrAppend(&out, absl::StrFormat("%-34s", "figure"));
  for (const RunResult& r : runs) {
    absl::StrAppend(&out, absl::StrFormat(" %14s", r.scenario.variant.empty()
                                                       ? std::string("value")
                                                       : r.scenario.variant.substr(0, 14)));
  }
  absl::StrAppend(&out, "\n");
  for (const std::string& name : names) {
    absl::StrAppend(&out, absl::StrFormat("%-34s", name));
    for (const RunResult& r : runs) {
      const int64_t v = r.figure(name);
      absl::StrAppend(&out, absl::StrFormat(" %14d", v));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string RenderSvg(const std::vector<RunResult>& runs) {
  if (runs.empty()) return "";
  const Scenario& s = runs[0].scenario;
  std::vector<size_t> which;
  std::string title;
  std::vector<std::pair<std::string, double>> references;  // horizontal lines
  if (s.attack_rate > 0) {
    which = {0, 1};
    title = "node 0 under a flood from one /16: honest peers and attacker connections";
  } else if (s.outage_percent > 0) {
    which = {5};
    const RateLimit& limit = s.popular_config.inbound_rate_global;
    if (limit.enabled()) {
      references.push_back(
          {"node 0's inbound_rate_global", static_cast<double>(limit.count) * 1e9 /
                                               static_cast<double>(limit.interval.nanoseconds())});
    }
    title = absl::StrCat("reconnect storm: dials arriving at node 0 per second after ",
                         s.outage_percent, " % of the nodes drop");
  } else {
    which = {2, 3, 4};
    title = "churn: connections per node and the largest component";
    references.push_back({"high watermark", s.node_config.effective_high_watermark()});
  }
  constexpr double kW = 820, kH = 380, kLeft = 60, kRight = 20, kTop = 40, kBottom = 110;
  const double plot_w = kW - kLeft - kRight, plot_h = kH - kTop - kBottom;
  double x_max = 1, y_max = 1;
  for (const RunResult& r : runs) {
    if (!r.sample_seconds.empty()) x_max = std::max(x_max, r.sample_seconds.back());
    for (size_t i : which) {
      if (i >= r.series.size()) continue;
      for (double v : r.series[i].second) y_max = std::max(y_max, v);
    }
  }
  for (const auto& [label, y] : references) y_max = std::max(y_max, y);
  // A round top for the y axis: 1, 2 or 5 times a power of ten.
  double step = std::pow(10, std::floor(std::log10(y_max / 5)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (y_max / (step * m) <= 5) {
      step *= m;
      break;
    }
  }
  y_max = step * std::ceil(y_max / step);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"22\" font-size=\"14\">%s (seed %d)</text>\n",
      kW, kH, kLeft, title, s.seed);
  auto x_of = [&](double x) { return kLeft + plot_w * x / x_max; };
  auto y_of = [&](double y) { return kTop + plot_h * (1 - y / y_max); };
  for (double y = 0; y <= y_max + step / 2; y += step) {
    absl::StrAppend(
        &svg, absl::StrFormat("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                              "stroke=\"#ddd\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                              "text-anchor=\"end\">%g</text>\n",
                              kLeft, y_of(y), kW - kRight, y_of(y), kLeft - 6, y_of(y) + 4, y));
  }
  for (int i = 0; i <= 5; ++i) {
    const double x = x_max * i / 5;
    absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                                          "%.0f s</text>\n",
                                          x_of(x), kTop + plot_h + 16, x));
  }
  absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" "
                                        "height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n",
                                        kLeft, kTop, plot_w, plot_h));
  for (const auto& [label, y] : references) {
    absl::StrAppend(&svg, absl::StrFormat("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                                          "stroke=\"#888\" stroke-dasharray=\"3,3\"/>\n"
                                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                                          "fill=\"#555\">%s</text>\n",
                                          kLeft, y_of(y), kW - kRight, y_of(y), kW - kRight - 4,
                                          y_of(y) - 4, label));
  }
  static constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c",
                                            "#ff7f0e", "#9467bd", "#8c564b"};
  static constexpr const char* kDashes[] = {"", "6,3", "2,2", "8,2,2,2"};
  int legend = 0;
  for (size_t v = 0; v < runs.size(); ++v) {
    const RunResult& r = runs[v];
    for (size_t k = 0; k < which.size(); ++k) {
      const size_t i = which[k];
      if (i >= r.series.size()) continue;
      const char* color = kColors[(which.size() > 1 ? k : v) % 6];
      const char* dash = kDashes[(which.size() > 1 ? v : 0) % 4];
      std::string points;
      for (size_t j = 0; j < r.series[i].second.size() && j < r.sample_seconds.size(); ++j) {
        absl::StrAppend(&points, absl::StrFormat("%.1f,%.1f ", x_of(r.sample_seconds[j]),
                                                 y_of(r.series[i].second[j])));
      }
      absl::StrAppend(&svg, absl::StrFormat("<polyline fill=\"none\" stroke=\"%s\" "
                                            "stroke-width=\"1.5\" stroke-dasharray=\"%s\" "
                                            "points=\"%s\"/>\n",
                                            color, dash, points));
      const int legend_row = legend / 2;
      const double ly = kTop + plot_h + 36 + 16.0 * legend_row;
      const double lx = kLeft + (legend % 2) * plot_w / 2;
      ++legend;
      std::string label = r.series[i].first;
      if (!r.scenario.variant.empty()) label = absl::StrCat(r.scenario.variant, ": ", label);
      absl::StrAppend(
          &svg, absl::StrFormat("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                                "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" "
                                "stroke-dasharray=\"%s\"/>\n<text x=\"%.1f\" "
                                "y=\"%.1f\">%s</text>\n",
                                lx, ly - 4, lx + 24, ly - 4, color, dash, lx + 30, ly, label));
    }
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

absl::StatusOr<RunResult> Simulate(const Scenario& scenario, const RunOptions& options) {
  if (options.trace_node && *options.trace_node >= scenario.nodes) {
    return absl::InvalidArgumentError("sim: trace node: no such node");
  }
  Simulation sim(scenario, options);
  return sim.Run();
}

}  // namespace connmgr::sim
