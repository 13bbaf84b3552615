// UpdateConfig: limits changed on a running core, with the exact connections pruned and the
// commands given at the instant of the change.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/core_test_util.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace testing_util;  // NOLINT: test helpers

// The i-th of many distinct peers (identity multihashes).
PeerId NthPeer(uint32_t i) {
  std::string multihash = {'\x00', '\x04'};
  for (int shift = 24; shift >= 0; shift -= 8) multihash.push_back(static_cast<char>(i >> shift));
  return PeerId::FromBytes(multihash).value();
}

std::vector<uint64_t> ClosedIds(const std::vector<Output>& outputs) {
  std::vector<uint64_t> ids;
  for (const Output& o : outputs) {
    if (const auto* c = std::get_if<CloseConnection>(&o)) ids.push_back(c->connection.value);
  }
  return ids;
}

class RuntimeConfigTest : public CoreTest {
 protected:
  absl::Status Update(Instant now, const Config& config) {
    return core_->Handle(now, UpdateConfig{config}).status();
  }
  // Dial request `r`: peer r at 192.0.2.r.
  absl::Status RequestDial(Instant now, uint64_t r) {
    return core_
        ->Handle(now, DialRequest{r,
                                  NthPeer(static_cast<uint32_t>(r)),
                                  {Addr(absl::StrCat("/ip4/192.0.2.", r, "/tcp/1"))},
                                  50,
                                  false,
                                  Duration::Zero()})
        .status();
  }
  // An inbound connection from `remote`, accepted and upgraded as peer `peer`.
  void OpenAs(Instant now, absl::string_view remote, uint32_t peer) {
    ConnectionId id = Inbound(now, remote);
    EXPECT_TRUE(core_->Handle(now, ConnectionUpgraded{id, NthPeer(peer)}).ok());
    Drain();
  }
  // An inbound connection from its own address, accepted and upgraded.
  ConnectionId OpenFrom(Instant now, uint32_t i) {
    ConnectionId id = Inbound(now, absl::StrCat("/ip4/203.0.113.", i + 1, "/tcp/4001"));
    EXPECT_TRUE(core_->Handle(now, ConnectionUpgraded{id, NthPeer(i)}).ok());
    Drain();
    return id;
  }
};

TEST_F(RuntimeConfigTest, LoweringMaxConnectionsPrunesAtOnceIgnoringTheSilencePeriod) {
  Config config;
  config.max_connections = 5;
  config.silence_period = Duration::Seconds(60);
  Reset(config);
  for (uint32_t i = 0; i < 5; ++i) OpenFrom(At(1, i), i);  // connections 1..5, oldest first
  ASSERT_TRUE(core_->Handle(At(2), SetPeerTag{NthPeer(0), "score", 10}).ok());

  config.max_connections = 3;
  ASSERT_TRUE(Update(At(3), config).ok());
  // Lowest value first (peer 0 is tagged), then newest first: connections 5 and 4.
  EXPECT_THAT(ClosedIds(Drain()), ElementsAre(5, 4));
  EXPECT_EQ(core_->config().max_connections, 3u);
  EXPECT_EQ(core_->GetMetrics().counters[static_cast<int>(Counter::kConfigUpdates)], 1u);
}

TEST_F(RuntimeConfigTest, RaisingMaxConnectionsClosesNothingAndAdmitsMore) {
  Config config;
  config.max_connections = 2;
  Reset(config);
  OpenFrom(At(1), 0);
  OpenFrom(At(1), 1);
  config.max_connections = 4;
  ASSERT_TRUE(Update(At(2), config).ok());
  EXPECT_THAT(Drain(), IsEmpty());
  OpenFrom(At(3), 2);
  EXPECT_EQ(core_->connections().open_count(), 3u);
}

TEST_F(RuntimeConfigTest, AnInvalidChangeIsRefusedAndTheOldConfigStays) {
  Config config;
  Reset(config);
  Config bad = config;
  bad.max_connections = 10;
  bad.high_watermark = 20;
  absl::Status s = Update(At(1), bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("update_config: config: high_watermark: must not exceed"));
  EXPECT_EQ(core_->config(), config);
  EXPECT_THAT(Drain(), IsEmpty());
}

TEST_F(RuntimeConfigTest, ASettingThatNeedsANewCoreIsRefusedByName) {
  Config config;
  Reset(config);
  Config changed = config;
  changed.max_connections = 200;  // allowed, but the next one is not
  changed.random_seed = 7;
  absl::Status s = Update(At(1), changed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("update_config: config: random_seed: cannot change on a running core"));
  EXPECT_EQ(core_->config().max_connections, config.max_connections);
}

TEST_F(RuntimeConfigTest, ALowerRatePerIpAppliesToTheNextConnection) {
  Config config;
  Reset(config);  // 5 per second per address
  ASSERT_TRUE(
      core_->Handle(At(1), InboundConnection{Addr("/ip4/198.51.100.7/tcp/1"), kLocal}).ok());
  config.inbound_rate_per_ip = {1, Duration::Seconds(10), 1};
  ASSERT_TRUE(Update(At(1, 1), config).ok());
  Drain();
  // The changed rate starts its buckets afresh: one more is admitted, the next is not.
  ASSERT_TRUE(
      core_->Handle(At(1, 2), InboundConnection{Addr("/ip4/198.51.100.7/tcp/2"), kLocal}).ok());
  ASSERT_TRUE(
      core_->Handle(At(1, 3), InboundConnection{Addr("/ip4/198.51.100.7/tcp/3"), kLocal}).ok());
  std::vector<Output> out = Drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<AcceptConnection>(out[0]));
  EXPECT_EQ(std::get<RejectConnection>(out[1]).reason, RejectReason::kRateLimitIp);
}

TEST_F(RuntimeConfigTest, MoreParallelDialsStartQueuedDialsAtOnce) {
  Config config;
  config.max_parallel_dials = 1;
  config.max_dial_queue_length = 3;
  Reset(config);
  for (uint64_t r = 1; r <= 3; ++r) ASSERT_TRUE(RequestDial(At(1), r).ok());
  auto dialled = [&] {
    std::vector<std::string> addresses;
    for (const Output& o : Drain()) {
      if (const auto* d = std::get_if<DialAddress>(&o)) addresses.push_back(d->address.ToString());
    }
    return addresses;
  };
  EXPECT_THAT(dialled(), ElementsAre(HasSubstr("/ip4/192.0.2.1/tcp/1/p2p/")));
  config.max_parallel_dials = 3;
  ASSERT_TRUE(Update(At(2), config).ok());
  EXPECT_THAT(dialled(), ElementsAre(HasSubstr("/ip4/192.0.2.2/tcp/1/p2p/"),
                                     HasSubstr("/ip4/192.0.2.3/tcp/1/p2p/")));
}

TEST_F(RuntimeConfigTest, AShorterDialQueueKeepsItsJobsAndRefusesNewOnes) {
  Config config;
  Reset(config);
  for (uint64_t r = 1; r <= 3; ++r) ASSERT_TRUE(RequestDial(At(1), r).ok());
  config.max_parallel_dials = 2;
  config.max_dial_queue_length = 2;
  ASSERT_TRUE(Update(At(2), config).ok());
  absl::Status s = RequestDial(At(2), 4);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(core_->GetMetrics().dials_running + core_->GetMetrics().dials_queued, 3u);
}

TEST_F(RuntimeConfigTest, DiversityProtectionSwitchedOnCountsTheGroupsAlreadyOpen) {
  Config config;
  config.max_connections = 4;
  Reset(config);
  // Two connections from 198.51.100.0/24 (connections 1, 2), two from 203.0.113.0/24 (3, 4).
  OpenAs(At(1, 0), "/ip4/198.51.100.1/tcp/1", 0);
  OpenAs(At(1, 1), "/ip4/198.51.100.2/tcp/1", 1);
  OpenAs(At(1, 2), "/ip4/203.0.113.1/tcp/1", 2);
  OpenAs(At(1, 3), "/ip4/203.0.113.2/tcp/1", 3);
  config.max_connections = 2;
  config.diversity_protected_connections = 2;
  ASSERT_TRUE(Update(At(2), config).ok());
  // Without protection the two newest (4, 3) would go; with it each group keeps one.
  EXPECT_THAT(ClosedIds(Drain()), ElementsAre(4, 2));
}

// Fewer diversity-protected connections is a lower limit too: the connection a group kept over
// max_connections goes at once (found by core_fuzz: it stayed open until the next trim).
TEST_F(RuntimeConfigTest, LoweringDiversityProtectionPrunesAtOnce) {
  Config config;
  config.max_connections = 4;
  config.silence_period = Duration::Seconds(60);
  Reset(config);
  OpenAs(At(1, 0), "/ip4/198.51.100.1/tcp/1", 0);  // 1: a protected peer's, never pruned
  OpenAs(At(1, 1), "/ip4/198.51.100.2/tcp/1", 1);  // 2
  OpenAs(At(1, 2), "/ip4/203.0.113.1/tcp/1", 2);   // 3
  ASSERT_TRUE(core_->Handle(At(1, 3), ProtectPeer{NthPeer(0), "relay"}).ok());
  config.max_connections = 1;
  config.diversity_protected_connections = 1;
  ASSERT_TRUE(Update(At(2), config).ok());
  // Over max_connections with 1 exempt: 2 goes, the net group 203.0/16 keeps 3.
  ASSERT_THAT(ClosedIds(Drain()), ElementsAre(2));
  ASSERT_EQ(core_->GetMetrics().connections_by_state[0][static_cast<int>(ConnectionState::kOpen)],
            2u);
  config.diversity_protected_connections = 0;
  ASSERT_TRUE(Update(At(3), config).ok());  // within the silence period: pruned all the same
  EXPECT_THAT(ClosedIds(Drain()), ElementsAre(3));
}

}  // namespace
}  // namespace connmgr
