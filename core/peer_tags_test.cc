#include "core/peer_tags.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Distinct peers (identity multihashes) that sort by `n`.
PeerId Peer(int n) {
  return PeerId::FromBytes(std::string{'\x00', '\x01', static_cast<char>(n)}).value();
}

Instant Ms(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }
Instant Sec(int64_t s) { return Ms(s * 1'000); }

void ExpectStatus(const absl::Status& status, absl::StatusCode code, absl::string_view message) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(status.message(), message);
}

// --- Plain tags ---------------------------------------------------------------------------------

TEST(PeerTagsTest, ValueIsTheSumOfTags) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.SetTag(Peer(1), "a", 10).ok());
  ASSERT_TRUE(tags.SetTag(Peer(1), "b", 5).ok());
  ASSERT_TRUE(tags.SetTag(Peer(1), "c", -3).ok());
  ASSERT_TRUE(tags.SetTag(Peer(2), "a", 100).ok());
  EXPECT_EQ(tags.Value(Peer(1)), 12);
  EXPECT_EQ(tags.Value(Peer(2)), 100);
}

TEST(PeerTagsTest, SetReplacesAddToAccumulatesRemoveDeletes) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.SetTag(p, "a", 10).ok());
  ASSERT_TRUE(tags.SetTag(p, "a", 4).ok());  // replaces
  EXPECT_THAT(tags.TagValue(p, "a"), Optional(4));
  ASSERT_TRUE(tags.AddToTag(p, "a", 3).ok());
  EXPECT_THAT(tags.TagValue(p, "a"), Optional(7));
  ASSERT_TRUE(tags.AddToTag(p, "b", -2).ok());  // created at the delta
  EXPECT_THAT(tags.TagValue(p, "b"), Optional(-2));
  EXPECT_EQ(tags.Value(p), 5);
  tags.RemoveTag(p, "a");
  EXPECT_EQ(tags.TagValue(p, "a"), std::nullopt);
  EXPECT_EQ(tags.Value(p), -2);
  tags.RemoveTag(p, "a");        // absent: no-op
  tags.RemoveTag(Peer(9), "a");  // unknown peer: no-op
  EXPECT_EQ(tags.Value(p), -2);
}

TEST(PeerTagsTest, ArithmeticSaturates) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.SetTag(p, "a", kMax).ok());
  ASSERT_TRUE(tags.AddToTag(p, "a", 1).ok());
  EXPECT_THAT(tags.TagValue(p, "a"), Optional(kMax));
  ASSERT_TRUE(tags.SetTag(p, "b", kMax).ok());
  EXPECT_EQ(tags.Value(p), kMax);
  // The sum is exact before it is clamped, whatever the order of the tags.
  ASSERT_TRUE(tags.SetTag(p, "c", -kMax).ok());
  EXPECT_EQ(tags.Value(p), kMax);
  ASSERT_TRUE(tags.SetTag(p, "0", -kMax).ok());
  EXPECT_EQ(tags.Value(p), 0);
  ASSERT_TRUE(tags.SetTag(p, "d", -kMax).ok());
  ASSERT_TRUE(tags.SetTag(p, "e", -kMax).ok());
  EXPECT_EQ(tags.Value(p), std::numeric_limits<int64_t>::min());
}

TEST(PeerTagsTest, UnknownAndUnconnectedPeers) {
  PeerTags tags(PeerTagsLimits{});
  EXPECT_EQ(tags.Value(Peer(1)), 0);
  EXPECT_EQ(tags.TagValue(Peer(1), "a"), std::nullopt);
  EXPECT_FALSE(tags.IsProtected(Peer(1)));
  EXPECT_FALSE(tags.HasKeepAlive(Peer(1)));
  // Nothing here knows about connections: a peer never connected is tagged like any other.
  ASSERT_TRUE(tags.SetTag(Peer(2), "a", 7).ok());
  EXPECT_EQ(tags.Value(Peer(2)), 7);
  EXPECT_EQ(tags.tagged_peer_count(), 1u);
}

// --- Protection ---------------------------------------------------------------------------------

TEST(PeerTagsTest, ProtectedUntilTheLastProtectionTagIsRemoved) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.Protect(p, "a").ok());
  ASSERT_TRUE(tags.Protect(p, "b").ok());
  ASSERT_TRUE(tags.Protect(p, "a").ok());  // idempotent
  EXPECT_TRUE(tags.IsProtected(p));
  EXPECT_TRUE(tags.Unprotect(p, "a"));
  EXPECT_TRUE(tags.IsProtected(p));
  EXPECT_TRUE(tags.Unprotect(p, "a"));      // already gone
  EXPECT_TRUE(tags.Unprotect(p, "other"));  // never held
  EXPECT_FALSE(tags.Unprotect(p, "b"));
  EXPECT_FALSE(tags.IsProtected(p));
  EXPECT_FALSE(tags.Unprotect(Peer(2), "a"));
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
}

TEST(PeerTagsTest, ProtectionTagsAreNotValueTags) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.Protect(p, "relay").ok());
  EXPECT_EQ(tags.Value(p), 0);
  EXPECT_EQ(tags.TagValue(p, "relay"), std::nullopt);
  ASSERT_TRUE(tags.SetTag(p, "relay", 5).ok());
  EXPECT_FALSE(tags.Unprotect(p, "relay"));
  EXPECT_THAT(tags.TagValue(p, "relay"), Optional(5));
  tags.RemoveTag(p, "relay");
  ASSERT_TRUE(tags.Protect(p, "relay").ok());
  tags.RemoveTag(p, "relay");
  EXPECT_TRUE(tags.IsProtected(p));
}

// --- Keep-alive ---------------------------------------------------------------------------------

TEST(PeerTagsTest, KeepAliveIsAnyTagStartingWithThePrefix) {
  PeerTags tags(PeerTagsLimits{});
  const struct {
    const char* name;
    bool keep_alive;
  } cases[] = {{"keep-alive", true},  {"keep-alive-foo", true}, {"keep-alive/x", true},
               {"keepalive", false},  {"keep", false},          {"keep-alivd", false},
               {"keep-alivf", false}, {"Keep-alive", false},    {"a-keep-alive", false}};
  int n = 1;
  for (const auto& c : cases) {
    ASSERT_TRUE(tags.SetTag(Peer(n), c.name, 1).ok());
    EXPECT_EQ(tags.HasKeepAlive(Peer(n)), c.keep_alive) << c.name;
    ++n;
  }
}

TEST(PeerTagsTest, RemoveKeepAliveTagsRemovesOnlyThose) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("keep-alive-gossip", Duration::Seconds(1),
                                       DecayPolicy::None(), BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.SetTag(p, "keep-alive", 1).ok());
  ASSERT_TRUE(tags.SetTag(p, "keep-alive-foo", 2).ok());
  ASSERT_TRUE(tags.SetTag(p, "keepalive", 4).ok());
  ASSERT_TRUE(tags.SetTag(p, "zzz", 8).ok());
  ASSERT_TRUE(tags.Bump(p, "keep-alive-gossip", 16, Sec(0)).ok());
  ASSERT_TRUE(tags.Protect(p, "keep-alive").ok());
  EXPECT_EQ(tags.Value(p), 31);
  tags.RemoveKeepAliveTags(p);
  EXPECT_FALSE(tags.HasKeepAlive(p));
  EXPECT_EQ(tags.Value(p), 12);
  EXPECT_THAT(tags.TagValue(p, "keepalive"), Optional(4));
  EXPECT_THAT(tags.TagValue(p, "zzz"), Optional(8));
  EXPECT_TRUE(tags.IsProtected(p));  // protections are not keep-alive tags

  // A decaying keep-alive tag alone counts too; removing it forgets the peer.
  const PeerId q = Peer(2);
  ASSERT_TRUE(tags.Bump(q, "keep-alive-gossip", 1, Sec(0)).ok());
  EXPECT_TRUE(tags.HasKeepAlive(q));
  tags.RemoveKeepAliveTags(q);
  EXPECT_FALSE(tags.HasKeepAlive(q));
  EXPECT_EQ(tags.tagged_peer_count(), 1u);
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
}

TEST(PeerTagsTest, KeepAlivePrefixComesFromTheLimits) {
  PeerTags tags(PeerTagsLimits{64, 100, "ka/"});
  ASSERT_TRUE(tags.SetTag(Peer(1), "keep-alive", 1).ok());
  ASSERT_TRUE(tags.SetTag(Peer(2), "ka/dial", 1).ok());
  EXPECT_FALSE(tags.HasKeepAlive(Peer(1)));
  EXPECT_TRUE(tags.HasKeepAlive(Peer(2)));
}

// --- Errors and limits --------------------------------------------------------------------------

TEST(PeerTagsTest, BadNamesAndPeers) {
  PeerTags tags(PeerTagsLimits{});
  ExpectStatus(tags.SetTag(Peer(1), "", 1), absl::StatusCode::kInvalidArgument,
               "tag name is empty");
  ExpectStatus(tags.AddToTag(Peer(1), std::string(129, 'x'), 1), absl::StatusCode::kInvalidArgument,
               "tag name is 129 bytes, over the 128-byte limit");
  EXPECT_TRUE(tags.SetTag(Peer(1), std::string(128, 'x'), 1).ok());
  ExpectStatus(tags.Protect(Peer(1), ""), absl::StatusCode::kInvalidArgument,
               "protection tag name is empty");
  ExpectStatus(tags.Protect(Peer(1), std::string(129, 'x')), absl::StatusCode::kInvalidArgument,
               "protection tag name is 129 bytes, over the 128-byte limit");
  ExpectStatus(tags.SetTag(PeerId(), "a", 1), absl::StatusCode::kInvalidArgument,
               "peer id is empty");
  ExpectStatus(tags.Protect(PeerId(), "a"), absl::StatusCode::kInvalidArgument, "peer id is empty");
  ExpectStatus(tags.RegisterDecayingTag("", Duration::Seconds(1), DecayPolicy::None(),
                                        BumpPolicy::Sum(), Sec(0)),
               absl::StatusCode::kInvalidArgument, "decaying tag name is empty");
  EXPECT_EQ(tags.tagged_peer_count(), 1u);
}

TEST(PeerTagsTest, TagsPerPeerLimit) {
  PeerTags tags(PeerTagsLimits{2, 100, "keep-alive"});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("g", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.SetTag(p, "a", 1).ok());
  ASSERT_TRUE(tags.Bump(p, "g", 1, Sec(0)).ok());  // decaying instances count
  const std::string full =
      absl::StrCat("peer ", p.ToString(), " already holds 2 tags (max_tags_per_peer = 2)");
  ExpectStatus(tags.SetTag(p, "c", 1), absl::StatusCode::kResourceExhausted,
               absl::StrCat("tag \"c\": ", full));
  ExpectStatus(tags.AddToTag(p, "c", 1), absl::StatusCode::kResourceExhausted,
               absl::StrCat("tag \"c\": ", full));
  tags.RemoveTag(p, "g");
  ASSERT_TRUE(tags.SetTag(p, "b", 1).ok());
  ExpectStatus(tags.Bump(p, "g", 1, Sec(0)), absl::StatusCode::kResourceExhausted,
               absl::StrCat("tag \"g\": ", full));
  // Existing tags still change at the limit.
  EXPECT_TRUE(tags.SetTag(p, "a", 5).ok());
  EXPECT_TRUE(tags.AddToTag(p, "b", 5).ok());
  EXPECT_EQ(tags.Value(p), 11);
  EXPECT_EQ(tags.TagValue(p, "c"), std::nullopt);

  // Protection tags have a limit of their own, of the same size.
  ASSERT_TRUE(tags.Protect(p, "x").ok());
  ASSERT_TRUE(tags.Protect(p, "y").ok());
  EXPECT_TRUE(tags.Protect(p, "y").ok());
  ExpectStatus(tags.Protect(p, "z"), absl::StatusCode::kResourceExhausted,
               absl::StrCat("protection tag \"z\": peer ", p.ToString(),
                            " already holds 2 protection tags (max_tags_per_peer = 2)"));
}

TEST(PeerTagsTest, TaggedPeersLimit) {
  PeerTags tags(PeerTagsLimits{64, 2, "keep-alive"});
  ASSERT_TRUE(tags.RegisterDecayingTag("g", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.SetTag(Peer(1), "a", 1).ok());
  ASSERT_TRUE(tags.Protect(Peer(2), "p").ok());  // protected-only peers count
  const std::string full = "2 peers already hold tags or protections (max_tagged_peers = 2)";
  ExpectStatus(tags.SetTag(Peer(3), "a", 1), absl::StatusCode::kResourceExhausted,
               absl::StrCat("tag \"a\": ", full));
  ExpectStatus(tags.AddToTag(Peer(3), "a", 1), absl::StatusCode::kResourceExhausted,
               absl::StrCat("tag \"a\": ", full));
  ExpectStatus(tags.Protect(Peer(3), "p"), absl::StatusCode::kResourceExhausted,
               absl::StrCat("protection tag \"p\": ", full));
  ExpectStatus(tags.Bump(Peer(3), "g", 1, Sec(0)), absl::StatusCode::kResourceExhausted,
               absl::StrCat("tag \"g\": ", full));
  EXPECT_EQ(tags.tagged_peer_count(), 2u);
  EXPECT_EQ(tags.Value(Peer(3)), 0);
  // Known peers take more tags.
  EXPECT_TRUE(tags.SetTag(Peer(2), "b", 1).ok());
  EXPECT_TRUE(tags.Bump(Peer(1), "g", 1, Sec(0)).ok());
  tags.ForgetPeer(Peer(1));
  EXPECT_TRUE(tags.SetTag(Peer(3), "a", 1).ok());
  EXPECT_EQ(tags.tagged_peer_count(), 2u);
}

TEST(PeerTagsTest, RegisterDecayingTagRules) {
  PeerTags tags(PeerTagsLimits{});
  const Duration s = Duration::Seconds(1);
  const auto invalid = absl::StatusCode::kInvalidArgument;
  ASSERT_TRUE(
      tags.RegisterDecayingTag("g", s, DecayPolicy::None(), BumpPolicy::Sum(), Sec(0)).ok());
  ExpectStatus(tags.RegisterDecayingTag("g", s, DecayPolicy::Fixed(1), BumpPolicy::Sum(), Sec(0)),
               invalid, "decaying tag \"g\" is already registered");
  ExpectStatus(tags.RegisterDecayingTag("h", Duration::Zero(), DecayPolicy::Fixed(1),
                                        BumpPolicy::Sum(), Sec(0)),
               invalid, "decaying tag \"h\": interval is 0 ns; it must be positive");
  ExpectStatus(tags.RegisterDecayingTag("h", Duration::Nanoseconds(-5), DecayPolicy::Fixed(1),
                                        BumpPolicy::Sum(), Sec(0)),
               invalid, "decaying tag \"h\": interval is -5 ns; it must be positive");
  ExpectStatus(
      tags.RegisterDecayingTag("h", s, DecayPolicy::Linear(101), BumpPolicy::Sum(), Sec(0)),
      invalid, "decaying tag \"h\": percent_kept is 101; it must be at most 100");
  ExpectStatus(tags.RegisterDecayingTag("h", s, DecayPolicy::Fixed(-1), BumpPolicy::Sum(), Sec(0)),
               invalid, "decaying tag \"h\": decay amount is -1; it must not be negative");
  ExpectStatus(
      tags.RegisterDecayingTag("h", s, DecayPolicy::ExpireWhenInactive(Duration::Nanoseconds(-1)),
                               BumpPolicy::Sum(), Sec(0)),
      invalid, "decaying tag \"h\": inactivity period is -1 ns; it must not be negative");
  ExpectStatus(
      tags.RegisterDecayingTag("h", s, DecayPolicy::Fixed(1), BumpPolicy::SumBounded(5, 4), Sec(0)),
      invalid, "decaying tag \"h\": bump bounds are min 5 > max 4");
  EXPECT_TRUE(tags.RegisterDecayingTag("h", s, DecayPolicy::Linear(100),
                                       BumpPolicy::SumBounded(5, 5), Sec(0))
                  .ok());
  ExpectStatus(tags.Bump(Peer(1), "nope", 1, Sec(0)), absl::StatusCode::kNotFound,
               "decaying tag \"nope\" is not registered");
  ExpectStatus(tags.Bump(PeerId(), "g", 1, Sec(0)), invalid, "peer id is empty");
}

TEST(PeerTagsTest, DecayingAndPlainNamesDoNotMix) {
  PeerTags tags(PeerTagsLimits{});
  const Duration s = Duration::Seconds(1);
  ASSERT_TRUE(tags.SetTag(Peer(1), "x", 1).ok());
  ASSERT_TRUE(tags.AddToTag(Peer(2), "x", 1).ok());
  ExpectStatus(tags.RegisterDecayingTag("x", s, DecayPolicy::Fixed(1), BumpPolicy::Sum(), Sec(0)),
               absl::StatusCode::kInvalidArgument,
               "decaying tag \"x\": 2 peers hold a plain tag of that name");
  tags.RemoveTag(Peer(1), "x");
  tags.ForgetPeer(Peer(2));
  ASSERT_TRUE(
      tags.RegisterDecayingTag("x", s, DecayPolicy::Fixed(1), BumpPolicy::Sum(), Sec(0)).ok());
  ExpectStatus(tags.SetTag(Peer(1), "x", 1), absl::StatusCode::kInvalidArgument,
               "tag \"x\" is a decaying tag; change it with Bump");
  ExpectStatus(tags.AddToTag(Peer(1), "x", 1), absl::StatusCode::kInvalidArgument,
               "tag \"x\" is a decaying tag; change it with Bump");
  // RemoveTag and TagValue see decaying instances.
  ASSERT_TRUE(tags.Bump(Peer(1), "x", 5, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(Peer(1), "x"), Optional(5));
  tags.RemoveTag(Peer(1), "x");
  EXPECT_EQ(tags.TagValue(Peer(1), "x"), std::nullopt);
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
}

// --- Decay policies -----------------------------------------------------------------------------

TEST(PeerTagsDecayTest, FixedSubtractsTheAmountEachInterval) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("d", Duration::Seconds(1), DecayPolicy::Fixed(3),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "d", 10, Sec(0)).ok());
  EXPECT_THAT(tags.AdvanceTo(Ms(999)), IsEmpty());
  EXPECT_THAT(tags.TagValue(p, "d"), Optional(10));
  EXPECT_THAT(tags.AdvanceTo(Sec(1)), ElementsAre(p));
  EXPECT_THAT(tags.TagValue(p, "d"), Optional(7));
  tags.AdvanceTo(Sec(2));
  EXPECT_THAT(tags.TagValue(p, "d"), Optional(4));
  tags.AdvanceTo(Ms(3500));
  EXPECT_THAT(tags.TagValue(p, "d"), Optional(1));
  EXPECT_EQ(tags.Value(p), 1);
  EXPECT_THAT(tags.AdvanceTo(Sec(4)), ElementsAre(p));
  EXPECT_EQ(tags.TagValue(p, "d"), std::nullopt);
  EXPECT_EQ(tags.Value(p), 0);
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
}

TEST(PeerTagsDecayTest, LinearKeepsAPercentageRoundingDown) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("d", Duration::Seconds(1), DecayPolicy::Linear(50),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "d", 100, Sec(0)).ok());
  const int64_t expected[] = {50, 25, 12, 6, 3, 1};
  for (int i = 0; i < 6; ++i) {
    EXPECT_THAT(tags.AdvanceTo(Sec(i + 1)), ElementsAre(p));
    EXPECT_THAT(tags.TagValue(p, "d"), Optional(expected[i])) << "at " << i + 1 << " s";
  }
  EXPECT_THAT(tags.AdvanceTo(Sec(7)), ElementsAre(p));  // 1 × 50 % = 0: removed
  EXPECT_EQ(tags.TagValue(p, "d"), std::nullopt);
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
}

TEST(PeerTagsDecayTest, LinearRoundsDownAtEveryStep) {
  // 10 keeping 33 %: 3, then 0 (removed); a closed form 10 × 0.33² would give 1.
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("d", Duration::Seconds(1), DecayPolicy::Linear(33),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "d", 10, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(Peer(2), "d", 10, Sec(0)).ok());
  tags.AdvanceTo(Sec(1));
  EXPECT_THAT(tags.TagValue(Peer(1), "d"), Optional(3));
  EXPECT_THAT(tags.AdvanceTo(Sec(2)), ElementsAre(Peer(1), Peer(2)));
  EXPECT_EQ(tags.TagValue(Peer(1), "d"), std::nullopt);
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
}

TEST(PeerTagsDecayTest, LinearAtZeroAndHundredPercent) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("keep", Duration::Seconds(1), DecayPolicy::Linear(100),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.RegisterDecayingTag("drop", Duration::Seconds(1), DecayPolicy::Linear(0),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "keep", kMax, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(Peer(2), "keep", 0, Sec(0)).ok());  // <= 0: removed at the first step
  ASSERT_TRUE(tags.Bump(Peer(3), "drop", kMax, Sec(0)).ok());
  EXPECT_THAT(tags.AdvanceTo(Sec(1'000'000)), ElementsAre(Peer(3)));  // Peer(2)'s value stays 0
  EXPECT_THAT(tags.TagValue(Peer(1), "keep"), Optional(kMax));
  EXPECT_EQ(tags.TagValue(Peer(2), "keep"), std::nullopt);
  EXPECT_EQ(tags.TagValue(Peer(3), "drop"), std::nullopt);
  EXPECT_EQ(tags.tagged_peer_count(), 1u);
}

TEST(PeerTagsDecayTest, ExpireWhenInactiveAtTheFirstTickAfterTheInactivityPeriod) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("every-1s", Duration::Seconds(1),
                                       DecayPolicy::ExpireWhenInactive(Duration::Seconds(10)),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.RegisterDecayingTag("every-4s", Duration::Seconds(4),
                                       DecayPolicy::ExpireWhenInactive(Duration::Seconds(10)),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "every-1s", 1, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(p, "every-4s", 2, Sec(0)).ok());
  tags.AdvanceTo(Sec(5));
  ASSERT_TRUE(tags.Bump(p, "every-1s", 10, Sec(5)).ok());
  ASSERT_TRUE(tags.Bump(p, "every-4s", 20, Sec(5)).ok());
  EXPECT_THAT(tags.AdvanceTo(Sec(14)), IsEmpty());
  EXPECT_THAT(tags.TagValue(p, "every-1s"), Optional(11));
  EXPECT_THAT(tags.TagValue(p, "every-4s"), Optional(22));
  // The 1 s kind ticks at 15 s; the 4 s kind at 12 s and 16 s.
  EXPECT_THAT(tags.AdvanceTo(Sec(15)), ElementsAre(p));
  EXPECT_EQ(tags.TagValue(p, "every-1s"), std::nullopt);
  EXPECT_THAT(tags.TagValue(p, "every-4s"), Optional(22));
  EXPECT_THAT(tags.AdvanceTo(Ms(15'999)), IsEmpty());
  EXPECT_THAT(tags.AdvanceTo(Sec(16)), ElementsAre(p));
  EXPECT_EQ(tags.TagValue(p, "every-4s"), std::nullopt);
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
}

// go-libp2p's DecayExpireWhenInactive compares the bump time with itself and never expires.
TEST(PeerTagsDecayTest, ExpireWhenInactiveDoesExpire) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("seen", Duration::Seconds(10),
                                       DecayPolicy::ExpireWhenInactive(Duration::Seconds(30)),
                                       BumpPolicy::Overwrite(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.SetTag(p, "plain", 1).ok());
  ASSERT_TRUE(tags.Bump(p, "seen", 50, Sec(0)).ok());
  EXPECT_EQ(tags.Value(p), 51);
  for (int s = 10; s < 30; s += 10) {
    EXPECT_THAT(tags.AdvanceTo(Sec(s)), IsEmpty());
  }
  EXPECT_THAT(tags.AdvanceTo(Sec(30)), ElementsAre(p));
  EXPECT_EQ(tags.TagValue(p, "seen"), std::nullopt);
  EXPECT_EQ(tags.Value(p), 1);
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
  // A peer that held only the expired tag is forgotten.
  ASSERT_TRUE(tags.Bump(Peer(2), "seen", 50, Sec(30)).ok());
  EXPECT_THAT(tags.AdvanceTo(Sec(3600)), ElementsAre(Peer(2)));
  EXPECT_EQ(tags.tagged_peer_count(), 1u);
}

TEST(PeerTagsDecayTest, NoneNeverChanges) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("n", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "n", -4, Sec(0)).ok());
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
  EXPECT_THAT(tags.AdvanceTo(Sec(1'000)), IsEmpty());
  EXPECT_THAT(tags.TagValue(Peer(1), "n"), Optional(-4));
}

// --- Bump policies ------------------------------------------------------------------------------

TEST(PeerTagsBumpTest, Sum) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("s", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "s", 3, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "s"), Optional(3));
  ASSERT_TRUE(tags.Bump(p, "s", 4, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "s"), Optional(7));
  ASSERT_TRUE(tags.Bump(p, "s", -10, Sec(0)).ok());  // a bump never removes
  EXPECT_THAT(tags.TagValue(p, "s"), Optional(-3));
  ASSERT_TRUE(tags.Bump(p, "s", kMax, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(p, "s", kMax, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "s"), Optional(kMax));
}

TEST(PeerTagsBumpTest, SumBoundedClampsIntoTheBounds) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("b", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::SumBounded(2, 10), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "b", 15, Sec(0)).ok());  // a new instance is clamped too
  EXPECT_THAT(tags.TagValue(p, "b"), Optional(10));
  ASSERT_TRUE(tags.Bump(p, "b", -4, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "b"), Optional(6));
  ASSERT_TRUE(tags.Bump(p, "b", 5, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "b"), Optional(10));
  ASSERT_TRUE(tags.Bump(p, "b", -30, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "b"), Optional(2));
  ASSERT_TRUE(tags.Bump(Peer(2), "b", 0, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(Peer(2), "b"), Optional(2));
  ASSERT_TRUE(tags.Bump(Peer(3), "b", kMax, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(Peer(3), "b", kMax, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(Peer(3), "b"), Optional(10));
}

TEST(PeerTagsBumpTest, Overwrite) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("o", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::Overwrite(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "o", 5, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(p, "o", 2, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "o"), Optional(2));
  ASSERT_TRUE(tags.Bump(p, "o", 9, Sec(0)).ok());
  EXPECT_THAT(tags.TagValue(p, "o"), Optional(9));
}

TEST(PeerTagsBumpTest, BumpAppliesDueDecayOfItsInstanceFirst) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("f", Duration::Seconds(1), DecayPolicy::Fixed(2),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.RegisterDecayingTag("e", Duration::Seconds(1),
                                       DecayPolicy::ExpireWhenInactive(Duration::Seconds(2)),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "f", 10, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(p, "e", 5, Sec(0)).ok());
  // No AdvanceTo since 0 s: the ticks at 1, 2 and 3 s come before these bumps.
  ASSERT_TRUE(tags.Bump(p, "f", 1, Ms(3500)).ok());
  EXPECT_THAT(tags.TagValue(p, "f"), Optional(5));  // 10 - 3 × 2 + 1
  ASSERT_TRUE(tags.Bump(p, "e", 3, Ms(3500)).ok());
  EXPECT_THAT(tags.TagValue(p, "e"), Optional(3));  // expired at 2 s; a new instance
  // AdvanceTo does not apply those ticks again.
  EXPECT_THAT(tags.AdvanceTo(Ms(3500)), IsEmpty());
  EXPECT_THAT(tags.TagValue(p, "f"), Optional(5));
  tags.AdvanceTo(Sec(4));
  EXPECT_THAT(tags.TagValue(p, "f"), Optional(3));
  EXPECT_THAT(tags.TagValue(p, "e"), Optional(3));
  tags.AdvanceTo(Sec(6));  // last bump 3.5 s + 2 s: the tick at 6 s expires it
  EXPECT_EQ(tags.TagValue(p, "e"), std::nullopt);
}

// --- AdvanceTo ----------------------------------------------------------------------------------

struct KindSpec {
  const char* name;
  DecayPolicy decay;
  BumpPolicy bump;
  std::vector<int64_t> bumps;  // one peer per value
};

std::vector<KindSpec> JumpKinds() {
  return {
      {"expire-long",
       DecayPolicy::ExpireWhenInactive(Duration::Seconds(5'000)),
       BumpPolicy::Sum(),
       {1, 2}},
      {"expire-short",
       DecayPolicy::ExpireWhenInactive(Duration::Seconds(500)),
       BumpPolicy::Sum(),
       {3}},
      {"fixed-3", DecayPolicy::Fixed(3), BumpPolicy::Sum(), {5'000, 2'999, 3'001, -1, 0}},
      {"fixed-big", DecayPolicy::Fixed(kMax / 3), BumpPolicy::Sum(), {kMax}},
      {"linear-33", DecayPolicy::Linear(33), BumpPolicy::Sum(), {10, kMax}},
      {"linear-90", DecayPolicy::Linear(90), BumpPolicy::Sum(), {12'345'678, kMax}},
      {"linear-99", DecayPolicy::Linear(99), BumpPolicy::Sum(), {1'000'000'000, kMax, 7}},
      {"linear-100", DecayPolicy::Linear(100), BumpPolicy::Overwrite(), {42}},
      {"none", DecayPolicy::None(), BumpPolicy::Sum(), {-8}},
  };
}

// Registers JumpKinds() at 0 s with a 1 s interval and bumps one instance per value, on peers
// 1 to 7 in turn so that each peer holds several kinds; returns the peers bumped.
std::vector<PeerId> SetUpJump(PeerTags& tags) {
  std::vector<PeerId> peers;
  int n = 0;
  for (const KindSpec& kind : JumpKinds()) {
    EXPECT_TRUE(
        tags.RegisterDecayingTag(kind.name, Duration::Seconds(1), kind.decay, kind.bump, Sec(0))
            .ok());
    for (int64_t value : kind.bumps) {
      const PeerId peer = Peer(1 + n % 7);  // peers share several kinds
      EXPECT_TRUE(tags.Bump(peer, kind.name, value, Sec(0)).ok());
      peers.push_back(peer);
      ++n;
    }
  }
  return peers;
}

TEST(PeerTagsAdvanceTest, AJumpOf1000IntervalsEqualsSingleSteps) {
  PeerTags stepped(PeerTagsLimits{});
  PeerTags jumped(PeerTagsLimits{});
  const std::vector<PeerId> peers = SetUpJump(stepped);
  SetUpJump(jumped);

  absl::btree_set<PeerId> changed_by_steps;
  for (int s = 1; s <= 1000; ++s) {
    for (const PeerId& peer : stepped.AdvanceTo(Sec(s))) changed_by_steps.insert(peer);
  }
  const std::vector<PeerId> changed_by_jump = jumped.AdvanceTo(Sec(1000));
  EXPECT_THAT(changed_by_jump,
              ::testing::ElementsAreArray(changed_by_steps.begin(), changed_by_steps.end()));

  for (const KindSpec& kind : JumpKinds()) {
    for (const PeerId& peer : peers) {
      EXPECT_EQ(jumped.TagValue(peer, kind.name), stepped.TagValue(peer, kind.name))
          << kind.name << " " << peer.ToString();
    }
  }
  for (const PeerId& peer : peers) EXPECT_EQ(jumped.Value(peer), stepped.Value(peer));
  EXPECT_EQ(jumped.tagged_peer_count(), stepped.tagged_peer_count());
  EXPECT_EQ(jumped.NextDeadline(), stepped.NextDeadline());
  EXPECT_EQ(jumped.NextDeadline(), Sec(1001));
}

TEST(PeerTagsAdvanceTest, JumpValuesMatchStepByStepArithmetic) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("l", Duration::Seconds(1), DecayPolicy::Linear(99),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.RegisterDecayingTag("f", Duration::Seconds(1), DecayPolicy::Fixed(3),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "l", 1'000'000'000, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "f", 5'000, Sec(0)).ok());
  tags.AdvanceTo(Sec(1000));
  int64_t linear = 1'000'000'000;
  for (int i = 0; i < 1000; ++i) linear = linear * 99 / 100;
  EXPECT_THAT(tags.TagValue(Peer(1), "l"), Optional(linear));
  EXPECT_THAT(tags.TagValue(Peer(1), "f"), Optional(2'000));
  // From the largest value, 99 % reaches 0 after 3945 steps.
  ASSERT_TRUE(tags.Bump(Peer(2), "l", kMax, Sec(1000)).ok());
  tags.AdvanceTo(Sec(1000 + 3944));
  EXPECT_THAT(tags.TagValue(Peer(2), "l"), Optional(1));
  tags.AdvanceTo(Sec(1000 + 3945));
  EXPECT_EQ(tags.TagValue(Peer(2), "l"), std::nullopt);
}

TEST(PeerTagsAdvanceTest, ReturnsExactlyThePeersWhoseValueChangedSorted) {
  PeerTags tags(PeerTagsLimits{});
  const Duration s = Duration::Seconds(1);
  ASSERT_TRUE(
      tags.RegisterDecayingTag("a", s, DecayPolicy::Fixed(5), BumpPolicy::Sum(), Sec(0)).ok());
  ASSERT_TRUE(
      tags.RegisterDecayingTag("b", s, DecayPolicy::Fixed(1), BumpPolicy::Sum(), Sec(0)).ok());
  ASSERT_TRUE(
      tags.RegisterDecayingTag("c", s, DecayPolicy::Linear(100), BumpPolicy::Sum(), Sec(0)).ok());
  // Changed, bumped out of order.
  for (int n : {9, 3, 5, 1}) ASSERT_TRUE(tags.Bump(Peer(n), "b", 10, Sec(0)).ok());
  // Two kinds change it: reported once.
  ASSERT_TRUE(tags.Bump(Peer(4), "a", 10, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(Peer(4), "b", 10, Sec(0)).ok());
  // Unchanged: 100 % kept.
  ASSERT_TRUE(tags.Bump(Peer(7), "c", 10, Sec(0)).ok());
  // Unchanged: the value is saturated by a plain tag.
  ASSERT_TRUE(tags.SetTag(Peer(2), "plain", kMax).ok());
  ASSERT_TRUE(tags.Bump(Peer(2), "b", 10, Sec(0)).ok());
  // Unchanged: "a" falls by 5 while "b" (-5) is removed.
  ASSERT_TRUE(tags.Bump(Peer(6), "a", 20, Sec(0)).ok());
  ASSERT_TRUE(tags.Bump(Peer(6), "b", -5, Sec(0)).ok());
  EXPECT_EQ(tags.Value(Peer(6)), 15);

  EXPECT_THAT(tags.AdvanceTo(Sec(1)), ElementsAre(Peer(1), Peer(3), Peer(4), Peer(5), Peer(9)));
  EXPECT_EQ(tags.Value(Peer(6)), 15);
  EXPECT_EQ(tags.TagValue(Peer(6), "b"), std::nullopt);
  EXPECT_THAT(tags.TagValue(Peer(2), "b"), Optional(9));
  EXPECT_THAT(tags.AdvanceTo(Sec(1)), IsEmpty());  // nothing more is due
  EXPECT_THAT(tags.AdvanceTo(Ms(1999)), IsEmpty());
}

TEST(PeerTagsAdvanceTest, NextDeadline) {
  PeerTags tags(PeerTagsLimits{});
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
  ASSERT_TRUE(tags.RegisterDecayingTag("a", Duration::Seconds(10), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());  // no instance: nothing to decay
  ASSERT_TRUE(tags.Bump(Peer(1), "a", 100, Sec(3)).ok());
  EXPECT_EQ(tags.NextDeadline(), Sec(10));
  ASSERT_TRUE(tags.RegisterDecayingTag("b", Duration::Seconds(4), DecayPolicy::Linear(50),
                                       BumpPolicy::Sum(), Sec(3))
                  .ok());
  ASSERT_TRUE(tags.RegisterDecayingTag("n", Duration::Seconds(1), DecayPolicy::None(),
                                       BumpPolicy::Sum(), Sec(3))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "n", 100, Sec(3)).ok());  // kNone never ticks
  EXPECT_EQ(tags.NextDeadline(), Sec(10));
  ASSERT_TRUE(tags.Bump(Peer(2), "b", 100, Sec(3)).ok());
  EXPECT_EQ(tags.NextDeadline(), Sec(7));
  tags.AdvanceTo(Sec(7));
  EXPECT_EQ(tags.NextDeadline(), Sec(10));
  tags.AdvanceTo(Ms(10'500));
  EXPECT_EQ(tags.NextDeadline(), Sec(11));
  tags.ForgetPeer(Peer(2));
  EXPECT_EQ(tags.NextDeadline(), Sec(20));
  tags.RemoveTag(Peer(1), "a");
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
}

TEST(PeerTagsAdvanceTest, AnIdleKindKeepsItsScheduleWithoutDeadlines) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("a", Duration::Seconds(1), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "a", 5, Ms(100'500)).ok());
  EXPECT_EQ(tags.NextDeadline(), Sec(101));  // ticks stay on the registration grid
  EXPECT_THAT(tags.AdvanceTo(Sec(101)), ElementsAre(Peer(1)));
  EXPECT_THAT(tags.TagValue(Peer(1), "a"), Optional(4));
}

// --- Lifetime and time --------------------------------------------------------------------------

TEST(PeerTagsTest, PeersAreForgottenWhenTheyHoldNothing) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("d", Duration::Seconds(1), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.SetTag(Peer(1), "a", 0).ok());  // a zero tag is still a tag
  ASSERT_TRUE(tags.Protect(Peer(2), "p").ok());
  ASSERT_TRUE(tags.Bump(Peer(3), "d", 1, Sec(0)).ok());
  ASSERT_TRUE(tags.SetTag(Peer(4), "keep-alive", 1).ok());
  ASSERT_TRUE(tags.SetTag(Peer(5), "a", 1).ok());
  ASSERT_TRUE(tags.Protect(Peer(5), "p").ok());
  ASSERT_TRUE(tags.Bump(Peer(5), "d", 1, Sec(0)).ok());
  EXPECT_EQ(tags.tagged_peer_count(), 5u);

  tags.RemoveTag(Peer(1), "a");
  EXPECT_EQ(tags.tagged_peer_count(), 4u);
  EXPECT_FALSE(tags.Unprotect(Peer(2), "p"));
  EXPECT_EQ(tags.tagged_peer_count(), 3u);
  EXPECT_THAT(tags.AdvanceTo(Sec(1)), ElementsAre(Peer(3), Peer(5)));
  EXPECT_EQ(tags.tagged_peer_count(), 2u);
  tags.RemoveKeepAliveTags(Peer(4));
  EXPECT_EQ(tags.tagged_peer_count(), 1u);
  ASSERT_TRUE(tags.Bump(Peer(5), "d", 10, Sec(1)).ok());
  tags.ForgetPeer(Peer(5));
  tags.ForgetPeer(Peer(5));
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
  EXPECT_FALSE(tags.IsProtected(Peer(5)));
  EXPECT_EQ(tags.Value(Peer(5)), 0);
  // A forgotten peer's instances are gone from their kind as well.
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
  EXPECT_THAT(tags.AdvanceTo(Sec(100)), IsEmpty());
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
}

TEST(PeerTagsTest, TimeGoingBackwardsIsTheLatestInstantSeen) {
  PeerTags tags(PeerTagsLimits{});
  const PeerId p = Peer(1);
  ASSERT_TRUE(tags.RegisterDecayingTag("f", Duration::Seconds(1), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.RegisterDecayingTag("e", Duration::Seconds(1),
                                       DecayPolicy::ExpireWhenInactive(Duration::Seconds(3)),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(p, "f", 10, Sec(0)).ok());
  EXPECT_THAT(tags.AdvanceTo(Sec(5)), ElementsAre(p));
  EXPECT_THAT(tags.TagValue(p, "f"), Optional(5));
  EXPECT_THAT(tags.AdvanceTo(Sec(2)), IsEmpty());  // decay is not undone
  EXPECT_THAT(tags.TagValue(p, "f"), Optional(5));
  EXPECT_EQ(tags.NextDeadline(), Sec(6));
  // A bump "at 1 s" happens at 5 s: the instance expires at the first tick >= 8 s.
  ASSERT_TRUE(tags.Bump(p, "e", 1, Sec(1)).ok());
  EXPECT_THAT(tags.AdvanceTo(Sec(7)), ElementsAre(p));  // "f" only
  EXPECT_THAT(tags.TagValue(p, "e"), Optional(1));
  tags.AdvanceTo(Sec(8));
  EXPECT_EQ(tags.TagValue(p, "e"), std::nullopt);
  // A kind registered "at 0 s" starts at 8 s.
  ASSERT_TRUE(tags.RegisterDecayingTag("g", Duration::Seconds(10), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(2), "g", 10, Sec(0)).ok());
  EXPECT_THAT(tags.AdvanceTo(Sec(17)), ElementsAre(p));  // "f" reached 0 at 10 s
  EXPECT_EQ(tags.TagValue(p, "f"), std::nullopt);
  EXPECT_THAT(tags.TagValue(Peer(2), "g"), Optional(10));
  EXPECT_THAT(tags.AdvanceTo(Sec(18)), ElementsAre(Peer(2)));
  EXPECT_THAT(tags.TagValue(Peer(2), "g"), Optional(9));
}

TEST(PeerTagsTest, FailedCallsDoNotMoveTime) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("f", Duration::Seconds(1), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Sec(0))
                  .ok());
  EXPECT_FALSE(tags.Bump(Peer(1), "nope", 1, Sec(100)).ok());
  EXPECT_FALSE(tags.RegisterDecayingTag("f", Duration::Seconds(1), DecayPolicy::Fixed(1),
                                        BumpPolicy::Sum(), Sec(100))
                   .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "f", 10, Sec(1)).ok());
  tags.AdvanceTo(Sec(3));
  EXPECT_THAT(tags.TagValue(Peer(1), "f"), Optional(8));
}

TEST(PeerTagsTest, FarFutureInstants) {
  PeerTags tags(PeerTagsLimits{});
  ASSERT_TRUE(tags.RegisterDecayingTag("f", Duration::Nanoseconds(1), DecayPolicy::Fixed(1),
                                       BumpPolicy::Sum(), Instant::FromNanoseconds(-kMax))
                  .ok());
  ASSERT_TRUE(tags.Bump(Peer(1), "f", kMax, Instant::FromNanoseconds(-kMax)).ok());
  // About 2^64 ticks at once: the value saturates to removal, with no overflow on the way.
  EXPECT_THAT(tags.AdvanceTo(Instant::FromNanoseconds(kMax - 1)), ElementsAre(Peer(1)));
  EXPECT_EQ(tags.tagged_peer_count(), 0u);
  ASSERT_TRUE(tags.Bump(Peer(1), "f", 5, Instant::Never()).ok());
  EXPECT_EQ(tags.NextDeadline(), Instant::Never());
  EXPECT_THAT(tags.AdvanceTo(Instant::Never()), IsEmpty());
  EXPECT_THAT(tags.TagValue(Peer(1), "f"), Optional(5));
}

}  // namespace
}  // namespace connmgr
