// Heap bytes the core holds per live connection and per tracked source IP, measured with
// glibc's mallinfo2 (bytes in use from malloc, arena and mmap'ed blocks, chunk headers
// included) before and after filling a core.
//
//   ./bazelw run -c opt //bench:core_memory                       # 1M connections, 1M sources
//   ./bazelw run -c opt //bench:core_memory -- --connections=1000 --sources=1000
//
// Connections: N outbound connections (distinct 38-byte Ed25519-style peer ids, distinct remote
//   IPv4 addresses, one local address), default config with max_connections N: what a node at
//   N live connections keeps in the table, the peer index, the prune index, the resource scopes
//   and the per-peer maps. The inputs' own Multiaddrs and PeerIds are freed before measuring.
// Sources: N inbound sockets from distinct IPv4 addresses, each closed at once, with
//   max_tracked_sources N and the default per-IP rate limit (one key per source; each of the
//   per-/24, /56, /48 limits adds a key of the same size): what the limiter keeps per source.
// Also printed: sizeof of the records involved and the heap of one parsed Multiaddr.
#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "core/connection_table.h"
#include "core/core.h"

namespace connmgr {
namespace {

int64_t HeapBytes() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

PeerId Ed25519Peer(uint64_t i) {
  std::string mh = {'\x00', '\x24', '\x08', '\x01', '\x12', '\x20'};
  mh.append(32, '\0');
  for (int b = 0; b < 8; ++b) mh[6 + b] = static_cast<char>(i >> (b * 8));
  return PeerId::FromBytes(mh).value();
}

std::string Ip4(uint64_t i) {
  // 11.0.0.0 onwards: public, distinct for i < 2^24 (then wraps into the next /8s).
  const uint32_t v = static_cast<uint32_t>(0x0B000000u + i);
  return absl::StrCat(v >> 24, ".", (v >> 16) & 255, ".", (v >> 8) & 255, ".", v & 255);
}

void Drain(Core& core) {
  while (core.PollOutput()) {
  }
}

double PerConnection(int64_t n) {
  Config config;
  config.max_connections = static_cast<uint32_t>(n + 1);
  config.max_output_queue = 1 << 20;
  const int64_t before = HeapBytes();
  std::unique_ptr<Core> core = Core::Create(config).value();
  const int64_t empty = HeapBytes();
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  const Instant now = Instant::FromNanoseconds(1);
  for (int64_t i = 0; i < n; ++i) {
    (void)core->Handle(
        now,
        OutboundConnection{Multiaddr::Parse(absl::StrCat("/ip4/", Ip4(i), "/tcp/4001")).value(),
                           local, Ed25519Peer(static_cast<uint64_t>(i))});
    Drain(*core);
  }
  const int64_t full = HeapBytes();
  const double per = static_cast<double>(full - empty) / static_cast<double>(n);
  std::printf(
      "connections=%lld empty_core_bytes=%lld heap_delta_bytes=%lld bytes_per_connection=%.0f "
      "open=%zu\n",
      static_cast<long long>(n), static_cast<long long>(empty - before),
      static_cast<long long>(full - empty), per, core->connections().size());
  return per;
}

double PerSource(int64_t n) {
  Config config;
  config.max_connections = 1'000;
  config.max_incoming_pending_connections = 1'000;
  config.max_tracked_sources = static_cast<uint32_t>(n);  // default rate: per IP only
  config.inbound_rate_per_ip = {5, Duration::Seconds(1), 5};
  std::unique_ptr<Core> core = Core::Create(config).value();
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  // The clock stands still: no bucket refills, so no source is forgotten before the end.
  const Instant now = Instant::FromNanoseconds(1);
  const int64_t empty = HeapBytes();
  for (int64_t i = 0; i < n; ++i) {
    // Step by 257: each source in its own /24 (no difference with the per-IP limit alone).
    absl::StatusOr<ConnectionId> id = core->Handle(
        now,
        InboundConnection{
            Multiaddr::Parse(absl::StrCat("/ip4/", Ip4(static_cast<uint64_t>(i) * 257), "/tcp/1"))
                .value(),
            local});
    Drain(*core);
    if (id.ok()) core->Handle(now, TransportClosed{*id}).IgnoreError();
    Drain(*core);
  }
  const int64_t full = HeapBytes();
  const Metrics m = core->GetMetrics();
  const double per = static_cast<double>(full - empty) / static_cast<double>(m.tracked_sources);
  std::printf(
      "sources=%lld tracked_keys=%llu heap_delta_bytes=%lld bytes_per_tracked_key=%.0f "
      "bytes_per_source=%.0f\n",
      static_cast<long long>(n), static_cast<unsigned long long>(m.tracked_sources),
      static_cast<long long>(full - empty), per,
      static_cast<double>(full - empty) / static_cast<double>(n));
  return static_cast<double>(full - empty) / static_cast<double>(n);
}

void Sizes() {
  const int64_t before = HeapBytes();
  std::vector<Multiaddr> addrs;
  addrs.reserve(1000);
  const int64_t reserved = HeapBytes();
  for (int i = 0; i < 1000; ++i) {
    addrs.push_back(Multiaddr::Parse(absl::StrCat("/ip4/", Ip4(i), "/tcp/4001")).value());
  }
  const int64_t after = HeapBytes();
  std::vector<PeerId> peers;
  peers.reserve(1000);
  const int64_t p0 = HeapBytes();
  for (int i = 0; i < 1000; ++i) peers.push_back(Ed25519Peer(static_cast<uint64_t>(i)));
  const int64_t p1 = HeapBytes();
  (void)before;
  std::printf(
      "sizeof_connection=%zu sizeof_multiaddr=%zu multiaddr_heap_bytes=%lld "
      "sizeof_peer_id=%zu peer_id_heap_bytes=%lld\n",
      sizeof(Connection), sizeof(Multiaddr), static_cast<long long>((after - reserved) / 1000),
      sizeof(PeerId), static_cast<long long>((p1 - p0) / 1000));
}

int64_t Flag(int argc, char** argv, absl::string_view name, int64_t fallback) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    const std::string prefix = absl::StrCat("--", name, "=");
    int64_t v;
    if (absl::ConsumePrefix(&a, prefix) && absl::SimpleAtoi(a, &v) && v > 0) return v;
  }
  return fallback;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) {
  using namespace connmgr;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view a = argv[i];
    if (!absl::StartsWith(a, "--connections=") && !absl::StartsWith(a, "--sources=")) {
      std::fprintf(stderr, "usage: core_memory [--connections=N] [--sources=N]\n");
      return 2;
    }
  }
  Sizes();
  PerConnection(Flag(argc, argv, "connections", 1'000'000));
  PerSource(Flag(argc, argv, "sources", 1'000'000));
  return 0;
}
