#include "core/prune_index.h"

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;

Instant At(int64_t s) { return Instant::FromNanoseconds(s * 1'000'000'000); }

PruneKey Key(uint64_t id, int64_t value, uint32_t streams, Direction d, int64_t opened_s) {
  return PruneKey{value, streams, d, At(opened_s), ConnectionId{id}};
}

TEST(PruneKeyTest, EveryOrderingKeyAndTheFinalTieBreak) {
  const Direction in = Direction::kInbound;
  const Direction out = Direction::kOutbound;
  // Lower peer value first, whatever else.
  EXPECT_LT(Key(1, 0, 9, out, 0), Key(2, 1, 0, in, 9));
  // Then fewer streams.
  EXPECT_LT(Key(1, 5, 0, out, 0), Key(2, 5, 1, in, 9));
  // Then inbound before outbound.
  EXPECT_LT(Key(1, 5, 1, in, 0), Key(2, 5, 1, out, 9));
  // Then newest first.
  EXPECT_LT(Key(1, 5, 1, in, 9), Key(2, 5, 1, in, 3));
  // Then the higher id first.
  EXPECT_LT(Key(7, 5, 1, in, 3), Key(2, 5, 1, in, 3));
  EXPECT_FALSE(Key(2, 5, 1, in, 3) < Key(2, 5, 1, in, 3));
}

TEST(PruneIndexTest, FirstFollowsThePruneOrderPerTier) {
  PruneIndex index;
  PruneEntry e1, e2, e3, e4;
  index.Upsert(e1, Key(1, 10, 0, Direction::kInbound, 1), PruneTier::kIdle);
  index.Upsert(e2, Key(2, 0, 3, Direction::kOutbound, 2), PruneTier::kIdle);
  index.Upsert(e3, Key(3, 0, 3, Direction::kInbound, 2), PruneTier::kIdle);
  index.Upsert(e4, Key(4, 0, 0, Direction::kInbound, 0), PruneTier::kBusy);
  EXPECT_THAT(index.First(PruneTier::kIdle, 10),
              ElementsAre(ConnectionId{3}, ConnectionId{2}, ConnectionId{1}));
  EXPECT_THAT(index.First(PruneTier::kIdle, 2), ElementsAre(ConnectionId{3}, ConnectionId{2}));
  EXPECT_THAT(index.First(PruneTier::kBusy, 10), ElementsAre(ConnectionId{4}));
  EXPECT_TRUE(index.First(PruneTier::kExempt, 10).empty());
}

TEST(PruneIndexTest, UpsertMovesAndExemptRemoves) {
  PruneIndex index;
  PruneEntry e1, e2, never_indexed;
  index.Upsert(e1, Key(1, 0, 0, Direction::kInbound, 1), PruneTier::kIdle);
  index.Upsert(e2, Key(2, 1, 0, Direction::kInbound, 1), PruneTier::kIdle);
  // Connection 1's peer gains value: it moves behind connection 2.
  index.Upsert(e1, Key(1, 5, 0, Direction::kInbound, 1), PruneTier::kIdle);
  EXPECT_THAT(index.First(PruneTier::kIdle, 2), ElementsAre(ConnectionId{2}, ConnectionId{1}));
  // It opens a stream on a non-closable protocol: busy tier.
  index.Upsert(e1, Key(1, 5, 1, Direction::kInbound, 1), PruneTier::kBusy);
  EXPECT_EQ(index.size(PruneTier::kIdle), 1u);
  EXPECT_EQ(e1.tier, PruneTier::kBusy);
  // Its peer is protected: out of the index.
  index.Upsert(e1, Key(1, 5, 1, Direction::kInbound, 1), PruneTier::kExempt);
  EXPECT_EQ(index.size(PruneTier::kBusy), 0u);
  EXPECT_EQ(e1.tier, PruneTier::kExempt);
  index.Erase(e2);
  index.Erase(never_indexed);
  EXPECT_EQ(index.size(PruneTier::kIdle), 0u);
}

TEST(PruneIndexTest, IndexOrderIsPruneKeyOrderAcrossTheWholeRange) {
  // Values, stream counts and instants at their extremes and in between, with many ties.
  const std::vector<int64_t> values = {std::numeric_limits<int64_t>::min(), -5, -1, 0, 1, 7,
                                       std::numeric_limits<int64_t>::max()};
  const std::vector<uint32_t> streams = {0, 1, 2, std::numeric_limits<uint32_t>::max()};
  const std::vector<Instant> instants = {
      Instant::FromNanoseconds(std::numeric_limits<int64_t>::min()), Instant::FromNanoseconds(-3),
      Instant(), At(1), Instant::Never()};
  std::mt19937_64 rng(7);
  std::vector<PruneKey> keys;
  for (uint64_t n = 1; n <= 2000; ++n) {
    // Ids with and without the top bit: distinct, and spanning the whole range.
    const uint64_t id = rng() % 2 == 0 ? n : n | uint64_t{1} << 63;
    keys.push_back(PruneKey{values[rng() % values.size()], streams[rng() % streams.size()],
                            rng() % 2 == 0 ? Direction::kInbound : Direction::kOutbound,
                            instants[rng() % instants.size()], ConnectionId{id}});
  }
  PruneIndex index;
  std::vector<PruneEntry> entries(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) index.Upsert(entries[i], keys[i], PruneTier::kIdle);
  std::sort(keys.begin(), keys.end());
  std::vector<ConnectionId> expected;
  expected.reserve(keys.size());
  for (const PruneKey& k : keys) expected.push_back(k.id);
  EXPECT_EQ(index.First(PruneTier::kIdle, keys.size()), expected);
}

// Enough connections for several levels of nodes, moved between values, stream counts and
// tiers at random: each tier lists exactly its connections, in key order.
TEST(PruneIndexTest, RandomMovesMatchASortedModel) {
  constexpr uint64_t kConnections = 5000;
  std::mt19937_64 rng(11);
  PruneIndex index;
  std::vector<PruneEntry> entries(kConnections);
  std::vector<PruneKey> keys(kConnections);
  std::vector<PruneTier> tiers(kConnections, PruneTier::kExempt);
  for (uint64_t i = 0; i < kConnections; ++i) {
    keys[i] = PruneKey{0, 0, i % 3 == 0 ? Direction::kOutbound : Direction::kInbound,
                       At(static_cast<int64_t>(rng() % 100)), ConnectionId{i + 1}};
  }
  for (int step = 0; step < 40000; ++step) {
    const size_t i = rng() % kConnections;
    keys[i].peer_value = static_cast<int64_t>(rng() % 21) - 10;
    keys[i].streams = static_cast<uint32_t>(rng() % 3);
    tiers[i] = static_cast<PruneTier>(rng() % 3);
    index.Upsert(entries[i], keys[i], tiers[i]);
  }
  for (PruneTier tier : {PruneTier::kIdle, PruneTier::kBusy}) {
    std::vector<PruneKey> model;
    for (uint64_t i = 0; i < kConnections; ++i) {
      if (tiers[i] == tier) model.push_back(keys[i]);
    }
    std::sort(model.begin(), model.end());
    std::vector<ConnectionId> expected;
    expected.reserve(model.size());
    for (const PruneKey& k : model) expected.push_back(k.id);
    ASSERT_EQ(index.size(tier), expected.size());
    EXPECT_EQ(index.First(tier, expected.size()), expected);
  }
}

}  // namespace
}  // namespace connmgr
