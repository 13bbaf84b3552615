#include "core/prefix_trie.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using Key = PrefixTrie::Key;

// A member as the reference keeps it: masked key words and length.
using Member = std::tuple<uint64_t, uint64_t, int>;

Member MemberOf(Key key, int length) {
  const Key k = PrefixTrie::Masked(key, length);
  return {k.high, k.low, length};
}

// The longest member that is a prefix of `key`, by checking every member.
int LongestByScan(const std::set<Member>& members, Key key) {
  int longest = -1;
  for (const auto& [high, low, length] : members) {
    if (PrefixTrie::Masked(key, length) == Key{high, low}) longest = std::max(longest, length);
  }
  return longest;
}

TEST(PrefixTrieTest, LongestOfNestedAndSiblingMembers) {
  PrefixTrie trie;
  const Key ten{0x0a00'0000'0000'0000, 0};
  EXPECT_TRUE(trie.Insert(ten, 8));
  EXPECT_TRUE(trie.Insert({0x0a01'0000'0000'0000, 0}, 16));
  EXPECT_TRUE(trie.Insert({0x0a02'0000'0000'0000, 0}, 16));  // a sibling: a branch point
  EXPECT_FALSE(trie.Insert({0x0aff'ffff'0000'0000, 0}, 8));  // 10/8 again (bits past 8 ignored)
  EXPECT_EQ(trie.size(), 3u);
  EXPECT_EQ(trie.LongestPrefixOf({0x0a01'0203'0000'0000, 0}), 16);
  EXPECT_EQ(trie.LongestPrefixOf({0x0a02'ffff'0000'0000, 0}), 16);
  EXPECT_EQ(trie.LongestPrefixOf({0x0a03'0000'0000'0000, 0}), 8);
  EXPECT_EQ(trie.LongestPrefixOf({0x0b00'0000'0000'0000, 0}), -1);
  EXPECT_TRUE(trie.Erase(ten, 8));
  EXPECT_FALSE(trie.Erase(ten, 8));
  EXPECT_EQ(trie.LongestPrefixOf({0x0a03'0000'0000'0000, 0}), -1);
  EXPECT_EQ(trie.LongestPrefixOf({0x0a01'0203'0000'0000, 0}), 16);
  EXPECT_TRUE(trie.Insert({}, 0));  // everything
  EXPECT_EQ(trie.LongestPrefixOf({0xffff'ffff'ffff'ffff, 1}), 0);
  EXPECT_TRUE(trie.Insert({0xffff'ffff'ffff'ffff, 0xffff'ffff'ffff'ffff}, 128));
  EXPECT_EQ(trie.LongestPrefixOf({0xffff'ffff'ffff'ffff, 0xffff'ffff'ffff'ffff}), 128);
  EXPECT_EQ(trie.LongestPrefixOf({0xffff'ffff'ffff'ffff, 0xffff'ffff'ffff'fffe}), 0);
  EXPECT_FALSE(trie.Insert({}, 129));
  EXPECT_FALSE(trie.Insert({}, -1));
  EXPECT_FALSE(trie.Contains({}, 129));
  EXPECT_FALSE(trie.Erase({}, -1));
}

// Random inserts, erases and lookups checked against a scan of every member; with
// `front_min_size` small the front table is built early (and, for some sizes, dropped and
// rebuilt), so lookups through it meet every kind of change.
void CheckAgainstScan(size_t front_min_size) {
  // Keys drawn near a few bases, so members nest, share paths and branch at every depth.
  SplitMix64 rng(20261206);
  const std::vector<Key> bases = {{0, 0},
                                  {0x2001'0db8'0000'0000, 0},
                                  {0x0a00'0000'0000'0000, 0},
                                  {0xffff'ffff'ffff'ffff, 0xffff'ffff'ffff'ffff}};
  auto near = [&](const Key& base) {
    Key k = base;
    const int flips = static_cast<int>(rng.Next() % 4);
    for (int f = 0; f < flips; ++f) {
      const int bit = static_cast<int>(rng.Next() % 128);
      (bit < 64 ? k.high : k.low) ^= uint64_t{1} << (63 - bit % 64);
    }
    return k;
  };
  PrefixTrie trie(front_min_size);
  std::set<Member> reference;
  for (int step = 0; step < 20'000; ++step) {
    const Key key = near(bases[rng.Next() % bases.size()]);
    const int length = static_cast<int>(rng.Next() % 129);
    const Member m = MemberOf(key, length);
    if (rng.Next() % 3 == 0) {
      ASSERT_EQ(trie.Erase(key, length), reference.erase(m) == 1) << step;
    } else {
      ASSERT_EQ(trie.Insert(key, length), reference.insert(m).second) << step;
    }
    ASSERT_EQ(trie.size(), reference.size());
    const Key probe = near(bases[rng.Next() % bases.size()]);
    ASSERT_EQ(trie.LongestPrefixOf(probe), LongestByScan(reference, probe)) << step;
    const Key anywhere{rng.Next(), rng.Next()};
    ASSERT_EQ(trie.LongestPrefixOf(anywhere), LongestByScan(reference, anywhere)) << step;
    ASSERT_EQ(trie.Contains(key, length), reference.count(m) == 1) << step;
  }
  std::set<Member> listed;
  trie.ForEach([&](Key key, int length) { listed.insert(MemberOf(key, length)); });
  EXPECT_EQ(listed, reference);
  // Erasing everything frees every node for reuse: refilling does not grow the storage.
  const size_t memory = trie.memory_bytes();
  for (const auto& [high, low, length] : listed) ASSERT_TRUE(trie.Erase({high, low}, length));
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(trie.LongestPrefixOf({0, 0}), -1);
  for (const auto& [high, low, length] : listed) ASSERT_TRUE(trie.Insert({high, low}, length));
  EXPECT_EQ(trie.memory_bytes(), memory);
  const Key probe{0x0a00'0000'0000'0000, 0};
  EXPECT_EQ(trie.LongestPrefixOf(probe), LongestByScan(reference, probe));
}

TEST(PrefixTrieTest, AgreesWithAScanUnderRandomInsertsAndErases) {
  CheckAgainstScan(PrefixTrie::kDefaultFrontMinSize);
}

TEST(PrefixTrieTest, AgreesWithAScanThroughTheFrontTable) {
  CheckAgainstScan(1);    // built at the first member, never dropped
  CheckAgainstScan(200);  // built, dropped below 100 and rebuilt
}

TEST(PrefixTrieTest, FrontTableIsBuiltAtItsSizeAndDroppedBelowHalf) {
  PrefixTrie trie(/*front_min_size=*/4);
  const size_t front_bytes = (size_t{1} << 16) * 8;
  for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(trie.Insert({i << 40, 0}, 24));
  EXPECT_LT(trie.memory_bytes(), front_bytes);
  // A /8 (shorter than the front's 16 bits) and a /24 under it: the 256 slots of 10.0.0.0/8
  // start from the /8, and the /24's slot from the /24's node.
  ASSERT_TRUE(trie.Insert({0x0a00'0000'0000'0000, 0}, 8));
  EXPECT_GE(trie.memory_bytes(), front_bytes);
  ASSERT_TRUE(trie.Insert({0x0a01'0200'0000'0000, 0}, 24));
  EXPECT_EQ(trie.LongestPrefixOf({0x0a01'0203'0000'0000, 0}), 24);
  EXPECT_EQ(trie.LongestPrefixOf({0x0aff'0000'0000'0000, 0}), 8);
  EXPECT_EQ(trie.LongestPrefixOf({0x0b00'0000'0000'0000, 0}), -1);
  ASSERT_TRUE(trie.Erase({0x0a00'0000'0000'0000, 0}, 8));
  EXPECT_EQ(trie.LongestPrefixOf({0x0aff'0000'0000'0000, 0}), -1);
  EXPECT_EQ(trie.LongestPrefixOf({0x0a01'0203'0000'0000, 0}), 24);
  for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(trie.Erase({i << 40, 0}, 24));
  EXPECT_LT(trie.memory_bytes(), front_bytes);  // 1 member: below half of 4
  EXPECT_EQ(trie.LongestPrefixOf({0x0a01'0203'0000'0000, 0}), 24);
}

}  // namespace
}  // namespace connmgr
