#include "core/token_bucket.h"

#include <cstdint>

#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

Instant Ns(int64_t ns) { return Instant::FromNanoseconds(ns); }
constexpr int64_t kSecond = 1'000'000'000;

TEST(TokenBucketTest, FivePerSecondRefillsAtExactInstants) {
  TokenBucket b(RateLimit{5, Duration::Seconds(1), 5}, Ns(0));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryTake(Ns(0)));
  EXPECT_FALSE(b.TryTake(Ns(0)));
  EXPECT_FALSE(b.TryTake(Ns(199'999'999)));
  EXPECT_TRUE(b.TryTake(Ns(200'000'000)));
  EXPECT_FALSE(b.TryTake(Ns(200'000'000)));
  EXPECT_EQ(b.Available(Ns(kSecond + 200'000'000)), 5u);
}

TEST(TokenBucketTest, RefusalsTakeNothing) {
  TokenBucket b(RateLimit{1, Duration::Seconds(1), 1}, Ns(0));
  EXPECT_TRUE(b.TryTake(Ns(0)));
  for (int64_t t = 1; t < kSecond; t += kSecond / 1000) EXPECT_FALSE(b.TryTake(Ns(t)));
  EXPECT_TRUE(b.TryTake(Ns(kSecond)));  // exactly one interval after the admitted one
}

TEST(TokenBucketTest, ThirdsAreExact) {
  TokenBucket b(RateLimit{3, Duration::Seconds(1), 3}, Ns(0));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.TryTake(Ns(0)));
  EXPECT_EQ(b.Available(Ns(333'333'333)), 0u);
  EXPECT_EQ(b.Available(Ns(333'333'334)), 1u);
  EXPECT_EQ(b.Available(Ns(kSecond)), 3u);
  EXPECT_EQ(b.FullAt(), Ns(kSecond));
}

TEST(TokenBucketTest, HugeGapsAndClockRegressionsAreSafe) {
  TokenBucket b(RateLimit{4'000'000'000u, Duration::Nanoseconds(1), 4'000'000'000u}, Ns(0));
  EXPECT_TRUE(b.TryTake(Ns(INT64_MAX)));
  EXPECT_EQ(b.Available(Ns(INT64_MAX)), 3'999'999'999u);
  EXPECT_TRUE(b.TryTake(Ns(5)));  // earlier: refills nothing, still has tokens
  TokenBucket slow(RateLimit{1, Duration::Minutes(60), 1}, Ns(0));
  EXPECT_TRUE(slow.TryTake(Ns(10)));
  EXPECT_FALSE(slow.TryTake(Ns(0)));
  EXPECT_EQ(slow.FullAt(), Ns(10) + Duration::Minutes(60));
}

TEST(TokenBucketTest, NeverAdmitsMoreThanBurstPlusRateTimesElapsed) {
  SplitMix64 rng(7);
  auto next = [&] { return rng.Next(); };
  for (int run = 0; run < 50; ++run) {
    const uint32_t count = 1 + next() % 10;
    const uint32_t burst = 1 + next() % 10;
    const int64_t interval = 1 + static_cast<int64_t>(next() % kSecond);
    TokenBucket b(RateLimit{count, Duration::Nanoseconds(interval), burst}, Ns(0));
    int64_t t = 0;
    uint64_t admitted = 0;
    for (int i = 0; i < 2'000; ++i) {
      t += static_cast<int64_t>(next() % (interval / 4 + 1));
      admitted += b.TryTake(Ns(t));
      const unsigned __int128 allowed =
          burst + static_cast<unsigned __int128>(count) * static_cast<uint64_t>(t) / interval;
      ASSERT_LE(admitted, allowed) << "run " << run << " t " << t;
    }
  }
}

}  // namespace
}  // namespace connmgr
