#include "core/dial_backoff.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }

const PeerId kAlice = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
const PeerId kBob = PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value();
const Multiaddr kTcp1 = Addr("/ip4/1.2.3.4/tcp/1");
const Multiaddr kTcp2 = Addr("/ip4/1.2.3.4/tcp/2");
const Multiaddr kTcp3 = Addr("/ip4/1.2.3.4/tcp/3");
const Multiaddr kQuic = Addr("/ip4/1.2.3.4/udp/1/quic-v1");

constexpr int64_t kSecond = 1'000'000'000;
Instant At(int64_t seconds) { return Instant::FromNanoseconds(seconds * kSecond); }
constexpr Duration kNs = Duration::Nanoseconds(1);

// go-libp2p's defaults: 5 s + 1 s × (n − 1)², capped at 300 s (reached at the 19th failure).
const std::vector<int64_t> kDefaultScheduleSeconds = {
    5, 6, 9, 14, 21, 30, 41, 54, 69, 86, 105, 126, 149, 174, 201, 230, 261, 294, 300, 300};

TEST(DialBackoffTest, ScheduleAfterOneToTwentyFailures) {
  DialBackoff backoff(DialBackoffOptions{});
  std::vector<int64_t> formula;
  std::vector<int64_t> recorded;
  Instant now = At(1000);
  for (uint32_t n = 1; n <= 20; ++n) {
    formula.push_back(backoff.BackoffAfter(n).nanoseconds());
    backoff.RecordFailure(kAlice, kTcp1, now);  // each failure right when the last backoff ends
    EXPECT_EQ(backoff.Failures(kAlice, kTcp1), n);
    recorded.push_back((backoff.BackedOffUntil(kAlice, kTcp1) - now).nanoseconds());
    now = backoff.BackedOffUntil(kAlice, kTcp1);
  }
  std::vector<int64_t> expected;
  expected.reserve(kDefaultScheduleSeconds.size());
  for (int64_t s : kDefaultScheduleSeconds) expected.push_back(s * kSecond);
  EXPECT_EQ(formula, expected);
  EXPECT_EQ(recorded, expected);
  EXPECT_EQ(backoff.size(), 1u);
  EXPECT_EQ(backoff.BackoffAfter(0), Duration::Zero());
}

TEST(DialBackoffTest, HugeFailureCountsSaturateAtMax) {
  DialBackoff backoff(DialBackoffOptions{});
  EXPECT_EQ(backoff.BackoffAfter(std::numeric_limits<uint32_t>::max()), Duration::Minutes(5));
  EXPECT_EQ(backoff.BackoffAfter(3'037'000'500), Duration::Minutes(5));  // (n−1)² ~ int64 max
}

TEST(DialBackoffTest, BackedOffUpToOneNanosecondBeforeUntil) {
  DialBackoff backoff(DialBackoffOptions{});
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp1, At(100)));
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), DialBackoff::kNotBackedOff);
  EXPECT_EQ(backoff.Failures(kAlice, kTcp1), 0u);

  backoff.RecordFailure(kAlice, kTcp1, At(100));
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(105));
  EXPECT_TRUE(backoff.IsBackedOff(kAlice, kTcp1, At(100)));
  EXPECT_TRUE(backoff.IsBackedOff(kAlice, kTcp1, At(105) - kNs));
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp1, At(105)));
  // Past its end the entry stays, so the next failure escalates.
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(105));
  backoff.RecordFailure(kAlice, kTcp1, At(200));
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(206));
  EXPECT_TRUE(backoff.IsBackedOff(kAlice, kTcp1, At(206) - kNs));
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp1, At(206)));
}

TEST(DialBackoffTest, FailureWhileBackedOffEscalatesFromNow) {
  DialBackoff backoff(DialBackoffOptions{});
  backoff.RecordFailure(kAlice, kTcp1, At(0));
  backoff.RecordFailure(kAlice, kTcp1, At(2));  // e.g. an attempt begun before the first failed
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(8));
  EXPECT_EQ(backoff.Failures(kAlice, kTcp1), 2u);
}

TEST(DialBackoffTest, AddressesAndPeersAreIndependent) {
  DialBackoff backoff(DialBackoffOptions{});
  backoff.RecordFailure(kAlice, kTcp1, At(0));
  backoff.RecordFailure(kAlice, kTcp1, At(5));  // 6 s
  backoff.RecordFailure(kAlice, kQuic, At(5));  // 5 s
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(11));
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kQuic), At(10));
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp2, At(5)));
  EXPECT_FALSE(backoff.IsBackedOff(kBob, kTcp1, At(5)));
  // The /p2p/ suffix makes another address: pairs match on the exact binary form.
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp1.WithPeerId(kAlice), At(5)));
  EXPECT_EQ(backoff.size(), 2u);
}

TEST(DialBackoffTest, ClearPeerForgetsOnlyThatPeer) {
  DialBackoff backoff(DialBackoffOptions{});
  backoff.RecordFailure(kAlice, kTcp1, At(0));
  backoff.RecordFailure(kAlice, kTcp1, At(5));
  backoff.RecordFailure(kAlice, kTcp2, At(0));
  backoff.RecordFailure(kBob, kTcp1, At(0));
  EXPECT_EQ(backoff.size(), 3u);
  EXPECT_EQ(backoff.NextExpiry(), At(5 + 300));  // Alice's tcp/2 and Bob's: recorded at 0

  backoff.ClearPeer(kAlice);
  EXPECT_EQ(backoff.size(), 1u);
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp1, At(6)));
  EXPECT_FALSE(backoff.IsBackedOff(kAlice, kTcp2, At(1)));
  EXPECT_EQ(backoff.Failures(kAlice, kTcp1), 0u);
  EXPECT_TRUE(backoff.IsBackedOff(kBob, kTcp1, At(1)));
  EXPECT_EQ(backoff.NextExpiry(), At(5 + 300));

  backoff.ClearPeer(kAlice);  // nothing left: no-op
  EXPECT_EQ(backoff.size(), 1u);
  // The count starts over.
  backoff.RecordFailure(kAlice, kTcp1, At(20));
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(25));
}

TEST(DialBackoffTest, WhenFullTheEntryEndingSoonestIsEvicted) {
  DialBackoffOptions options;
  options.max_entries = 3;
  DialBackoff backoff(options);
  backoff.RecordFailure(kAlice, kTcp1, At(0));
  backoff.RecordFailure(kAlice, kTcp1, At(5));  // until 11
  backoff.RecordFailure(kAlice, kTcp2, At(4));  // until 9
  backoff.RecordFailure(kBob, kTcp1, At(6));    // until 11, recorded after Alice's tcp/1
  ASSERT_EQ(backoff.size(), 3u);

  auto held = [&]() {
    std::vector<std::pair<const PeerId*, const Multiaddr*>> out;
    for (const PeerId* peer : {&kAlice, &kBob}) {
      for (const Multiaddr* address : {&kTcp1, &kTcp2, &kTcp3, &kQuic}) {
        if (backoff.Failures(*peer, *address) > 0) out.emplace_back(peer, address);
      }
    }
    return out;
  };
  using Held = std::vector<std::pair<const PeerId*, const Multiaddr*>>;

  backoff.RecordFailure(kBob, kTcp2, At(7));  // until 12; evicts Alice tcp/2 (until 9)
  EXPECT_EQ(held(), (Held{{&kAlice, &kTcp1}, {&kBob, &kTcp1}, {&kBob, &kTcp2}}));
  backoff.RecordFailure(kBob, kTcp3, At(7));  // tie at 11: Alice's tcp/1 was recorded first
  EXPECT_EQ(held(), (Held{{&kBob, &kTcp1}, {&kBob, &kTcp2}, {&kBob, &kTcp3}}));
  EXPECT_EQ(backoff.size(), 3u);

  // Re-recording an existing pair evicts nothing and moves it back in the order.
  backoff.RecordFailure(kBob, kTcp1, At(11));  // until 17
  EXPECT_EQ(backoff.size(), 3u);
  backoff.RecordFailure(kAlice, kQuic, At(11));  // evicts Bob tcp/2 (until 12, before tcp/3's 12)
  EXPECT_EQ(held(), (Held{{&kAlice, &kQuic}, {&kBob, &kTcp1}, {&kBob, &kTcp3}}));
  EXPECT_EQ(backoff.BackedOffUntil(kBob, kTcp3), At(12));
  EXPECT_EQ(backoff.BackedOffUntil(kBob, kTcp1), At(17));
}

TEST(DialBackoffTest, OneEntryBoundEvictsTheSamePeersOtherAddress) {
  DialBackoffOptions options;
  options.max_entries = 1;
  DialBackoff backoff(options);
  backoff.RecordFailure(kAlice, kTcp1, At(0));
  backoff.RecordFailure(kAlice, kTcp2, At(0));
  EXPECT_EQ(backoff.size(), 1u);
  EXPECT_EQ(backoff.Failures(kAlice, kTcp1), 0u);
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp2), At(5));
  backoff.ClearPeer(kAlice);
  EXPECT_EQ(backoff.size(), 0u);
}

TEST(DialBackoffTest, ExpireForgetsEntriesMaxAfterTheirBackoffEnds) {
  DialBackoff backoff(DialBackoffOptions{});
  EXPECT_EQ(backoff.NextExpiry(), Instant::Never());
  backoff.RecordFailure(kAlice, kTcp1, At(0));   // until 5
  backoff.RecordFailure(kAlice, kTcp1, At(10));  // until 16
  backoff.RecordFailure(kBob, kTcp1, At(8));     // until 13
  EXPECT_EQ(backoff.NextExpiry(), At(13 + 300));

  backoff.Expire(At(313) - kNs);
  EXPECT_EQ(backoff.size(), 2u);
  backoff.Expire(At(313));
  EXPECT_EQ(backoff.size(), 1u);
  EXPECT_EQ(backoff.Failures(kBob, kTcp1), 0u);
  EXPECT_EQ(backoff.NextExpiry(), At(16 + 300));

  // Until it is forgotten, a failure escalates: the third failure waits 9 s.
  backoff.RecordFailure(kAlice, kTcp1, At(316) - kNs);
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(325) - kNs);
  EXPECT_EQ(backoff.NextExpiry(), At(625) - kNs);
  backoff.Expire(At(625) - kNs);
  EXPECT_EQ(backoff.size(), 0u);
  EXPECT_EQ(backoff.NextExpiry(), Instant::Never());
  // Forgotten: the count starts over.
  backoff.RecordFailure(kAlice, kTcp1, At(700));
  EXPECT_EQ(backoff.BackedOffUntil(kAlice, kTcp1), At(705));
}

TEST(DialBackoffTest, ExpireRemovesEverythingDueAtOnce) {
  DialBackoff backoff(DialBackoffOptions{});
  for (int64_t s = 0; s < 10; ++s) {
    backoff.RecordFailure(kAlice, Addr("/ip4/1.2.3.4/tcp/" + std::to_string(100 + s)), At(s));
  }
  backoff.Expire(At(5 + 4 + 300));  // entries recorded at 0..4 end at 5..9
  EXPECT_EQ(backoff.size(), 5u);
  EXPECT_EQ(backoff.NextExpiry(), At(10 + 300));
}

TEST(DialBackoffTest, CustomOptions) {
  DialBackoffOptions options;
  options.base = Duration::Milliseconds(100);
  options.step = Duration::Milliseconds(50);
  options.max = Duration::Seconds(1);
  DialBackoff backoff(options);
  std::vector<int64_t> ms;
  for (uint32_t n = 1; n <= 6; ++n) ms.push_back(backoff.BackoffAfter(n).nanoseconds() / 1'000'000);
  EXPECT_EQ(ms, (std::vector<int64_t>{100, 150, 300, 550, 900, 1000}));

  DialBackoffOptions flat;
  flat.step = Duration::Zero();
  EXPECT_EQ(DialBackoff(flat).BackoffAfter(1000), Duration::Seconds(5));

  DialBackoffOptions inverted;  // base above max: the cap still holds
  inverted.base = Duration::Minutes(10);
  EXPECT_EQ(DialBackoff(inverted).BackoffAfter(1), Duration::Minutes(5));

  DialBackoffOptions negative;
  negative.base = Duration::Seconds(-5);
  negative.step = Duration::Seconds(-1);
  EXPECT_EQ(DialBackoff(negative).BackoffAfter(3), Duration::Zero());
}

}  // namespace
}  // namespace connmgr
