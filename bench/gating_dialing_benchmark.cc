// Costs of admission and dialing decisions, swept over n:
//  - BM_DenyListLookup: one deny/allow lookup with n list entries (IPv4 and IPv6 mixed).
//  - BM_DenyListChange/length/n: one entry added and removed with n entries held, the entry an
//    IPv4 /length (/24: one front-table slot recomputed in a large list; /8: 256 slots).
//  - BM_SourceLimiterAdmit: one admission decision while n distinct sources are tracked.
//  - BM_InboundAdmission: a whole InboundConnection through the core with n deny entries.
//  - BM_DialQueue: one dial request through queue, attempt and success, with n dials queued.
//  - BM_AddressOrder25: preparing and ordering 25 addresses (default order), and ranking them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/random_addresses.h"
#include "benchmark/benchmark.h"
#include "core/address_order.h"
#include "core/core.h"
#include "core/ip_prefix_set.h"
#include "core/random.h"
#include "core/source_limiter.h"

namespace connmgr {
namespace {

IpPrefixSet FilledSet(int64_t n, SplitMix64& rng) {
  IpPrefixSet set(static_cast<size_t>(n) + 1);  // room for one more (BM_DenyListChange)
  for (int64_t i = 0; i < n; ++i) {
    const bool v4 = i % 2 == 0;
    const IpAddress a = v4 ? RandomV4(rng) : RandomV6(rng);
    set.Insert(IpPrefix(a, v4 ? 16 + static_cast<int>(rng.Below(17))
                              : 32 + static_cast<int>(rng.Below(97))))
        .IgnoreError();
  }
  return set;
}

void BM_DenyListLookup(benchmark::State& state) {
  SplitMix64 rng(1);
  IpPrefixSet set = FilledSet(state.range(0), rng);
  std::vector<IpAddress> probes;
  probes.reserve(1024);
  for (int i = 0; i < 1024; ++i) probes.push_back(i % 2 ? RandomV4(rng) : RandomV6(rng));
  size_t i = 0, hits = 0;
  for (auto _ : state) hits += set.Contains(probes[i++ & 1023]);
  benchmark::DoNotOptimize(hits);
}

void BM_DenyListChange(benchmark::State& state) {
  SplitMix64 rng(3);
  const int length = static_cast<int>(state.range(0));
  IpPrefixSet set = FilledSet(state.range(1), rng);
  std::vector<IpPrefix> changes;
  changes.reserve(1024);
  for (int i = 0; i < 1024; ++i) {
    IpPrefix p(RandomV4(rng), length);
    if (!set.ContainsEntry(p)) changes.push_back(p);  // each insert adds, each erase removes
  }
  size_t i = 0;
  for (auto _ : state) {
    const IpPrefix& p = changes[i++ % changes.size()];
    benchmark::DoNotOptimize(set.Insert(p));
    benchmark::DoNotOptimize(set.Erase(p));
  }
  state.counters["entries"] = static_cast<double>(set.size());
}

void BM_SourceLimiterAdmit(benchmark::State& state) {
  SourceLimiterOptions o;
  o.per_ip = {1, Duration::Minutes(60), 1};
  o.max_tracked_sources = static_cast<uint32_t>(state.range(0));
  SourceLimiter limiter(o);
  SplitMix64 rng(2);
  Instant now = Instant::FromNanoseconds(0);
  SourceLimiter::Charge charge;
  for (int64_t i = 0; i < state.range(0); ++i) {
    limiter.Admit(RandomV4(rng), now, false, &charge);
    limiter.Release(charge, now);
  }
  for (auto _ : state) {
    now = now + Duration::Nanoseconds(100);
    benchmark::DoNotOptimize(limiter.Admit(RandomV4(rng), now, false, &charge));
    limiter.Release(charge, now);
  }
  state.counters["tracked"] = static_cast<double>(limiter.tracked_sources());
  state.counters["bytes"] = static_cast<double>(limiter.memory_bytes());
}

void BM_InboundAdmission(benchmark::State& state) {
  Config config;
  config.max_incoming_pending_connections = 1'000'000;
  config.max_connections = 1'000'000;
  config.max_list_entries = 1'000'000;
  SplitMix64 rng(3);
  IpPrefixSet set = FilledSet(state.range(0), rng);
  config.deny_list = set.Entries();
  std::unique_ptr<Core> core = Core::Create(config).value();
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  std::vector<Multiaddr> remotes;
  remotes.reserve(1024);
  for (int i = 0; i < 1024; ++i) {
    remotes.push_back(Multiaddr::Parse("/ip4/" + RandomV4(rng).ToString() + "/tcp/1").value());
  }
  int64_t t = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Instant now = Instant::FromNanoseconds(t += 1'000'000);
    absl::StatusOr<ConnectionId> id =
        core->Handle(now, InboundConnection{remotes[i++ & 1023], local});
    while (core->PollOutput()) {
    }
    core->Handle(now, TransportClosed{*id}).IgnoreError();
    while (core->PollOutput()) {
    }
  }
}

void BM_DialQueue(benchmark::State& state) {
  Config config;
  config.max_parallel_dials = 1;
  config.max_dial_queue_length = static_cast<uint32_t>(state.range(0)) + 2;
  std::unique_ptr<Core> core = Core::Create(config).value();
  SplitMix64 rng(4);
  // n requests wait behind one running dial that never finishes.
  std::vector<Multiaddr> addrs = {Multiaddr::Parse("/ip4/1.1.1.1/tcp/1").value()};
  auto peer_for = [](uint64_t i) {
    // Distinct peers: Ed25519-style identity multihash ids are 38 bytes; vary the last bytes.
    std::string mh = {'\x00', '\x24', '\x08', '\x01', '\x12', '\x20'};
    mh.append(32, '\0');
    for (int b = 0; b < 8; ++b) mh[6 + b] = static_cast<char>(i >> (b * 8));
    return PeerId::FromBytes(mh).value();
  };
  uint64_t request = 1;
  const Instant now = Instant::FromNanoseconds(0);
  for (int64_t i = 0; i <= state.range(0); ++i) {
    core->Handle(now, DialRequest{request, peer_for(request), addrs, 50, false, Duration::Zero()})
        .IgnoreError();
    ++request;
  }
  while (core->PollOutput()) {
  }
  for (auto _ : state) {
    // One more request joins the queue and is cancelled: O(log n) each.
    core->Handle(now, DialRequest{request, peer_for(request), addrs, 75, false, Duration::Zero()})
        .IgnoreError();
    core->Handle(now, CancelDial{request}).IgnoreError();
    ++request;
    while (core->PollOutput()) {
    }
  }
}

void BM_AddressOrder25(benchmark::State& state) {
  SplitMix64 rng(5);
  const PeerId peer = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
  std::vector<Multiaddr> in;
  const char* transports[] = {"/tcp/1", "/tcp/1/ws", "/tcp/1/wss", "/udp/1/quic-v1",
                              "/udp/1/webrtc-direct"};
  for (int i = 0; i < 25; ++i) {
    const std::string ip =
        i % 3 == 0 ? "/ip6/" + RandomV6(rng).ToString() : "/ip4/" + RandomV4(rng).ToString();
    in.push_back(Multiaddr::Parse(ip + transports[i % 5]).value());
  }
  for (auto _ : state) {
    absl::StatusOr<PreparedAddresses> p = PrepareDialAddresses(peer, in, 25, AddressFilters{});
    benchmark::DoNotOptimize(RankAddresses(p->addresses, RankedDelays{}));
  }
}

BENCHMARK(BM_DenyListLookup)->RangeMultiplier(10)->Range(1'000, 1'000'000);
BENCHMARK(BM_DenyListChange)->ArgsProduct({{8, 24}, benchmark::CreateRange(1'000, 1'000'000, 10)});
BENCHMARK(BM_SourceLimiterAdmit)->RangeMultiplier(10)->Range(1'000, 1'000'000);
BENCHMARK(BM_InboundAdmission)->RangeMultiplier(10)->Range(1'000, 100'000);
BENCHMARK(BM_DialQueue)->RangeMultiplier(10)->Range(1'000, 100'000);
BENCHMARK(BM_AddressOrder25);

}  // namespace
}  // namespace connmgr

BENCHMARK_MAIN();
