#include "core/group_counts.h"

#include "gtest/gtest.h"

namespace connmgr {
namespace {

TEST(GroupCountsTest, CountsMembersAndForgetsEmptyGroups) {
  GroupCounts counts;
  EXPECT_EQ(counts.Count(7), 0u);
  counts.Add(7);
  counts.Add(9);
  counts.Add(7);
  EXPECT_EQ(counts.Count(7), 2u);
  EXPECT_EQ(counts.Count(9), 1u);
  EXPECT_EQ(counts.size(), 2u);
  counts.Remove(9);
  EXPECT_EQ(counts.Count(9), 0u);
  EXPECT_EQ(counts.size(), 1u);  // an empty group holds no entry
  counts.Remove(7);
  counts.Remove(7);
  EXPECT_EQ(counts.size(), 0u);
}

}  // namespace
}  // namespace connmgr
