// Properties of stream placement: round-robin spreads streams evenly, least-loaded never picks
// a connection carrying more streams than another candidate.
#include <algorithm>
#include <map>
#include <memory>
#include <vector>

#include "core/core.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace connmgr {
namespace {

const PeerId& Alice() {
  static const auto* peer =
      new PeerId(PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value());
  return *peer;
}

// Opens `k` outbound connections to one peer (some relayed when `relayed_too`).
std::vector<ConnectionId> OpenConnections(Core& core, int k, bool relayed_too) {
  std::vector<ConnectionId> ids;
  for (int i = 0; i < k; ++i) {
    const bool relayed = relayed_too && i % 2 == 1;
    const Multiaddr remote =
        Multiaddr::Parse(relayed ? "/ip4/5.6.7.8/tcp/1/p2p/"
                                   "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit"
                                 : "/ip4/1.2.3.4/tcp/4001")
            .value();
    ids.push_back(core.Handle(Instant::FromNanoseconds(0),
                              OutboundConnection{
                                  remote, Multiaddr::Parse("/ip4/10.0.0.1/tcp/1").value(), Alice()})
                      .value());
  }
  while (core.PollOutput()) {
  }
  return ids;
}

RC_GTEST_PROP(StreamPlacementProps, RoundRobinCountsDifferByAtMostOne, ()) {
  const int k = *rc::gen::inRange(1, 9);
  const int n = *rc::gen::inRange(0, 200);
  Config config;
  config.max_connections_per_peer = static_cast<uint32_t>(k);
  config.max_streams_per_connection = 0;
  std::unique_ptr<Core> core = Core::Create(config).value();
  OpenConnections(*core, k, /*relayed_too=*/false);
  std::map<ConnectionId, int> counts;
  for (int i = 0; i < n; ++i) {
    const ConnectionId c = core->Handle(Instant::FromNanoseconds(i), PlaceStream{Alice()}).value();
    RC_ASSERT(c != ConnectionId{});
    RC_ASSERT(core->Handle(Instant::FromNanoseconds(i),
                           StreamOpened{c, 1, "/chat/1.0.0", Direction::kOutbound})
                  .ok());
    while (core->PollOutput()) {
    }
    ++counts[c];
  }
  int lo = n, hi = 0;
  for (const Connection* c : core->connections().SortedForInspection()) {
    lo = std::min(lo, static_cast<int>(c->stream_count()));
    hi = std::max(hi, static_cast<int>(c->stream_count()));
  }
  RC_ASSERT(hi - lo <= 1);
}

RC_GTEST_PROP(StreamPlacementProps, LeastLoadedPicksAMinimumAmongDirectCandidates, ()) {
  const int k = *rc::gen::inRange(1, 6);
  Config config;
  config.max_connections_per_peer = static_cast<uint32_t>(k);
  config.stream_placement = StreamPlacement::kLeastLoaded;
  config.max_streams_per_connection = *rc::gen::inRange<uint32_t>(0, 6);
  std::unique_ptr<Core> core = Core::Create(config).value();
  const std::vector<ConnectionId> ids = OpenConnections(*core, k, /*relayed_too=*/true);
  const int steps = *rc::gen::inRange(0, 60);
  for (int i = 0; i < steps; ++i) {
    const Instant now = Instant::FromNanoseconds(i);
    if (*rc::gen::inRange(0, 3) == 0) {
      // Close a random stream, when the chosen connection has one.
      const ConnectionId c = *rc::gen::elementOf(ids);
      if (core->connections().Find(c)->stream_count() > 0) {
        RC_ASSERT(core->Handle(now, StreamClosed{c, 1, "/chat/1.0.0", Direction::kOutbound}).ok());
      }
      continue;
    }
    const ConnectionId chosen = core->Handle(now, PlaceStream{Alice()}).value();
    // The expected answer: among connections with room, direct ones if any, fewest streams,
    // lowest id.
    const Connection* best = nullptr;
    for (ConnectionId id : ids) {
      const Connection* c = core->connections().Find(id);
      if (config.max_streams_per_connection != 0 &&
          c->stream_count() >= config.max_streams_per_connection) {
        continue;
      }
      if (best == nullptr || std::make_tuple(c->relayed, c->stream_count(), c->id) <
                                 std::make_tuple(best->relayed, best->stream_count(), best->id)) {
        best = c;
      }
    }
    RC_ASSERT(chosen == (best == nullptr ? ConnectionId{} : best->id));
    if (best != nullptr) {
      RC_ASSERT(
          core->Handle(now, StreamOpened{chosen, 1, "/chat/1.0.0", Direction::kOutbound}).ok());
    }
    while (core->PollOutput()) {
    }
  }
}

}  // namespace
}  // namespace connmgr
