#include "core/tag_names.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

TEST(TagNamesTest, InternTwiceIsOneNameWithTwoHolds) {
  TagNames names("keep-alive");
  const TagNames::Id app = names.Intern("app");
  EXPECT_EQ(names.Intern("app"), app);
  EXPECT_EQ(names.holds(app), 2u);
  EXPECT_EQ(names.size(), 1u);
  EXPECT_EQ(names.name(app), "app");
  EXPECT_EQ(names.Find("app"), app);
  EXPECT_EQ(names.Find("ap"), std::nullopt);
}

TEST(TagNamesTest, TheLastReleaseFreesTheNameAndItsId) {
  TagNames names("keep-alive");
  const TagNames::Id app = names.Intern("app");
  names.AddHold(app);
  names.Release(app);
  EXPECT_EQ(names.Find("app"), app);
  names.Release(app);
  EXPECT_EQ(names.Find("app"), std::nullopt);
  EXPECT_EQ(names.size(), 0u);
  // The freed id is the next one handed out, to whatever name comes next.
  const TagNames::Id dht = names.Intern("kad-dht");
  EXPECT_EQ(dht, app);
  EXPECT_EQ(names.name(dht), "kad-dht");
  EXPECT_EQ(names.holds(dht), 1u);
}

TEST(TagNamesTest, FreedIdsAreReusedLastFreedFirst) {
  TagNames names("keep-alive");
  const TagNames::Id a = names.Intern("a");
  const TagNames::Id b = names.Intern("b");
  const TagNames::Id c = names.Intern("c");
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(c, 2u);
  names.Release(a);
  names.Release(c);
  EXPECT_EQ(names.Intern("d"), c);
  EXPECT_EQ(names.Intern("e"), a);
  EXPECT_EQ(names.Intern("f"), 3u);
}

TEST(TagNamesTest, KeepAliveIsThePrefixOfTheName) {
  TagNames names("keep-alive");
  EXPECT_TRUE(names.is_keep_alive(names.Intern("keep-alive")));
  EXPECT_TRUE(names.is_keep_alive(names.Intern("keep-alive-relay")));
  EXPECT_FALSE(names.is_keep_alive(names.Intern("keep")));
  EXPECT_FALSE(names.is_keep_alive(names.Intern("my-keep-alive")));
}

TEST(TagNamesTest, DecayingLastsUntilTheNameIsFreed) {
  TagNames names("keep-alive");
  const TagNames::Id gossip = names.Intern("gossip");
  EXPECT_FALSE(names.is_decaying(gossip));
  names.MarkDecaying(gossip);
  EXPECT_TRUE(names.is_decaying(gossip));
  names.Release(gossip);
  const TagNames::Id again = names.Intern("gossip");
  EXPECT_EQ(again, gossip);
  EXPECT_FALSE(names.is_decaying(again));
}

TEST(TagNamesTest, MemoryFollowsTheNamesHeld) {
  TagNames names("keep-alive");
  for (int round = 0; round < 1000; ++round) {
    const TagNames::Id id = names.Intern("name-" + std::to_string(round));
    EXPECT_EQ(id, 0u);
    names.Release(id);
  }
  EXPECT_EQ(names.size(), 0u);
  EXPECT_EQ(names.Find("name-999"), std::nullopt);
}

}  // namespace
}  // namespace connmgr
