#include "core/ip_prefix_set.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

// The address's bits as a trie key, most significant first (IPv4's 32 at the top).
PrefixTrie::Key KeyOf(const IpAddress& address) {
  const PackedPrefix packed = PackPrefix(address, address.is_v4() ? 32 : 128);
  return packed.v6 ? PrefixTrie::Key{packed.high, packed.low}
                   : PrefixTrie::Key{packed.low << 32, 0};
}

// The entry a trie member of `length` bits stands for: KeyOf's inverse.
IpPrefix EntryOf(PrefixTrie::Key key, int length, bool v6) {
  PackedPrefix packed;
  packed.v6 = v6;
  packed.high = v6 ? key.high : 0;
  packed.low = v6 ? key.low : key.high >> 32;
  packed.length = static_cast<uint8_t>(length);
  return UnpackPrefix(packed);
}

}  // namespace

absl::StatusOr<bool> IpPrefixSet::Insert(const IpPrefix& prefix) {
  const IpAddress& network = prefix.network();
  if (TrieOf(network).Contains(KeyOf(network), prefix.length())) return false;
  if (size() >= max_entries_) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot add ", prefix.ToString(),
                                                     ": the list holds max_list_entries (",
                                                     max_entries_, ") entries"));
  }
  return TrieOf(network).Insert(KeyOf(network), prefix.length());
}

bool IpPrefixSet::Erase(const IpPrefix& prefix) {
  return TrieOf(prefix.network()).Erase(KeyOf(prefix.network()), prefix.length());
}

bool IpPrefixSet::ContainsEntry(const IpPrefix& prefix) const {
  return TrieOf(prefix.network()).Contains(KeyOf(prefix.network()), prefix.length());
}

std::optional<IpPrefix> IpPrefixSet::LongestIn(const IpAddress& address) const {
  const int length = TrieOf(address).LongestPrefixOf(KeyOf(address));
  if (length < 0) return std::nullopt;
  return UnpackPrefix(PackPrefix(address, length));
}

std::optional<IpPrefix> IpPrefixSet::LongestMatch(const IpAddress& address) const {
  if (size() == 0) return std::nullopt;
  if (address.is_v4()) return LongestIn(address);
  // An IPv6 address: the IPv6 entries, and, for a mapped address, the IPv4 ones. A /96..128
  // IPv6 entry holding the mapped range is as specific as an IPv4 entry 96 bits shorter.
  std::optional<IpPrefix> v6 = LongestIn(address);
  const IpAddress unmapped = address.Unmapped();
  if (!unmapped.is_v4()) return v6;
  std::optional<IpPrefix> v4 = LongestIn(unmapped);
  if (!v4) return v6;
  if (!v6) return v4;
  return v6->length() > v4->length() + 96 ? v6 : v4;  // a tie goes to the IPv4 entry
}

std::vector<IpPrefix> IpPrefixSet::Entries() const {
  std::vector<IpPrefix> out;
  out.reserve(size());
  v4_.ForEach([&](PrefixTrie::Key key, int length) { out.push_back(EntryOf(key, length, false)); });
  v6_.ForEach([&](PrefixTrie::Key key, int length) { out.push_back(EntryOf(key, length, true)); });
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
