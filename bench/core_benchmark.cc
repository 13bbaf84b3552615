// Cost per input of the core as the number of live connections grows (1k → 1M).
//
//   ./bazelw run -c opt //bench:core_benchmark
//   ./bazelw run -c opt //bench:core_benchmark -- --benchmark_filter='Churn/1000000'
//
// Churn: with n connections open, one connection goes through its life (inbound, upgrade,
//   stream open, stream close, transport close): 5 inputs per iteration.
// TrimOnOpen: with n open at the high watermark, every new connection triggers a trim that
//   closes one (the newest by prune order): open + upgrade + close of the pruned one.
// ChurnPolicy: Churn with every policy on (100k-entry deny list, per-IP, per-/24 and global
//   rate limits, per-IP connection limits, watermarks at n so every cycle trims): see below.
// TrimStorm/to/from: from open connections, an UpdateConfig lowers max_connections to `to`.
// DialStorm/n: n DialRequests queued at once, every DialAddress answered DialSucceeded.
// Admission/entries/tracked: an inbound connection (admitted or refused) and its close, with
//   `entries` allow and `entries` deny prefixes and the rate limiter tracking `tracked` IPs.
// Reconnect/n: n keep-alive peers lose their connections; timers driven, dials answered.
// Floor/n: the cheapest possible churn input with n live (one hash-map insert or erase, one
//   B-tree update, one queue push and pop): what every core figure is divided by.
//
// Churn, ChurnPolicy, TrimOnOpen and Floor report "allocs/input": heap allocations (operator
// new, bench:allocation_counter) per input in steady state.
//
// Every benchmark's smallest variant ends in /1000 or /1000/real_time (the smoke test runs those).
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "bench/allocation_counter.h"
#include "bench/random_addresses.h"
#include "benchmark/benchmark.h"
#include "core/core.h"
#include "core/ip_prefix_set.h"
#include "core/random.h"

namespace connmgr {
namespace {

// A distinct, valid peer id per integer: an identity multihash of the integer's 8 bytes.
PeerId NumberedPeer(uint64_t n) {
  std::string multihash = {'\x00', '\x08'};
  for (int i = 7; i >= 0; --i) multihash.push_back(static_cast<char>(n >> (8 * i)));
  return PeerId::FromBytes(multihash).value();
}

// Reports heap allocations per input over the timed loop (the fixture's are before it).
class AllocationsPerInput {
 public:
  AllocationsPerInput() : start_(AllocationCount()) {}
  void Report(benchmark::State& state, double inputs) const {
    state.counters["allocs/input"] =
        static_cast<double>(AllocationCount() - start_) / std::max(1.0, inputs);
  }

 private:
  uint64_t start_;
};

void Drain(Core& core) {
  core.DrainOutputs([](const Output&) {});
}

struct Fixture {
  explicit Fixture(int64_t live, uint32_t max_connections) {
    Config config;
    config.max_connections = max_connections;
    config.max_incoming_pending_connections = 1'000;
    config.max_output_queue = 1 << 20;
    core = Core::Create(config).value();
    remote = Multiaddr::Parse("/ip4/1.2.3.4/tcp/4001").value();
    local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
    for (int64_t i = 0; i < live; ++i) {
      (void)core->Handle(now, OutboundConnection{remote, local, NumberedPeer(i)});
      Drain(*core);
    }
  }
  std::unique_ptr<Core> core;
  Multiaddr remote;
  Multiaddr local;
  Instant now = Instant::FromNanoseconds(1);
};

// BM_Churn/n: n open; one connection goes through its life with the default config. The
// inbound socket comes from one of 4 096 public IPv4 addresses in turn and the clock advances
// 1 ms per cycle, so each address returns every 4 s: the default per-IP rate limit (5/s)
// counts it but never refuses. Every input must succeed (the benchmark fails otherwise: a
// refused connection would measure a different, cheaper path).
void BM_Churn(benchmark::State& state) {
  const int64_t live = state.range(0);
  Fixture f(live, static_cast<uint32_t>(live + 100));
  const PeerId peer = NumberedPeer(live + 1);
  SplitMix64 rng(12);
  std::vector<Multiaddr> remotes;
  remotes.reserve(4096);
  for (int i = 0; i < 4096; ++i) {
    remotes.push_back(Multiaddr::Parse("/ip4/" + RandomV4(rng).ToString() + "/tcp/4001").value());
  }
  const std::string protocol = "/ipfs/ping/1.0.0";
  std::array<Input, 4> after_inbound = {
      ConnectionUpgraded{ConnectionId{}, peer},
      StreamOpened{ConnectionId{}, 1, protocol, Direction::kOutbound},
      StreamClosed{ConnectionId{}, 1, protocol, Direction::kOutbound},
      TransportClosed{ConnectionId{}},
  };
  std::vector<Input> inbound;
  inbound.reserve(remotes.size());
  for (const Multiaddr& remote : remotes) inbound.emplace_back(InboundConnection{remote, f.local});
  uint64_t failures = 0;
  size_t next = 0;
  const AllocationsPerInput allocations;
  for (auto _ : state) {
    f.now = f.now + Duration::Milliseconds(1);
    absl::StatusOr<ConnectionId> id = f.core->Handle(f.now, inbound[next++ & 4095]);
    Drain(*f.core);
    if (!id.ok()) {
      ++failures;
      continue;
    }
    std::get<ConnectionUpgraded>(after_inbound[0]).connection = *id;
    std::get<StreamOpened>(after_inbound[1]).connection = *id;
    std::get<StreamClosed>(after_inbound[2]).connection = *id;
    std::get<TransportClosed>(after_inbound[3]).connection = *id;
    for (const Input& in : after_inbound) failures += !f.core->Handle(f.now, in).ok();
    Drain(*f.core);
  }
  state.SetItemsProcessed(state.iterations() * 5);
  allocations.Report(state, static_cast<double>(state.iterations()) * 5);
  if (failures != 0) state.SkipWithError("an input failed (a refused connection?)");
}

void BM_TrimOnOpen(benchmark::State& state) {
  const int64_t live = state.range(0);
  Fixture f(live, static_cast<uint32_t>(live));
  uint64_t next_peer = live + 1;
  const AllocationsPerInput allocations;
  for (auto _ : state) {
    f.now = f.now + Duration::Microseconds(1);
    // Inbound is refused at the hard limit, so the new connection is an outbound one: it opens,
    // the trim closes the newest (itself), and the transport confirms.
    ConnectionId id =
        f.core->Handle(f.now, OutboundConnection{f.remote, f.local, NumberedPeer(next_peer++)})
            .value();
    (void)f.core->Handle(f.now, TransportClosed{id});
    Drain(*f.core);
  }
  state.SetItemsProcessed(state.iterations() * 2);
  allocations.Report(state, static_cast<double>(state.iterations()) * 2);
}

// --- Policy on --------------------------------------------------------------------------------

// n random prefixes, half IPv4 /16–/32, half IPv6 /32–/128 (as gating_dialing_benchmark).
std::vector<IpPrefix> RandomPrefixes(int64_t n, SplitMix64& rng) {
  std::vector<IpPrefix> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const bool v4 = i % 2 == 0;
    const IpAddress a = v4 ? RandomV4(rng) : RandomV6(rng);
    out.emplace_back(
        a, v4 ? 16 + static_cast<int>(rng.Below(17)) : 32 + static_cast<int>(rng.Below(97)));
  }
  return out;
}

// `count` distinct /tcp/4001 remotes with public IPv4 addresses none of `denied` covers.
std::vector<Multiaddr> AdmittedRemotes(size_t count, const IpPrefixSet& denied, SplitMix64& rng) {
  std::vector<Multiaddr> out;
  while (out.size() < count) {
    const IpAddress ip = RandomV4(rng);
    if (denied.Contains(ip)) continue;
    out.push_back(Multiaddr::Parse("/ip4/" + ip.ToString() + "/tcp/4001").value());
  }
  return out;
}

// Every policy on: the deny list, per-IP, per-/24 and global rate limits (bookkeeping on every
// inbound socket; set so that they do not refuse this workload), per-IP connection limits, and
// watermarks at `live` so every connection over it trims.
Config PolicyConfig(int64_t live, const std::vector<IpPrefix>& deny) {
  Config config;
  config.max_connections = static_cast<uint32_t>(live + 100);
  config.high_watermark = static_cast<uint32_t>(live);
  config.low_watermark = static_cast<uint32_t>(live);
  config.max_incoming_pending_connections = 1'000;
  config.max_output_queue = 1 << 20;
  config.max_list_entries = 2'000'000;
  config.deny_list = deny;
  config.inbound_rate_per_ip = {5, Duration::Seconds(1), 5};
  config.inbound_rate_per_ipv4_24 = {20, Duration::Seconds(1), 20};
  config.inbound_rate_global = {100'000, Duration::Seconds(1), 100'000};
  config.max_connections_per_ipv4_32 = 8;
  return config;
}

// What a drain saw: the connections the core asked to close, and the peers it pruned.
struct Drained {
  std::vector<ConnectionId> closes;
  std::vector<PeerId> pruned_peers;
  bool rejected = false;
};

void DrainInto(Core& core, Drained& d) {
  core.DrainOutputs([&d](const Output& out) {
    if (const auto* c = std::get_if<CloseConnection>(&out)) {
      d.closes.push_back(c->connection);
    } else if (const auto* p = std::get_if<ConnectionsPruned>(&out)) {
      for (const PrunedConnection& pc : p->pruned) d.pruned_peers.push_back(pc.peer);
    } else if (std::holds_alternative<RejectConnection>(out)) {
      d.rejected = true;
    }
  });
}

// BM_ChurnPolicy/n: n open (outbound, distinct remote IPs) at the high watermark; one cycle:
//   inbound from one of 4096 remotes (deny-list lookup, rate limiters, per-IP count),
//   upgrade (it opens: n + 1 > high watermark, the trim prunes one old connection, the new one's
//   peer carries a tag), the pruned one's TransportClosed, stream open and close on the new one,
//   its TransportClosed, and an OutboundConnection of the pruned peer to refill to n.
// 7 inputs and one trim per cycle; the clock advances 1 ms per cycle (each remote IP comes back
// every 4 s: the per-IP limiter counts but does not refuse).
void BM_ChurnPolicy(benchmark::State& state) {
  const int64_t live = state.range(0);
  SplitMix64 rng(7);
  const std::vector<IpPrefix> deny = RandomPrefixes(100'000, rng);
  IpPrefixSet deny_set(deny.size());
  for (const IpPrefix& p : deny) deny_set.Insert(p).IgnoreError();
  std::unique_ptr<Core> core = Core::Create(PolicyConfig(live, deny)).value();
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  Instant now = Instant::FromNanoseconds(1);
  {
    const std::vector<Multiaddr> fill =
        AdmittedRemotes(static_cast<size_t>(std::min<int64_t>(live, 65'536)), deny_set, rng);
    for (int64_t i = 0; i < live; ++i) {
      (void)core->Handle(now, OutboundConnection{fill[static_cast<size_t>(i) % fill.size()], local,
                                                 NumberedPeer(static_cast<uint64_t>(i))});
      Drain(*core);
    }
  }
  const std::vector<Multiaddr> remotes = AdmittedRemotes(4096, deny_set, rng);
  const Multiaddr& refill = remotes[0];
  const PeerId peer = NumberedPeer(static_cast<uint64_t>(live) + 1);
  (void)core->Handle(now, SetPeerTag{peer, "score", 100});
  Drain(*core);
  Drained d;
  size_t next = 0;
  uint64_t trims = 0, refused = 0;
  d.closes.reserve(16);
  d.pruned_peers.reserve(16);
  // Built once: the protocol name is longer than a short string's inline room.
  Input stream_opened = StreamOpened{ConnectionId{}, 1, "/ipfs/ping/1.0.0", Direction::kOutbound};
  Input stream_closed = StreamClosed{ConnectionId{}, 1, "/ipfs/ping/1.0.0", Direction::kOutbound};
  const AllocationsPerInput allocations;
  for (auto _ : state) {
    now = now + Duration::Milliseconds(1);
    d.closes.clear();
    d.pruned_peers.clear();
    d.rejected = false;
    ConnectionId id = core->Handle(now, InboundConnection{remotes[next++ & 4095], local}).value();
    DrainInto(*core, d);
    if (d.rejected) {
      ++refused;  // refused at the door (not expected here)
      continue;
    }
    (void)core->Handle(now, ConnectionUpgraded{id, peer});
    DrainInto(*core, d);
    for (ConnectionId c : d.closes) (void)core->Handle(now, TransportClosed{c});
    std::get<StreamOpened>(stream_opened).connection = id;
    std::get<StreamClosed>(stream_closed).connection = id;
    (void)core->Handle(now, stream_opened);
    (void)core->Handle(now, stream_closed);
    (void)core->Handle(now, TransportClosed{id});
    Drain(*core);
    for (const PeerId& p : d.pruned_peers) {
      (void)core->Handle(now, OutboundConnection{refill, local, p});
      Drain(*core);
    }
    trims += d.pruned_peers.size();
  }
  const double inputs = static_cast<double>(state.iterations()) * 7;
  state.SetItemsProcessed(static_cast<int64_t>(inputs));
  allocations.Report(state, inputs);
  state.counters["cycles/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["time/input"] =
      benchmark::Counter(inputs, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["pruned/cycle"] =
      static_cast<double>(trims) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
  state.counters["refused"] = static_cast<double>(refused);
  state.counters["open"] = static_cast<double>(
      core->GetMetrics().connections(Direction::kOutbound, ConnectionState::kOpen));
}

// BM_TrimStorm/to/from: `from` connections open; one UpdateConfig lowers max_connections to
// `to` (a trim at once, ignoring the silence period), then every CloseConnection is confirmed
// with TransportClosed. Timed: the UpdateConfig, the drain, and the confirmations.
void BM_TrimStorm(benchmark::State& state) {
  const int64_t to = state.range(0);
  const int64_t from = state.range(1);
  uint64_t pruned = 0;
  uint64_t allocations = 0;  // inside the storm (the benchmark's own vectors are reserved)
  bool failed = false;
  for (auto _ : state) {
    state.PauseTiming();
    auto f = std::make_unique<Fixture>(from, static_cast<uint32_t>(from));
    Config lower = f->core->config();
    lower.max_connections = static_cast<uint32_t>(to);
    Drained d;
    d.closes.reserve(static_cast<size_t>(from));
    d.pruned_peers.reserve(static_cast<size_t>(from));
    state.ResumeTiming();
    const uint64_t allocations_before = AllocationCount();
    (void)f->core->Handle(f->now, UpdateConfig{lower});
    DrainInto(*f->core, d);
    for (ConnectionId c : d.closes) {
      (void)f->core->Handle(f->now, TransportClosed{c});
      Drain(*f->core);
    }
    allocations += AllocationCount() - allocations_before;
    state.PauseTiming();
    pruned += d.closes.size();
    failed |= f->core->connections().size() != static_cast<size_t>(to);
    f.reset();  // freeing a million connections is not part of the storm
    state.ResumeTiming();
  }
  if (failed) state.SkipWithError("the trim did not reach the new limit");
  state.counters["pruned"] = static_cast<double>(pruned) / static_cast<double>(state.iterations());
  state.counters["allocs/storm"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["time/pruned"] = benchmark::Counter(
      static_cast<double>(pruned), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// A distinct Ed25519-style identity-multihash peer id (38 bytes, as real ones).
PeerId Ed25519Peer(uint64_t i) {
  std::string mh = {'\x00', '\x24', '\x08', '\x01', '\x12', '\x20'};
  mh.append(32, '\0');
  for (int b = 0; b < 8; ++b) mh[6 + b] = static_cast<char>(i >> (b * 8));
  return PeerId::FromBytes(mh).value();
}

// BM_DialStorm/n: n DialRequests (distinct peers, one address each) handed in at once with
// max_parallel_dials 100; every DialAddress is answered DialSucceeded as it comes, until all
// n dials have connected. Timed: the whole storm; items: dials.
void BM_DialStorm(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::vector<DialRequest> requests;
  SplitMix64 rng(8);
  for (int64_t i = 0; i < n; ++i) {
    requests.push_back(
        DialRequest{static_cast<uint64_t>(i + 1),
                    Ed25519Peer(static_cast<uint64_t>(i)),
                    {Multiaddr::Parse("/ip4/" + RandomV4(rng).ToString() + "/tcp/4001").value()},
                    50,
                    false,
                    Duration::Zero()});
  }
  uint64_t connected = 0;
  bool failed = false;
  for (auto _ : state) {
    state.PauseTiming();
    Config config;
    config.max_connections = static_cast<uint32_t>(n + 100);
    config.max_dial_queue_length = static_cast<uint32_t>(n + 1);
    config.max_parallel_dials = 100;
    config.max_output_queue = 1 << 22;
    std::unique_ptr<Core> core = Core::Create(config).value();
    std::vector<ConnectionId> attempts;
    const Instant now = Instant::FromNanoseconds(1);
    state.ResumeTiming();
    uint64_t done = 0;
    auto drain = [&] {
      while (std::optional<Output> out = core->PollOutput()) {
        if (const auto* a = std::get_if<DialAddress>(&*out)) attempts.push_back(a->connection);
        if (const auto* r = std::get_if<DialResult>(&*out))
          done += r->outcome == DialOutcome::kConnected;
      }
    };
    for (const DialRequest& r : requests) {
      (void)core->Handle(now, r);
      drain();
    }
    while (!attempts.empty()) {
      const ConnectionId c = attempts.back();
      attempts.pop_back();
      (void)core->Handle(now, DialSucceeded{c});
      drain();
    }
    state.PauseTiming();
    connected += done;
    failed |= done != static_cast<uint64_t>(n);
    core.reset();
    state.ResumeTiming();
  }
  if (failed) state.SkipWithError("not every dial connected");
  state.SetItemsProcessed(static_cast<int64_t>(connected));
  state.counters["time/dial"] = benchmark::Counter(
      static_cast<double>(connected), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// BM_Admission/entries/tracked: `entries` allow and `entries` deny prefixes; the rate limiter
// first sees `tracked` distinct source IPs (its cap: every new one then evicts the least
// recently used). One iteration: an InboundConnection from a random IPv4 address (admitted,
// or refused by the deny list) and its TransportClosed.
void BM_Admission(benchmark::State& state) {
  const int64_t entries = state.range(0);
  const int64_t tracked = state.range(1);
  SplitMix64 rng(9);
  Config config;
  config.max_connections = 1'000'000;
  config.max_incoming_pending_connections = 1'000'000;
  config.max_list_entries = 2'000'000;
  config.max_tracked_sources = static_cast<uint32_t>(tracked);
  config.allow_list = RandomPrefixes(entries, rng);
  config.deny_list = RandomPrefixes(entries, rng);
  config.inbound_rate_per_ip = {5, Duration::Seconds(1), 5};
  config.inbound_rate_per_ipv4_24 = {20, Duration::Seconds(1), 20};
  std::unique_ptr<Core> core = Core::Create(config).value();
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  Instant now = Instant::FromNanoseconds(1);
  auto cycle = [&](const Multiaddr& remote) {
    absl::StatusOr<ConnectionId> id = core->Handle(now, InboundConnection{remote, local});
    Drain(*core);
    if (id.ok()) core->Handle(now, TransportClosed{*id}).IgnoreError();
    Drain(*core);
  };
  for (int64_t i = 0; i < tracked; ++i) {
    now = now + Duration::Microseconds(1);
    cycle(Multiaddr::Parse("/ip4/" + RandomV4(rng).ToString() + "/tcp/1").value());
  }
  std::vector<Multiaddr> probes;
  probes.reserve(4096);
  for (int i = 0; i < 4096; ++i) {
    probes.push_back(Multiaddr::Parse("/ip4/" + RandomV4(rng).ToString() + "/tcp/1").value());
  }
  const Metrics before = core->GetMetrics();
  const uint64_t refused_before = before.counter(Counter::kInboundRejected);
  size_t i = 0;
  for (auto _ : state) {
    now = now + Duration::Microseconds(1);
    cycle(probes[i++ & 4095]);
  }
  const Metrics m = core->GetMetrics();
  state.counters["tracked"] = static_cast<double>(m.tracked_sources);
  for (int r = 0; r < kRejectReasonCount; ++r) {
    const uint64_t n = m.rejected_by_reason[r] - before.rejected_by_reason[r];
    if (n != 0) {
      state.counters[std::string(RejectReasonName(static_cast<RejectReason>(r))) + "%"] =
          100.0 * static_cast<double>(n) /
          static_cast<double>(std::max<int64_t>(1, state.iterations()));
    }
  }
  state.counters["refused%"] =
      100.0 * static_cast<double>(m.counter(Counter::kInboundRejected) - refused_before) /
      static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

// BM_Reconnect/n: n keep-alive peers (a "keep-alive" tag and one address each), connected.
// Timed: all n connections close (TransportClosed), then the caller drives the core as a shell
// would — answers each DialAddress with DialSucceeded, and hands in TimerExpired at
// NextDeadline() whenever no output is left — until all n peers are connected again.
void BM_Reconnect(benchmark::State& state) {
  const int64_t n = state.range(0);
  SplitMix64 rng(10);
  std::vector<PeerId> peers;
  std::vector<Multiaddr> addrs;
  for (int64_t i = 0; i < n; ++i) {
    peers.push_back(Ed25519Peer(static_cast<uint64_t>(i)));
    addrs.push_back(Multiaddr::Parse("/ip4/" + RandomV4(rng).ToString() + "/tcp/4001").value());
  }
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  uint64_t reconnected = 0, timer_inputs = 0;
  bool failed = false;
  for (auto _ : state) {
    state.PauseTiming();
    Config config;
    config.max_connections = static_cast<uint32_t>(n + 100);
    config.max_tagged_peers = static_cast<uint32_t>(n + 100);
    config.max_output_queue = 1 << 22;
    std::unique_ptr<Core> core = Core::Create(config).value();
    Instant now = Instant::FromNanoseconds(1);
    std::vector<ConnectionId> ids;
    for (int64_t i = 0; i < n; ++i) {
      (void)core->Handle(now, SetPeerTag{peers[i], "keep-alive", 1});
      (void)core->Handle(now, SetPeerAddresses{peers[i], {addrs[i]}});
      ids.push_back(core->Handle(now, OutboundConnection{addrs[i], local, peers[i]}).value());
      Drain(*core);
    }
    std::vector<ConnectionId> attempts;
    uint64_t opened = 0;
    auto drain = [&] {
      while (std::optional<Output> out = core->PollOutput()) {
        if (const auto* a = std::get_if<DialAddress>(&*out)) attempts.push_back(a->connection);
        if (std::holds_alternative<ConnectionOpened>(*out)) ++opened;
      }
    };
    state.ResumeTiming();
    for (ConnectionId id : ids) {
      (void)core->Handle(now, TransportClosed{id});
      drain();
    }
    while (opened < static_cast<uint64_t>(n)) {
      if (!attempts.empty()) {
        const ConnectionId c = attempts.back();
        attempts.pop_back();
        (void)core->Handle(now, DialSucceeded{c});
        drain();
        continue;
      }
      const Instant due = core->NextDeadline();
      if (due == Instant::Never()) break;
      if (now < due) now = due;
      (void)core->Handle(now, TimerExpired{});
      ++timer_inputs;
      drain();
    }
    state.PauseTiming();
    reconnected += opened;
    failed |= opened != static_cast<uint64_t>(n);
    core.reset();
    state.ResumeTiming();
  }
  if (failed) state.SkipWithError("not every peer reconnected");
  state.SetItemsProcessed(static_cast<int64_t>(reconnected));
  state.counters["time/reconnect"] = benchmark::Counter(
      static_cast<double>(reconnected), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["timers/iter"] =
      static_cast<double>(timer_inputs) / static_cast<double>(state.iterations());
}

// BM_Floor/n: n live keys in a hash map (key → 64-byte record) and in a B-tree ordered by
// (rank, key); one iteration is two inputs: a new key arrives (map insert, B-tree insert, one
// output pushed and popped) and the oldest leaves (map erase, B-tree erase, one output). No
// connection manager can do less per churn input with n live; docs/performance.md divides
// every core figure by it.
void BM_Floor(benchmark::State& state) {
  struct Record {
    uint64_t rank;
    std::array<uint64_t, 7> fields;
  };
  struct Output {
    uint64_t kind;
    uint64_t key;
  };
  const auto live = static_cast<size_t>(state.range(0));
  SplitMix64 rng(11);
  absl::flat_hash_map<uint64_t, Record> records;
  absl::btree_set<std::pair<uint64_t, uint64_t>> order;
  std::vector<uint64_t> keys(live);  // a ring of the live keys, oldest at `oldest`
  for (size_t i = 0; i < live; ++i) {
    keys[i] = rng.Next();
    const uint64_t rank = rng.Next();
    records[keys[i]] = Record{rank, {}};
    order.emplace(rank, keys[i]);
  }
  std::vector<Output> queue;
  queue.reserve(64);
  size_t oldest = 0;
  const AllocationsPerInput allocations;
  for (auto _ : state) {
    const uint64_t key = rng.Next();
    const uint64_t rank = rng.Next();
    records.emplace(key, Record{rank, {}});
    order.emplace(rank, key);
    queue.push_back(Output{1, key});
    benchmark::DoNotOptimize(queue.back());
    queue.clear();

    const uint64_t gone = keys[oldest];
    auto it = records.find(gone);
    order.erase({it->second.rank, gone});
    records.erase(it);
    queue.push_back(Output{2, gone});
    benchmark::DoNotOptimize(queue.back());
    queue.clear();
    keys[oldest] = key;
    oldest = oldest + 1 == live ? 0 : oldest + 1;
  }
  state.SetItemsProcessed(state.iterations() * 2);
  allocations.Report(state, static_cast<double>(state.iterations()) * 2);
}

BENCHMARK(BM_Floor)->RangeMultiplier(10)->Range(1'000, 1'000'000)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Churn)->RangeMultiplier(10)->Range(1'000, 1'000'000)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_TrimOnOpen)
    ->RangeMultiplier(10)
    ->Range(1'000, 1'000'000)
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ChurnPolicy)
    ->RangeMultiplier(10)
    ->Range(1'000, 1'000'000)
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_TrimStorm)
    ->Args({10, 1'000})
    ->Args({100, 100'000})
    ->Args({1'000, 1'000'000})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_DialStorm)->Arg(1'000)->Arg(100'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Admission)->Args({1'000, 1'000})->Args({100'000, 1'000'000});
BENCHMARK(BM_Reconnect)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace connmgr

BENCHMARK_MAIN();
