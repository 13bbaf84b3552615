#include "core/printable.h"

#include <string>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

using namespace std::string_literals;

TEST(PrintableTest, PlainTextIsKept) {
  EXPECT_EQ(Printable("js-libp2p/3.3.11 UserAgent=node/22"), "js-libp2p/3.3.11 UserAgent=node/22");
  EXPECT_EQ(Printable(""), "");
}

TEST(PrintableTest, BackslashAndQuoteAreEscaped) { EXPECT_EQ(Printable(R"(a\b"c)"), R"(a\\b\"c)"); }

TEST(PrintableTest, LineBreaksAndTabsAreNamed) {
  EXPECT_EQ(Printable("a\nb\rc\td"), R"(a\nb\rc\td)");
}

TEST(PrintableTest, OtherControlBytesAreHex) {
  EXPECT_EQ(Printable("\x1b[2J\x1b[H"), R"(\x1b[2J\x1b[H)");
  EXPECT_EQ(Printable("\x00\x07\x08\x7f"s), R"(\x00\x07\x08\x7f)");
}

TEST(PrintableTest, WellFormedUtf8IsKept) {
  EXPECT_EQ(Printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\x8d"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\x8d");
}

TEST(PrintableTest, InvisibleControlCodePointsAreNamed) {
  // U+009B (CSI in 8-bit terminals), U+2028, U+202E (right-to-left override), U+2066, U+FEFF.
  EXPECT_EQ(Printable("a\xc2\x9b"
                      "b\xe2\x80\xa8"
                      "c\xe2\x80\xae"
                      "d\xe2\x81\xa6"
                      "e\xef\xbb\xbf"),
            R"(a\u{9b}b\u{2028}c\u{202e}d\u{2066}e\u{feff})");
}

TEST(PrintableTest, InvalidUtf8IsHexByteByByte) {
  EXPECT_EQ(Printable("\xff\xfe"), R"(\xff\xfe)");
  EXPECT_EQ(Printable("\x80"), R"(\x80)");                          // a stray continuation byte
  EXPECT_EQ(Printable("\xc0\xaf"), R"(\xc0\xaf)");                  // overlong "/"
  EXPECT_EQ(Printable("\xed\xa0\x80"), R"(\xed\xa0\x80)");          // a UTF-16 surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), R"(\xf4\x90\x80\x80)");  // past U+10FFFF
  EXPECT_EQ(Printable("\xe2\x82"), R"(\xe2\x82)");                  // cut short at the end
  // A broken sequence costs only its lead byte: the character after it survives.
  EXPECT_EQ(Printable("\xe2"
                      "A\xc3\xa9"),
            "\\xe2A\xc3\xa9");
}

TEST(PrintableTest, LongTextIsCappedWithTheBytesCut) {
  EXPECT_EQ(Printable(std::string(200, 'a')), std::string(128, 'a') + "...[72 more bytes]");
  EXPECT_EQ(Printable(std::string(128, 'a')), std::string(128, 'a'));
  EXPECT_EQ(Printable("abcdef", 4), "abcd...[2 more bytes]");
}

TEST(PrintableTest, AnEscapeIsNeverSplitByTheCap) {
  // "ab" is 2 characters, "\x1b" 4: it does not fit in 5, so the escape is left out whole.
  EXPECT_EQ(Printable("ab\x1bzz", 5), "ab...[3 more bytes]");
  EXPECT_EQ(Printable("ab\x1bzz", 6), "ab\\x1b...[2 more bytes]");
  // A UTF-8 character counts one character, whatever its bytes.
  EXPECT_EQ(Printable("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9...[2 more bytes]");
}

}  // namespace
}  // namespace connmgr
