// The admission part alone: the order of its rules, what it charges, and the gates it names —
// driven on a connection table and resource scopes of its own, without a Core.
#include "core/admission.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }
IpPrefix P(absl::string_view text) { return IpPrefix::Parse(text).value(); }
const Instant kNow = Instant::FromNanoseconds(1'000'000'000);
const Multiaddr kLocal = Addr("/ip4/10.0.0.1/tcp/4001");
const PeerId kPeer = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();

class DenyEverything : public ConnectionGater {
 public:
  std::optional<std::string> DenyAccept(const Multiaddr&, const Multiaddr&) override {
    return "closed for maintenance";
  }
};

class AdmissionTest : public ::testing::Test {
 protected:
  void Make(std::shared_ptr<ConnectionGater> gater = nullptr) {
    scopes_ = std::make_unique<ResourceScopes>(config_.system_scope, config_.transient_scope,
                                               config_.peer_scope);
    admission_ = std::make_unique<Admission>(config_, std::move(gater), *scopes_);
  }
  Admission::InboundVerdict Decide(absl::string_view ip) {
    const Multiaddr remote = Addr(absl::StrCat("/ip4/", ip, "/tcp/5000"));
    return admission_->DecideInbound(
        remote, kLocal, remote.ip(), /*uses_fd=*/true, table_,
        [&](uint64_t netgroup) {
          asked_for_netgroup_ = netgroup;
          return open_victim_;
        },
        now_);
  }
  // A pending inbound socket in the table, counted in its group's share.
  ConnectionId Pending(absl::string_view ip) {
    Connection& c =
        table_.AddPending(Direction::kInbound, Addr(absl::StrCat("/ip4/", ip, "/tcp/5000")), now_);
    table_.JoinPendingShare(c);
    return c.id;
  }

  Instant now_ = kNow;
  std::optional<ConnectionId> open_victim_;
  std::optional<uint64_t> asked_for_netgroup_;

  Config config_;
  ConnectionTable table_{config_.closable_protocols};
  std::unique_ptr<ResourceScopes> scopes_;
  std::unique_ptr<Admission> admission_;
};

TEST_F(AdmissionTest, DenyBeatsAllowAndTheGaterComesAfterTheDenyList) {
  config_.allow_list = {P("10.0.0.0/8")};
  config_.deny_list = {P("10.1.0.0/16")};
  Make(std::make_shared<DenyEverything>());
  Admission::InboundVerdict denied = Decide("10.1.2.3");
  EXPECT_EQ(denied.reject, RejectReason::kDenied);
  EXPECT_EQ(denied.gate_rule, "deny_list 10.1.0.0/16");
  EXPECT_FALSE(denied.allow_listed);
  Admission::InboundVerdict gated = Decide("10.2.0.1");
  EXPECT_EQ(gated.reject, RejectReason::kDenied);
  EXPECT_EQ(gated.gate_rule, "gater: closed for maintenance");
}

TEST_F(AdmissionTest, AllowListedSkipsEveryLimitAndIsChargedNothing) {
  config_.allow_list = {P("10.0.0.0/8")};
  config_.max_incoming_pending_connections = 0;
  config_.max_connections = 0;
  Make();
  Admission::InboundVerdict v = Decide("10.0.0.7");
  EXPECT_EQ(v.reject, std::nullopt);
  EXPECT_TRUE(v.allow_listed);
  EXPECT_TRUE(v.source_charge.empty());
  EXPECT_EQ(Decide("8.8.8.8").reject, RejectReason::kPendingLimit);
}

TEST_F(AdmissionTest, ScopeRefusalComesBeforeTheSourceLimiterAndTakesNoToken) {
  config_.system_scope.connections_inbound = 1;
  config_.inbound_rate_per_ip = {1, Duration::Seconds(1), 1};
  Make();
  Admission::InboundVerdict first = Decide("8.8.8.8");
  ASSERT_EQ(first.reject, std::nullopt);
  EXPECT_FALSE(first.source_charge.empty());
  // The same source again: its bucket is empty, but the full scope refuses it first.
  Admission::InboundVerdict second = Decide("8.8.8.8");
  EXPECT_EQ(second.reject, RejectReason::kResourceLimit);
  ASSERT_TRUE(second.denial.has_value());
  EXPECT_EQ(second.denial->limit, 1u);
}

TEST_F(AdmissionTest, RateLimitRefusalReleasesTheScopeCharge) {
  config_.system_scope.connections_inbound = 2;
  config_.inbound_rate_per_ip = {1, Duration::Seconds(1), 1};
  Make();
  EXPECT_EQ(Decide("8.8.8.8").reject, std::nullopt);
  EXPECT_EQ(Decide("8.8.8.8").reject, RejectReason::kRateLimitIp);
  // One charge is held (the first), so one more source still fits the scope of 2.
  EXPECT_EQ(Decide("9.9.9.9").reject, std::nullopt);
  EXPECT_EQ(Decide("7.7.7.7").reject, RejectReason::kResourceLimit);
}

TEST_F(AdmissionTest, UpgradeGatesNameTheirStage) {
  config_.denied_peers = {kPeer};
  Make();
  Connection& c = table_.AddPending(Direction::kInbound, Addr("/ip4/8.8.8.8/tcp/1"), kNow);
  std::optional<Admission::UpgradeGate> gate = admission_->UpgradeGateFor(c, kPeer);
  ASSERT_TRUE(gate.has_value());
  EXPECT_EQ(gate->stage, GateStage::kSecured);
  EXPECT_EQ(gate->rule, "denied_peers");
  admission_->UndenyPeer(kPeer);
  ASSERT_TRUE(admission_->Deny(P("8.8.0.0/16")).ok());
  gate = admission_->UpgradeGateFor(c, kPeer);
  ASSERT_TRUE(gate.has_value());
  EXPECT_EQ(gate->stage, GateStage::kUpgraded);
  EXPECT_EQ(gate->rule, "deny_list 8.8.0.0/16");
}

TEST_F(AdmissionTest, OutboundOverItsCapClosesWithOutboundLimitUnlessAllowListed) {
  config_.max_outbound_connections = 1;
  config_.allow_list = {P("7.0.0.0/8")};
  Make();
  Connection& open = table_.AddPending(Direction::kOutbound, Addr("/ip4/8.8.8.8/tcp/1"), kNow);
  table_.Open(open, kPeer, kNow);
  Connection& c = table_.AddPending(Direction::kOutbound, Addr("/ip4/9.9.9.9/tcp/1"), kNow);
  EXPECT_EQ(admission_->DecideOutbound(c, kPeer, table_).close, CloseReason::kOutboundLimit);
  Connection& allowed = table_.AddPending(Direction::kOutbound, Addr("/ip4/7.7.7.7/tcp/1"), kNow);
  Admission::OutboundVerdict v = admission_->DecideOutbound(allowed, kPeer, table_);
  EXPECT_EQ(v.close, std::nullopt);
  EXPECT_TRUE(v.allow_listed);
}

TEST_F(AdmissionTest, FullListsAreRefusedNamingTheInput) {
  config_.max_list_entries = 1;
  Make();
  ASSERT_TRUE(admission_->Deny(P("1.0.0.0/8")).ok());
  absl::Status s = admission_->Deny(P("2.0.0.0/8"));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(absl::StartsWith(s.message(), "deny_address: ")) << s;
  EXPECT_EQ(admission_->DenyPeer(PeerId()).message(), "deny_peer: peer must not be empty");
}

TEST_F(AdmissionTest, FullPendingSlotsMakeRoomForARarerSourceGroup) {
  config_.max_incoming_pending_connections = 4;
  config_.inbound_rate_per_ip = {};
  Make();
  const ConnectionId a1 = Pending("1.1.1.1");
  Pending("1.1.1.2");
  Pending("1.1.1.3");
  Pending("2.2.2.2");
  // 1.1.1.0/24 holds 3, the newcomer's group 0: its oldest socket makes room.
  Admission::InboundVerdict fresh = Decide("3.3.3.3");
  EXPECT_EQ(fresh.reject, std::nullopt);
  EXPECT_EQ(fresh.evict_pending, a1);
  // Two behind is enough (3 against 1); the crowded group's own newcomer is refused.
  EXPECT_EQ(Decide("2.2.2.9").evict_pending, a1);
  EXPECT_EQ(Decide("1.1.1.9").reject, RejectReason::kPendingLimit);
  // Off: js-libp2p's refusal.
  config_.pending_fair_share = false;
  EXPECT_EQ(Decide("3.3.3.3").reject, RejectReason::kPendingLimit);
}

TEST_F(AdmissionTest, AFullTableEvictsOnlyWhenOnAndWithinTheEvictionRate) {
  config_.max_connections = 1;
  config_.inbound_rate_per_ip = {};
  config_.inbound_eviction_rate = {1, Duration::Seconds(10), 2};
  Make();
  Connection& open = table_.AddPending(Direction::kInbound, Addr("/ip4/9.9.9.9/tcp/1"), kNow);
  table_.Open(open, kPeer, kNow);
  open_victim_ = open.id;
  EXPECT_EQ(Decide("4.4.4.4").reject, RejectReason::kConnectionLimit);  // off by default
  EXPECT_EQ(asked_for_netgroup_, std::nullopt);
  config_.inbound_eviction = true;
  Admission::InboundVerdict first = Decide("4.4.4.4");
  EXPECT_EQ(first.reject, std::nullopt);
  EXPECT_EQ(first.evict_open, open.id);
  EXPECT_EQ(asked_for_netgroup_, NetGroupOf(*IpAddress::Parse("4.4.0.0")));
  EXPECT_EQ(Decide("4.4.4.5").evict_open, open.id);
  // The burst of 2 is spent; one more token comes 10 s later.
  EXPECT_EQ(Decide("4.4.4.6").reject, RejectReason::kConnectionLimit);
  now_ = kNow + Duration::Seconds(10);
  EXPECT_EQ(Decide("4.4.4.6").evict_open, open.id);
  // No victim: refused, and no token taken.
  open_victim_.reset();
  now_ = kNow + Duration::Seconds(20);
  EXPECT_EQ(Decide("4.4.4.7").reject, RejectReason::kConnectionLimit);
  open_victim_ = open.id;
  EXPECT_EQ(Decide("4.4.4.8").evict_open, open.id);
}

}  // namespace
}  // namespace connmgr
