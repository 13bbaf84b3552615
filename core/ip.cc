#include "core/ip.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace connmgr {
namespace {

// Longest address text there is: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
constexpr size_t kMaxAddressChars = 45;
// The multiaddr form is the longest prefix text: "/ip6/" + address + "/ipcidr/128".
constexpr size_t kMaxPrefixChars = 5 + kMaxAddressChars + 11;

// True if the first `bits` bits of `a` and `b` agree. Both hold at least (bits + 7) / 8 bytes.
bool SamePrefix(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b, int bits) {
  const int whole = bits / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (a[whole] & mask) == (b[whole] & mask);
}

bool InV4Range(const IpAddress& a, std::array<uint8_t, 4> network, int bits) {
  return a.is_v4() && SamePrefix(a.bytes(), network, bits);
}

// "0" or digits without a leading zero, at most `max`.
std::optional<int> ParseLength(absl::string_view text, int max) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// Dotted-quad IPv4 text: four decimal numbers 0 to 255, no leading zeros ("0" itself is one),
// nothing else. Writes 4 bytes to `out`.
bool ParseV4(absl::string_view text, uint8_t* out) {
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    int value = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++digits) {
      if (digits == 1 && value == 0) return false;  // a leading zero
      value = value * 10 + (text[i] - '0');
      if (value > 255) return false;
    }
    if (digits == 0) return false;
    out[parts++] = static_cast<uint8_t>(value);
    if (parts == 4) break;
    if (i == text.size() || text[i] != '.') return false;
    ++i;
  }
  return i == text.size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// IPv6 text (RFC 4291 section 2.2): eight groups of 1 to 4 hex digits split by ':', one "::"
// standing for one or more zero groups, and optionally a dotted-quad IPv4 address as the last
// two groups. Writes 16 bytes to `out`.
bool ParseV6(absl::string_view text, uint8_t* out) {
  std::array<uint16_t, 8> groups{};
  int count = 0;
  int gap = -1;  // where "::" stands, as a group index
  size_t i = 0;
  if (absl::StartsWith(text, "::")) {
    gap = 0;
    i = 2;
  } else if (absl::StartsWith(text, ":")) {
    return false;
  }
  while (i < text.size()) {
    const size_t end = std::min(text.find(':', i), text.size());
    const absl::string_view token = text.substr(i, end - i);
    if (token.find('.') != absl::string_view::npos) {  // the IPv4 tail: last, and two groups
      uint8_t v4[4];
      if (end != text.size() || count > 6 || !ParseV4(token, v4)) return false;
      groups[count++] = static_cast<uint16_t>((v4[0] << 8) | v4[1]);
      groups[count++] = static_cast<uint16_t>((v4[2] << 8) | v4[3]);
      break;
    }
    if (token.empty() || token.size() > 4 || count == 8) return false;
    uint16_t value = 0;
    for (char c : token) {
      const int digit = HexValue(c);
      if (digit < 0) return false;
      value = static_cast<uint16_t>((value << 4) | digit);
    }
    groups[count++] = value;
    if (end == text.size()) break;
    if (end + 1 < text.size() && text[end + 1] == ':') {  // "::"
      if (gap >= 0) return false;
      gap = count;
      i = end + 2;
    } else {
      i = end + 1;
      if (i == text.size()) return false;  // a trailing single ':'
    }
  }
  if (gap >= 0 ? count > 7 : count != 8) return false;
  std::array<uint16_t, 8> words{};
  const int tail = count - std::max(gap, 0);
  for (int g = 0; g < count; ++g) {
    words[gap >= 0 && g >= gap ? 8 - tail + (g - gap) : g] = groups[g];
  }
  for (size_t w = 0; w < 8; ++w) {
    out[2 * w] = static_cast<uint8_t>(words[w] >> 8);
    out[2 * w + 1] = static_cast<uint8_t>(words[w]);
  }
  return true;
}

std::string V4Text(const uint8_t* b) {
  return absl::StrCat(int{b[0]}, ".", int{b[1]}, ".", int{b[2]}, ".", int{b[3]});
}

// RFC 5952 text: lowercase hex without leading zeros; the longest run of two or more zero groups
// (the first of equal runs) is "::"; an IPv4-mapped (::ffff:0:0/96) or IPv4-compatible
// (::/96, other than :: and ::1's run) address ends in dotted-quad form.
std::string V6Text(const uint8_t* b) {
  std::array<uint16_t, 8> words;
  for (size_t w = 0; w < 8; ++w) words[w] = static_cast<uint16_t>((b[2 * w] << 8) | b[2 * w + 1]);
  int best = -1;  // the longest run of zero groups, -1 for none
  int best_length = 0;
  for (int w = 0; w < 8;) {
    if (words[w] != 0) {
      ++w;
      continue;
    }
    int end = w;
    while (end < 8 && words[end] == 0) ++end;
    if (end - w > best_length) {
      best = w;
      best_length = end - w;
    }
    w = end;
  }
  if (best_length < 2) best = -1;
  const bool v4_tail = best == 0 && (best_length == 6 || (best_length == 5 && words[5] == 0xffff));
  std::string text;
  for (int w = 0; w < 8; ++w) {
    if (w == best) {
      text += "::";
      w += best_length - 1;
      continue;
    }
    if (!text.empty() && text.back() != ':') text += ':';
    if (w == 6 && v4_tail) return absl::StrCat(text, V4Text(b + 12));
    absl::StrAppend(&text, absl::Hex(words[w]));
  }
  return text;
}

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  const bool v6 = absl::StrContains(text, ':');
  if (text.size() > kMaxAddressChars || absl::StrContains(text, '\0')) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text.substr(0, 64)),
                                                   text.size() > 64 ? "..." : "",
                                                   "\" is not an IP address"));
  }
  IpAddress address;
  if (v6) {
    address.size_ = 16;
    if (!ParseV6(text, address.bytes_.data())) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", absl::CHexEscape(text), "\" is not an IPv6 address"));
    }
  } else if (!ParseV4(text, address.bytes_.data())) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(text), "\" is not an IPv4 address"));
  }
  return address;
}

IpAddress IpAddress::V4(const std::array<uint8_t, 4>& bytes) {
  IpAddress address;
  std::copy(bytes.begin(), bytes.end(), address.bytes_.begin());
  return address;
}

IpAddress IpAddress::V6(const std::array<uint8_t, 16>& bytes) {
  IpAddress address;
  address.size_ = 16;
  address.bytes_ = bytes;
  return address;
}

std::optional<IpAddress> IpAddress::FromBytes(absl::string_view bytes) {
  if (bytes.size() != 4 && bytes.size() != 16) return std::nullopt;
  IpAddress address;
  address.size_ = static_cast<uint8_t>(bytes.size());
  std::memcpy(address.bytes_.data(), bytes.data(), bytes.size());
  return address;
}

IpAddress IpAddress::Unmapped() const {
  const bool mapped =
      is_v6() &&
      std::all_of(bytes_.begin(), bytes_.begin() + 10, [](uint8_t b) { return b == 0; }) &&
      bytes_[10] == 0xff && bytes_[11] == 0xff;  // ::ffff:0:0/96
  if (!mapped) return *this;
  return V4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

bool IpAddress::IsLoopback() const {
  const IpAddress a = Unmapped();
  if (a.is_v4()) return a.bytes_[0] == 127;
  return a == V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
}

bool IpAddress::IsPrivate() const {
  const IpAddress a = Unmapped();
  if (a.is_v4()) {
    return InV4Range(a, {10, 0, 0, 0}, 8) || InV4Range(a, {100, 64, 0, 0}, 10) ||
           InV4Range(a, {127, 0, 0, 0}, 8) || InV4Range(a, {169, 254, 0, 0}, 16) ||
           InV4Range(a, {172, 16, 0, 0}, 12) || InV4Range(a, {192, 168, 0, 0}, 16);
  }
  const bool unspecified = a == V6({});
  const bool unique_local = (a.bytes_[0] & 0xfe) == 0xfc;                       // fc00::/7
  const bool link_local = a.bytes_[0] == 0xfe && (a.bytes_[1] & 0xc0) == 0x80;  // fe80::/10
  return unspecified || a.IsLoopback() || unique_local || link_local;
}

std::string IpAddress::ToString() const {
  return is_v4() ? V4Text(bytes_.data()) : V6Text(bytes_.data());
}

IpPrefix::IpPrefix(const IpAddress& network, int length) {
  const int max = network.is_v4() ? 32 : 128;
  length_ = std::clamp(length, 0, max);
  std::array<uint8_t, 16> bytes{};
  const absl::Span<const uint8_t> in = network.bytes();
  for (int i = 0; i < length_ / 8; ++i) bytes[i] = in[i];
  if (length_ % 8 != 0) {
    bytes[length_ / 8] = in[length_ / 8] & static_cast<uint8_t>(0xff00 >> (length_ % 8));
  }
  network_ = network.is_v4() ? IpAddress::V4({bytes[0], bytes[1], bytes[2], bytes[3]})
                             : IpAddress::V6(bytes);
}

absl::StatusOr<IpPrefix> IpPrefix::Parse(absl::string_view text) {
  auto error = [text](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("IP prefix \"", absl::CHexEscape(text), "\": ", problem));
  };
  if (text.size() > kMaxPrefixChars) {
    return absl::InvalidArgumentError(absl::StrCat("IP prefix text is ", text.size(),
                                                   " characters, over the ", kMaxPrefixChars,
                                                   "-character limit"));
  }
  absl::string_view address_text = text;
  std::optional<absl::string_view> length_text;
  std::optional<bool> want_v6;  // set by the multiaddr form
  if (absl::StartsWith(text, "/")) {
    std::vector<absl::string_view> parts = absl::StrSplit(text.substr(1), '/');
    if (parts.size() != 4 || (parts[0] != "ip4" && parts[0] != "ip6") || parts[2] != "ipcidr") {
      return error(
          "multiaddr form must be /ip4/<address>/ipcidr/<length> or "
          "/ip6/<address>/ipcidr/<length>");
    }
    want_v6 = parts[0] == "ip6";
    address_text = parts[1];
    length_text = parts[3];
  } else if (const size_t slash = text.find('/'); slash != absl::string_view::npos) {
    address_text = text.substr(0, slash);
    length_text = text.substr(slash + 1);
  }

  absl::StatusOr<IpAddress> network = IpAddress::Parse(address_text);
  if (!network.ok()) return error(network.status().message());
  if (want_v6.has_value() && *want_v6 != network->is_v6()) {
    return error(*want_v6 ? "/ip6/ needs an IPv6 address" : "/ip4/ needs an IPv4 address");
  }
  const int max = network->is_v4() ? 32 : 128;
  if (!length_text.has_value()) return IpPrefix(*network, max);
  if (length_text->empty()) return error("missing prefix length after '/'");
  const std::optional<int> length = ParseLength(*length_text, max);
  if (!length.has_value()) {
    return error(absl::StrCat("prefix length \"", absl::CHexEscape(*length_text),
                              "\" is not a decimal number from 0 to ", max, " (",
                              network->is_v4() ? "IPv4" : "IPv6", ")"));
  }
  return IpPrefix(*network, *length);
}

bool IpPrefix::Contains(const IpAddress& address) const {
  const IpAddress a = network_.is_v4() ? address.Unmapped() : address;
  if (a.is_v4() != network_.is_v4()) return false;
  return SamePrefix(a.bytes(), network_.bytes(), length_);
}

std::string IpPrefix::ToString() const { return absl::StrCat(network_.ToString(), "/", length_); }

namespace {

// The top `bits` bits of a 64-bit word set (any `bits`; 0 or less: none, 64 or more: all).
uint64_t HighMask(int bits) {
  return bits <= 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits);
}

}  // namespace

PackedPrefix PackedPrefix::Shortened(int new_length) const {
  PackedPrefix p = *this;
  p.length = static_cast<uint8_t>(new_length);
  if (v6) {
    p.high &= HighMask(new_length);
    p.low &= HighMask(new_length - 64);
  } else {
    p.low &= HighMask(new_length) >> 32;
  }
  return p;
}

PackedPrefix PackPrefix(const IpAddress& address, int length) {
  const absl::Span<const uint8_t> b = address.bytes();
  PackedPrefix p;
  if (address.is_v4()) {
    p.low = (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) | b[3];
    p.length = 32;
  } else {
    p.v6 = true;
    for (int i = 0; i < 8; ++i) p.high = (p.high << 8) | b[i];
    for (int i = 8; i < 16; ++i) p.low = (p.low << 8) | b[i];
    p.length = 128;
  }
  return p.Shortened(length);
}

IpPrefix UnpackPrefix(const PackedPrefix& p) {
  if (!p.v6) {
    const auto w = static_cast<uint32_t>(p.low);
    return IpPrefix(IpAddress::V4({static_cast<uint8_t>(w >> 24), static_cast<uint8_t>(w >> 16),
                                   static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w)}),
                    p.length);
  }
  std::array<uint8_t, 16> bytes;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(p.high >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(p.low >> (56 - 8 * i));
  return IpPrefix(IpAddress::V6(bytes), p.length);
}

}  // namespace connmgr
