#include "core/printable.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace connmgr {
namespace {

// One input character as printed: its text, how many characters that text counts, and how
// many input bytes it stands for.
struct Piece {
  std::string text;
  size_t chars;
  size_t bytes;
};

Piece HexByte(uint8_t byte) { return {absl::StrFormat("\\x%02x", byte), 4, 1}; }

// The code point of the well-formed UTF-8 sequence at the start of `in` and its length, or a
// length of 0 when `in` does not start with one (overlong, surrogate, past U+10FFFF, cut short).
std::pair<uint32_t, size_t> DecodeUtf8(absl::string_view in) {
  const auto lead = static_cast<uint8_t>(in[0]);
  size_t length = 0;
  uint32_t code_point = 0;
  uint32_t smallest = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
    smallest = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
    smallest = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
    smallest = 0x10000;
  } else {
    return {0, 0};
  }
  if (in.size() < length) return {0, 0};
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<uint8_t>(in[k]);
    if ((next & 0xc0) != 0x80) return {0, 0};
    code_point = (code_point << 6) | (next & 0x3f);
  }
  if (code_point < smallest || code_point > 0x10ffff ||
      (code_point >= 0xd800 && code_point <= 0xdfff)) {
    return {0, 0};
  }
  return {code_point, length};
}

// Code points a terminal acts on rather than shows: C1 controls, line breaks, bidi controls.
bool IsInvisibleControl(uint32_t c) {
  return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 || c == 0x200e || c == 0x200f ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

Piece NextPiece(absl::string_view in) {
  const auto byte = static_cast<uint8_t>(in[0]);
  switch (byte) {
    case '\\':
      return {"\\\\", 2, 1};
    case '"':
      return {"\\\"", 2, 1};
    case '\n':
      return {"\\n", 2, 1};
    case '\r':
      return {"\\r", 2, 1};
    case '\t':
      return {"\\t", 2, 1};
    default:
      break;
  }
  if (byte < 0x20 || byte == 0x7f) return HexByte(byte);
  if (byte < 0x80) return {std::string(1, static_cast<char>(byte)), 1, 1};
  const auto [code_point, length] = DecodeUtf8(in);
  if (length == 0) return HexByte(byte);
  if (IsInvisibleControl(code_point)) {
    std::string text = absl::StrFormat("\\u{%x}", code_point);
    const size_t chars = text.size();
    return {std::move(text), chars, length};
  }
  return {std::string(in.substr(0, length)), 1, length};
}

}  // namespace

std::string Printable(absl::string_view untrusted, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  size_t at = 0;
  while (at < untrusted.size()) {
    Piece piece = NextPiece(untrusted.substr(at));
    if (chars + piece.chars > max_chars) {
      absl::StrAppend(&out, "...[", untrusted.size() - at, " more bytes]");
      return out;
    }
    out += piece.text;
    chars += piece.chars;
    at += piece.bytes;
  }
  return out;
}

}  // namespace connmgr
