#include "shell/rate_limited_log.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

using ::testing::ElementsAre;

Instant At(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

TEST(RateLimitedLogTest, WritesAtMostMaxLinesPerIntervalAndCountsTheRest) {
  std::vector<std::string> lines;
  RateLimitedLog log([&](absl::string_view line) { lines.emplace_back(line); }, 2,
                     Duration::Seconds(10));
  log.Write(At(0), "a");
  log.Write(At(1), "b");
  log.Write(At(2), "c");
  log.Write(At(9'999), "d");
  EXPECT_THAT(lines, ElementsAre("a", "b"));
  EXPECT_EQ(log.left_out(), 2u);
  log.Write(At(10'000), "e");  // a new interval: the count first
  log.Write(At(10'001), "f");
  log.Write(At(10'002), "g");
  EXPECT_THAT(lines,
              ElementsAre("a", "b", "connmgr: 2 more such lines left out (at most 2 per 10000 ms)",
                          "e", "f"));
  EXPECT_EQ(log.left_out(), 3u);
  // An interval with nothing left out writes no count.
  lines.clear();
  log.Write(At(30'000), "h");
  log.Write(At(45'000), "i");
  EXPECT_THAT(
      lines, ElementsAre("connmgr: 1 more such lines left out (at most 2 per 10000 ms)", "h", "i"));
}

TEST(RateLimitedLogTest, ZeroLinesWritesNothing) {
  std::vector<std::string> lines;
  RateLimitedLog log([&](absl::string_view line) { lines.emplace_back(line); }, 0,
                     Duration::Seconds(1));
  log.Write(At(0), "a");
  log.Write(At(5'000), "b");
  EXPECT_EQ(log.left_out(), 2u);
  EXPECT_THAT(lines, ElementsAre("connmgr: 1 more such lines left out (at most 0 per 1000 ms)"));
}

}  // namespace
}  // namespace connmgr::shell
