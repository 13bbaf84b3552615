#include "shell/slow_reader.h"

#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

Instant At(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

TEST(SlowReaderClockTest, RunsOnlyWhileBytesWait) {
  SlowReaderClock clock(Duration::Seconds(5));
  EXPECT_EQ(clock.Deadline(), Instant::Never());
  clock.SetWaiting(true, At(1'000));
  EXPECT_EQ(clock.Deadline(), At(6'000));
  clock.SetWaiting(true, At(3'000));  // still waiting: the clock does not restart
  EXPECT_EQ(clock.Deadline(), At(6'000));
  EXPECT_FALSE(clock.Expired(At(5'999)));
  EXPECT_TRUE(clock.Expired(At(6'000)));
  clock.SetWaiting(false, At(4'000));
  EXPECT_EQ(clock.Deadline(), Instant::Never());
  EXPECT_FALSE(clock.Expired(At(60'000)));
  clock.SetWaiting(true, At(10'000));
  EXPECT_EQ(clock.Deadline(), At(15'000));
}

TEST(SlowReaderClockTest, ProgressStartsTheClockAgain) {
  SlowReaderClock clock(Duration::Milliseconds(200));
  clock.SetWaiting(true, At(0));
  clock.Progress(At(150));
  EXPECT_EQ(clock.Deadline(), At(350));
  clock.Progress(At(300));
  EXPECT_FALSE(clock.Expired(At(499)));
  EXPECT_TRUE(clock.Expired(At(500)));
}

TEST(SlowReaderClockTest, ZeroTimeoutIsOff) {
  SlowReaderClock clock(Duration::Zero());
  clock.SetWaiting(true, At(0));
  EXPECT_EQ(clock.Deadline(), Instant::Never());
  EXPECT_FALSE(clock.Expired(At(1'000'000'000)));
}

}  // namespace
}  // namespace connmgr::shell
