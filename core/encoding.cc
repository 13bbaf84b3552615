#include "core/encoding.h"

#include <array>
#include <cassert>
#include <vector>

namespace connmgr {

void AppendUvarint(uint64_t value, std::string* out) {
  assert(value <= kMaxUvarint);
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

bool ReadUvarint(absl::string_view* in, uint64_t* out) {
  uint64_t value = 0;
  for (size_t i = 0; i < in->size() && i < kMaxUvarintBytes; ++i) {
    const uint8_t byte = static_cast<uint8_t>((*in)[i]);
    value |= uint64_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0) return false;  // a trailing zero group: not minimal
      *out = value;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

namespace {

constexpr char kBase58Alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Maps each byte to its digit value in `alphabet`, or -1.
template <size_t N>
constexpr std::array<int8_t, 256> ReverseAlphabet(const char (&alphabet)[N]) {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (size_t i = 0; i + 1 < N; ++i) {
    table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr std::array<int8_t, 256> kBase58Digits = ReverseAlphabet(kBase58Alphabet);
constexpr std::array<int8_t, 256> kBase32Digits = ReverseAlphabet(kBase32Alphabet);
constexpr std::array<int8_t, 256> kBase64UrlDigits = ReverseAlphabet(kBase64UrlAlphabet);

// Power-of-two bases: each character carries `bits` bits, most significant first.
std::string EncodeBits(absl::string_view bytes, const char* alphabet, int bits) {
  std::string out;
  out.reserve((bytes.size() * 8 + bits - 1) / bits);
  const uint32_t mask = (1u << bits) - 1;
  uint32_t buffer = 0;
  int buffered = 0;
  for (char c : bytes) {
    buffer = ((buffer << 8) | static_cast<uint8_t>(c)) & 0xffff;
    buffered += 8;
    while (buffered >= bits) {
      buffered -= bits;
      out.push_back(alphabet[(buffer >> buffered) & mask]);
    }
  }
  if (buffered > 0) out.push_back(alphabet[(buffer << (bits - buffered)) & mask]);
  return out;
}

std::optional<std::string> DecodeBits(absl::string_view text, const std::array<int8_t, 256>& digits,
                                      int bits) {
  // A final character that completes no byte, or leftover bits that are not zero, would mean
  // two texts for the same bytes.
  const size_t leftover = (text.size() * bits) % 8;
  if (leftover >= static_cast<size_t>(bits)) return std::nullopt;
  std::string out;
  out.reserve(text.size() * bits / 8);
  uint32_t buffer = 0;
  int buffered = 0;
  for (char c : text) {
    const int8_t digit = digits[static_cast<uint8_t>(c)];  // -1: not a digit
    if (digit < 0) return std::nullopt;
    buffer = ((buffer << bits) | static_cast<uint8_t>(digit)) & 0xffff;
    buffered += bits;
    if (buffered >= 8) {
      buffered -= 8;
      out.push_back(static_cast<char>((buffer >> buffered) & 0xff));
    }
  }
  if ((buffer & ((1u << buffered) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::string Base58Encode(absl::string_view bytes) {
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == '\0') ++zeros;
  // Base-58 digits, least significant first. log(256)/log(58) < 1.37.
  std::vector<uint8_t> digits;
  digits.reserve((bytes.size() - zeros) * 137 / 100 + 1);
  for (size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = static_cast<uint8_t>(bytes[i]);
    for (uint8_t& digit : digits) {
      carry += uint32_t{digit} << 8;
      digit = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string out(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(kBase58Alphabet[*it]);
  return out;
}

std::optional<std::string> Base58Decode(absl::string_view text) {
  if (text.size() > kMaxBase58DecodeChars) return std::nullopt;
  size_t ones = 0;
  while (ones < text.size() && text[ones] == '1') ++ones;
  // Base-256 digits, least significant first.
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size());
  for (size_t i = ones; i < text.size(); ++i) {
    const int8_t digit = kBase58Digits[static_cast<uint8_t>(text[i])];  // -1: not a digit
    if (digit < 0) return std::nullopt;
    uint32_t carry = static_cast<uint8_t>(digit);
    for (uint8_t& byte : bytes) {
      carry += uint32_t{byte} * 58;
      byte = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::string out(ones, '\0');
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) out.push_back(static_cast<char>(*it));
  return out;
}

std::string Base32Encode(absl::string_view bytes) { return EncodeBits(bytes, kBase32Alphabet, 5); }

std::optional<std::string> Base32Decode(absl::string_view text) {
  bool has_upper = false;
  for (char c : text) has_upper |= (c >= 'A' && c <= 'Z');
  if (!has_upper) return DecodeBits(text, kBase32Digits, 5);
  std::string lowered(text);
  for (char& c : lowered) {
    if (c >= 'a' && c <= 'z') return std::nullopt;  // mixed case
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return DecodeBits(lowered, kBase32Digits, 5);
}

std::string Base64UrlEncode(absl::string_view bytes) {
  return EncodeBits(bytes, kBase64UrlAlphabet, 6);
}

std::optional<std::string> Base64UrlDecode(absl::string_view text) {
  return DecodeBits(text, kBase64UrlDigits, 6);
}

}  // namespace connmgr
