#include "core/group_counts.h"

#include <cstdint>
#include <optional>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

std::optional<uint64_t> LargestGroup(const GroupCounts& counts) {
  const std::optional<GroupCounts::Group> g = counts.Largest();
  return g ? std::optional<uint64_t>(g->group) : std::nullopt;
}

TEST(GroupCountsTest, RankedLargestIsTheBiggestGroupOfTwoOrMoreHighestKeyFirst) {
  GroupCounts counts(GroupCounts::kRanked);
  EXPECT_EQ(counts.Largest(), std::nullopt);
  counts.Add(7);
  counts.Add(9);
  EXPECT_EQ(counts.Largest(), std::nullopt);  // only groups of one
  EXPECT_EQ(counts.Count(7), 1u);
  counts.Add(7);
  EXPECT_EQ(LargestGroup(counts), 7u);
  EXPECT_EQ(counts.Largest()->count, 2u);
  counts.Add(9);  // a tie at two: the higher key
  EXPECT_EQ(LargestGroup(counts), 9u);
  counts.Add(7);
  EXPECT_EQ(LargestGroup(counts), 7u);
  EXPECT_EQ(counts.Largest()->count, 3u);
  counts.Remove(7);
  counts.Remove(7);  // 7 back to one, 9 at two
  EXPECT_EQ(LargestGroup(counts), 9u);
  counts.Remove(9);
  EXPECT_EQ(counts.Largest(), std::nullopt);
  EXPECT_EQ(counts.size(), 2u);
  counts.Remove(9);
  counts.Remove(7);
  EXPECT_EQ(counts.size(), 0u);  // empty groups hold no entry
  EXPECT_EQ(counts.Count(7), 0u);
}

TEST(GroupCountsTest, UnrankedCountsButNeverRanks) {
  GroupCounts counts(GroupCounts::kUnranked);
  for (int i = 0; i < 3; ++i) counts.Add(5);
  EXPECT_EQ(counts.Count(5), 3u);
  EXPECT_EQ(counts.Largest(), std::nullopt);
}

}  // namespace
}  // namespace connmgr
