#include "core/connection_table.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }
const PeerId kAlice = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
const Instant kT0 = Instant::FromNanoseconds(0);

class ConnectionTableTest : public testing::Test {
 protected:
  ConnectionId AddOpen(const PeerId& peer) {
    Connection& c = table_.AddPending(Direction::kInbound, Addr("/ip4/1.2.3.4/tcp/1"), kT0);
    table_.Open(c, peer, kT0);
    return c.id;
  }
  void AddStreams(ConnectionId id, int n) {
    for (int i = 0; i < n; ++i) table_.AddStream(*table_.Find(id), "/s", Direction::kInbound);
  }

  ConnectionTable table_{std::vector<std::string>{}};
};

TEST_F(ConnectionTableTest, StateCountsFollowTransitions) {
  Connection& c = table_.AddPending(Direction::kOutbound, Addr("/ip4/1.2.3.4/tcp/1"), kT0);
  const ConnectionId id = c.id;
  EXPECT_EQ(table_.count(Direction::kOutbound, ConnectionState::kPending), 1u);
  EXPECT_EQ(table_.Open(c, kAlice, kT0), 1u);  // Alice's first
  EXPECT_EQ(table_.count(Direction::kOutbound, ConnectionState::kPending), 0u);
  EXPECT_EQ(table_.count(Direction::kOutbound, ConnectionState::kOpen), 1u);
  table_.StartClosing(*table_.Find(id), CloseReason::kRequested, kT0);
  EXPECT_EQ(table_.count(Direction::kOutbound, ConnectionState::kClosing), 1u);
  Connection& second = table_.AddPending(Direction::kInbound, Addr("/ip4/1.2.3.4/tcp/2"), kT0);
  EXPECT_EQ(table_.Open(second, kAlice, kT0), 2u);  // the closing one still counts
  const ConnectionId second_id = second.id;
  table_.StartClosing(second, CloseReason::kRequested, kT0);
  EXPECT_FALSE(table_.Remove(second_id));  // Alice still has the first
  EXPECT_TRUE(table_.Remove(id));
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_TRUE(table_.WasClosed(id));
  EXPECT_FALSE(table_.WasClosed(ConnectionId{second_id.value + 1}));
  EXPECT_FALSE(table_.WasClosed(ConnectionId{0}));
}

TEST_F(ConnectionTableTest, PeerIndexKeepsIdOrder) {
  ConnectionId a = AddOpen(kAlice);
  ConnectionId b = AddOpen(kAlice);
  ConnectionId c = AddOpen(kAlice);
  EXPECT_THAT(table_.PeerConnections(kAlice), ElementsAre(a, b, c));
  EXPECT_FALSE(table_.Remove(b));
  EXPECT_THAT(table_.PeerConnections(kAlice), ElementsAre(a, c));
  EXPECT_EQ(table_.peer_count(), 1u);
}

TEST_F(ConnectionTableTest, PrefixQueriesSeeConnectionsAddedBeforeAndAfterTheFirst) {
  auto add = [&](absl::string_view addr) {
    return table_.AddPending(Direction::kInbound, Addr(addr), kT0).id;
  };
  auto in = [&](absl::string_view prefix) {
    return table_.ConnectionsInPrefix(IpPrefix::Parse(prefix).value());
  };
  const ConnectionId a = add("/ip4/10.0.0.9/tcp/1");
  const ConnectionId b = add("/ip4/10.0.0.2/tcp/1");
  const ConnectionId gone = add("/ip4/10.0.0.5/tcp/1");
  add("/ip4/10.0.1.1/tcp/1");
  add("/ip6/::1/tcp/1");
  ASSERT_FALSE(table_.Remove(gone));
  // The first query builds the index from the table as it is: IP order.
  EXPECT_THAT(in("10.0.0.0/24"), ElementsAre(b, a));
  // Later changes keep it up to date.
  const ConnectionId c = add("/ip4/10.0.0.3/tcp/1");
  ASSERT_FALSE(table_.Remove(a));
  EXPECT_THAT(in("10.0.0.0/24"), ElementsAre(b, c));
  EXPECT_EQ(in("0.0.0.0/0").size(), 3u);
}

TEST_F(ConnectionTableTest, P90IsNearestRankOverOpenConnections) {
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 0u);
  std::vector<ConnectionId> ids;
  ids.reserve(10);
  for (int i = 0; i < 10; ++i) ids.push_back(AddOpen(kAlice));
  for (int i = 0; i < 10; ++i) AddStreams(ids[i], i);  // 0..9 streams
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 8u);     // 9 of 10 carry at most 8
  AddStreams(ids[8], 10);                              // 0..7, 9, 18
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 9u);
  table_.StartClosing(*table_.Find(ids[9]), CloseReason::kRequested, kT0);  // 9 open left
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 18u);  // ceil(0.9 × 9) = 9th of 9
}

TEST_F(ConnectionTableTest, P90CountsConnectionsWithManyStreams) {
  std::vector<ConnectionId> ids;
  ids.reserve(10);
  for (int i = 0; i < 10; ++i) ids.push_back(AddOpen(kAlice));
  for (int i = 0; i < 10; ++i) AddStreams(ids[i], 60 + i);  // 60..69: across the dense counts
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 68u);
  AddStreams(ids[0], 1'000);  // 61..69, 1060
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 69u);
  ASSERT_FALSE(table_.Remove(*table_.Find(ids[9])));  // 60 + 9 = 69 gone: 61..68, 1060
  EXPECT_EQ(table_.StreamsPerConnectionP90(), 1'060u);
}

TEST_F(ConnectionTableTest, RemovingAConnectionReleasesItsStreams) {
  ConnectionId a = AddOpen(kAlice);
  AddStreams(a, 3);
  EXPECT_THAT(table_.StreamsByProtocol(), ElementsAre(ProtocolStreams{"/s", 3, 0}));
  table_.Remove(a);
  EXPECT_TRUE(table_.StreamsByProtocol().empty());
}

}  // namespace
}  // namespace connmgr
