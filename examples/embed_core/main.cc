// embed_core: drives connmgr's decision core with a few inputs and prints its decisions.
//
// A separate project that uses connmgr as a library (see README.md, "Use it in your project"):
// four peers connect to a node whose limits allow three, one of them tagged as valuable; the
// core accepts each socket, then trims the least valuable connection. Build it with Bazel
// (WORKSPACE, BUILD.bazel), CMake (CMakeLists.txt) or pkg-config (README.md).
#include <cstdio>
#include <optional>
#include <string>

#include "core/core.h"
#include "core/version.h"

namespace {

// Prints every output the core has queued, as the embedder would carry them out.
void Drain(connmgr::Core& core, connmgr::Instant now) {
  while (std::optional<connmgr::Output> out = core.PollOutput()) {
    std::printf("%6.2fs  %s", static_cast<double>(now.nanoseconds()) / 1e9,
                std::string(connmgr::OutputName(*out)).c_str());
    if (const auto* accept = std::get_if<connmgr::AcceptConnection>(&*out)) {
      std::printf(" connection %llu", static_cast<unsigned long long>(accept->connection.value));
    } else if (const auto* close = std::get_if<connmgr::CloseConnection>(&*out)) {
      std::printf(" connection %llu (%s)", static_cast<unsigned long long>(close->connection.value),
                  std::string(connmgr::CloseReasonName(close->reason)).c_str());
    }
    std::printf("\n");
  }
}

}  // namespace

int main() {
  std::printf("connmgr %s\n", connmgr::kVersion);
  connmgr::Config config;
  config.max_connections = 10;
  config.high_watermark = 3;  // trim when more than 3 are open...
  config.low_watermark = 2;   // ...down to 2
  absl::StatusOr<std::unique_ptr<connmgr::Core>> core = connmgr::Core::Create(config);
  if (!core.ok()) {
    std::fprintf(stderr, "config: %s\n", std::string(core.status().message()).c_str());
    return 1;
  }
  const connmgr::Multiaddr local = connmgr::Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();
  for (int i = 0; i < 4; ++i) {
    const connmgr::Instant now = connmgr::Instant::FromNanoseconds(int64_t{i} * 1'000'000'000);
    // An identity multihash stands in for a real peer's key here.
    const connmgr::PeerId peer =
        connmgr::PeerId::FromBytes(std::string("\x00\x05peer", 6) + static_cast<char>('a' + i))
            .value();
    const connmgr::Multiaddr remote =
        connmgr::Multiaddr::Parse("/ip4/192.0.2." + std::to_string(i + 1) + "/tcp/4001").value();
    // A socket was accepted: the core answers AcceptConnection or RejectConnection.
    connmgr::ConnectionId id =
        (*core)->Handle(now, connmgr::InboundConnection{remote, local}).value();
    Drain(**core, now);
    if (i == 0) {
      // The application values the first peer: a tag makes it the last to be pruned.
      (*core)->Handle(now, connmgr::SetPeerTag{peer, "important", 50}).IgnoreError();
    }
    // Noise and Yamux done: the connection is open, and the core may trim.
    if (absl::Status s = (*core)->Handle(now, connmgr::ConnectionUpgraded{id, peer}).status();
        !s.ok()) {
      std::fprintf(stderr, "upgrade: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    Drain(**core, now);
  }
  const connmgr::Metrics m = (*core)->GetMetrics();
  std::printf("open connections: %llu, pruned: %llu\n",
              static_cast<unsigned long long>(
                  m.connections(connmgr::Direction::kInbound, connmgr::ConnectionState::kOpen)),
              static_cast<unsigned long long>(m.counter(connmgr::Counter::kPruned)));
  return 0;
}
