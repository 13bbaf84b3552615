#include "core/dial_backoff.h"

#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view t) { return Multiaddr::Parse(t).value(); }
const PeerId kAlice = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
const PeerId kBob = PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value();
Instant S(int64_t s) { return Instant::FromNanoseconds(s * 1'000'000'000); }

TEST(DialBackoffTest, ScheduleAfterOneToTwentyFailures) {
  DialBackoff b(DialBackoffOptions{});
  std::vector<int64_t> seconds;
  for (uint32_t n = 1; n <= 20; ++n) seconds.push_back(b.BackoffAfter(n).nanoseconds() / 1'000'000'000);
  EXPECT_EQ(seconds, (std::vector<int64_t>{5, 6, 9, 14, 21, 30, 41, 54, 69, 86, 105, 126, 149,
                                           174, 201, 230, 261, 294, 300, 300}));
}

TEST(DialBackoffTest, ExactEndAndGrowingFailures) {
  DialBackoff b(DialBackoffOptions{});
  const Multiaddr a = Addr("/ip4/1.2.3.4/tcp/1");
  b.RecordFailure(kAlice, a, S(100));
  EXPECT_TRUE(b.IsBackedOff(kAlice, a, S(105) - Duration::Nanoseconds(1)));
  EXPECT_FALSE(b.IsBackedOff(kAlice, a, S(105)));
  b.RecordFailure(kAlice, a, S(105));
  EXPECT_EQ(b.BackedOffUntil(kAlice, a), S(111));
  EXPECT_FALSE(b.IsBackedOff(kAlice, Addr("/ip4/1.2.3.4/tcp/2"), S(105)));  // another address
  EXPECT_FALSE(b.IsBackedOff(kBob, a, S(105)));                            // another peer
}

TEST(DialBackoffTest, ClearPeerExpireAndBound) {
  DialBackoffOptions o;
  o.max_entries = 2;
  DialBackoff b(o);
  b.RecordFailure(kAlice, Addr("/ip4/1.1.1.1/tcp/1"), S(0));
  b.RecordFailure(kAlice, Addr("/ip4/1.1.1.1/tcp/2"), S(1));
  b.RecordFailure(kBob, Addr("/ip4/1.1.1.1/tcp/3"), S(2));  // full: tcp/1 (ends first) goes
  EXPECT_EQ(b.size(), 2u);
  EXPECT_FALSE(b.IsBackedOff(kAlice, Addr("/ip4/1.1.1.1/tcp/1"), S(2)));
  EXPECT_TRUE(b.IsBackedOff(kAlice, Addr("/ip4/1.1.1.1/tcp/2"), S(2)));
  b.ClearPeer(kAlice);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.NextExpiry(), S(2 + 5 + 300));
  b.Expire(S(306));
  EXPECT_EQ(b.size(), 1u);
  b.Expire(S(307));
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.NextExpiry(), Instant::Never());
}

}  // namespace
}  // namespace connmgr
