#include "core/protocol_table.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;

TEST(ProtocolTableTest, CountsPerDirectionAndKeepsIdleNamesUntilTheSlotIsNeeded) {
  ProtocolTable table(/*max_protocols=*/8, {});
  ProtocolId a = table.Acquire("/a", Direction::kInbound);
  EXPECT_EQ(table.Acquire("/a", Direction::kOutbound), a);
  EXPECT_THAT(table.Snapshot(), ElementsAre(ProtocolStreams{"/a", 1, 1}));
  table.Release(a, Direction::kInbound);
  table.Release(a, Direction::kOutbound);
  EXPECT_TRUE(table.Snapshot().empty());
  // Idle, not forgotten: the next stream of "/a" gets the same entry back.
  EXPECT_EQ(table.Find("/a"), a);
  EXPECT_EQ(table.Acquire("/a", Direction::kInbound), a);
  EXPECT_THAT(table.Snapshot(), ElementsAre(ProtocolStreams{"/a", 1, 0}));
}

TEST(ProtocolTableTest, ANewNameReusesTheOldestIdleEntryNeverABusyOne) {
  ProtocolTable table(/*max_protocols=*/3, {});
  ProtocolId a = table.Acquire("/a", Direction::kInbound);
  ProtocolId b = table.Acquire("/b", Direction::kInbound);
  ProtocolId c = table.Acquire("/c", Direction::kInbound);
  table.Release(a, Direction::kInbound);  // idle first
  table.Release(b, Direction::kInbound);
  table.Release(c, Direction::kInbound);
  EXPECT_EQ(table.Acquire("/a", Direction::kInbound), a);  // busy again
  EXPECT_EQ(table.Acquire("/d", Direction::kInbound), b);  // the oldest idle one not busy
  EXPECT_EQ(table.Find("/b"), std::nullopt);
  EXPECT_EQ(table.Acquire("/e", Direction::kInbound), c);
  EXPECT_EQ(table.Acquire("/f", Direction::kInbound), ProtocolTable::kOther);
  EXPECT_THAT(table.Snapshot(),
              ElementsAre(ProtocolStreams{"(other)", 1, 0}, ProtocolStreams{"/a", 1, 0},
                          ProtocolStreams{"/d", 1, 0}, ProtocolStreams{"/e", 1, 0}));
}

TEST(ProtocolTableTest, PinnedNamesKeepTheirId) {
  const std::vector<std::string> pinned = {"/ipfs/id/1.0.0"};
  ProtocolTable table(/*max_protocols=*/1, pinned);
  ProtocolId id = *table.Find("/ipfs/id/1.0.0");
  EXPECT_TRUE(table.is_pinned(id));
  table.Release(table.Acquire("/ipfs/id/1.0.0", Direction::kInbound), Direction::kInbound);
  EXPECT_EQ(table.Find("/ipfs/id/1.0.0"), id);
}

TEST(ProtocolTableTest, NamesBeyondTheBoundShareOther) {
  ProtocolTable table(/*max_protocols=*/2, {});
  ProtocolId a = table.Acquire("/a", Direction::kInbound);
  table.Acquire("/b", Direction::kInbound);
  EXPECT_EQ(table.Acquire("/c", Direction::kInbound), ProtocolTable::kOther);
  EXPECT_EQ(table.Acquire("/d", Direction::kOutbound), ProtocolTable::kOther);
  EXPECT_THAT(table.Snapshot(),
              ElementsAre(ProtocolStreams{"(other)", 1, 1}, ProtocolStreams{"/a", 1, 0},
                          ProtocolStreams{"/b", 1, 0}));
  // A freed slot is reused by the next new name.
  table.Release(a, Direction::kInbound);
  EXPECT_EQ(table.Acquire("/e", Direction::kInbound), a);
  EXPECT_EQ(table.name(a), "/e");
}

TEST(ProtocolTableTest, MemoryStaysBoundedUnderAFloodOfNames) {
  ProtocolTable table(/*max_protocols=*/4, {});
  for (int i = 0; i < 100'000; ++i) {
    ProtocolId id = table.Acquire("/junk/" + std::to_string(i), Direction::kInbound);
    table.Release(id, Direction::kInbound);
  }
  EXPECT_TRUE(table.Snapshot().empty());
  for (int i = 0; i < 4; ++i) table.Acquire("/p" + std::to_string(i), Direction::kInbound);
  EXPECT_EQ(table.Acquire("/one-too-many", Direction::kInbound), ProtocolTable::kOther);
}

}  // namespace
}  // namespace connmgr
