// IpAddress and IpPrefix: IPv4/IPv6 addresses and CIDR prefixes as ordered, hashable values.
//
//   absl::StatusOr<IpPrefix> lan = IpPrefix::Parse("192.168.0.0/16");
//   absl::StatusOr<IpAddress> ip = IpAddress::Parse("::ffff:192.168.1.7");
//   if (lan.ok() && ip.ok() && lan->Contains(*ip)) ...  // true: IPv4-mapped addresses count
//
// Text is parsed and printed here (no inet_pton/inet_ntop: the core includes no system network
// header), accepting exactly what glibc's inet_pton accepts and printing what its inet_ntop
// prints, which core/ip_test.cc checks: IPv6 prints in the RFC 5952 form ("2001:db8::1",
// lowercase, the first longest zero run compressed, "::ffff:1.2.3.4" for IPv4-mapped).
// Addresses order IPv4 before IPv6, then by bytes; prefixes order by network, then length.
#ifndef CONNMGR_CORE_IP_H_
#define CONNMGR_CORE_IP_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace connmgr {

class IpAddress {
 public:
  // 0.0.0.0.
  IpAddress() = default;

  // "1.2.3.4", "::1", "2001:db8::1", "::ffff:1.2.3.4". No zones ("%eth0"), no brackets.
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  static IpAddress V4(const std::array<uint8_t, 4>& bytes);
  static IpAddress V6(const std::array<uint8_t, 16>& bytes);
  // 4 bytes give IPv4, 16 give IPv6; any other size gives nullopt.
  static std::optional<IpAddress> FromBytes(absl::string_view bytes);

  bool is_v4() const { return size_ == 4; }
  bool is_v6() const { return size_ == 16; }
  // 4 or 16 bytes, network order.
  absl::Span<const uint8_t> bytes() const { return absl::MakeConstSpan(bytes_.data(), size_); }

  // ::ffff:a.b.c.d becomes a.b.c.d; anything else is returned unchanged.
  IpAddress Unmapped() const;
  // 127.0.0.0/8 and ::1, and the IPv4-mapped forms of 127.0.0.0/8.
  bool IsLoopback() const;
  // Not globally routable: 10/8, 100.64/10 (CGNAT), 127/8, 169.254/16, 172.16/12, 192.168/16,
  // ::, ::1, fc00::/7, fe80::/10, and the IPv4-mapped forms of the IPv4 ranges.
  bool IsPrivate() const;

  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend std::strong_ordering operator<=>(const IpAddress&, const IpAddress&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const IpAddress& a) {
    return H::combine(std::move(h), a.size_, a.bytes_);
  }

 private:
  uint8_t size_ = 4;
  std::array<uint8_t, 16> bytes_{};  // bytes past size_ are zero
};

class IpPrefix {
 public:
  // 0.0.0.0/32, which contains only 0.0.0.0.
  IpPrefix() = default;
  // Bits of `network` past `length` are cleared, so IpPrefix(1.2.3.4, 24) is 1.2.3.0/24.
  // `length` is clamped to [0, 32] for IPv4 and [0, 128] for IPv6.
  IpPrefix(const IpAddress& network, int length);

  // "1.2.3.0/24", "2001:db8::/32", a bare address ("1.2.3.4" is /32, "::1" is /128), or the
  // multiaddr form "/ip4/1.2.3.0/ipcidr/24" or "/ip6/2001:db8::/ipcidr/32". Host bits past the
  // length are masked off rather than rejected: "1.2.3.4/24" is 1.2.3.0/24.
  static absl::StatusOr<IpPrefix> Parse(absl::string_view text);

  const IpAddress& network() const { return network_; }
  int length() const { return length_; }

  // A IPv4 prefix also contains the IPv4-mapped forms (::ffff:a.b.c.d) of its addresses. An IPv6
  // prefix never contains an IPv4 address, and an IPv4 prefix never contains other IPv6 ones.
  bool Contains(const IpAddress& address) const;

  // "1.2.3.0/24", "2001:db8::/32".
  std::string ToString() const;

  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
  friend std::strong_ordering operator<=>(const IpPrefix&, const IpPrefix&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const IpPrefix& p) {
    return H::combine(std::move(h), p.network_, p.length_);
  }

 private:
  IpAddress network_;
  int length_ = 32;
};

// A prefix as two 64-bit words (an IPv4 network in the low 32 bits of `low`) and a length:
// what the hot lookups key their tables on, since masking, hashing and comparing it is cheap.
struct PackedPrefix {
  uint64_t high = 0;
  uint64_t low = 0;
  uint8_t length = 0;
  bool v6 = false;

  // The prefix of the same address `length` bits long (no longer than this one).
  PackedPrefix Shortened(int length) const;

  friend bool operator==(const PackedPrefix&, const PackedPrefix&) = default;
  friend std::strong_ordering operator<=>(const PackedPrefix&, const PackedPrefix&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const PackedPrefix& p) {
    return H::combine(std::move(h), p.high, p.low, p.length, p.v6);
  }
};
PackedPrefix PackPrefix(const IpAddress& address, int length);
IpPrefix UnpackPrefix(const PackedPrefix& packed);

}  // namespace connmgr

#endif  // CONNMGR_CORE_IP_H_
