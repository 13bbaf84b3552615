#include "core/ip_prefix_set.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

IpPrefix P(absl::string_view text) { return IpPrefix::Parse(text).value(); }
IpAddress A(absl::string_view text) { return IpAddress::Parse(text).value(); }

TEST(IpPrefixSetTest, V4EdgesOfARange) {
  IpPrefixSet set(10);
  ASSERT_TRUE(set.Insert(P("10.1.2.0/24")).value());
  EXPECT_FALSE(set.Contains(A("10.1.1.255")));
  EXPECT_TRUE(set.Contains(A("10.1.2.0")));
  EXPECT_TRUE(set.Contains(A("10.1.2.255")));
  EXPECT_FALSE(set.Contains(A("10.1.3.0")));
  EXPECT_TRUE(set.Contains(A("::ffff:10.1.2.7")));  // mapped
  EXPECT_FALSE(set.Contains(A("::a01:207")));       // not mapped
}

TEST(IpPrefixSetTest, V6EdgesAndFamiliesApart) {
  IpPrefixSet set(10);
  ASSERT_TRUE(set.Insert(P("2001:db8::/32")).value());
  EXPECT_TRUE(set.Contains(A("2001:db8::")));
  EXPECT_TRUE(set.Contains(A("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(set.Contains(A("2001:db9::")));
  EXPECT_FALSE(set.Contains(A("32.1.13.184")));  // the same bits as IPv4: never
  ASSERT_TRUE(set.Insert(P("::/0")).value());
  EXPECT_TRUE(set.Contains(A("::1")));
  EXPECT_FALSE(set.Contains(A("1.2.3.4")));
}

TEST(IpPrefixSetTest, LongestMatchAndHostEntries) {
  IpPrefixSet set(10);
  for (const char* p : {"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32"}) {
    ASSERT_TRUE(set.Insert(P(p)).ok());
  }
  EXPECT_EQ(set.LongestMatch(A("10.1.2.3")), P("10.1.2.3/32"));
  EXPECT_EQ(set.LongestMatch(A("10.1.2.4")), P("10.1.0.0/16"));
  EXPECT_EQ(set.LongestMatch(A("10.2.0.0")), P("10.0.0.0/8"));
  EXPECT_EQ(set.LongestMatch(A("11.0.0.0")), P("0.0.0.0/0"));
  EXPECT_EQ(set.LongestMatch(A("::1")), std::nullopt);
  ASSERT_TRUE(set.Insert(P("::1")).ok());
  EXPECT_EQ(set.LongestMatch(A("::1")), P("::1/128"));
}

TEST(IpPrefixSetTest, InsertEraseAndBound) {
  IpPrefixSet set(2);
  EXPECT_TRUE(set.Insert(P("10.0.0.0/8")).value());
  EXPECT_FALSE(set.Insert(P("10.0.0.0/8")).value());
  EXPECT_TRUE(set.Insert(P("10.1.0.0/16")).value());
  absl::StatusOr<bool> full = set.Insert(P("10.2.0.0/16"));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.status().message(),
            "cannot add 10.2.0.0/16: the list holds max_list_entries (2) entries");
  EXPECT_FALSE(set.Erase(P("10.2.0.0/16")));
  EXPECT_TRUE(set.Erase(P("10.0.0.0/8")));  // the parent goes, the child stays
  EXPECT_FALSE(set.Contains(A("10.2.0.1")));
  EXPECT_TRUE(set.Contains(A("10.1.0.1")));
  EXPECT_EQ(set.Entries(), std::vector<IpPrefix>{P("10.1.0.0/16")});
}

IpAddress RandomAddress(SplitMix64& rng) {
  const uint64_t r = rng.Next();
  if (r & 1) {
    // A small IPv4 space so that entries and probes meet often.
    return IpAddress::V4({10, static_cast<uint8_t>((r >> 8) & 3), static_cast<uint8_t>(r >> 16),
                          static_cast<uint8_t>(r >> 24)});
  }
  std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8};
  for (int i = 4; i < 16; ++i) b[i] = static_cast<uint8_t>((r >> (i * 3)) & 0x3);
  return IpAddress::V6(b);
}

TEST(IpPrefixSetTest, AgreesWithALinearScanOverManyEntries) {
  SplitMix64 seed(42);
  IpPrefixSet set(100'000);
  std::vector<IpPrefix> naive;
  while (naive.size() < 100'000) {
    const IpAddress a = RandomAddress(seed);
    const int length = static_cast<int>(seed.Next() % (a.is_v4() ? 33 : 129));
    const IpPrefix p(a, std::max(length, a.is_v4() ? 14 : 40));
    if (set.Insert(p).value()) naive.push_back(p);
    if (set.size() == 5'000) break;  // keep the naive scan affordable
  }
  for (int i = 0; i < 5'000; ++i) {
    const IpAddress a = RandomAddress(seed);
    std::optional<IpPrefix> expected;
    for (const IpPrefix& p : naive) {
      if (p.Contains(a) && (!expected || p.length() > expected->length())) expected = p;
    }
    ASSERT_EQ(set.LongestMatch(a), expected) << a.ToString();
  }
}

TEST(IpPrefixSetTest, HundredThousandEntries) {
  IpPrefixSet set(100'000);
  for (uint32_t i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(
        set.Insert(IpPrefix(IpAddress::V4({11, static_cast<uint8_t>(i >> 16),
                                           static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}),
                            32))
            .value());
  }
  EXPECT_EQ(set.size(), 100'000u);
  EXPECT_TRUE(set.Contains(A("11.1.134.159")));  // 99 999
  EXPECT_FALSE(set.Contains(A("11.1.134.160")));
}

TEST(IpPrefixSetTest, ParseListNamesTheBadEntry) {
  std::vector<std::string> entries = {"1.2.3.0/24", "2001:db8::/32", "5.6.7.8",
                                      "/ip4/9.9.0.0/ipcidr/16", "1.2.3.0/33"};
  absl::StatusOr<std::vector<IpPrefix>> parsed = ParseIpPrefixList(entries, "deny_list");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(parsed.status().message(), "deny_list[4] \"1.2.3.0/33\": "))
      << parsed.status();
  entries.pop_back();
  parsed = ParseIpPrefixList(entries, "deny_list");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, (std::vector<IpPrefix>{P("1.2.3.0/24"), P("2001:db8::/32"), P("5.6.7.8/32"),
                                            P("9.9.0.0/16")}));
}

}  // namespace
}  // namespace connmgr
