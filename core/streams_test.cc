// Streams: placement (round-robin, least-loaded), stream limits, stream and memory accounting
// in the resource scopes, and the per-peer connection cap.
#include <vector>

#include "core/core.h"
#include "core/core_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using namespace ::connmgr::testing_util;  // NOLINT: test helpers

constexpr absl::string_view kRelayed =
    "/ip4/5.6.7.8/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit";

class StreamsTest : public CoreTest {
 protected:
  // Asks where a stream to `peer` goes, checks the event matches the returned id.
  ConnectionId Place(Instant now, const PeerId& peer) {
    absl::StatusOr<ConnectionId> id = core_->Handle(now, PlaceStream{peer});
    EXPECT_TRUE(id.ok()) << id.status();
    std::vector<Output> out = Drain();
    EXPECT_EQ(out.size(), 1u);
    const auto* placed = std::get_if<StreamPlaced>(&out.front());
    EXPECT_NE(placed, nullptr);
    if (placed != nullptr) {
      EXPECT_EQ(placed->connection, *id);
    }
    return id.value_or(ConnectionId{});
  }

  void OpenStream(Instant now, ConnectionId c, Direction d = Direction::kOutbound,
                  absl::string_view protocol = "/chat/1.0.0") {
    ASSERT_TRUE(core_->Handle(now, StreamOpened{c, 1, std::string(protocol), d}).ok());
  }
};

TEST_F(StreamsTest, RoundRobinCyclesAndSkipsAConnectionThatStartsClosing) {
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  const ConnectionId b = OpenOutbound(At(1), kAlice);
  const ConnectionId c = OpenOutbound(At(1), kAlice);
  std::vector<ConnectionId> order;
  order.reserve(4);
  for (int i = 0; i < 4; ++i) order.push_back(Place(At(2), kAlice));
  EXPECT_THAT(order, ElementsAre(a, b, c, a));
  ASSERT_TRUE(core_->Handle(At(3), CloseRequest{b}).ok());
  Drain();
  order.clear();
  for (int i = 0; i < 4; ++i) order.push_back(Place(At(4), kAlice));
  EXPECT_THAT(order, ElementsAre(c, a, c, a));
}

TEST_F(StreamsTest, RoundRobinCursorIsForgottenWhenThePeerLeaves) {
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  EXPECT_EQ(Place(At(2), kAlice), a);
  ASSERT_TRUE(core_->Handle(At(3), TransportClosed{a}).ok());
  Drain();
  const ConnectionId b = OpenOutbound(At(4), kAlice);
  const ConnectionId c = OpenOutbound(At(4), kAlice);
  // A fresh cursor: the lowest id first, not "after a".
  EXPECT_EQ(Place(At(5), kAlice), b);
  EXPECT_EQ(Place(At(5), kAlice), c);
}

TEST_F(StreamsTest, LeastLoadedPicksFewestStreamsThenLowestId) {
  Config config;
  config.stream_placement = StreamPlacement::kLeastLoaded;
  Reset(config);
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  const ConnectionId b = OpenOutbound(At(1), kAlice);
  const ConnectionId c = OpenOutbound(At(1), kAlice);
  EXPECT_EQ(Place(At(2), kAlice), a);  // all idle: lowest id
  OpenStream(At(2), a);
  OpenStream(At(2), a);
  OpenStream(At(2), b);
  EXPECT_EQ(Place(At(3), kAlice), c);
  OpenStream(At(3), c);
  EXPECT_EQ(Place(At(4), kAlice), b);  // b and c carry 1: lower id
  ASSERT_TRUE(core_->Handle(At(5), StreamClosed{a, 1, "/chat/1.0.0", Direction::kOutbound}).ok());
  ASSERT_TRUE(core_->Handle(At(5), StreamClosed{a, 1, "/chat/1.0.0", Direction::kOutbound}).ok());
  EXPECT_EQ(Place(At(6), kAlice), a);
}

TEST_F(StreamsTest, DirectIsPreferredOverRelayedUntilDirectIsFull) {
  Config config;
  config.max_streams_per_connection = 1;
  Reset(config);
  const ConnectionId relayed = OpenOutbound(At(1), kAlice, kRelayed);
  const ConnectionId direct = OpenOutbound(At(1), kAlice);
  EXPECT_EQ(Place(At(2), kAlice), direct);
  EXPECT_EQ(Place(At(2), kAlice), direct);  // the only direct one, again
  OpenStream(At(2), direct);
  EXPECT_EQ(Place(At(3), kAlice), relayed);
  OpenStream(At(3), relayed);
  EXPECT_EQ(core_->Handle(At(4), PlaceStream{kAlice}).value(), ConnectionId{});
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(StreamPlaced{kAlice, ConnectionId{}, PlacementOutcome::kStreamLimit})));
}

TEST_F(StreamsTest, NoConnectionMeansNotConnected) {
  EXPECT_EQ(core_->Handle(At(1), PlaceStream{kBob}).value(), ConnectionId{});
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(StreamPlaced{kBob, ConnectionId{}, PlacementOutcome::kNotConnected})));
  EXPECT_EQ(core_->Handle(At(1), PlaceStream{PeerId()}).status().code(),
            absl::StatusCode::kInvalidArgument);
  Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.counter(Counter::kStreamPlacements), 1u);
  EXPECT_EQ(m.placements(PlacementOutcome::kNotConnected), 1u);
}

TEST_F(StreamsTest, ConnectionStreamLimitResetsTheStreamAndDoesNotCountIt) {
  Config config;
  config.max_streams_per_connection = 2;
  Reset(config);
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  OpenStream(At(2), a, Direction::kInbound);
  OpenStream(At(2), a, Direction::kOutbound);
  EXPECT_TRUE(Drain().empty());
  OpenStream(At(3), a, Direction::kInbound, "/ipfs/ping/1.0.0");
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ResetStream{a, 1, "/ipfs/ping/1.0.0", Direction::kInbound,
                                             StreamRejectReason::kConnectionStreamLimit})));
  EXPECT_EQ(core_->connections().Find(a)->stream_count(), 2u);
  // The reset stream was never counted, so closing it is a misuse.
  EXPECT_EQ(core_->Handle(At(4), StreamClosed{a, 1, "/ipfs/ping/1.0.0", Direction::kInbound})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.counter(Counter::kStreamsRejected), 1u);
  EXPECT_EQ(m.streams_rejected(StreamRejectReason::kConnectionStreamLimit), 1u);
  EXPECT_EQ(m.counter(Counter::kStreamsOpened), 2u);
}

TEST_F(StreamsTest, StreamOnAClosingConnectionIsReset) {
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(2), CloseRequest{a}).ok());
  Drain();
  OpenStream(At(3), a, Direction::kInbound);
  EXPECT_THAT(Drain(), ElementsAre(Output(ResetStream{a, 1, "/chat/1.0.0", Direction::kInbound,
                                                      StreamRejectReason::kConnectionClosing})));
}

TEST_F(StreamsTest, PeerScopeStreamLimitSpansThePeersConnectionsAndIsReleased) {
  Config config;
  config.peer_scope.streams_outbound = 2;
  Reset(config);
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  const ConnectionId b = OpenOutbound(At(1), kAlice);
  OpenStream(At(2), a);
  OpenStream(At(2), b);
  OpenStream(At(2), b, Direction::kInbound);  // inbound streams have no limit here
  EXPECT_TRUE(Drain().empty());
  OpenStream(At(3), a);
  EXPECT_THAT(Drain(), ElementsAre(Output(ScopeDenied{a, "peer", "streams_outbound", 2, 2}),
                                   Output(ResetStream{a, 1, "/chat/1.0.0", Direction::kOutbound,
                                                      StreamRejectReason::kResourceLimit})));
  EXPECT_EQ(core_->Handle(At(3), PlaceStream{kAlice}).value(), ConnectionId{});
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(StreamPlaced{kAlice, ConnectionId{}, PlacementOutcome::kResourceLimit})));
  // Closing b releases its streams from the peer's scope.
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{b}).ok());
  Drain();
  EXPECT_EQ(Place(At(5), kAlice), a);
  OpenStream(At(5), a);
  EXPECT_TRUE(Drain().empty());
}

TEST_F(StreamsTest, AllowListedConnectionsChargeNoScope) {
  Config config;
  config.allow_list = {IpPrefix::Parse("1.2.3.0/24").value()};
  config.peer_scope.streams = 1;
  Reset(config);
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  OpenStream(At(2), a);
  OpenStream(At(2), a);
  EXPECT_TRUE(Drain().empty());
  EXPECT_EQ(core_->connections().Find(a)->stream_count(), 2u);
}

TEST_F(StreamsTest, MemoryIsChargedToThePeerAndReleasedWhenTheConnectionEnds) {
  Config config;
  config.peer_scope.memory_bytes = 1000;
  config.system_scope.memory_bytes = 10'000;
  config.connection_memory_bytes = 0;  // 300 connections' budgets would not fit 10 000 bytes
  Reset(config);
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  const ConnectionId b = OpenOutbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(2), ReserveMemory{a, 600, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(MemoryReservation{a, 600, true})));
  // The peer's scope holds 600 of 1000: 500 more does not fit, on any of its connections.
  ASSERT_TRUE(core_->Handle(At(3), ReserveMemory{b, 500, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ScopeDenied{b, "peer", "memory_bytes", 600, 1000}),
                                   Output(MemoryReservation{b, 500, false})));
  // Priority 127 may fill only half the scope: 600 + 1 > 500.
  ASSERT_TRUE(core_->Handle(At(3), ReserveMemory{b, 1, 127}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ScopeDenied{b, "peer", "memory_bytes", 600, 1000}),
                                   Output(MemoryReservation{b, 1, false})));
  EXPECT_EQ(core_->GetMetrics().memory_bytes, 600u);
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{a}).ok());
  Drain();
  EXPECT_EQ(core_->GetMetrics().memory_bytes, 0u);
  ASSERT_TRUE(core_->Handle(At(5), ReserveMemory{b, 1000, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(MemoryReservation{b, 1000, true})));
  Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.counter(Counter::kMemoryReserved), 2u);
  EXPECT_EQ(m.counter(Counter::kMemoryDenied), 2u);
}

TEST_F(StreamsTest, EachConnectionStaysWithinItsOwnMemoryBudget) {
  Config config;
  config.max_connection_send_bytes = 128 << 10;
  config.connection_memory_bytes = 512 << 10;  // the least: window + send queue + 128 KiB
  Reset(config);
  const ConnectionId a = OpenOutbound(At(1), kAlice);
  const ConnectionId b = OpenOutbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(2), ReserveMemory{a, 400 << 10, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(MemoryReservation{a, 400 << 10, true})));
  ASSERT_TRUE(core_->Handle(At(3), ReserveMemory{a, 200 << 10, 255}).ok());
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(ScopeDenied{a, "connection", "memory_bytes", 400 << 10, 512 << 10}),
                  Output(MemoryReservation{a, 200 << 10, false})));
  // The other connection of the same peer has its own budget.
  ASSERT_TRUE(core_->Handle(At(3), ReserveMemory{b, 200 << 10, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(MemoryReservation{b, 200 << 10, true})));
  ASSERT_TRUE(core_->Handle(At(4), ReleaseMemory{a, 300 << 10}).ok());
  ASSERT_TRUE(core_->Handle(At(5), ReserveMemory{a, 200 << 10, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(MemoryReservation{a, 200 << 10, true})));
  EXPECT_EQ(core_->GetMetrics().memory_bytes, uint64_t{500} << 10);
}

TEST_F(StreamsTest, TransientMemoryAndReleaseRules) {
  Config config;
  config.transient_scope.memory_bytes = 100;
  Reset(config);
  ASSERT_TRUE(core_->Handle(At(1), ReserveMemory{ConnectionId{}, 100, 255}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(MemoryReservation{ConnectionId{}, 100, true})));
  absl::Status over = core_->Handle(At(2), ReleaseMemory{ConnectionId{}, 101}).status();
  EXPECT_EQ(over.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(over.message(), "release_memory: releases 101 bytes, more than the 100 reserved");
  ASSERT_TRUE(core_->Handle(At(2), ReleaseMemory{ConnectionId{}, 100}).ok());
  EXPECT_EQ(core_->GetMetrics().memory_bytes, 0u);
  // A pending connection's memory goes to conn 0 until it opens; priority is 0..255.
  const ConnectionId pending = Inbound(At(3));
  Drain();
  EXPECT_EQ(core_->Handle(At(3), ReserveMemory{pending, 1, 255}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(core_->Handle(At(3), ReserveMemory{ConnectionId{}, 1, 256}).status().message(),
            "reserve_memory: priority 256 is over 255");
  EXPECT_EQ(core_->Handle(At(3), ReserveMemory{ConnectionId{42}, 1, 1}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StreamsTest, PeerCapClosesAnIdleOtherConnectionNotTheNewOne) {
  Config config;
  config.max_connections_per_peer = 2;
  Reset(config);
  const ConnectionId busy = OpenOutbound(At(1), kAlice);
  const ConnectionId idle = OpenOutbound(At(2), kAlice);
  OpenStream(At(3), busy);
  Drain();
  const ConnectionId third =
      core_->Handle(At(4), OutboundConnection{Addr("/ip4/9.9.9.9/tcp/1"), kLocal, kAlice}).value();
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionOpened{third, kAlice, Direction::kOutbound}),
                                   Output(CloseConnection{idle, CloseReason::kPeerLimit})));
}

}  // namespace
}  // namespace connmgr
