// Gating and inbound admission through the core: lists, allow-only mode, runtime changes, the
// gater's stages, per-source rate limits and caps — exact outputs.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/core.h"
#include "core/core_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using namespace ::connmgr::testing_util;  // NOLINT: test helpers

IpPrefix P(absl::string_view t) { return IpPrefix::Parse(t).value(); }

class GatingTest : public CoreTest {
 protected:
  ConnectionId In(Instant now, absl::string_view ip) {
    return Inbound(now, absl::StrCat("/ip4/", ip, "/tcp/5000"));
  }
};

TEST_F(GatingTest, DenyBeatsAllowAndNamesTheRule) {
  Config config;
  config.allow_list = {P("10.0.0.0/8")};
  config.deny_list = {P("10.1.0.0/16"), P("10.1.2.0/24")};
  config.delayed_reject = Duration::Milliseconds(500);
  Reset(config);
  const ConnectionId id = In(At(1), "10.1.2.3");
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ConnectionGated{id, GateStage::kAccept, "deny_list 10.1.2.0/24"}),
                          Output(RejectConnection{id, RejectReason::kDenied,
                                                  Duration::Milliseconds(500)})));
  EXPECT_EQ(core_->GetMetrics().rejected(RejectReason::kDenied), 1u);
}

TEST_F(GatingTest, AllowListedSkipsPendingLimitAndRateLimitAndAllowOnlyRefusesOthers) {
  Config config;
  config.allow_list = {P("10.0.0.0/8")};
  config.max_incoming_pending_connections = 1;
  Reset(config);
  for (int i = 0; i < 8; ++i) {
    const ConnectionId id = In(At(1), "10.0.0.1");
    EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{id})));
  }
  config.allow_only_mode = true;
  Reset(config);
  const ConnectionId out = In(At(1), "8.8.8.8");
  EXPECT_THAT(Drain(), ElementsAre(Output(RejectConnection{out, RejectReason::kNotAllowed})));
}

TEST_F(GatingTest, RateLimitRefusalsAreNamedAndTakeNoToken) {
  Config config;
  config.inbound_rate_per_ip = {2, Duration::Seconds(1), 2};
  Reset(config);
  In(At(1), "1.1.1.1");
  In(At(1), "1.1.1.1");
  Drain();
  const ConnectionId third = In(At(1, 100), "1.1.1.1");
  EXPECT_THAT(Drain(), ElementsAre(Output(RejectConnection{third, RejectReason::kRateLimitIp})));
  // A refusal for the pending limit, after the bucket refilled, takes no token either.
  const ConnectionId fourth = In(At(1, 500), "1.1.1.1");
  EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{fourth})));
  EXPECT_EQ(core_->GetMetrics().rejected(RejectReason::kRateLimitIp), 1u);
}

TEST_F(GatingTest, ConcurrentConnectionsPerIpAreCappedAndReleased) {
  Config config;
  config.max_connections_per_ipv4_32 = 1;
  Reset(config);
  const ConnectionId a = In(At(1), "1.1.1.1");
  const ConnectionId b = In(At(2), "1.1.1.1");
  EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{a}),
                                   Output(RejectConnection{b, RejectReason::kIpLimit})));
  ASSERT_TRUE(core_->Handle(At(3), TransportClosed{a}).ok());
  Drain();
  const ConnectionId c = In(At(4), "1.1.1.1");
  EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{c})));
  for (int i = 0; i < 3; ++i) In(At(5), "127.0.0.1");  // loopback: never capped
  EXPECT_EQ(core_->GetMetrics().rejected(RejectReason::kIpLimit), 1u);
}

TEST_F(GatingTest, NewlyDeniedRangeClosesItsLiveConnections) {
  const ConnectionId a = OpenInbound(At(1), kAlice);  // from 1.2.3.4
  const ConnectionId b = OpenOutbound(At(1), kBob, "/ip4/9.9.9.9/tcp/1");
  ASSERT_TRUE(core_->Handle(At(2), DenyAddress{P("1.2.0.0/16")}).ok());
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(ConnectionGated{a, GateStage::kListChange, "deny_list 1.2.0.0/16"}),
                  Output(CloseConnection{a, CloseReason::kDenied})));
  EXPECT_EQ(core_->connections().Find(b)->state, ConnectionState::kOpen);
  ASSERT_TRUE(core_->Handle(At(3), UndenyAddress{P("1.2.0.0/16")}).ok());
  const ConnectionId c = Inbound(At(4));
  EXPECT_THAT(Drain(), ElementsAre(Output(AcceptConnection{c})));
}

TEST_F(GatingTest, DeniedPeerIsStoppedAtTheSecuredStage) {
  const ConnectionId open = OpenInbound(At(1), kAlice);
  ASSERT_TRUE(core_->Handle(At(2), DenyPeer{kAlice}).ok());
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ConnectionGated{open, GateStage::kListChange, "denied_peers"}),
                          Output(CloseConnection{open, CloseReason::kDenied})));
  const ConnectionId next = Inbound(At(3), "/ip4/5.5.5.5/tcp/1");
  Drain();
  ASSERT_TRUE(core_->Handle(At(4), ConnectionSecured{next, kAlice}).ok());
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ConnectionGated{next, GateStage::kSecured, "denied_peers"}),
                          Output(CloseConnection{next, CloseReason::kDenied})));
}

class StagesGater : public ConnectionGater {
 public:
  std::optional<std::string> DenyAccept(const Multiaddr& remote, const Multiaddr&) override {
    if (remote.port() == 666) return "port 666";
    return std::nullopt;
  }
  std::optional<std::string> DenySecured(Direction, const PeerId& peer, const Multiaddr&) override {
    if (peer == kBob) return "bob is banned";
    return std::nullopt;
  }
  std::optional<std::string> DenyUpgraded(Direction d, const PeerId&, const Multiaddr&) override {
    if (d == Direction::kOutbound) return "no outbound today";
    return std::nullopt;
  }
};

TEST_F(GatingTest, GaterIsConsultedAtEveryStage) {
  core_ = Core::Create(Config{}, std::make_shared<StagesGater>()).value();
  const ConnectionId a = Inbound(At(1), "/ip4/1.1.1.1/tcp/666");
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ConnectionGated{a, GateStage::kAccept, "gater: port 666"}),
                          Output(RejectConnection{a, RejectReason::kDenied})));
  const ConnectionId b = Inbound(At(2), "/ip4/1.1.1.2/tcp/1");
  Drain();
  ASSERT_TRUE(core_->Handle(At(3), ConnectionUpgraded{b, kBob}).ok());
  EXPECT_THAT(Drain(),
              ElementsAre(Output(ConnectionGated{b, GateStage::kSecured, "gater: bob is banned"}),
                          Output(CloseConnection{b, CloseReason::kDenied})));
  const ConnectionId c =
      core_->Handle(At(4), OutboundConnection{Addr("/ip4/2.2.2.2/tcp/1"), kLocal, kAlice}).value();
  EXPECT_THAT(
      Drain(),
      ElementsAre(Output(ConnectionGated{c, GateStage::kUpgraded, "gater: no outbound today"}),
                  Output(CloseConnection{c, CloseReason::kDenied})));
}

TEST_F(GatingTest, ListsAreBoundedAndRemovingAnAllowEntryMakesConnectionsPrunable) {
  Config config;
  config.max_list_entries = 1;
  config.allow_list = {P("1.2.3.4")};
  config.max_connections = 1;
  Reset(config);
  EXPECT_EQ(core_->Handle(At(1), AllowAddress{P("5.5.5.5")}).status().code(),
            absl::StatusCode::kResourceExhausted);
  const ConnectionId a = OpenInbound(At(1), kAlice);  // allow-listed: never pruned
  ASSERT_TRUE(core_->Handle(At(2), ProtectPeer{kBob, "test"}).ok());
  OpenOutbound(At(2), kBob, "/ip4/7.7.7.7/tcp/1");  // protected
  ASSERT_TRUE(core_->connections().Find(a)->allow_listed);
  EXPECT_EQ(core_->connections().open_count(), 2u);  // over max 1, but nothing is prunable
  ASSERT_TRUE(core_->Handle(At(3), UnallowAddress{P("1.2.3.4")}).ok());
  std::vector<Output> out = Drain();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), Output(CloseConnection{a, CloseReason::kPruned}));
}

}  // namespace
}  // namespace connmgr
