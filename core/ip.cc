#include "core/ip.h"

#include <arpa/inet.h>

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

// Longest text inet_pton could accept: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
constexpr size_t kMaxAddressChars = INET6_ADDRSTRLEN - 1;
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

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  const bool v6 = absl::StrContains(text, ':');
  if (text.size() > kMaxAddressChars || absl::StrContains(text, '\0')) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text.substr(0, 64)),
                                                   text.size() > 64 ? "..." : "",
                                                   "\" is not an IP address"));
  }
  const std::string terminated(text);
  IpAddress address;
  if (v6) {
    address.size_ = 16;
    if (inet_pton(AF_INET6, terminated.c_str(), address.bytes_.data()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", absl::CHexEscape(text), "\" is not an IPv6 address"));
    }
  } else if (inet_pton(AF_INET, terminated.c_str(), address.bytes_.data()) != 1) {
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
  char buffer[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof(buffer)) == nullptr) {
    return "";  // cannot happen: the buffer fits every address
  }
  return buffer;
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
