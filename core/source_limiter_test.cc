#include "core/source_limiter.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

IpAddress A(absl::string_view text) { return IpAddress::Parse(text).value(); }
Instant Ms(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

// A SourceLimiter that keeps each admission's charge by address, so a test can release "a
// connection from `ip`" (the last one admitted from it).
class Limiter {
 public:
  explicit Limiter(const SourceLimiterOptions& options) : limiter_(options) {}

  SourceVerdict Admit(const IpAddress& ip, Instant now, bool exempt) {
    SourceLimiter::Charge charge;
    const SourceVerdict verdict = limiter_.Admit(ip, now, exempt, &charge);
    if (!charge.empty()) charges_[ip.Unmapped().ToString()].push_back(std::move(charge));
    return verdict;
  }
  void Release(const IpAddress& ip, Instant now) {
    std::vector<SourceLimiter::Charge>& charges = charges_[ip.Unmapped().ToString()];
    ASSERT_FALSE(charges.empty()) << "no connection from " << ip.ToString();
    limiter_.Release(charges.back(), now);
    charges.pop_back();
  }
  SourceLimiter* operator->() { return &limiter_; }

 private:
  SourceLimiter limiter_;
  std::map<std::string, std::vector<SourceLimiter::Charge>> charges_;
};

SourceLimiterOptions RatesOnly() {
  SourceLimiterOptions o;
  o.per_ip = {5, Duration::Seconds(1), 5};
  o.max_per_ipv4_32 = o.max_per_ipv6_56 = o.max_per_ipv6_48 = 0;
  return o;
}

TEST(SourceLimiterTest, PerIpBucketRefusesTheSixthAndRefillsExactly) {
  Limiter l(RatesOnly());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kRateLimitIp);
  EXPECT_EQ(l.Admit(A("1.2.3.5"), Ms(0), false), SourceVerdict::kAdmit);  // another address
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(199), false), SourceVerdict::kRateLimitIp);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(200), false), SourceVerdict::kAdmit);
}

TEST(SourceLimiterTest, RefusedAttemptsTakeNoToken) {
  Limiter l(RatesOnly());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);
  for (int t = 1; t < 200; ++t)
    ASSERT_NE(l.Admit(A("1.2.3.4"), Ms(t), false), SourceVerdict::kAdmit);
  // js-libp2p and py-libp2p would still be refusing: their refusals count.
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(200), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(200), false), SourceVerdict::kRateLimitIp);
}

TEST(SourceLimiterTest, SubnetAndGlobalBuckets) {
  SourceLimiterOptions o = RatesOnly();
  o.per_ipv4_24 = {2, Duration::Seconds(1), 2};
  o.per_ipv6_48 = {1, Duration::Seconds(1), 1};
  o.global = {4, Duration::Seconds(1), 4};
  Limiter l(o);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("1.2.3.5"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("1.2.3.6"), Ms(0), false), SourceVerdict::kRateLimitSubnet);
  EXPECT_EQ(l.Admit(A("1.2.4.6"), Ms(0), false), SourceVerdict::kAdmit);  // another /24
  EXPECT_EQ(l.Admit(A("2001:db8:0:1::1"), Ms(0), false), SourceVerdict::kAdmit);
  // Same /48, another /56: the /48 bucket is empty. And the global bucket is now too.
  EXPECT_EQ(l.Admit(A("2001:db8:0:2::1"), Ms(0), false), SourceVerdict::kRateLimitSubnet);
  EXPECT_EQ(l.Admit(A("9.9.9.9"), Ms(0), false), SourceVerdict::kRateLimitGlobal);
  EXPECT_EQ(l.Admit(A("9.9.9.9"), Ms(250), false), SourceVerdict::kAdmit);
}

TEST(SourceLimiterTest, ConcurrencyCapsPerAddressAndSubnet) {
  SourceLimiterOptions o;
  o.max_per_ipv4_32 = 2;
  o.max_per_ipv6_56 = 1;
  o.max_per_ipv6_48 = 2;
  Limiter l(o);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("::ffff:1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);  // mapped: same
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kIpConnectionLimit);
  l.Release(A("1.2.3.4"), Ms(0));
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("2001:db8:0:100::1"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("2001:db8:0:1ff::2"), Ms(0), false), SourceVerdict::kIpConnectionLimit);
  EXPECT_EQ(l.Admit(A("2001:db8:0:200::1"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("2001:db8:0:300::1"), Ms(0), false), SourceVerdict::kSubnetConnectionLimit);
  l.Release(A("2001:db8:0:100::1"), Ms(0));
  EXPECT_EQ(l.Admit(A("2001:db8:0:300::1"), Ms(0), false), SourceVerdict::kAdmit);
}

TEST(SourceLimiterTest, AChargeHoldsTheCountedKeysUntilReleasedOnce) {
  SourceLimiterOptions o;
  o.max_per_ipv4_32 = 1;
  o.max_per_ipv6_56 = 1;
  o.max_per_ipv6_48 = 1;
  SourceLimiter l(o);
  SourceLimiter::Charge v4;
  SourceLimiter::Charge v6;
  ASSERT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false, &v4), SourceVerdict::kAdmit);
  ASSERT_EQ(l.Admit(A("2001:db8:0:100::1"), Ms(0), false, &v6), SourceVerdict::kAdmit);
  EXPECT_FALSE(v4.empty());
  EXPECT_FALSE(v6.empty());
  EXPECT_EQ(l.pinned_sources(), 3u);  // the address; the /56 and the /48
  // A refusal charges nothing.
  SourceLimiter::Charge refused;
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false, &refused), SourceVerdict::kIpConnectionLimit);
  EXPECT_TRUE(refused.empty());
  l.Release(v6, Ms(0));  // both IPv6 keys
  EXPECT_TRUE(v6.empty());
  EXPECT_EQ(l.pinned_sources(), 1u);
  l.Release(v6, Ms(0));  // released: nothing left to give back
  l.Release(refused, Ms(0));
  EXPECT_EQ(l.pinned_sources(), 1u);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kIpConnectionLimit);
  // A charge moves with its connection: the one moved from holds nothing.
  SourceLimiter::Charge moved = std::move(v4);
  EXPECT_TRUE(v4.empty());  // NOLINT(bugprone-use-after-move)
  l.Release(v4, Ms(0));
  EXPECT_EQ(l.pinned_sources(), 1u);
  l.Release(moved, Ms(0));
  EXPECT_EQ(l.pinned_sources(), 0u);
  EXPECT_EQ(l.Admit(A("1.2.3.4"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("2001:db8:0:1ff::2"), Ms(0), false), SourceVerdict::kAdmit);
}

TEST(SourceLimiterTest, LoopbackAndExemptAreUnlimitedAndUncounted) {
  SourceLimiterOptions o = RatesOnly();
  o.max_per_ipv4_32 = 1;
  Limiter l(o);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(l.Admit(A("127.0.0.1"), Ms(0), false), SourceVerdict::kAdmit);
    ASSERT_EQ(l.Admit(A("::1"), Ms(0), false), SourceVerdict::kAdmit);
    ASSERT_EQ(l.Admit(A("8.8.8.8"), Ms(0), true), SourceVerdict::kAdmit);
  }
  SourceLimiter::Charge charge;
  ASSERT_EQ(l->Admit(A("127.0.0.1"), Ms(0), false, &charge), SourceVerdict::kAdmit);
  EXPECT_TRUE(charge.empty());
  EXPECT_EQ(l->tracked_sources(), 0u);
}

TEST(SourceLimiterTest, LoopbackIsLimitedWhenAskedTo) {
  SourceLimiterOptions o = RatesOnly();
  o.limit_loopback = true;
  Limiter l(o);
  SourceLimiter::Charge charge;
  ASSERT_EQ(l->Admit(A("127.0.0.2"), Ms(0), false, &charge), SourceVerdict::kAdmit);
  EXPECT_FALSE(charge.empty());
  for (uint32_t i = 1; i < o.per_ip.burst; ++i) {
    ASSERT_EQ(l.Admit(A("127.0.0.2"), Ms(0), false), SourceVerdict::kAdmit) << i;
  }
  EXPECT_EQ(l.Admit(A("127.0.0.2"), Ms(0), false), SourceVerdict::kRateLimitIp);
  EXPECT_EQ(l.Admit(A("127.0.0.3"), Ms(0), false), SourceVerdict::kAdmit);
}

TEST(SourceLimiterTest, NewOptionsApplyToTheNextAdmission) {
  SourceLimiterOptions o = RatesOnly();
  Limiter l(o);
  const IpAddress ip = A("8.8.8.8");
  for (uint32_t i = 0; i < o.per_ip.burst; ++i)
    ASSERT_EQ(l.Admit(ip, Ms(0), false), SourceVerdict::kAdmit);
  ASSERT_EQ(l.Admit(ip, Ms(0), false), SourceVerdict::kRateLimitIp);
  // Same rates, a connection cap: the drained bucket stays drained, the cap applies now.
  o.max_per_ipv4_32 = 1;
  l->SetOptions(o);
  EXPECT_EQ(l.Admit(ip, Ms(0), false), SourceVerdict::kIpConnectionLimit);
  // A changed rate starts its buckets afresh.
  o.max_per_ipv4_32 = 0;
  o.per_ip = {1, Duration::Seconds(60), 1};
  l->SetOptions(o);
  EXPECT_EQ(l.Admit(ip, Ms(1), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(ip, Ms(2), false), SourceVerdict::kRateLimitIp);
}

TEST(SourceLimiterTest, AFewerTrackedSourcesBoundEvictsAtOnce) {
  SourceLimiterOptions o = RatesOnly();
  Limiter l(o);
  for (int i = 0; i < 10; ++i) {
    const IpAddress ip = IpAddress::V4({9, 9, 9, static_cast<uint8_t>(i)});
    l.Admit(ip, Ms(0), false);
    l.Release(ip, Ms(0));
  }
  ASSERT_EQ(l->tracked_sources(), 10u);  // drained buckets, one per address
  o.max_tracked_sources = 4;
  l->SetOptions(o);
  EXPECT_EQ(l->tracked_sources(), 4u);
}

TEST(SourceLimiterTest, AnAdmissionThatEvictsItsOwnSubnetStartsItAfresh) {
  SourceLimiterOptions o = RatesOnly();
  o.per_ipv6_56 = {1, Duration::Seconds(10), 2};
  o.per_ipv6_48 = {1, Duration::Seconds(10), 3};
  o.max_tracked_sources = 2;
  Limiter l(o);
  ASSERT_EQ(l.Admit(A("2001:db8:0:1::1"), Ms(0), false), SourceVerdict::kAdmit);
  l.Release(A("2001:db8:0:1::1"), Ms(0));  // its address, /56 and /48: unpinned, oldest first
  EXPECT_EQ(l->pinned_sources(), 0u);
  // A new address of the same /56: making room for it evicts the first address and the /56
  // (least recently used), which then starts again full; the /48 keeps its count.
  EXPECT_EQ(l.Admit(A("2001:db8:0:1::2"), Ms(0), false), SourceVerdict::kAdmit);
  // The new address (unpinned: addresses count no IPv6 connections), a new /56 and the /48.
  EXPECT_EQ(l->tracked_sources(), 3u);
  EXPECT_EQ(l->pinned_sources(), 2u);
  EXPECT_EQ(l.Admit(A("2001:db8:0:1::3"), Ms(0), false), SourceVerdict::kAdmit);
  EXPECT_EQ(l.Admit(A("2001:db8:0:1::4"), Ms(0), false), SourceVerdict::kRateLimitSubnet);
  EXPECT_EQ(l->pinned_sources(), 2u);  // the /56 and /48 of the two live connections
}

// At the cap, the unpinned key used least recently goes first — by its last admission, not by
// when it was released — round after round as the earlier rounds' keys are forgotten.
TEST(SourceLimiterTest, EvictionIsLeastRecentlyUsedRoundAfterRound) {
  SourceLimiterOptions o = RatesOnly();
  o.per_ip = {1, Duration::Minutes(60), 1};  // one admission drains a bucket for an hour
  o.max_tracked_sources = 4;
  Limiter l(o);
  for (uint8_t round = 0; round < 5; ++round) {
    const Instant t = Ms(int64_t{round} * 2 * 3'600'000);  // every earlier bucket is full again
    auto ip = [&](uint8_t host) { return IpAddress::V4({10, round, 0, host}); };
    // Used in the order 1..5, released out of that order: 5, 3, 1, 4 unpinned, 2 pinned.
    for (uint8_t host = 1; host <= 5; ++host) {
      ASSERT_EQ(l.Admit(ip(host), t, false), SourceVerdict::kAdmit) << int{round};
    }
    for (uint8_t host : {5, 3, 1, 4}) l.Release(ip(host), t);
    ASSERT_EQ(l->pinned_sources(), 1u) << int{round};
    // A sixth source makes room by evicting the least recently used unpinned key: 1.
    ASSERT_EQ(l.Admit(ip(6), t, false), SourceVerdict::kAdmit);
    l.Release(ip(6), t);  // 5, 3, 4, 6 unpinned
    EXPECT_EQ(l.Admit(ip(3), t, false), SourceVerdict::kRateLimitIp) << int{round};
    EXPECT_EQ(l.Admit(ip(1), t, false), SourceVerdict::kAdmit) << int{round};  // afresh
    // Admitting 1 again evicted the next least recently used: 3 (refusals do not count).
    EXPECT_EQ(l.Admit(ip(4), t, false), SourceVerdict::kRateLimitIp) << int{round};
    EXPECT_EQ(l.Admit(ip(3), t, false), SourceVerdict::kAdmit) << int{round};
    for (uint8_t host : {1, 2, 3}) l.Release(ip(host), t);
  }
}

TEST(SourceLimiterTest, FullBucketsAreForgotten) {
  Limiter l(RatesOnly());
  for (int i = 0; i < 10; ++i) {
    const IpAddress ip = IpAddress::V4({1, 1, 1, static_cast<uint8_t>(i)});
    l.Admit(ip, Ms(0), false);
    l.Release(ip, Ms(0));  // no live connection: only the drained bucket keeps it
  }
  EXPECT_EQ(l->tracked_sources(), 10u);
  // One token each was taken: full again after 200 ms. Each Admit forgets a few.
  for (int i = 0; i < 3; ++i) l.Admit(A("127.0.0.1"), Ms(200), false);
  l.Admit(A("2.2.2.2"), Ms(200), false);
  EXPECT_EQ(l->tracked_sources(), 1u);  // 10 forgotten, 2.2.2.2 tracked
}

TEST(SourceLimiterTest, AKeyReleasedWithAFullBucketIsForgottenAtOnce) {
  SourceLimiterOptions o = RatesOnly();
  o.max_per_ipv4_32 = 1;
  Limiter l(o);
  ASSERT_EQ(l.Admit(A("1.1.1.1"), Ms(0), false), SourceVerdict::kAdmit);
  ASSERT_EQ(l.Admit(A("2.2.2.2"), Ms(0), false), SourceVerdict::kAdmit);
  ASSERT_EQ(l->pinned_sources(), 2u);
  // One token each, taken at 0: full again at 200 ms.
  l.Release(A("1.1.1.1"), Ms(199));  // still drained: kept, unpinned
  l.Release(A("2.2.2.2"), Ms(200));  // full: the same as an absent key, forgotten
  EXPECT_EQ(l->tracked_sources(), 1u);
  EXPECT_EQ(l->pinned_sources(), 0u);
  // The forgotten key starts again full and counting nothing.
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(l.Admit(A("2.2.2.2"), Ms(200), false), SourceVerdict::kAdmit) << i;
    l.Release(A("2.2.2.2"), Ms(200));
  }
  EXPECT_EQ(l.Admit(A("2.2.2.2"), Ms(200), false), SourceVerdict::kRateLimitIp);
}

TEST(SourceLimiterTest, AMillionSourcesStayBoundedAndPinnedStateSurvives) {
  SourceLimiterOptions o = RatesOnly();
  o.per_ip = {1, Duration::Minutes(60), 1};  // buckets stay partly drained through the flood
  o.max_tracked_sources = 1'000;
  Limiter l(o);
  // An established peer: admitted (pinned by its live connection), bucket drained.
  ASSERT_EQ(l.Admit(A("8.8.8.8"), Ms(0), false), SourceVerdict::kAdmit);
  for (uint32_t i = 0; i < 1'000'000; ++i) {
    const IpAddress flood = IpAddress::V4(
        {20, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)});
    ASSERT_EQ(l.Admit(flood, Ms(1 + i / 1000), false), SourceVerdict::kAdmit);
    l.Release(flood, Ms(1 + i / 1000));
  }
  EXPECT_EQ(l->tracked_sources(), 1'001u);  // 1000 unpinned + the pinned peer
  EXPECT_EQ(l->pinned_sources(), 1u);
  EXPECT_LT(l->memory_bytes(), 512u * 1024);
  EXPECT_EQ(l.Admit(A("8.8.8.8"), Ms(1'000), false), SourceVerdict::kRateLimitIp);
}

}  // namespace
}  // namespace connmgr
