#include "core/black_hole.h"

#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view t) { return Multiaddr::Parse(t).value(); }
const Multiaddr kQuic4 = Addr("/ip4/1.2.3.4/udp/1/quic-v1");
const Multiaddr kTcp6 = Addr("/ip6/2001:db8::1/tcp/1");
const Multiaddr kQuic6 = Addr("/ip6/2001:db8::1/udp/1/quic-v1");

TEST(BlackHoleTest, HundredFailuresBlockAndEveryHundredthRequestProbes) {
  BlackHoleDetector d(BlackHoleOptions{});
  for (int i = 0; i < 99; ++i) {
    ASSERT_TRUE(d.Allows(kQuic4));
    d.RecordResult(kQuic4, false);
    ASSERT_EQ(d.state(BlackHoleDetector::kUdp), BlackHoleState::kProbing);
  }
  ASSERT_TRUE(d.Allows(kQuic4));  // request 100
  d.RecordResult(kQuic4, false);
  EXPECT_EQ(d.state(BlackHoleDetector::kUdp), BlackHoleState::kBlocked);
  std::vector<int> allowed;
  for (int request = 101; request <= 400; ++request) {
    if (d.Allows(kQuic4)) allowed.push_back(request);
  }
  EXPECT_EQ(allowed, (std::vector<int>{200, 300, 400}));
  EXPECT_TRUE(d.Allows(kTcp6));  // another class
  EXPECT_TRUE(d.Allows(Addr("/ip4/192.168.1.1/udp/1/quic-v1")));  // private: never blocked
  d.RecordResult(kQuic4, true);  // one success re-opens
  EXPECT_EQ(d.state(BlackHoleDetector::kUdp), BlackHoleState::kProbing);
  EXPECT_TRUE(d.Allows(kQuic4));
}

TEST(BlackHoleTest, FiveSuccessesInTheWindowKeepItOpenFourDoNot) {
  for (int successes : {4, 5}) {
    BlackHoleDetector d(BlackHoleOptions{});
    for (int i = 0; i < 100; ++i) d.RecordResult(kTcp6, i < successes);
    EXPECT_EQ(d.state(BlackHoleDetector::kIpv6),
              successes == 5 ? BlackHoleState::kAllowed : BlackHoleState::kBlocked);
    EXPECT_EQ(d.state(BlackHoleDetector::kUdp), BlackHoleState::kProbing);
  }
}

TEST(BlackHoleTest, Ipv6UdpCountsInBothClassesAndDisabledAllowsAll) {
  BlackHoleDetector d(BlackHoleOptions{});
  for (int i = 0; i < 100; ++i) d.RecordResult(kQuic6, false);
  EXPECT_EQ(d.state(BlackHoleDetector::kUdp), BlackHoleState::kBlocked);
  EXPECT_EQ(d.state(BlackHoleDetector::kIpv6), BlackHoleState::kBlocked);
  EXPECT_FALSE(d.Allows(kTcp6));
  BlackHoleOptions off;
  off.enabled = false;
  BlackHoleDetector none(off);
  for (int i = 0; i < 200; ++i) none.RecordResult(kQuic6, false);
  EXPECT_TRUE(none.Allows(kQuic6));
}

}  // namespace
}  // namespace connmgr
