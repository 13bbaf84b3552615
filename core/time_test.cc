#include "core/time.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(DurationTest, UnitsConvertToNanoseconds) {
  EXPECT_EQ(Duration::Microseconds(3).nanoseconds(), 3'000);
  EXPECT_EQ(Duration::Milliseconds(250).nanoseconds(), 250'000'000);
  EXPECT_EQ(Duration::Seconds(10).nanoseconds(), 10'000'000'000);
  EXPECT_EQ(Duration::Minutes(5).nanoseconds(), 300'000'000'000);
}

TEST(DurationTest, ArithmeticSaturates) {
  EXPECT_EQ(Duration::Seconds(kMax).nanoseconds(), kMax);
  EXPECT_EQ(Duration::Seconds(kMin).nanoseconds(), kMin);
  EXPECT_TRUE((Duration::Infinite() + Duration::Seconds(1)).is_infinite());
  EXPECT_EQ((Duration::Nanoseconds(kMin) - Duration::Nanoseconds(1)).nanoseconds(), kMin);
  EXPECT_EQ((Duration::Seconds(1) * kMax).nanoseconds(), kMax);
  EXPECT_EQ((Duration::Seconds(-1) * kMax).nanoseconds(), kMin);
  EXPECT_EQ((Duration::Seconds(2) * 3), Duration::Seconds(6));
}

TEST(InstantTest, NeverAbsorbsArithmetic) {
  EXPECT_TRUE((Instant::Never() + Duration::Seconds(1)).is_never());
  EXPECT_TRUE((Instant::Never() - Duration::Seconds(1)).is_never());
  EXPECT_GT(Instant::Never(), Instant::FromNanoseconds(kMax - 1));
}

TEST(InstantTest, AddingSaturatesAtNever) {
  Instant t = Instant::FromNanoseconds(kMax - 5);
  EXPECT_TRUE((t + Duration::Seconds(1)).is_never());
  EXPECT_EQ((Instant::FromNanoseconds(kMin + 1) - Duration::Seconds(1)).nanoseconds(), kMin);
}

TEST(InstantTest, DifferenceIsSignedDuration) {
  Instant a = Instant::FromNanoseconds(100);
  Instant b = Instant::FromNanoseconds(40);
  EXPECT_EQ(a - b, Duration::Nanoseconds(60));
  EXPECT_EQ(b - a, Duration::Nanoseconds(-60));
  EXPECT_EQ(Instant::FromNanoseconds(kMax - 1) - Instant::FromNanoseconds(kMin),
            Duration::Infinite());
}

}  // namespace
}  // namespace connmgr
