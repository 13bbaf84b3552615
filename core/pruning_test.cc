// Limits, pruning order, grace and silence periods, protection and the per-peer cap, each with
// the exact connections chosen and the instants they are chosen at.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/core.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }
Instant At(int64_t seconds) { return Instant::FromNanoseconds(seconds * 1'000'000'000); }

const std::vector<PeerId>& Peers() {
  static const auto* peers = new std::vector<PeerId>{
      PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value(),
      PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value(),
      PeerId::Parse("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN").value(),
      PeerId::Parse("QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC").value(),
      PeerId::Parse("QmSoLPppuBtQSGwKDZT2M73ULpjvfd3aZ6ha4oFGL1KrGM").value(),
      PeerId::Parse("QmSoLV4Bbm51jM9C4gDYZQ9Cy3U6aXMJDAbzgu2fzaDs64").value(),
  };
  return *peers;
}
const PeerId& P(int i) { return Peers()[i]; }

class PruningTest : public testing::Test {
 protected:
  void Reset(Config config) { core_ = Core::Create(std::move(config)).value(); }

  std::vector<Output> Drain() {
    std::vector<Output> out;
    while (std::optional<Output> o = core_->PollOutput()) out.push_back(std::move(*o));
    return out;
  }
  // The connections closed by the outputs of the last input, with the reason.
  std::vector<std::pair<uint64_t, CloseReason>> Closed() {
    std::vector<std::pair<uint64_t, CloseReason>> closed;
    for (const Output& o : Drain()) {
      if (const auto* c = std::get_if<CloseConnection>(&o)) {
        closed.emplace_back(c->connection.value, c->reason);
      }
    }
    return closed;
  }
  ConnectionId Open(Instant now, const PeerId& peer,
                    absl::string_view remote = "/ip4/1.2.3.4/tcp/1") {
    ConnectionId id = core_->Handle(now, InboundConnection{Addr(remote), kLocal}).value();
    EXPECT_TRUE(core_->Handle(now, ConnectionUpgraded{id, peer}).ok());
    return id;
  }
  ConnectionId OpenOutbound(Instant now, const PeerId& peer,
                            absl::string_view remote = "/ip4/5.6.7.8/tcp/1") {
    return core_->Handle(now, OutboundConnection{Addr(remote), kLocal, peer}).value();
  }
  void Do(Instant now, const Input& input) { ASSERT_TRUE(core_->Handle(now, input).ok()); }

  const Multiaddr kLocal = Addr("/ip4/10.0.0.1/tcp/4001");
  std::unique_ptr<Core> core_;
};

Config Watermarks(uint32_t max, uint32_t high, uint32_t low) {
  Config c;
  c.max_connections = max;
  c.high_watermark = high;
  c.low_watermark = low;
  c.max_incoming_pending_connections = 100;
  return c;
}

TEST_F(PruningTest, OverHighWatermarkTrimsToLowInPruneOrder) {
  Reset(Watermarks(10, 4, 2));
  for (int i = 0; i < 4; ++i) Open(At(i), P(i));  // ids 1..4, no trim at 4
  EXPECT_THAT(Closed(), IsEmpty());
  Open(At(10), P(4));  // id 5: 5 > 4, trim to 2: newest first among equal values
  std::vector<Output> out = Drain();
  ASSERT_EQ(out.size(), 7u);  // accept, opened, peer connected, pruned event, 3 closes
  const auto& event = std::get<ConnectionsPruned>(out[3]);
  EXPECT_EQ(event.open, 5u);
  EXPECT_EQ(event.target, 2u);
  ASSERT_EQ(event.pruned.size(), 3u);
  EXPECT_EQ(event.pruned[0], (PrunedConnection{ConnectionId{5}, P(4), 0, 0, false}));
  EXPECT_EQ(event.pruned[1].connection, ConnectionId{4});
  EXPECT_EQ(event.pruned[2].connection, ConnectionId{3});
  EXPECT_EQ(out[4], Output(CloseConnection{ConnectionId{5}, CloseReason::kPruned}));
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kPruned), 3u);
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kTrims), 1u);
}

TEST_F(PruningTest, TrimOpenConnectionsTrimsToTheLowWatermarkNowIgnoringTheSilencePeriod) {
  Config config = Watermarks(10, 4, 2);
  config.silence_period = Duration::Seconds(60);
  Reset(config);
  for (int i = 0; i < 3; ++i) Open(At(i), P(i));  // 3 open: under the high watermark
  Drain();
  Do(At(5), TrimOpenConnections{});
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(3, CloseReason::kPruned)));
  Do(At(6), TransportClosed{ConnectionId{3}});
  Open(At(7), P(3));
  Open(At(8), P(4));
  Drain();
  // 4 open, a trim 3 s ago and a 60 s silence period: a trim now still closes down to 2.
  Do(At(8), TrimOpenConnections{});
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(5, CloseReason::kPruned),
                                    std::make_pair(4, CloseReason::kPruned)));
  // At the low watermark, nothing.
  Do(At(9), TrimOpenConnections{});
  EXPECT_THAT(Closed(), IsEmpty());
}

TEST_F(PruningTest, EveryOrderingKey) {
  Reset(Watermarks(10, 5, 5));
  ConnectionId valued = Open(At(0), P(0));   // peer value 10
  ConnectionId streams = Open(At(1), P(1));  // 1 closable stream
  ConnectionId outbound = OpenOutbound(At(2), P(2));
  ConnectionId old_inbound = Open(At(3), P(3));
  ConnectionId new_inbound = Open(At(4), P(4));
  Do(At(5), SetPeerTag{P(0), "score", 10});
  Do(At(5), StreamOpened{streams, 1, "/ipfs/id/1.0.0", Direction::kInbound});
  Drain();
  Open(At(6), P(5));  // id 6 newest: 6 open > 5, trim 1
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(6, CloseReason::kPruned)));
  Reset(Watermarks(10, 5, 1));
  // Same set, trimming to one: the full order, and the valued peer survives.
  valued = Open(At(0), P(0));
  streams = Open(At(1), P(1));
  outbound = OpenOutbound(At(2), P(2));
  old_inbound = Open(At(3), P(3));
  new_inbound = Open(At(4), P(4));
  Do(At(5), SetPeerTag{P(0), "score", 10});
  Do(At(5), StreamOpened{streams, 1, "/ipfs/id/1.0.0", Direction::kInbound});
  Drain();
  ConnectionId newest = Open(At(6), P(5));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(newest.value, CloseReason::kPruned),
                                    std::make_pair(new_inbound.value, CloseReason::kPruned),
                                    std::make_pair(old_inbound.value, CloseReason::kPruned),
                                    std::make_pair(outbound.value, CloseReason::kPruned),
                                    std::make_pair(streams.value, CloseReason::kPruned)));
  EXPECT_EQ(core_->connections().Find(valued)->state, ConnectionState::kOpen);
}

TEST_F(PruningTest, EqualKeysBreakTiesByHigherIdFirst) {
  Reset(Watermarks(10, 2, 1));
  Open(At(1), P(0));
  Open(At(1), P(1));
  Drain();
  Open(At(1), P(2));  // all three opened at the same instant: ids 3, 2 go
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(3, CloseReason::kPruned),
                                    std::make_pair(2, CloseReason::kPruned)));
}

TEST_F(PruningTest, GracePeriodDefersPruningToItsExactEnd) {
  Config c = Watermarks(10, 2, 2);
  c.grace_period = Duration::Seconds(30);
  Reset(c);
  Open(At(0), P(0));
  Open(At(10), P(1));
  Open(At(20), P(2));
  EXPECT_THAT(Closed(), IsEmpty());  // 3 > 2 but all young
  EXPECT_EQ(core_->NextDeadline(), At(30));
  Do(At(30) - Duration::Nanoseconds(1), TimerExpired{});
  EXPECT_THAT(Closed(), IsEmpty());
  Do(At(30), TimerExpired{});  // connection 1 leaves its grace period and is the only candidate
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(1, CloseReason::kPruned)));
}

TEST_F(PruningTest, SilencePeriodSpacesTrims) {
  Config c = Watermarks(10, 2, 2);
  c.silence_period = Duration::Seconds(5);
  Reset(c);
  Open(At(0), P(0));
  Open(At(0), P(1));
  Open(At(1), P(2));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(3, CloseReason::kPruned)));
  Do(At(1), TransportClosed{ConnectionId{3}});
  Open(At(2), P(3));  // over again, but the last trim was at 1 s
  EXPECT_THAT(Closed(), IsEmpty());
  EXPECT_EQ(core_->NextDeadline(), At(6));
  Do(At(6), TimerExpired{});
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(4, CloseReason::kPruned)));
}

TEST_F(PruningTest, ProtectedUntilTheLastProtectionTagGoes) {
  Reset(Watermarks(10, 2, 1));
  Do(At(0), ProtectPeer{P(0), "relay"});
  Do(At(0), ProtectPeer{P(0), "app"});
  ConnectionId a = Open(At(0), P(0));
  ConnectionId b = Open(At(1), P(1));
  Do(At(2), UnprotectPeer{P(0), "relay"});
  Drain();
  ConnectionId c = Open(At(3), P(2));  // trim to 1: a is still protected by "app"
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(c.value, CloseReason::kPruned),
                                    std::make_pair(b.value, CloseReason::kPruned)));
  Do(At(4), UnprotectPeer{P(0), "app"});
  Do(At(4), SetPeerTag{P(3), "score", 5});
  Do(At(4), SetPeerTag{P(4), "score", 5});
  Open(At(5), P(3));
  Drain();
  ConnectionId e = Open(At(6), P(4));  // a, with the lowest value, goes first now
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(a.value, CloseReason::kPruned),
                                    std::make_pair(e.value, CloseReason::kPruned)));
}

TEST_F(PruningTest, ProtectedConnectionsStillCountTowardsWatermarks) {
  // go-libp2p's headroom bug: protected connections were not counted, so the node grew past
  // its limits. Here 3 protected + 2 others with high 4, low 3 closes both others.
  Reset(Watermarks(10, 4, 3));
  for (int i = 0; i < 3; ++i) {
    Do(At(0), ProtectPeer{P(i), "keep"});
    Open(At(0), P(i));
  }
  ConnectionId d = Open(At(1), P(3));
  Drain();
  ConnectionId e = Open(At(2), P(4));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(e.value, CloseReason::kPruned),
                                    std::make_pair(d.value, CloseReason::kPruned)));
}

TEST_F(PruningTest, UnprotectingOverTheLimitTrims) {
  Reset(Watermarks(2, 2, 2));
  for (int i = 0; i < 3; ++i) {
    Do(At(0), ProtectPeer{P(i), "keep"});
    OpenOutbound(At(i), P(i));
  }
  EXPECT_EQ(core_->connections().open_count(), 3u);  // all protected: nothing to prune
  Drain();
  Do(At(5), UnprotectPeer{P(1), "keep"});
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(2, CloseReason::kPruned)));
}

TEST_F(PruningTest, AllowListedRemotesAreNeverPrunedAndSkipAdmissionLimits) {
  Config c = Watermarks(2, 1, 1);
  c.max_incoming_pending_connections = 1;
  c.allow_list = {IpPrefix::Parse("192.168.0.0/16").value()};
  Reset(c);
  ConnectionId trusted = Open(At(0), P(0), "/ip4/192.168.1.5/tcp/1");
  ConnectionId other = Open(At(1), P(1));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(other.value, CloseReason::kPruned)));
  // Pending limit and connection limit do not apply to the allow list.
  core_->Handle(At(2), InboundConnection{Addr("/ip4/1.1.1.1/tcp/1"), kLocal}).value();
  core_->Handle(At(2), InboundConnection{Addr("/ip4/192.168.1.6/tcp/1"), kLocal}).value();
  std::vector<Output> out = Drain();
  EXPECT_EQ(out[0], Output(AcceptConnection{ConnectionId{3}}));
  EXPECT_EQ(out[1], Output(AcceptConnection{ConnectionId{4}}));
  EXPECT_TRUE(core_->connections().Find(trusted)->allow_listed);
}

TEST_F(PruningTest, BusyConnectionsAreKeptUnlessOverTheHardLimit) {
  Reset(Watermarks(3, 2, 1));
  ConnectionId a = Open(At(0), P(0));
  Do(At(0), StreamOpened{a, 1, "/chat/1", Direction::kInbound});  // not closable: busy
  ConnectionId b = Open(At(1), P(1));
  Do(At(1), StreamOpened{b, 1, "/chat/1", Direction::kInbound});
  Drain();
  // 3 open > high 2: only the idle connection goes, though that leaves 2 > low 1.
  ConnectionId c = Open(At(2), P(2));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(c.value, CloseReason::kPruned)));
  Do(At(3), ProtectPeer{P(3), "k"});
  OpenOutbound(At(3), P(3));
  EXPECT_THAT(Closed(), IsEmpty());  // 3 open, nothing idle, within max 3
  Do(At(4), ProtectPeer{P(4), "k"});
  OpenOutbound(At(4), P(4));
  // 4 open > max 3 and nothing idle: one busy connection goes, in prune order.
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(b.value, CloseReason::kPruned)));
}

TEST_F(PruningTest, PerPeerCapClosesAnIdleOtherConnectionOldestFirst) {
  Config c;
  c.max_connections_per_peer = 2;
  Reset(c);
  ConnectionId first = Open(At(0), P(0));
  ConnectionId second = Open(At(1), P(0));
  Drain();
  ConnectionId third = Open(At(2), P(0));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(first.value, CloseReason::kPeerLimit)));
  EXPECT_THAT(core_->connections().PeerConnections(P(0)), ElementsAre(first, second, third));
  EXPECT_EQ(core_->connections().OpenPeerConnectionCount(P(0)), 2u);
}

TEST_F(PruningTest, PerPeerCapPrefersRelayedThenKeepsBusyOnes) {
  Config c;
  c.max_connections_per_peer = 2;
  Reset(c);
  ConnectionId direct = Open(At(0), P(0));
  ConnectionId relayed =
      Open(At(1), P(0),
           "/ip4/1.2.3.4/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit");
  Drain();
  Open(At(2), P(0));  // both others idle: the relayed one goes first
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(relayed.value, CloseReason::kPeerLimit)));
  // Now every other connection carries streams: the new one is the idle one, and it goes.
  Do(At(3), StreamOpened{direct, 1, "/chat/1", Direction::kInbound});
  Do(At(3), StreamOpened{ConnectionId{3}, 1, "/chat/1", Direction::kInbound});
  Drain();
  ConnectionId fourth = Open(At(4), P(0));
  EXPECT_THAT(Closed(), ElementsAre(std::make_pair(fourth.value, CloseReason::kPeerLimit)));
}

TEST_F(PruningTest, InboundCapRejectsAndOutboundLimitsClose) {
  Config c = Watermarks(3, 3, 3);
  c.max_inbound_connections = 1;
  c.max_outbound_connections = 1;
  Reset(c);
  Open(At(0), P(0));
  Drain();
  ConnectionId refused =
      core_->Handle(At(1), InboundConnection{Addr("/ip4/9.9.9.9/tcp/1"), kLocal}).value();
  EXPECT_THAT(Drain(), ElementsAre(Output(RejectConnection{refused, RejectReason::kInboundLimit})));
  OpenOutbound(At(2), P(1));
  Drain();
  ConnectionId extra = OpenOutbound(At(3), P(2));
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{extra, CloseReason::kOutboundLimit})));
  EXPECT_EQ(core_->GetMetrics().rejected(RejectReason::kInboundLimit), 1u);
}

TEST_F(PruningTest, OutboundOverMaxIsClosedOnlyWhenConfigured) {
  Config c = Watermarks(1, 1, 1);
  Reset(c);
  Do(At(0), ProtectPeer{P(0), "k"});
  Do(At(0), ProtectPeer{P(1), "k"});
  OpenOutbound(At(0), P(0));
  OpenOutbound(At(1), P(1));  // js-libp2p behaviour: accepted (then nothing prunable)
  EXPECT_EQ(core_->connections().open_count(), 2u);
  c.reject_outbound_over_max = true;
  Reset(c);
  OpenOutbound(At(0), P(0));
  Drain();
  ConnectionId extra = OpenOutbound(At(1), P(1));
  EXPECT_THAT(Drain(), ElementsAre(Output(CloseConnection{extra, CloseReason::kOutboundLimit})));
}

}  // namespace
}  // namespace connmgr

namespace connmgr {
namespace {

TEST_F(PruningTest, DiversityProtectionKeepsAMinoritySubnetAliveUnderAFlood) {
  Config c = Watermarks(10, 4, 4);
  c.diversity_protected_connections = 2;
  c.random_seed = 7;
  Reset(c);
  // One honest peer from 192.0.2.0/16's group, then a flood from 198.51.0.0/16 whose peers
  // carry higher values, so that without protection the honest peer is pruned first (the
  // next test shows that).
  ConnectionId honest = Open(At(0), P(0), "/ip4/192.0.2.10/tcp/1");
  for (int i = 1; i < 6; ++i) {
    Do(At(0), SetPeerTag{P(i), "score", 5});
  }
  for (int i = 1; i < 6; ++i) {
    Open(At(i), P(i), absl::StrCat("/ip4/198.51.100.", i, "/tcp/1"));
  }
  // 6 open > 4: two are closed, both from the flood: each protected group keeps one.
  std::vector<std::pair<uint64_t, CloseReason>> closed = Closed();
  ASSERT_EQ(closed.size(), 2u);
  for (const auto& [id, reason] : closed) EXPECT_NE(id, honest.value);
  EXPECT_EQ(core_->connections().Find(honest)->state, ConnectionState::kOpen);
}

TEST_F(PruningTest, WithoutDiversityTheMinorityIsEvictedFirst) {
  Reset(Watermarks(10, 4, 4));
  ConnectionId honest = Open(At(0), P(0), "/ip4/192.0.2.10/tcp/1");
  for (int i = 1; i < 6; ++i) Do(At(0), SetPeerTag{P(i), "score", 5});
  for (int i = 1; i < 6; ++i) Open(At(i), P(i), absl::StrCat("/ip4/198.51.100.", i, "/tcp/1"));
  std::vector<std::pair<uint64_t, CloseReason>> closed = Closed();
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[0].first, honest.value);
}

}  // namespace
}  // namespace connmgr
