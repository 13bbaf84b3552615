#include "core/core.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/core_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using namespace ::connmgr::testing_util;  // NOLINT: test helpers

TEST_F(CoreTest, CreateRejectsInvalidConfig) {
  Config bad;
  bad.max_connections = 0;
  absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(bad);
  EXPECT_EQ(core.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(core.status().message(), "config: max_connections: must be at least 1");
}

TEST_F(CoreTest, InboundIsAcceptedPendingWithUpgradeDeadline) {
  ConnectionId id = Inbound(At(1));
  EXPECT_EQ(id, ConnectionId{1});
  EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{id})));
  EXPECT_EQ(core_->NextDeadline(), At(11));
  const Connection* c = core_->connections().Find(id);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, ConnectionState::kPending);
  EXPECT_EQ(c->direction, Direction::kInbound);
  EXPECT_EQ(c->created_at, At(1));
  EXPECT_EQ(c->remote, Addr("/ip4/1.2.3.4/tcp/5000"));
  Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.connections(Direction::kInbound, ConnectionState::kPending), 1u);
  EXPECT_EQ(m.counter(Counter::kInboundAccepted), 1u);
}

TEST_F(CoreTest, UpgradeOpensAndFirstConnectionConnectsPeer) {
  ConnectionId first = Inbound(At(1));
  ConnectionId second = Inbound(At(2));
  Drain();
  ASSERT_TRUE(core_->Handle(At(3), ConnectionUpgraded{first, kAlice}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionOpened{first, kAlice, Direction::kInbound}),
                                   Output(PeerConnected{kAlice})));
  ASSERT_TRUE(core_->Handle(At(4), ConnectionUpgraded{second, kAlice}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionOpened{second, kAlice, Direction::kInbound})));
  EXPECT_EQ(core_->connections().Find(first)->opened_at, At(3));
  EXPECT_THAT(core_->connections().PeerConnections(kAlice), ElementsAre(first, second));
  EXPECT_EQ(core_->NextDeadline(), Instant::Never());
  EXPECT_EQ(core_->GetMetrics().peers, 1u);
}

TEST_F(CoreTest, DrainOutputsHandsOutWhatPollOutputWould) {
  ConnectionId id = Inbound(At(1));
  ASSERT_TRUE(core_->Handle(At(2), ConnectionUpgraded{id, kAlice}).ok());
  std::vector<Output> seen;
  core_->DrainOutputs([&](const Output& out) {
    seen.push_back(out);
    // No input from inside: refused, and nothing changes.
    absl::StatusOr<ConnectionId> inside = core_->Handle(At(3), CloseRequest{id});
    EXPECT_EQ(inside.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(inside.status().message()), ::testing::HasSubstr("DrainOutputs"));
    EXPECT_EQ(core_->PollOutput(), std::nullopt);
  });
  EXPECT_THAT(seen, ElementsAre(Output(AcceptConnection{id}),
                                Output(ConnectionOpened{id, kAlice, Direction::kInbound}),
                                Output(PeerConnected{kAlice})));
  EXPECT_EQ(core_->queued_outputs(), 0u);
  EXPECT_EQ(core_->connections().Find(id)->state, ConnectionState::kOpen);
  ASSERT_TRUE(core_->Handle(At(3), CloseRequest{id}).ok());  // after it: taken
  EXPECT_FALSE(Drain().empty());
}

TEST_F(CoreTest, LastCloseDisconnectsPeer) {
  ConnectionId a = OpenInbound(At(1), kAlice);
  ConnectionId b = OpenInbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(5), TransportClosed{a}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionClosed{a, CloseReason::kTransport})));
  ASSERT_TRUE(core_->Handle(At(6), TransportClosed{b}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionClosed{b, CloseReason::kTransport}),
                                   Output(PeerDisconnected{kAlice})));
  EXPECT_EQ(core_->connections().size(), 0u);
  EXPECT_EQ(core_->GetMetrics().peers, 0u);
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kPeersDisconnected), 1u);
}

TEST_F(CoreTest, TransportCloseKeepsTheShellsReason) {
  ConnectionId a = OpenInbound(At(1), kAlice);
  ConnectionId b = OpenInbound(At(1), kBob);
  ASSERT_TRUE(core_->Handle(At(2), TransportClosed{a, CloseReason::kSlowReader}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionClosed{a, CloseReason::kSlowReader}),
                                   Output(PeerDisconnected{kAlice})));
  // Reasons only the core gives are refused, and change nothing.
  absl::StatusOr<ConnectionId> refused =
      core_->Handle(At(3), TransportClosed{b, CloseReason::kPruned});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "transport_closed: reason \"pruned\" is the core's to give; the transport reports "
            "transport, protocol_error, handshake_failed, slow_reader or memory_limit");
  EXPECT_THAT(Drain(), ElementsAre());
  EXPECT_EQ(core_->GetMetrics().closed_by_reason[static_cast<int>(CloseReason::kSlowReader)], 1u);
}

TEST_F(CoreTest, UpgradeTimeoutClosesAtExactInstantThenAbortsAfterCloseTimeout) {
  ConnectionId id = Inbound(At(1));
  Drain();
  ASSERT_TRUE(core_->Handle(At(11) - Duration::Nanoseconds(1), TimerExpired{}).ok());
  EXPECT_TRUE(Drain().empty());
  ASSERT_TRUE(core_->Handle(At(11), TimerExpired{}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{id, CloseReason::kUpgradeTimeout})));
  EXPECT_EQ(core_->connections().Find(id)->state, ConnectionState::kClosing);
  EXPECT_EQ(core_->connections().Find(id)->closing_at, At(11));
  EXPECT_EQ(core_->NextDeadline(), At(12));
  ASSERT_TRUE(core_->Handle(At(12), TimerExpired{}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(AbortConnection{id}),
                                   Output(ConnectionClosed{id, CloseReason::kUpgradeTimeout})));
  EXPECT_EQ(core_->NextDeadline(), Instant::Never());
  Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.counter(Counter::kAborts), 1u);
  EXPECT_EQ(m.closed(CloseReason::kUpgradeTimeout), 1u);
}

TEST_F(CoreTest, CloseRequestThenTransportCloseKeepsReason) {
  ConnectionId id = OpenInbound(At(1), kBob);
  ASSERT_TRUE(core_->Handle(At(2), CloseRequest{id}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{id, CloseReason::kRequested})));
  // A second request while closing changes nothing.
  ASSERT_TRUE(core_->Handle(At(2), CloseRequest{id}).ok());
  EXPECT_TRUE(Drain().empty());
  ASSERT_TRUE(core_->Handle(At(2, 500), TransportClosed{id}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionClosed{id, CloseReason::kRequested}),
                                   Output(PeerDisconnected{kBob})));
  EXPECT_EQ(core_->NextDeadline(), Instant::Never());
}

TEST_F(CoreTest, ClosingConnectionStillCountsForItsPeer) {
  ConnectionId a = OpenInbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(2), CloseRequest{a}).ok());
  Drain();
  ConnectionId b = OpenInbound(At(3), kAlice);  // no second PeerConnected
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kPeersConnected), 1u);
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{a}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionClosed{a, CloseReason::kRequested})));
  EXPECT_THAT(core_->connections().PeerConnections(kAlice), ElementsAre(b));
}

TEST_F(CoreTest, PendingLimitRejectsWithoutEnteringTable) {
  // Ten sources: one would meet the per-IP rate limit (5 per second) first.
  for (int i = 0; i < 10; ++i) Inbound(At(1), "/ip4/1.2.3." + std::to_string(i) + "/tcp/5000");
  Drain();
  ConnectionId rejected = Inbound(At(1), "/ip4/1.2.3.200/tcp/5000");  // the same /24
  EXPECT_EQ(rejected, ConnectionId{11});
  EXPECT_THAT(Drain(),
              ElementsAre(Output(RejectConnection{rejected, RejectReason::kPendingLimit})));
  EXPECT_EQ(core_->connections().Find(rejected), nullptr);
  // The shell may still report the refused socket closed: harmless.
  EXPECT_TRUE(core_->Handle(At(1), TransportClosed{rejected}).ok());
  EXPECT_TRUE(Drain().empty());
  Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.rejected(RejectReason::kPendingLimit), 1u);
  EXPECT_EQ(m.counter(Counter::kInboundRejected), 1u);
  EXPECT_EQ(m.connections(Direction::kInbound, ConnectionState::kPending), 10u);
}

TEST_F(CoreTest, FullPendingSlotsEvictTheOldestOfTheCrowdedGroupForARarerOne) {
  for (int i = 0; i < 10; ++i) Inbound(At(1), "/ip4/1.2.3." + std::to_string(i) + "/tcp/5000");
  Drain();
  ConnectionId fresh = Inbound(At(2), "/ip4/1.2.4.1/tcp/5000");
  EXPECT_EQ(fresh, ConnectionId{11});
  EXPECT_THAT(Drain(),
              ElementsAre(Output(CloseConnection{ConnectionId{1}, CloseReason::kPendingEvicted}),
                          Output(AcceptConnection{fresh})));
  ASSERT_TRUE(core_->Handle(At(3), TransportClosed{ConnectionId{1}}).ok());
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ConnectionClosed{ConnectionId{1}, CloseReason::kPendingEvicted})));
  // 1.2.3.0/24 now holds 9 of the 10 slots, 1.2.4.0/24 one: another of 1.2.4.0/24 still
  // makes room, taking the next oldest.
  ConnectionId second = Inbound(At(4), "/ip4/1.2.4.2/tcp/5000");
  EXPECT_THAT(Drain(),
              ElementsAre(Output(CloseConnection{ConnectionId{2}, CloseReason::kPendingEvicted}),
                          Output(AcceptConnection{second})));
}

TEST_F(CoreTest, InboundEvictionDisplacesTheLowestValueIdleInboundOfALargerGroup) {
  Config config;
  config.max_connections = 2;
  config.inbound_eviction = true;
  Reset(config);
  const ConnectionId a = Inbound(At(1), "/ip4/5.5.1.1/tcp/5000");
  ASSERT_TRUE(core_->Handle(At(1), ConnectionUpgraded{a, kAlice}).ok());
  const ConnectionId b = Inbound(At(2), "/ip4/5.5.1.2/tcp/5000");
  ASSERT_TRUE(core_->Handle(At(2), ConnectionUpgraded{b, kBob}).ok());
  Drain();
  // Same values, no streams: the newer one goes first. 5.5.0.0/16 holds 2, 6.6.0.0/16 none.
  const ConnectionId fresh = Inbound(At(3), "/ip4/6.6.6.6/tcp/5000");
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{b, CloseReason::kEvicted}),
                                   Output(AcceptConnection{fresh})));
  // A newcomer of the crowded group itself finds no larger group: refused.
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{b}).ok());
  ASSERT_TRUE(core_->Handle(At(4), ConnectionUpgraded{fresh, kBob}).ok());
  Drain();
  EXPECT_THAT(Drain(), ElementsAre());
  const ConnectionId crowded = Inbound(At(5), "/ip4/5.5.1.3/tcp/5000");
  EXPECT_THAT(Drain(),
              ElementsAre(Output(RejectConnection{crowded, RejectReason::kConnectionLimit})));
  EXPECT_EQ(core_->GetMetrics().closed(CloseReason::kEvicted), 1u);
}

TEST_F(CoreTest, ConnectionLimitRejectsWhenOpenCountReachesMax) {
  Config config;
  config.max_connections = 2;
  Reset(config);
  OpenInbound(At(1), kAlice);
  OpenInbound(At(1), kBob);
  ConnectionId third = Inbound(At(2));
  EXPECT_THAT(Drain(),
              ElementsAre(Output(RejectConnection{third, RejectReason::kConnectionLimit})));
}

TEST_F(CoreTest, OutboundConnectionEntersOpen) {
  ConnectionId id =
      core_->Handle(At(1), OutboundConnection{Addr("/ip4/5.6.7.8/tcp/1"), kLocal, kBob}).value();
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionOpened{id, kBob, Direction::kOutbound}),
                                   Output(PeerConnected{kBob})));
  EXPECT_EQ(core_->GetMetrics().connections(Direction::kOutbound, ConnectionState::kOpen), 1u);
}

TEST_F(CoreTest, RelayedRemoteIsMarkedRelayed) {
  ConnectionId id = Inbound(
      At(1), "/ip4/1.2.3.4/tcp/1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit");
  EXPECT_TRUE(core_->connections().Find(id)->relayed);
}

TEST_F(CoreTest, MisuseReturnsStatusAndChangesNothing) {
  ConnectionId id = Inbound(At(1));
  Drain();
  struct Case {
    Input input;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {ConnectionUpgraded{ConnectionId{99}, kAlice}, absl::StatusCode::kNotFound,
       "connection_upgraded: no connection 99"},
      {ConnectionUpgraded{id, PeerId()}, absl::StatusCode::kInvalidArgument,
       "connection_upgraded: peer must not be empty"},
      {StreamOpened{id, 1, "/ipfs/ping/1.0.0", Direction::kInbound},
       absl::StatusCode::kFailedPrecondition, "stream_opened: connection 1 was never upgraded"},
      {StreamOpened{id, 1, "", Direction::kInbound}, absl::StatusCode::kInvalidArgument,
       "stream_opened: protocol must not be empty"},
      {StreamOpened{id, 1, "/" + std::string(256, 'a'), Direction::kInbound},
       absl::StatusCode::kInvalidArgument, "stream_opened: protocol is 257 bytes, longer than 256"},
      {StreamClosed{id, 1, "/x", Direction::kInbound}, absl::StatusCode::kFailedPrecondition,
       "stream_closed: connection 1 has no open inbound stream of protocol \"/x\""},
      {InboundConnection{Multiaddr(), kLocal}, absl::StatusCode::kInvalidArgument,
       "inbound_connection: remote address must not be empty"},
      {OutboundConnection{Addr("/ip4/5.6.7.8/tcp/1"), kLocal, PeerId()},
       absl::StatusCode::kInvalidArgument, "outbound_connection: peer must not be empty"},
      {CloseRequest{ConnectionId{7}}, absl::StatusCode::kNotFound,
       "close_request: no connection 7"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ConnectionId> r = core_->Handle(At(2), c.input);
    EXPECT_EQ(r.status().code(), c.code) << c.message;
    EXPECT_EQ(r.status().message(), c.message);
  }
  EXPECT_TRUE(Drain().empty());
  EXPECT_EQ(core_->connections().Find(id)->state, ConnectionState::kPending);
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kInputErrors), cases.size());
}

TEST_F(CoreTest, UpgradingTwiceOrAfterCloseFails) {
  ConnectionId id = OpenInbound(At(1), kAlice);
  EXPECT_EQ(core_->Handle(At(2), ConnectionUpgraded{id, kAlice}).status().message(),
            "connection_upgraded: connection 1 is open, not pending");
  ASSERT_TRUE(core_->Handle(At(3), TransportClosed{id}).ok());
  EXPECT_EQ(core_->Handle(At(4), ConnectionUpgraded{id, kAlice}).status().message(),
            "connection_upgraded: connection 1 is already closed");
}

TEST_F(CoreTest, TimeGoingBackwardsIsClampedAndCounted) {
  Inbound(At(10));
  Drain();
  ConnectionId late = Inbound(At(5));  // the caller's clock stepped back
  EXPECT_EQ(core_->connections().Find(late)->created_at, At(10));
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kClockRegressions), 1u);
  EXPECT_EQ(core_->NextDeadline(), At(20));
}

TEST_F(CoreTest, FullOutputQueueRefusesInputsUntilDrained) {
  Config config;
  config.max_output_queue = 2;
  Reset(config);
  Inbound(At(1));
  Inbound(At(1));
  absl::StatusOr<ConnectionId> refused =
      core_->Handle(At(1), InboundConnection{Addr("/ip4/1.2.3.4/tcp/1"), kLocal});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "inbound_connection: 2 outputs wait undrained (max_output_queue); drain PollOutput "
            "first");
  EXPECT_EQ(core_->connections().size(), 2u);
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kInputsRefusedQueueFull), 1u);
  Drain();
  EXPECT_TRUE(core_->Handle(At(1), InboundConnection{Addr("/ip4/1.2.3.4/tcp/1"), kLocal}).ok());
}

TEST_F(CoreTest, SpuriousTimerIsANoOp) {
  EXPECT_TRUE(core_->Handle(At(1), TimerExpired{}).ok());
  EXPECT_TRUE(Drain().empty());
}

TEST_F(CoreTest, EqualDeadlinesFireInIdOrder) {
  ConnectionId a = Inbound(At(1));
  ConnectionId b = Inbound(At(1));
  Drain();
  ASSERT_TRUE(core_->Handle(At(30), TimerExpired{}).ok());
  // Both upgrade deadlines passed; their close deadlines (30 s + 1 s) have not.
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{a, CloseReason::kUpgradeTimeout}),
                                   Output(CloseConnection{b, CloseReason::kUpgradeTimeout})));
  EXPECT_EQ(core_->NextDeadline(), At(31));
}

// A deadline the clock saturates to (an infinite timeout, or a clock near its end) is a timer
// that never fires, so it must not stay armed: a closing connection that leaves the table with
// an infinite close timeout takes its timer with it, and its recycled record starts clean.
TEST_F(CoreTest, AnInfiniteCloseTimeoutLeavesNoTimerBehind) {
  Config config;
  config.connection_close_timeout = Duration::Infinite();
  Reset(config);
  ConnectionId c = Inbound(At(1), "/ip4/1.2.3.1/tcp/5000");
  ConnectionId a = Inbound(At(2), "/ip4/1.2.3.2/tcp/5000");
  ConnectionId d = Inbound(At(3), "/ip4/1.2.3.3/tcp/5000");
  ASSERT_TRUE(core_->Handle(At(4), CloseRequest{a}).ok());
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{a}).ok());
  ConnectionId b = Inbound(At(5), "/ip4/1.2.3.4/tcp/5000");  // takes a's freed record
  ASSERT_TRUE(core_->Handle(At(6), ConnectionUpgraded{c, kAlice}).ok());
  ASSERT_TRUE(core_->Handle(At(7), TransportClosed{b}).ok());
  Drain();
  EXPECT_EQ(core_->NextDeadline(), At(13));  // d's upgrade deadline; b's (15 s) went with b
  ASSERT_TRUE(core_->Handle(At(15), TimerExpired{}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{d, CloseReason::kUpgradeTimeout})));
  EXPECT_EQ(core_->NextDeadline(), Instant::Never());  // d closes whenever its transport does
  ASSERT_TRUE(core_->Handle(At(16), TransportClosed{d}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ConnectionClosed{d, CloseReason::kUpgradeTimeout})));
  EXPECT_EQ(core_->connections().size(), 1u);  // c
}

TEST_F(CoreTest, StreamsAreCountedPerProtocolAndDirection) {
  ConnectionId a = OpenInbound(At(1), kAlice);
  ConnectionId b = OpenInbound(At(1), kBob);
  ASSERT_TRUE(core_->Handle(At(2), StreamOpened{a, 1, "/ipfs/id/1.0.0", Direction::kInbound}).ok());
  ASSERT_TRUE(core_->Handle(At(2), StreamOpened{a, 1, "/chat/1", Direction::kOutbound}).ok());
  ASSERT_TRUE(core_->Handle(At(2), StreamOpened{a, 1, "/chat/1", Direction::kOutbound}).ok());
  ASSERT_TRUE(core_->Handle(At(2), StreamOpened{b, 1, "/chat/1", Direction::kInbound}).ok());
  Metrics m = core_->GetMetrics();
  EXPECT_THAT(m.streams_by_protocol, ElementsAre(ProtocolStreams{"/chat/1", 1, 2},
                                                 ProtocolStreams{"/ipfs/id/1.0.0", 1, 0}));
  EXPECT_EQ(m.streams_inbound, 2u);
  EXPECT_EQ(m.streams_outbound, 2u);
  EXPECT_EQ(m.streams_per_connection_p90, 3u);
  EXPECT_EQ(core_->connections().Find(a)->stream_count(Direction::kOutbound), 2u);
  ASSERT_TRUE(core_->Handle(At(3), StreamClosed{a, 1, "/chat/1", Direction::kOutbound}).ok());
  ASSERT_TRUE(core_->Handle(At(3), StreamClosed{a, 1, "/chat/1", Direction::kOutbound}).ok());
  m = core_->GetMetrics();
  EXPECT_THAT(m.streams_by_protocol, ElementsAre(ProtocolStreams{"/chat/1", 1, 0},
                                                 ProtocolStreams{"/ipfs/id/1.0.0", 1, 0}));
  EXPECT_EQ(m.streams_per_connection_p90, 1u);
  EXPECT_EQ(m.counter(Counter::kStreamsOpened), 4u);
  EXPECT_EQ(m.counter(Counter::kStreamsClosed), 2u);
  // Closing the connection releases its streams.
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{a}).ok());
  EXPECT_THAT(core_->GetMetrics().streams_by_protocol,
              ElementsAre(ProtocolStreams{"/chat/1", 1, 0}));
}

TEST_F(CoreTest, IdsAreNeverReused) {
  ConnectionId a = OpenInbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(2), TransportClosed{a}).ok());
  EXPECT_EQ(OpenInbound(At(3), kAlice), ConnectionId{2});
}

}  // namespace
}  // namespace connmgr

namespace connmgr {
namespace {

class CoreScopesTest : public CoreTest {};

TEST_F(CoreScopesTest, TransientScopeRefusesInboundAndNamesTheLimit) {
  Config config;
  config.transient_scope.connections_inbound = 1;
  Reset(config);
  ConnectionId first = Inbound(At(1));
  ConnectionId second = Inbound(At(1));
  EXPECT_THAT(Drain(),
              ElementsAre(Output(AcceptConnection{first}),
                          Output(ScopeDenied{second, "transient", "connections_inbound", 1, 1}),
                          Output(RejectConnection{second, RejectReason::kResourceLimit})));
  // Upgrading moves the charge to the peer's scope: the transient scope has room again.
  ASSERT_TRUE(core_->Handle(At(2), ConnectionUpgraded{first, kAlice}).ok());
  Drain();
  ConnectionId third = Inbound(At(3));
  EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{third})));
  EXPECT_EQ(core_->GetMetrics().rejected(RejectReason::kResourceLimit), 1u);
}

TEST_F(CoreScopesTest, FullPeerScopeClosesAtUpgradeAndClosingReleases) {
  Config config;
  config.max_connections_per_peer = 1;
  config.peer_scope.connections = 1;
  Reset(config);
  ConnectionId a = OpenInbound(At(1), kAlice);
  ConnectionId b = Inbound(At(2));
  Drain();
  ASSERT_TRUE(core_->Handle(At(3), ConnectionUpgraded{b, kAlice}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(ScopeDenied{b, "peer", "connections", 1, 1}),
                                   Output(CloseConnection{b, CloseReason::kResourceLimit})));
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{b}).ok());
  ASSERT_TRUE(core_->Handle(At(4), TransportClosed{a}).ok());
  Drain();
  // Both charges were released: the peer may connect again.
  OpenInbound(At(5), kAlice);
  EXPECT_EQ(core_->GetMetrics().peers, 1u);
}

TEST_F(CoreScopesTest, RelayedConnectionsUseNoFileDescriptor) {
  Config config;
  config.system_scope.file_descriptors = 1;
  Reset(config);
  Inbound(At(1));
  ConnectionId relayed = Inbound(
      At(1), "/ip4/1.2.3.4/tcp/1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit");
  ConnectionId refused = Inbound(At(1), "/ip4/5.6.7.8/tcp/1");
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(AcceptConnection{ConnectionId{1}}), Output(AcceptConnection{relayed}),
                  Output(ScopeDenied{refused, "system", "file_descriptors", 1, 1}),
                  Output(RejectConnection{refused, RejectReason::kResourceLimit})));
}

TEST_F(CoreScopesTest, OutboundIsChargedToItsPeer) {
  Config config;
  config.peer_scope.connections_outbound = 1;
  Reset(config);
  core_->Handle(At(1), OutboundConnection{Addr("/ip4/5.6.7.8/tcp/1"), kLocal, kBob}).value();
  Drain();
  ConnectionId second =
      core_->Handle(At(2), OutboundConnection{Addr("/ip4/5.6.7.8/tcp/2"), kLocal, kBob}).value();
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ScopeDenied{second, "peer", "connections_outbound", 1, 1}),
                          Output(CloseConnection{second, CloseReason::kResourceLimit})));
}

}  // namespace
}  // namespace connmgr
