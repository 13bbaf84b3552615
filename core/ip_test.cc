#include "core/ip.h"

#include <arpa/inet.h>  // the reference the core's own text conversion is checked against

#include <array>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "absl/hash/hash_testing.h"
#include "absl/strings/match.h"
#include "core/multiaddr.h"
#include "gtest/gtest.h"

namespace connmgr {

// Readable gtest failure output.
void PrintTo(const IpAddress& ip, std::ostream* os) { *os << ip.ToString(); }
void PrintTo(const IpPrefix& prefix, std::ostream* os) { *os << prefix.ToString(); }

namespace {

using namespace std::string_literals;

IpAddress Ip(absl::string_view text) {
  absl::StatusOr<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << ip.status();
  return ip.value_or(IpAddress());
}

IpPrefix Prefix(absl::string_view text) {
  absl::StatusOr<IpPrefix> prefix = IpPrefix::Parse(text);
  EXPECT_TRUE(prefix.ok()) << prefix.status();
  return prefix.value_or(IpPrefix());
}

TEST(IpAddressTest, ParsePrintsCanonicalText) {
  const std::pair<std::string, std::string> cases[] = {
      {"1.2.3.4", "1.2.3.4"},
      {"0.0.0.0", "0.0.0.0"},
      {"255.255.255.255", "255.255.255.255"},
      {"::", "::"},
      {"::1", "::1"},
      {"2001:db8::1", "2001:db8::1"},
      {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // the first of two equal zero runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a lone zero group stays
      {"fe80:0000:0000:0001::", "fe80:0:0:1::"},         // the longest zero run
      {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
      {"::ffff:0102:0304", "::ffff:1.2.3.4"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
  };
  for (const auto& [text, canonical] : cases) {
    EXPECT_EQ(Ip(text).ToString(), canonical) << text;
    EXPECT_EQ(Ip(canonical), Ip(text)) << text;
  }
}

TEST(IpAddressTest, ParseRejects) {
  const std::string bad[] = {
      "",          "1.2.3",      "1.2.3.4.5",
      "256.1.1.1", "1.2.3.-1",   "01.2.3.4",
      "1.2.3.04",  "0x1.2.3.4",  "1.2.3.4 ",
      " 1.2.3.4",  "1.2.3.4\0"s, "1.2.3.4/32",
      "::1%eth0",  "[::1]",      "1::2::3",
      "12345::",   "g::",        "1:2:3:4:5:6:7:8:9",
      ":",         "localhost",  std::string(100, '1'),
  };
  for (const std::string& text : bad) {
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(text);
    EXPECT_FALSE(ip.ok()) << text;
    EXPECT_EQ(ip.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(IpAddress::Parse("1.2.3").status().message(), "\"1.2.3\" is not an IPv4 address");
  EXPECT_EQ(IpAddress::Parse("1::2::3").status().message(), "\"1::2::3\" is not an IPv6 address");
}

TEST(IpAddressTest, FamiliesAndBytes) {
  const IpAddress v4 = IpAddress::V4({192, 0, 2, 1});
  EXPECT_TRUE(v4.is_v4());
  EXPECT_FALSE(v4.is_v6());
  EXPECT_EQ(v4, Ip("192.0.2.1"));
  EXPECT_EQ(std::vector<uint8_t>(v4.bytes().begin(), v4.bytes().end()),
            (std::vector<uint8_t>{192, 0, 2, 1}));

  const IpAddress v6 = Ip("2001:db8::2");
  EXPECT_TRUE(v6.is_v6());
  ASSERT_EQ(v6.bytes().size(), 16u);
  EXPECT_EQ(v6.bytes()[0], 0x20);
  EXPECT_EQ(v6.bytes()[15], 0x02);
  EXPECT_EQ(v6, IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}));

  EXPECT_EQ(IpAddress(), Ip("0.0.0.0"));
}

TEST(IpAddressTest, FromBytes) {
  EXPECT_EQ(IpAddress::FromBytes("\x7f\x00\x00\x01"s), Ip("127.0.0.1"));
  EXPECT_EQ(IpAddress::FromBytes(std::string(15, '\0') + "\x01"), Ip("::1"));
  EXPECT_EQ(IpAddress::FromBytes(""), std::nullopt);
  EXPECT_EQ(IpAddress::FromBytes("abc"), std::nullopt);
  EXPECT_EQ(IpAddress::FromBytes("abcde"), std::nullopt);
  EXPECT_EQ(IpAddress::FromBytes(std::string(17, 'x')), std::nullopt);
}

TEST(IpAddressTest, Unmapped) {
  EXPECT_EQ(Ip("::ffff:10.1.2.3").Unmapped(), Ip("10.1.2.3"));
  EXPECT_EQ(Ip("10.1.2.3").Unmapped(), Ip("10.1.2.3"));
  EXPECT_EQ(Ip("::10.1.2.3").Unmapped(), Ip("::10.1.2.3"));  // IPv4-compatible is not mapped
  EXPECT_EQ(Ip("::fffe:10.1.2.3").Unmapped(), Ip("::fffe:10.1.2.3"));
  EXPECT_EQ(Ip("2001:db8::1").Unmapped(), Ip("2001:db8::1"));
}

TEST(IpAddressTest, LoopbackAndPrivateRanges) {
  struct Case {
    std::string ip;
    bool loopback;
    bool is_private;
  };
  const Case cases[] = {
      {"127.0.0.1", true, true},
      {"127.255.255.255", true, true},
      {"126.255.255.255", false, false},
      {"128.0.0.0", false, false},
      {"::1", true, true},
      {"::ffff:127.0.0.1", true, true},
      {"::2", false, false},
      {"::", false, true},
      {"10.0.0.0", false, true},
      {"10.255.255.255", false, true},
      {"11.0.0.0", false, false},
      {"9.255.255.255", false, false},
      {"100.64.0.0", false, true},
      {"100.127.255.255", false, true},
      {"100.63.255.255", false, false},
      {"100.128.0.0", false, false},
      {"169.254.1.1", false, true},
      {"169.253.255.255", false, false},
      {"172.16.0.0", false, true},
      {"172.31.255.255", false, true},
      {"172.15.255.255", false, false},
      {"172.32.0.0", false, false},
      {"192.168.0.1", false, true},
      {"192.169.0.1", false, false},
      {"8.8.8.8", false, false},
      {"0.0.0.0", false, false},
      {"fc00::1", false, true},
      {"fdff:ffff::1", false, true},
      {"fbff::1", false, false},
      {"fe00::1", false, false},
      {"fe80::1", false, true},
      {"febf:ffff::1", false, true},
      {"fec0::1", false, false},
      {"2001:db8::1", false, false},
      {"::ffff:10.0.0.1", false, true},
      {"::ffff:192.168.1.1", false, true},
      {"::ffff:8.8.8.8", false, false},
      {"::10.0.0.1", false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Ip(c.ip).IsLoopback(), c.loopback) << c.ip;
    EXPECT_EQ(Ip(c.ip).IsPrivate(), c.is_private) << c.ip;
  }
}

TEST(IpAddressTest, OrderingAndHash) {
  const std::vector<IpAddress> sorted = {Ip("0.0.0.0"),         Ip("1.2.3.4"),   Ip("1.2.3.5"),
                                         Ip("255.255.255.255"), Ip("::"),        Ip("::1"),
                                         Ip("::ffff:0.0.0.0"),  Ip("2001:db8::")};
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(sorted[i], sorted[i + 1]) << i;
  }
  EXPECT_NE(Ip("1.2.3.4"), Ip("::ffff:1.2.3.4"));
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(sorted));
}

// The reference: what glibc's inet_pton makes of `text`, as the IpAddress Parse should return.
std::optional<IpAddress> InetPton(const std::string& text) {
  std::array<uint8_t, 16> bytes{};
  if (text.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return std::nullopt;
    return IpAddress::V6(bytes);
  }
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) != 1) return std::nullopt;
  return IpAddress::V4({bytes[0], bytes[1], bytes[2], bytes[3]});
}

std::string InetNtop(const IpAddress& ip) {
  char buffer[INET6_ADDRSTRLEN] = {};
  EXPECT_NE(inet_ntop(ip.is_v4() ? AF_INET : AF_INET6, ip.bytes().data(), buffer, sizeof(buffer)),
            nullptr);
  return buffer;
}

// Parse accepts exactly what inet_pton accepts, with the same bytes; counts the mismatches.
int ParseMismatches(const std::string& text) {
  const absl::StatusOr<IpAddress> ours = IpAddress::Parse(text);
  const std::optional<IpAddress> reference = InetPton(text);
  if (ours.ok() == reference.has_value() && (!ours.ok() || *ours == *reference)) return 0;
  ADD_FAILURE() << "\"" << text << "\": Parse " << (ours.ok() ? ours->ToString() : "fails")
                << ", inet_pton " << (reference.has_value() ? reference->ToString() : "fails");
  return 1;
}

// ToString prints what inet_ntop prints, and Parse reads it back; counts the mismatches.
int PrintMismatches(const IpAddress& ip) {
  const std::string reference = InetNtop(ip);
  const absl::StatusOr<IpAddress> back = IpAddress::Parse(ip.ToString());
  if (ip.ToString() == reference && back.ok() && *back == ip) return 0;
  ADD_FAILURE() << "ToString \"" << ip.ToString() << "\", inet_ntop \"" << reference << "\"";
  return 1;
}

IpAddress V6FromWords(const std::array<uint16_t, 8>& words) {
  std::array<uint8_t, 16> bytes;
  for (size_t i = 0; i < 8; ++i) {
    bytes[2 * i] = static_cast<uint8_t>(words[i] >> 8);
    bytes[2 * i + 1] = static_cast<uint8_t>(words[i]);
  }
  return IpAddress::V6(bytes);
}

// Every string of up to 7 characters over an alphabet of IPv6 and IPv4 syntax ("::", ":::",
// "1::", "::1.", "1.0.0.1", "F:0::1", ...): Parse and inet_pton agree on each (960 800 strings).
TEST(IpTextVsInetTest, ParseAgreesOnEveryShortString) {
  const std::string alphabet = ":.019fG";
  int mismatches = 0, strings = 0;
  std::string text;
  for (size_t length = 0; length <= 7 && mismatches < 10; ++length) {
    std::vector<size_t> digit(length, 0);
    for (bool more = true; more && mismatches < 10;) {
      text.resize(length);
      for (size_t i = 0; i < length; ++i) text[i] = alphabet[digit[i]];
      mismatches += ParseMismatches(text);
      ++strings;
      more = false;
      for (size_t i = 0; i < length && !more; ++i) {
        more = ++digit[i] < alphabet.size();
        if (!more) digit[i] = 0;
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(strings, 960800);  // 1 + 7 + 7^2 + ... + 7^7
}

// Every decimal token of up to 4 digits as each octet of a dotted quad, alone and as the IPv4
// tail of an IPv6 address: leading zeros, 255 and 256, 0 and 00.
TEST(IpTextVsInetTest, ParseAgreesOnEveryOctetToken) {
  std::vector<std::string> tokens = {""};
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].size() == 4) continue;
    for (char c = '0'; c <= '9'; ++c) tokens.push_back(tokens[i] + c);
  }
  ASSERT_EQ(tokens.size(), 11111u);
  int mismatches = 0;
  for (const std::string& token : tokens) {
    for (int position = 0; position < 4 && mismatches < 10; ++position) {
      std::string quad;
      for (int i = 0; i < 4; ++i) quad += (i > 0 ? "." : "") + (i == position ? token : "7");
      mismatches += ParseMismatches(quad);
      mismatches += ParseMismatches("::ffff:" + quad);
      mismatches += ParseMismatches("1:2:3:4:5:6:" + quad);
    }
  }
  EXPECT_EQ(mismatches, 0);
}

// Random texts built from IPv6 pieces (groups of 0 to 5 hex digits in mixed case, ':' and "::",
// dotted quads with octets up to 300 and leading zeros): 300 000 of them, fixed seed.
TEST(IpTextVsInetTest, ParseAgreesOnRandomAddressLikeTexts) {
  std::mt19937_64 rng(20261205);
  auto below = [&rng](uint64_t n) { return static_cast<int>(rng() % n); };
  const std::string hex = "0123456789abcdefABCDEF";
  int mismatches = 0, accepted = 0;
  for (int n = 0; n < 300000 && mismatches < 10; ++n) {
    std::string text;
    const int pieces = 1 + below(12);
    for (int p = 0; p < pieces; ++p) {
      switch (below(8)) {
        case 0:
          text += "::";
          break;
        case 1: {
          for (int i = 0; i < 4; ++i) {
            const int octet = below(4) == 0 ? below(301) : below(10);
            text +=
                (i > 0 ? "." : "") + std::string(below(8) == 0 ? "0" : "") + std::to_string(octet);
          }
          break;
        }
        default: {
          const int digits = below(12) == 0 ? 5 : below(5);
          for (int i = 0; i < digits; ++i) text += hex[below(hex.size())];
          break;
        }
      }
      if (p + 1 < pieces && below(5) != 0) text += ':';
    }
    mismatches += ParseMismatches(text);
    accepted += InetPton(text).has_value();
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(accepted, 10000);  // the generator reaches valid texts too
}

// Every pattern of zero and non-zero groups (256), each with 40 random fillings of the non-zero
// groups, plus the IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96) forms: ToString is
// inet_ntop's text (RFC 5952) and parses back.
TEST(IpTextVsInetTest, PrintAgreesOnEveryZeroRunPattern) {
  std::mt19937_64 rng(5952);
  int mismatches = 0;
  for (int pattern = 0; pattern < 256 && mismatches < 10; ++pattern) {
    for (int fill = 0; fill < 40; ++fill) {
      std::array<uint16_t, 8> words{};
      for (int i = 0; i < 8; ++i) {
        if ((pattern >> i & 1) == 0) continue;
        const uint16_t r = static_cast<uint16_t>(rng());
        words[i] = fill % 4 == 0 ? static_cast<uint16_t>(1 + r % 15) : (r == 0 ? 1 : r);
      }
      mismatches += PrintMismatches(V6FromWords(words));
      if (pattern < 4) {  // the low 32 bits as an IPv4 tail
        words = {0, 0, 0, 0, 0, 0xffff, words[0], words[1]};
        mismatches += PrintMismatches(V6FromWords(words));
        words[5] = 0;
        mismatches += PrintMismatches(V6FromWords(words));
      }
    }
  }
  for (int octet = 0; octet < 256; ++octet) {
    const uint8_t b = static_cast<uint8_t>(octet);
    mismatches += PrintMismatches(IpAddress::V4({b, 0, 0, 0}));
    mismatches += PrintMismatches(IpAddress::V4({1, b, 2, b}));
    mismatches += PrintMismatches(IpAddress::V4({0, 0, b, 255}));
    mismatches += PrintMismatches(V6FromWords({0, 0, 0, 0, 0, 0xffff, b, 0}));
    mismatches +=
        PrintMismatches(V6FromWords({0, 0, 0, 0, 0, 0, static_cast<uint16_t>(b << 8), 1}));
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(IpAddress::V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}).ToString(), "::1");
  EXPECT_EQ(Ip("::102:304").ToString(), "::1.2.3.4");  // IPv4-compatible, as inet_ntop prints
  EXPECT_EQ(Ip("::ffff:0:0").ToString(), "::ffff:0.0.0.0");
  EXPECT_EQ(Ip("0:0:0:0:0:ffff:0:1").ToString(), "::ffff:0.0.0.1");
  EXPECT_EQ(Ip("1:0:0:0:0:ffff:0:1").ToString(), "1::ffff:0:1");
}

TEST(IpPrefixTest, ParseForms) {
  const std::pair<std::string, std::string> cases[] = {
      {"1.2.3.0/24", "1.2.3.0/24"},
      {"1.2.3.4/24", "1.2.3.0/24"},  // host bits masked
      {"1.2.3.4", "1.2.3.4/32"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"255.255.255.255/0", "0.0.0.0/0"},
      {"10.255.255.255/13", "10.248.0.0/13"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:db8:ffff::1/32", "2001:db8::/32"},
      {"::1", "::1/128"},
      {"::/0", "::/0"},
      {"2001:db8:ffff:ffff:ffff::/57", "2001:db8:ffff:ff80::/57"},
      {"/ip4/1.2.3.0/ipcidr/24", "1.2.3.0/24"},
      {"/ip4/1.2.3.99/ipcidr/24", "1.2.3.0/24"},
      {"/ip6/2001:db8::/ipcidr/32", "2001:db8::/32"},
      {"::ffff:1.2.3.0/120", "::ffff:1.2.3.0/120"},
  };
  for (const auto& [text, canonical] : cases) {
    EXPECT_EQ(Prefix(text).ToString(), canonical) << text;
    EXPECT_EQ(Prefix(canonical), Prefix(text)) << text;
  }
  EXPECT_EQ(Prefix("1.2.3.4/24").network(), Ip("1.2.3.0"));
  EXPECT_EQ(Prefix("1.2.3.4/24").length(), 24);
}

TEST(IpPrefixTest, MultiaddrFormAgreesWithMultiaddrParse) {
  for (const char* text : {"/ip4/1.2.3.0/ipcidr/24", "/ip6/2001:db8::/ipcidr/32"}) {
    absl::StatusOr<Multiaddr> addr = Multiaddr::Parse(text);
    ASSERT_TRUE(addr.ok()) << addr.status();
    ASSERT_EQ(addr->components().size(), 2u);
    EXPECT_EQ(addr->ip(), Prefix(text).network());
    EXPECT_EQ(addr->components()[1].protocol, Protocol::kIpCidr);
    EXPECT_EQ(static_cast<uint8_t>(addr->components()[1].value[0]), Prefix(text).length());
  }
}

TEST(IpPrefixTest, ConstructorMasksAndClamps) {
  EXPECT_EQ(IpPrefix(Ip("1.2.3.4"), 24).ToString(), "1.2.3.0/24");
  EXPECT_EQ(IpPrefix(Ip("1.2.3.4"), 40).ToString(), "1.2.3.4/32");
  EXPECT_EQ(IpPrefix(Ip("1.2.3.4"), -1).ToString(), "0.0.0.0/0");
  EXPECT_EQ(IpPrefix(Ip("::1"), 200).ToString(), "::1/128");
  EXPECT_EQ(IpPrefix().ToString(), "0.0.0.0/32");
}

TEST(IpPrefixTest, ContainsEdges) {
  struct Case {
    std::string prefix;
    std::string ip;
    bool contains;
  };
  const Case cases[] = {
      {"0.0.0.0/0", "0.0.0.0", true},
      {"0.0.0.0/0", "255.255.255.255", true},
      {"0.0.0.0/1", "127.255.255.255", true},
      {"0.0.0.0/1", "128.0.0.0", false},
      {"128.0.0.0/1", "128.0.0.0", true},
      {"128.0.0.0/1", "127.255.255.255", false},
      {"10.0.0.0/31", "10.0.0.1", true},
      {"10.0.0.0/31", "10.0.0.2", false},
      {"10.0.0.1/32", "10.0.0.1", true},
      {"10.0.0.1/32", "10.0.0.0", false},
      {"10.0.0.1/32", "10.0.0.2", false},
      {"10.248.0.0/13", "10.255.255.255", true},
      {"10.248.0.0/13", "10.247.255.255", false},
      {"::/0", "::", true},
      {"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
      {"::/127", "::1", true},
      {"::/127", "::2", false},
      {"::1/128", "::1", true},
      {"::1/128", "::", false},
      {"2001:db8:ffff:ff80::/57", "2001:db8:ffff:ffff::1", true},
      {"2001:db8:ffff:ff80::/57", "2001:db8:ffff:ff7f::1", false},
      // IPv4-mapped addresses belong to IPv4 prefixes; families never mix otherwise.
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},
      {"10.0.0.0/8", "::ffff:11.1.2.3", false},
      {"0.0.0.0/0", "::ffff:1.2.3.4", true},
      {"0.0.0.0/0", "::1", false},
      {"0.0.0.0/0", "::10.1.2.3", false},
      {"::/0", "1.2.3.4", false},
      {"::ffff:0.0.0.0/96", "1.2.3.4", false},
      {"::ffff:0.0.0.0/96", "::ffff:1.2.3.4", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Prefix(c.prefix).Contains(Ip(c.ip)), c.contains) << c.prefix << " " << c.ip;
  }
}

TEST(IpPrefixTest, ParseRejects) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "is not an IPv4 address"},
      {"1.2.3/24", "\"1.2.3\" is not an IPv4 address"},
      {"1.2.3.0/", "missing prefix length after '/'"},
      {"1.2.3.0/33", "prefix length \"33\" is not a decimal number from 0 to 32 (IPv4)"},
      {"::/129", "prefix length \"129\" is not a decimal number from 0 to 128 (IPv6)"},
      {"1.2.3.0/x", "prefix length \"x\""},
      {"1.2.3.0/+8", "prefix length \"+8\""},
      {"1.2.3.0/-1", "prefix length \"-1\""},
      {"1.2.3.0/08", "prefix length \"08\""},
      {"1.2.3.0/24/8", "prefix length \"24/8\""},
      {"1.2.3.0/1000", "prefix length \"1000\""},
      {"/ip4/1.2.3.0/ipcidr/33", "prefix length \"33\""},
      {"/ip4/1.2.3.0/ipcidr/", "missing prefix length"},
      {"/ip4/1.2.3.0/ipcidr", "multiaddr form must be"},
      {"/ip4/1.2.3.0", "multiaddr form must be"},
      {"/ip4/1.2.3.0/ipcidr/24/", "multiaddr form must be"},
      {"/ip4/1.2.3.0/tcp/24", "multiaddr form must be"},
      {"/dns/x/ipcidr/24", "multiaddr form must be"},
      {"/ip4/::1/ipcidr/24", "/ip4/ needs an IPv4 address"},
      {"/ip6/1.2.3.4/ipcidr/24", "/ip6/ needs an IPv6 address"},
      {std::string(100, '1'), "over the"},
  };
  for (const auto& [text, error] : cases) {
    absl::StatusOr<IpPrefix> prefix = IpPrefix::Parse(text);
    ASSERT_FALSE(prefix.ok()) << text;
    EXPECT_EQ(prefix.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(prefix.status().message(), error)) << prefix.status();
  }
  EXPECT_EQ(IpPrefix::Parse("1.2.3.0/33").status().message(),
            "IP prefix \"1.2.3.0/33\": prefix length \"33\" is not a decimal number from 0 to 32 "
            "(IPv4)");
}

TEST(IpPrefixTest, OrderingAndHash) {
  const std::vector<IpPrefix> sorted = {Prefix("0.0.0.0/0"),   Prefix("10.0.0.0/8"),
                                        Prefix("10.0.0.0/16"), Prefix("10.1.0.0/16"),
                                        Prefix("::/0"),        Prefix("2001:db8::/32")};
  for (size_t i = 0; i + 1 < sorted.size(); ++i) {
    EXPECT_LT(sorted[i], sorted[i + 1]) << i;
  }
  EXPECT_EQ(Prefix("1.2.3.4/24"), Prefix("1.2.3.0/24"));
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(sorted));
}

}  // namespace
}  // namespace connmgr
