// Cost per input of the core as the number of live connections grows (1k → 1M).
//
//   ./bazelw run -c opt //bench:core_benchmark
//   ./bazelw run -c opt //bench:core_benchmark -- --benchmark_filter='Churn/1000000'
//
// Churn: with n connections open, one connection goes through its life (inbound, upgrade,
//   stream open, stream close, transport close): 5 inputs per iteration.
// TrimOnOpen: with n open at the high watermark, every new connection triggers a trim that
//   closes one (the newest by prune order): open + upgrade + close of the pruned one.
#include <cstdint>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "core/core.h"

namespace connmgr {
namespace {

// A distinct, valid peer id per integer: an identity multihash of the integer's 8 bytes.
PeerId NumberedPeer(uint64_t n) {
  std::string multihash = {'\x00', '\x08'};
  for (int i = 7; i >= 0; --i) multihash.push_back(static_cast<char>(n >> (8 * i)));
  return PeerId::FromBytes(multihash).value();
}

void Drain(Core& core) {
  while (core.PollOutput()) {
  }
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

void BM_Churn(benchmark::State& state) {
  const int64_t live = state.range(0);
  Fixture f(live, static_cast<uint32_t>(live + 100));
  const PeerId peer = NumberedPeer(live + 1);
  for (auto _ : state) {
    f.now = f.now + Duration::Microseconds(1);
    ConnectionId id = f.core->Handle(f.now, InboundConnection{f.remote, f.local}).value();
    (void)f.core->Handle(f.now, ConnectionUpgraded{id, peer});
    (void)f.core->Handle(f.now, StreamOpened{id, "/ipfs/ping/1.0.0", Direction::kOutbound});
    (void)f.core->Handle(f.now, StreamClosed{id, "/ipfs/ping/1.0.0", Direction::kOutbound});
    (void)f.core->Handle(f.now, TransportClosed{id});
    Drain(*f.core);
  }
  state.SetItemsProcessed(state.iterations() * 5);
}

void BM_TrimOnOpen(benchmark::State& state) {
  const int64_t live = state.range(0);
  Fixture f(live, static_cast<uint32_t>(live));
  uint64_t next_peer = live + 1;
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
}

BENCHMARK(BM_Churn)->RangeMultiplier(10)->Range(1'000, 1'000'000)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_TrimOnOpen)
    ->RangeMultiplier(10)
    ->Range(1'000, 1'000'000)
    ->Unit(benchmark::kNanosecond);

}  // namespace
}  // namespace connmgr

BENCHMARK_MAIN();
