#include "core/encoding.h"

#include <string>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

using namespace std::string_literals;

std::string Uvarint(uint64_t value) {
  std::string out;
  AppendUvarint(value, &out);
  return out;
}

TEST(UvarintTest, KnownEncodings) {
  struct Case {
    uint64_t value;
    std::string bytes;
  };
  const Case cases[] = {
      {0, "\x00"s},
      {1, "\x01"},
      {127, "\x7f"},
      {128, "\x80\x01"},
      {255, "\xff\x01"},
      {300, "\xac\x02"},
      {421, "\xa5\x03"},
      {16384, "\x80\x80\x01"},
      {kMaxUvarint, "\xff\xff\xff\xff\xff\xff\xff\xff\x7f"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Uvarint(c.value), c.bytes) << c.value;
    absl::string_view in = c.bytes;
    uint64_t read = 12345;
    ASSERT_TRUE(ReadUvarint(&in, &read)) << c.value;
    EXPECT_EQ(read, c.value);
    EXPECT_TRUE(in.empty());
  }
}

TEST(UvarintTest, ReadConsumesOnlyTheVarint) {
  const std::string bytes = "\xa5\x03rest";
  absl::string_view in = bytes;
  uint64_t value = 0;
  ASSERT_TRUE(ReadUvarint(&in, &value));
  EXPECT_EQ(value, 421u);
  EXPECT_EQ(in, "rest");
}

TEST(UvarintTest, RejectsMalformedAndLeavesInputAlone) {
  const std::string bad[] = {
      ""s,
      "\x80"s,                                      // truncated
      "\xff\xff"s,                                  // truncated
      "\x80\x00"s,                                  // non-minimal zero
      "\x81\x00"s,                                  // non-minimal one
      "\xff\x80\x00"s,                              // non-minimal
      "\xff\xff\xff\xff\xff\xff\xff\xff\x80\x01"s,  // 10 bytes: over 63 bits
      "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s,  // 10 bytes: over 64 bits
  };
  for (const std::string& bytes : bad) {
    absl::string_view in = bytes;
    uint64_t value = 7;
    EXPECT_FALSE(ReadUvarint(&in, &value)) << absl::string_view(bytes).size();
    EXPECT_EQ(in.size(), bytes.size());
    EXPECT_EQ(value, 7u);
  }
}

TEST(Base58Test, KnownVectors) {
  struct Case {
    std::string bytes;
    std::string text;
  };
  const Case cases[] = {
      {"", ""},      {"\x00"s, "1"}, {"\x00\x00\x01"s, "112"},
      {"\x39", "z"}, {"\x3a", "21"}, {"hello world", "StV1DL6CwTryKyV"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Base58Encode(c.bytes), c.text);
    EXPECT_EQ(Base58Decode(c.text), c.bytes) << c.text;
  }
}

TEST(Base58Test, RoundTripsEveryByteValueAndLeadingZeros) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  EXPECT_EQ(Base58Decode(Base58Encode(bytes.substr(0, 150))), bytes.substr(0, 150));
  EXPECT_EQ(Base58Decode(Base58Encode(bytes.substr(100, 150))), bytes.substr(100, 150));
  const std::string zeros(5, '\0');
  EXPECT_EQ(Base58Encode(zeros + "\xff"), "11111" + Base58Encode("\xff"));
}

TEST(Base58Test, RejectsCharactersOutsideTheAlphabet) {
  for (const char* text : {"0", "O", "I", "l", "+", "abc def", "Qm/"}) {
    EXPECT_EQ(Base58Decode(text), std::nullopt) << text;
  }
  EXPECT_EQ(Base58Decode("1\0"s), std::nullopt);
}

TEST(Base58Test, RejectsInputOverTheLengthCap) {
  EXPECT_NE(Base58Decode(std::string(kMaxBase58DecodeChars, 'z')), std::nullopt);
  EXPECT_EQ(Base58Decode(std::string(kMaxBase58DecodeChars + 1, 'z')), std::nullopt);
}

// RFC 4648 section 10 vectors, lowercased and unpadded.
TEST(Base32Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"f", "my"},
      {"fo", "mzxq"},
      {"foo", "mzxw6"},
      {"foob", "mzxw6yq"},
      {"fooba", "mzxw6ytb"},
      {"foobar", "mzxw6ytboi"},
  };
  for (const auto& [bytes, text] : cases) {
    EXPECT_EQ(Base32Encode(bytes), text);
    EXPECT_EQ(Base32Decode(text), bytes) << text;
  }
}

TEST(Base32Test, AcceptsUppercaseButNotMixedCase) {
  EXPECT_EQ(Base32Decode("MZXW6YTBOI"), "foobar");
  EXPECT_EQ(Base32Decode("MZXW6ytboi"), std::nullopt);
}

TEST(Base32Test, RejectsNonCanonicalInput) {
  for (const char* text :
       {"m", "mzx", "mzxw6y", "mz", "mzxr", "my======", "my=", "m1", "m8", " my"}) {
    EXPECT_EQ(Base32Decode(text), std::nullopt) << text;
  }
}

TEST(Base64UrlTest, Rfc4648VectorsAndUrlAlphabet) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff\xfe", "-__-"},
  };
  for (const auto& [bytes, text] : cases) {
    EXPECT_EQ(Base64UrlEncode(bytes), text);
    EXPECT_EQ(Base64UrlDecode(text), bytes) << text;
  }
}

TEST(Base64UrlTest, RejectsPaddingStandardAlphabetAndStrayBits) {
  for (const char* text : {"Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9", "+//+", "Zm 9v"}) {
    EXPECT_EQ(Base64UrlDecode(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace connmgr
