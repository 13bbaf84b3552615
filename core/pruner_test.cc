// The pruner alone: trims to the low watermark in prune order, the silence period, busy
// connections only over the hard limit, diversity survivors and per-peer victims — on a
// connection table and tags of its own, without a Core.
#include "core/pruner.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Instant At(int64_t seconds) { return Instant::FromNanoseconds(seconds * 1'000'000'000); }
PeerId NthPeer(int n) {
  return PeerId::FromBytes(std::string("\x00\x04p00", 5) + static_cast<char>('0' + n)).value();
}

class PrunerTest : public ::testing::Test {
 protected:
  PrunerTest() {
    config_.max_connections = 5;
    config_.high_watermark = 4;
    config_.low_watermark = 2;
    config_.grace_period = Duration::Zero();
    config_.silence_period = Duration::Seconds(10);
  }
  // Opens a connection of peer `n` from `ip` at `now` and indexes it.
  ConnectionId Open(int n, absl::string_view ip, Instant now) {
    Connection& c = table_.AddPending(
        Direction::kInbound, Multiaddr::Parse(absl::StrCat("/ip4/", ip, "/tcp/1")).value(), now);
    table_.Open(c, NthPeer(n), now);
    pruner_.Reindex(c);
    return c.id;
  }

  Config config_;
  ConnectionTable table_{config_.closable_protocols};
  PeerTags tags_{PeerTagsLimits{}};
  Outbox outbox_;
  Pruner pruner_{config_, table_, tags_, outbox_};
};

TEST_F(PrunerTest, TrimsToTheLowWatermarkLowestValueThenNewestFirst) {
  for (int i = 0; i < 5; ++i) Open(i, absl::StrCat("1.0.", i, ".1"), At(i));
  ASSERT_TRUE(tags_.SetTag(NthPeer(4), "score", 10).ok());
  pruner_.ReindexPeer(NthPeer(4));
  // 5 open > high 4: close 3 to reach 2. Value 0 first, newest first: 4 is valued, so 3, 2, 1.
  EXPECT_THAT(pruner_.ChooseTrim(At(10)),
              ElementsAre(ConnectionId{4}, ConnectionId{3}, ConnectionId{2}));
  EXPECT_EQ(outbox_.counters()[static_cast<int>(Counter::kTrims)], 1u);
  ASSERT_EQ(outbox_.size(), 1u);
  const auto* event = std::get_if<ConnectionsPruned>(&outbox_.pending().front());
  ASSERT_NE(event, nullptr);
  EXPECT_EQ(event->open, 5u);
  EXPECT_EQ(event->target, 2u);
}

TEST_F(PrunerTest, SilencePeriodHoldsTheNextTrimAndSetsTheDeadline) {
  for (int i = 0; i < 5; ++i) Open(i, absl::StrCat("1.0.", i, ".1"), At(1));
  ASSERT_EQ(pruner_.ChooseTrim(At(20)).size(), 3u);
  // Nothing was closed by the table here, so the count is still over: held for 10 s.
  EXPECT_THAT(pruner_.ChooseTrim(At(25)), IsEmpty());
  EXPECT_EQ(pruner_.NextDeadline(), At(30));
  pruner_.AdvanceTo(At(30));
  EXPECT_EQ(pruner_.NextDeadline(), Instant::Never());
  EXPECT_EQ(pruner_.ChooseTrim(At(30)).size(), 3u);
  EXPECT_EQ(pruner_.ChooseTrim(At(31), Pruner::TrimMode::kLimitLowered).size(), 3u);
}

TEST_F(PrunerTest, ATrimNowGoesToTheLowWatermarkFromBelowTheHighOne) {
  for (int i = 0; i < 4; ++i) Open(i, absl::StrCat("1.0.", i, ".1"), At(i));
  // 4 open is not over the high watermark (4): no trim of its own...
  EXPECT_THAT(pruner_.ChooseTrim(At(10)), IsEmpty());
  // ...but a trim now closes down to the low watermark (2), newest first, inside the silence
  // period of a trim just made.
  EXPECT_THAT(pruner_.ChooseTrim(At(10), Pruner::TrimMode::kToLowWatermarkNow),
              ElementsAre(ConnectionId{4}, ConnectionId{3}));
  EXPECT_THAT(pruner_.ChooseTrim(At(11), Pruner::TrimMode::kToLowWatermarkNow),
              ElementsAre(ConnectionId{4}, ConnectionId{3}));  // the table still holds them
}

TEST_F(PrunerTest, DiversityKeepsOneConnectionOfTheProtectedGroup) {
  config_.diversity_protected_connections = 1;
  // Groups: 1.0/16 holds 4 connections, 2.0/16 holds 1.
  for (int i = 0; i < 4; ++i) Open(i, absl::StrCat("1.0.", i, ".1"), At(i));
  Open(4, "2.0.0.1", At(4));
  const absl::Span<const ConnectionId> chosen = pruner_.ChooseTrim(At(10));
  ASSERT_EQ(chosen.size(), 3u);
  // Whichever group ranks first keeps its last connection; every choice is from prunable ones.
  const bool second_group_kept =
      std::find(chosen.begin(), chosen.end(), ConnectionId{5}) == chosen.end();
  const bool first_group_kept =
      std::find(chosen.begin(), chosen.end(), ConnectionId{1}) == chosen.end();
  EXPECT_TRUE(second_group_kept || first_group_kept);
}

TEST_F(PrunerTest, PeerLimitVictimIsAnIdleOtherConnectionOldestFirst) {
  const ConnectionId a = Open(1, "1.0.0.1", At(1));
  const ConnectionId b = Open(1, "1.0.0.2", At(2));
  const ConnectionId c = Open(1, "1.0.0.3", At(3));
  table_.AddStream(*table_.Find(a), "/x/1", Direction::kOutbound);
  EXPECT_EQ(pruner_.PeerLimitVictim(c, NthPeer(1)), b);
}

}  // namespace
}  // namespace connmgr
