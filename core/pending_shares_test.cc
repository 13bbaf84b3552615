#include "core/pending_shares.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

ConnectionId Id(uint64_t v) { return ConnectionId{v}; }

TEST(PendingSharesTest, TheVictimIsTheOldestOfTheLargestGroupOfTwoOrMore) {
  PendingShares shares;
  EXPECT_EQ(shares.Victim(0), std::nullopt);
  shares.Add(7, Id(5));
  shares.Add(9, Id(3));
  EXPECT_EQ(shares.Victim(0), std::nullopt);  // only groups of one
  EXPECT_EQ(shares.Count(7), 1u);
  shares.Add(7, Id(2));
  EXPECT_EQ(shares.Victim(2), Id(2));  // the lone member was 5: 2 is older
  EXPECT_EQ(shares.Victim(3), std::nullopt);
  shares.Add(9, Id(8));  // a tie at two: the higher key, its oldest
  EXPECT_EQ(shares.Victim(2), Id(3));
  shares.Add(7, Id(1));
  EXPECT_EQ(shares.Count(7), 3u);
  EXPECT_EQ(shares.Victim(3), Id(1));
  shares.Remove(7, Id(1));
  shares.Remove(7, Id(2));  // 7 back to one member (5), 9 at two
  EXPECT_EQ(shares.Victim(2), Id(3));
  shares.Remove(9, Id(3));  // 9 back to one member (8)
  EXPECT_EQ(shares.Victim(0), std::nullopt);
  EXPECT_EQ(shares.groups(), 2u);
  shares.Add(9, Id(4));  // 9 grows again: its remaining member (8) was kept
  EXPECT_EQ(shares.Victim(2), Id(4));
  shares.Remove(9, Id(4));
  shares.Add(7, Id(6));
  EXPECT_EQ(shares.Victim(2), Id(5));
  shares.Remove(7, Id(5));
  shares.Remove(7, Id(6));
  shares.Remove(9, Id(8));
  EXPECT_EQ(shares.groups(), 0u);  // empty groups hold no entry
  EXPECT_EQ(shares.Count(7), 0u);
}

// Against a plain model: every group's members in an ordered set.
TEST(PendingSharesTest, AgreesWithAModelOverRandomAddsAndRemoves) {
  SplitMix64 random(42);
  PendingShares shares;
  std::map<uint64_t, std::set<uint64_t>> model;
  std::vector<std::pair<uint64_t, uint64_t>> members;  // (group, id)
  uint64_t next_id = 1;
  for (int step = 0; step < 20'000; ++step) {
    if (members.empty() || random.Below(100) < 55) {
      const uint64_t group = random.Below(12);
      shares.Add(group, Id(next_id));
      model[group].insert(next_id);
      members.push_back({group, next_id++});
    } else {
      const size_t i = random.Below(members.size());
      const auto [group, id] = members[i];
      members[i] = members.back();
      members.pop_back();
      shares.Remove(group, Id(id));
      model[group].erase(id);
      if (model[group].empty()) model.erase(group);
    }
    std::optional<ConnectionId> expected;
    size_t largest = 1;
    for (const auto& [group, ids] : model) {  // ascending keys: ties go to the later one
      if (ids.size() >= largest && ids.size() >= 2) {
        largest = ids.size();
        expected = Id(*ids.begin());
      }
    }
    const uint32_t min_size = static_cast<uint32_t>(random.Below(5));
    if (expected && largest < min_size) expected.reset();
    ASSERT_EQ(shares.Victim(min_size), expected) << "step " << step;
    const uint64_t probe = random.Below(12);
    ASSERT_EQ(shares.Count(probe), model.count(probe) ? model[probe].size() : 0u);
    ASSERT_EQ(shares.groups(), model.size());
  }
}

}  // namespace
}  // namespace connmgr
