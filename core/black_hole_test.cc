#include "core/black_hole.h"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }

constexpr char kRelay[] = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
constexpr char kTarget[] = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

const Multiaddr kQuic4 = Addr("/ip4/1.2.3.4/udp/1/quic-v1");
const Multiaddr kTcp4 = Addr("/ip4/1.2.3.4/tcp/1");
const Multiaddr kTcp6 = Addr("/ip6/2001:db8::1/tcp/1");
const Multiaddr kQuic6 = Addr("/ip6/2001:db8::1/udp/1/quic-v1");

constexpr BlackHoleClass kUdp = BlackHoleClass::kUdp;
constexpr BlackHoleClass kIpv6 = BlackHoleClass::kIpv6;
constexpr BlackHoleState kProbing = BlackHoleState::kProbing;
constexpr BlackHoleState kAllowed = BlackHoleState::kAllowed;
constexpr BlackHoleState kBlocked = BlackHoleState::kBlocked;

BlackHoleFilter Allowed() { return BlackHoleFilter{true, false, std::nullopt}; }
BlackHoleFilter Probe() { return BlackHoleFilter{true, true, std::nullopt}; }
BlackHoleFilter Refused(BlackHoleClass c) { return BlackHoleFilter{false, false, c}; }

void Fail(BlackHoleDetector& d, const Multiaddr& a, int times) {
  for (int i = 0; i < times; ++i) d.RecordResult(a, false);
}

TEST(BlackHoleTest, AddressClasses) {
  struct Case {
    std::string address;
    bool udp;
    bool ipv6;
  };
  const std::vector<Case> cases = {
      {"/ip4/1.2.3.4/udp/1/quic-v1", true, false},
      {"/ip4/1.2.3.4/udp/1/webrtc-direct", true, false},
      {"/ip4/1.2.3.4/tcp/1", false, false},
      {"/ip6/2001:db8::1/tcp/1", false, true},
      {"/ip6/2001:db8::1/udp/1/quic-v1", true, true},
      {"/ip6/2001:db8::1/udp/1/quic-v1/webtransport", true, true},
      {"/ip6/::ffff:1.2.3.4/udp/1/quic-v1", true, false},  // IPv4-mapped: goes over IPv4
      {"/ip4/192.168.1.1/udp/1/quic-v1", false, false},
      {"/ip4/10.0.0.1/udp/1/quic-v1", false, false},
      {"/ip4/127.0.0.1/udp/1/quic-v1", false, false},
      {"/ip6/::1/udp/1/quic-v1", false, false},
      {"/ip6/fe80::1/tcp/1", false, false},
      {"/ip6/fd00::1/udp/1/quic-v1", false, false},
      {"/ip6/::ffff:192.168.1.1/udp/1/quic-v1", false, false},
      {"/dns4/example.com/udp/1/quic-v1", false, false},
      {"/dns6/example.com/tcp/1", false, false},
      {absl::StrCat("/ip6/2001:db8::1/udp/1/quic-v1/p2p/", kRelay, "/p2p-circuit/p2p/", kTarget),
       false, false},
  };
  for (const Case& c : cases) {
    const Multiaddr a = Addr(c.address);
    EXPECT_EQ(BlackHoleDetector::InClass(a, kUdp), c.udp) << c.address;
    EXPECT_EQ(BlackHoleDetector::InClass(a, kIpv6), c.ipv6) << c.address;
  }
}

TEST(BlackHoleTest, HundredFailuresBlockThenEveryHundredthRequestIsAProbe) {
  BlackHoleDetector d(BlackHoleOptions{});
  for (int request = 1; request <= 99; ++request) {
    ASSERT_EQ(d.Filter(kQuic4), Allowed()) << request;
    d.RecordResult(kQuic4, false);
    ASSERT_EQ(d.state(kUdp), kProbing) << request;
  }
  EXPECT_EQ(d.Filter(kQuic4), Allowed());  // request 100
  d.RecordResult(kQuic4, false);
  EXPECT_EQ(d.state(kUdp), kBlocked);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{100, 0, 100}));

  std::vector<int> probes;
  for (int request = 101; request <= 450; ++request) {
    const BlackHoleFilter f = d.Filter(kQuic4);
    if (f.allowed) {
      EXPECT_EQ(f, Probe()) << request;
      probes.push_back(request);
    } else {
      EXPECT_EQ(f, Refused(kUdp)) << request;
    }
  }
  EXPECT_EQ(probes, (std::vector<int>{200, 300, 400}));
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{100, 0, 450}));

  // Other classes and addresses are unaffected.
  EXPECT_EQ(d.Filter(kTcp4), Allowed());
  EXPECT_EQ(d.Filter(kTcp6), Allowed());
  EXPECT_EQ(d.Filter(Addr("/ip4/192.168.1.1/udp/1/quic-v1")), Allowed());
  EXPECT_EQ(d.state(kIpv6), kProbing);
  EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{0, 0, 1}));
  EXPECT_EQ(d.counts(kUdp).requests, 450u);
}

TEST(BlackHoleTest, ProbesAreNumberedFromTheStartNotFromBlocking) {
  BlackHoleDetector d(BlackHoleOptions{});
  Fail(d, kQuic4, 100);  // blocked without any request asked
  ASSERT_EQ(d.state(kUdp), kBlocked);
  std::vector<int> allowed;
  for (int request = 1; request <= 250; ++request) {
    if (d.Allows(kQuic4)) allowed.push_back(request);
  }
  EXPECT_EQ(allowed, (std::vector<int>{100, 200}));
}

TEST(BlackHoleTest, OneSuccessWhileBlockedReopensAndTheWindowStartsOver) {
  BlackHoleDetector d(BlackHoleOptions{});
  Fail(d, kQuic4, 100);
  for (int request = 1; request <= 100; ++request) d.Filter(kQuic4);
  ASSERT_EQ(d.state(kUdp), kBlocked);

  d.RecordResult(kQuic4, false);  // a failed probe: the window slides, still blocked
  EXPECT_EQ(d.state(kUdp), kBlocked);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{100, 0, 100}));

  d.RecordResult(kQuic4, true);  // a successful probe resets the class
  EXPECT_EQ(d.state(kUdp), kProbing);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{0, 0, 0}));
  for (int request = 1; request <= 99; ++request) {
    ASSERT_EQ(d.Filter(kQuic4), Allowed()) << request;
    d.RecordResult(kQuic4, false);
    ASSERT_EQ(d.state(kUdp), kProbing) << request;
  }
  d.RecordResult(kQuic4, false);  // the window is full again
  EXPECT_EQ(d.state(kUdp), kBlocked);
  EXPECT_EQ(d.Filter(kQuic4), Probe());  // request 100 since the reset
  EXPECT_EQ(d.Filter(kQuic4), Refused(kUdp));
}

TEST(BlackHoleTest, SuccessesOutsideTheBlockedStateEnterTheWindow) {
  BlackHoleDetector d(BlackHoleOptions{});
  Fail(d, kTcp6, 50);
  d.RecordResult(kTcp6, true);  // probing: no reset
  EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{51, 1, 0}));
  EXPECT_EQ(d.state(kIpv6), kProbing);
}

TEST(BlackHoleTest, FiveSuccessesInTheWindowKeepItOpenFourDoNot) {
  {
    BlackHoleDetector d(BlackHoleOptions{});
    for (int i = 0; i < 5; ++i) d.RecordResult(kTcp6, true);
    Fail(d, kTcp6, 94);
    EXPECT_EQ(d.state(kIpv6), kProbing);  // 99 results
    d.RecordResult(kTcp6, false);
    EXPECT_EQ(d.state(kIpv6), kAllowed);
    EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{100, 5, 0}));
    EXPECT_EQ(d.Filter(kTcp6), Allowed());

    d.RecordResult(kTcp6, false);  // the oldest success slides out: 4 left
    EXPECT_EQ(d.state(kIpv6), kBlocked);
    EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{100, 4, 1}));
    EXPECT_EQ(d.Filter(kTcp6), Refused(kIpv6));
    EXPECT_EQ(d.state(kUdp), kProbing);
  }
  {
    BlackHoleDetector d(BlackHoleOptions{});
    for (int i = 0; i < 4; ++i) d.RecordResult(kTcp6, true);
    Fail(d, kTcp6, 96);
    EXPECT_EQ(d.state(kIpv6), kBlocked);
    EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{100, 4, 0}));
  }
  {
    // Allowed and blocked alternate as results slide: the fifth success re-allows.
    BlackHoleDetector d(BlackHoleOptions{});
    Fail(d, kTcp6, 95);
    for (int i = 0; i < 5; ++i) d.RecordResult(kTcp6, true);
    EXPECT_EQ(d.state(kIpv6), kAllowed);
    Fail(d, kTcp6, 95);  // the 5 successes are now the oldest results
    EXPECT_EQ(d.state(kIpv6), kAllowed);
    d.RecordResult(kTcp6, false);
    EXPECT_EQ(d.state(kIpv6), kBlocked);
  }
}

TEST(BlackHoleTest, PrivateRelayedAndNameAddressesAreNeverCountedNorBlocked) {
  BlackHoleDetector d(BlackHoleOptions{});
  Fail(d, kQuic6, 100);
  ASSERT_EQ(d.state(kUdp), kBlocked);
  ASSERT_EQ(d.state(kIpv6), kBlocked);
  const std::vector<Multiaddr> uncounted = {
      Addr("/ip4/192.168.1.1/udp/1/quic-v1"),
      Addr("/ip4/127.0.0.1/udp/1/quic-v1"),
      Addr("/ip6/::1/udp/1/quic-v1"),
      Addr("/ip6/fe80::1/tcp/1"),
      Addr("/ip6/fd00::1/udp/1/quic-v1"),
      Addr("/dns6/example.com/udp/1/quic-v1"),
      Addr(absl::StrCat("/ip6/2001:db8::1/udp/1/quic-v1/p2p/", kRelay, "/p2p-circuit/p2p/",
                        kTarget)),
  };
  for (const Multiaddr& a : uncounted) {
    for (int i = 0; i < 150; ++i) EXPECT_EQ(d.Filter(a), Allowed()) << a.ToString();
    d.RecordResult(a, true);  // would reset a blocked class if it counted
    d.RecordResult(a, false);
  }
  EXPECT_EQ(d.state(kUdp), kBlocked);
  EXPECT_EQ(d.state(kIpv6), kBlocked);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{100, 0, 0}));
  EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{100, 0, 0}));
}

TEST(BlackHoleTest, Ipv6UdpCountsInBothClasses) {
  BlackHoleDetector d(BlackHoleOptions{});
  Fail(d, kQuic6, 100);
  EXPECT_EQ(d.state(kUdp), kBlocked);
  EXPECT_EQ(d.state(kIpv6), kBlocked);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{100, 0, 0}));
  EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{100, 0, 0}));

  EXPECT_EQ(d.Filter(kQuic6), Refused(kUdp));  // both refuse: UDP is named; udp 1, ipv6 1
  EXPECT_EQ(d.Filter(kTcp6), Refused(kIpv6));  // ipv6 2
  EXPECT_EQ(d.Filter(kQuic4), Refused(kUdp));  // udp 2
  EXPECT_EQ(d.Filter(kTcp4), Allowed());
  EXPECT_EQ(d.counts(kUdp).requests, 2u);
  EXPECT_EQ(d.counts(kIpv6).requests, 2u);

  d.RecordResult(kQuic4, true);  // re-opens UDP only
  EXPECT_EQ(d.state(kUdp), kProbing);
  EXPECT_EQ(d.state(kIpv6), kBlocked);
  d.RecordResult(kQuic6, true);  // re-opens IPv6; UDP (probing) records it
  EXPECT_EQ(d.state(kIpv6), kProbing);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{1, 1, 0}));
  EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{0, 0, 0}));
}

TEST(BlackHoleTest, AProbingOrProbedClassLetsAnAddressInBothThrough) {
  BlackHoleDetector d(BlackHoleOptions{});
  Fail(d, kTcp6, 100);  // IPv6 blocked, UDP still probing
  ASSERT_EQ(d.state(kIpv6), kBlocked);
  ASSERT_EQ(d.state(kUdp), kProbing);
  EXPECT_EQ(d.Filter(kQuic6), Probe());        // UDP probing lets it through; ipv6 request 1
  EXPECT_EQ(d.Filter(kTcp6), Refused(kIpv6));  // ipv6 request 2

  // UDP allowed: an IPv6 UDP address now follows the IPv6 class, probes included.
  for (int i = 0; i < 100; ++i) d.RecordResult(kQuic4, true);
  ASSERT_EQ(d.state(kUdp), kAllowed);
  std::vector<int> allowed;
  for (int request = 3; request <= 200; ++request) {
    const BlackHoleFilter f = d.Filter(kQuic6);
    if (f.allowed) {
      EXPECT_EQ(f, Probe());
      allowed.push_back(request);
    } else {
      EXPECT_EQ(f, Refused(kIpv6));
    }
  }
  EXPECT_EQ(allowed, (std::vector<int>{100, 200}));

  // UDP blocked and IPv6 at its probe: the probe lets the address through.
  BlackHoleDetector both(BlackHoleOptions{});
  Fail(both, kQuic4, 100);                          // UDP: blocked, 0 requests
  Fail(both, kTcp6, 100);                           // IPv6: blocked, 0 requests
  for (int i = 0; i < 99; ++i) both.Filter(kTcp6);  // IPv6 at 99 requests
  EXPECT_EQ(both.Filter(kQuic6), Probe());          // UDP request 1 refuses, IPv6 100 probes
  EXPECT_EQ(both.Filter(kQuic6), Refused(kUdp));
}

TEST(BlackHoleTest, WindowMinSuccessesAndProbeIntervalAreIndependent) {
  BlackHoleOptions options;
  options.window = 10;
  options.min_successes = 2;
  options.probe_interval = 3;
  BlackHoleDetector d(options);
  for (int request = 1; request <= 10; ++request) {
    ASSERT_TRUE(d.Allows(kQuic4));
    d.RecordResult(kQuic4, false);
  }
  ASSERT_EQ(d.state(kUdp), kBlocked);
  std::vector<int> allowed;
  for (int request = 11; request <= 20; ++request) {
    if (d.Allows(kQuic4)) allowed.push_back(request);
  }
  EXPECT_EQ(allowed, (std::vector<int>{12, 15, 18}));

  d.RecordResult(kQuic4, true);  // resets: not counted in the window
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{0, 0, 0}));
  d.RecordResult(kQuic4, true);
  d.RecordResult(kQuic4, true);
  Fail(d, kQuic4, 7);
  EXPECT_EQ(d.state(kUdp), kProbing);  // 9 results
  d.RecordResult(kQuic4, false);
  EXPECT_EQ(d.state(kUdp), kAllowed);  // 2 of 10
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{10, 2, 0}));
  d.RecordResult(kQuic4, false);
  EXPECT_EQ(d.state(kUdp), kBlocked);  // 1 of 10
}

// Checks the ring against a plain deque over long runs, across word boundaries and wraps.
TEST(BlackHoleTest, RingMatchesAPlainModel) {
  for (uint32_t window : {1u, 3u, 63u, 64u, 65u, 130u}) {
    BlackHoleOptions options;
    options.window = window;
    options.min_successes = (window + 2) / 3;
    BlackHoleDetector d(options);
    std::deque<bool> model;
    uint64_t x = 12345;
    for (int step = 0; step < 2000; ++step) {
      x = x * 6364136223846793005u + 1442695040888963407u;
      const bool success = (x >> 60) < 3;  // about 3 in 16
      const bool was_blocked = d.state(kUdp) == kBlocked;
      d.RecordResult(kQuic4, success);
      if (was_blocked && success) {
        model.clear();
      } else {
        model.push_back(success);
        if (model.size() > window) model.pop_front();
      }
      uint32_t successes = 0;
      for (bool s : model) successes += s;
      const BlackHoleState expected = model.size() < window                ? kProbing
                                      : successes >= options.min_successes ? kAllowed
                                                                           : kBlocked;
      ASSERT_EQ(d.state(kUdp), expected) << "window " << window << " step " << step;
      ASSERT_EQ(d.counts(kUdp),
                (BlackHoleCounts{static_cast<uint32_t>(model.size()), successes, 0}))
          << "window " << window << " step " << step;
    }
  }
}

TEST(BlackHoleTest, DisabledAllowsEverythingAndCountsNothing) {
  BlackHoleOptions off;
  off.enabled = false;
  BlackHoleDetector d(off);
  Fail(d, kQuic6, 200);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(d.Filter(kQuic6), Allowed());
  EXPECT_EQ(d.state(kUdp), kProbing);
  EXPECT_EQ(d.state(kIpv6), kProbing);
  EXPECT_EQ(d.counts(kUdp), (BlackHoleCounts{0, 0, 0}));
  EXPECT_EQ(d.counts(kIpv6), (BlackHoleCounts{0, 0, 0}));
}

TEST(BlackHoleTest, ZeroOptionsCountAsOne) {
  BlackHoleOptions options;
  options.window = 0;
  options.min_successes = 1;
  options.probe_interval = 0;
  BlackHoleDetector d(options);
  d.RecordResult(kQuic4, false);
  EXPECT_EQ(d.state(kUdp), kBlocked);
  EXPECT_EQ(d.Filter(kQuic4), Probe());  // every request is a probe
  EXPECT_EQ(d.Filter(kQuic4), Probe());
}

TEST(BlackHoleTest, Names) {
  EXPECT_EQ(BlackHoleClassName(kUdp), "udp");
  EXPECT_EQ(BlackHoleClassName(kIpv6), "ipv6");
  EXPECT_EQ(BlackHoleStateName(kProbing), "probing");
  EXPECT_EQ(BlackHoleStateName(kAllowed), "allowed");
  EXPECT_EQ(BlackHoleStateName(kBlocked), "blocked");
}

}  // namespace
}  // namespace connmgr
