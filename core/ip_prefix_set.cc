#include "core/ip_prefix_set.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace connmgr {

absl::StatusOr<bool> IpPrefixSet::Insert(const IpPrefix& prefix) {
  const PackedPrefix key = PackPrefix(prefix.network(), prefix.length());
  if (entries_.contains(key)) return false;
  if (entries_.size() >= max_entries_) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot add ", prefix.ToString(),
                                                     ": the list holds max_list_entries (",
                                                     max_entries_, ") entries"));
  }
  entries_.insert(key);
  ++(prefix.network().is_v4() ? v4_lengths_[prefix.length()] : v6_lengths_[prefix.length()]);
  return true;
}

bool IpPrefixSet::Erase(const IpPrefix& prefix) {
  if (entries_.erase(PackPrefix(prefix.network(), prefix.length())) == 0) return false;
  --(prefix.network().is_v4() ? v4_lengths_[prefix.length()] : v6_lengths_[prefix.length()]);
  return true;
}

bool IpPrefixSet::ContainsEntry(const IpPrefix& prefix) const {
  return entries_.contains(PackPrefix(prefix.network(), prefix.length()));
}

std::optional<IpPrefix> IpPrefixSet::LongestIn(const IpAddress& address, int max_length) const {
  const bool v4 = address.is_v4();
  const PackedPrefix full = PackPrefix(address, max_length);
  for (int length = max_length; length >= 0; --length) {
    if ((v4 ? v4_lengths_[length] : v6_lengths_[length]) == 0) continue;
    const PackedPrefix candidate = full.Shortened(length);
    if (entries_.contains(candidate)) return UnpackPrefix(candidate);
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
  for (const PackedPrefix& key : entries_) out.push_back(UnpackPrefix(key));
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
