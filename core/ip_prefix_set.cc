#include "core/ip_prefix_set.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace connmgr {

namespace {

// The top `bits` bits of a 64-bit word set (0 to 64).
uint64_t HighMask(int bits) { return bits <= 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits); }

}  // namespace

IpPrefixSet::Key IpPrefixSet::KeyOf(const IpAddress& address, int length) {
  const absl::Span<const uint8_t> b = address.bytes();
  Key key;
  key.length = static_cast<uint8_t>(length);
  if (address.is_v4()) {
    const uint64_t word = (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) | b[3];
    key.low = word & (HighMask(length) >> 32);
    return key;
  }
  key.v6 = true;
  uint64_t high = 0, low = 0;
  for (int i = 0; i < 8; ++i) high = (high << 8) | b[i];
  for (int i = 8; i < 16; ++i) low = (low << 8) | b[i];
  key.high = high & HighMask(length);
  key.low = low & HighMask(length - 64);
  return key;
}

IpPrefix IpPrefixSet::PrefixOf(const Key& key) {
  if (!key.v6) {
    const auto w = static_cast<uint32_t>(key.low);
    return IpPrefix(IpAddress::V4({static_cast<uint8_t>(w >> 24), static_cast<uint8_t>(w >> 16),
                                   static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w)}),
                    key.length);
  }
  std::array<uint8_t, 16> bytes;
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(key.high >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(key.low >> (56 - 8 * i));
  return IpPrefix(IpAddress::V6(bytes), key.length);
}

absl::StatusOr<bool> IpPrefixSet::Insert(const IpPrefix& prefix) {
  const Key key = KeyOf(prefix.network(), prefix.length());
  if (entries_.contains(key)) return false;
  if (entries_.size() >= max_entries_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot add ", prefix.ToString(), ": the list holds max_list_entries (", max_entries_,
        ") entries"));
  }
  entries_.insert(key);
  ++(prefix.network().is_v4() ? v4_lengths_[prefix.length()] : v6_lengths_[prefix.length()]);
  return true;
}

bool IpPrefixSet::Erase(const IpPrefix& prefix) {
  if (entries_.erase(KeyOf(prefix.network(), prefix.length())) == 0) return false;
  --(prefix.network().is_v4() ? v4_lengths_[prefix.length()] : v6_lengths_[prefix.length()]);
  return true;
}

bool IpPrefixSet::ContainsEntry(const IpPrefix& prefix) const {
  return entries_.contains(KeyOf(prefix.network(), prefix.length()));
}

std::optional<IpPrefix> IpPrefixSet::LongestIn(const IpAddress& address, int max_length) const {
  const bool v4 = address.is_v4();
  const Key full = KeyOf(address, max_length);
  for (int length = max_length; length >= 0; --length) {
    if ((v4 ? v4_lengths_[length] : v6_lengths_[length]) == 0) continue;
    Key candidate = full;
    candidate.length = static_cast<uint8_t>(length);
    if (v4) {
      candidate.low &= HighMask(length) >> 32;
    } else {
      candidate.high &= HighMask(length);
      candidate.low &= HighMask(length - 64);
    }
    if (entries_.contains(candidate)) return PrefixOf(candidate);
  }
  return std::nullopt;
}

std::optional<IpPrefix> IpPrefixSet::LongestMatch(const IpAddress& address) const {
  if (entries_.empty()) return std::nullopt;
  if (address.is_v4()) return LongestIn(address, 32);
  // An IPv6 address: the IPv6 entries, and, for a mapped address, the IPv4 ones. A /96..128
  // IPv6 entry holding the mapped range is as specific as an IPv4 entry 96 bits shorter.
  std::optional<IpPrefix> v6 = LongestIn(address, 128);
  const IpAddress unmapped = address.Unmapped();
  if (!unmapped.is_v4()) return v6;
  std::optional<IpPrefix> v4 = LongestIn(unmapped, 32);
  if (!v4) return v6;
  if (!v6) return v4;
  return v6->length() > v4->length() + 96 ? v6 : v4;  // a tie goes to the IPv4 entry
}

std::vector<IpPrefix> IpPrefixSet::Entries() const {
  std::vector<IpPrefix> out;
  out.reserve(entries_.size());
  for (const Key& key : entries_) out.push_back(PrefixOf(key));
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::vector<IpPrefix>> ParseIpPrefixList(absl::Span<const std::string> entries,
                                                        absl::string_view field) {
  std::vector<IpPrefix> out;
  out.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    absl::StatusOr<IpPrefix> p = IpPrefix::Parse(entries[i]);
    if (!p.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[", i, "] \"", entries[i], "\": ", p.status().message()));
    }
    out.push_back(*p);
  }
  return out;
}

}  // namespace connmgr
