// IpPrefixSet: the allow and deny lists of connection gating. A bounded set of IPv4 and IPv6
// prefixes answering "which entry, if any, contains this address?" in O(prefix length).
//
//   IpPrefixSet deny(/*max_entries=*/100'000);
//   deny.Insert(IpPrefix::Parse("10.0.0.0/8").value());
//   deny.Contains(IpAddress::Parse("10.1.2.3").value());        // true
//   deny.LongestMatch(IpAddress::Parse("::ffff:10.1.2.3").value());  // 10.0.0.0/8
//
// Entries are kept in one PrefixTrie per address family: a lookup walks one path (a node per
// entry on it and per branch point, at most 33 or 129), hashes nothing and allocates nothing.
// Containment follows IpPrefix::Contains: an IPv4 entry also contains the IPv4-mapped forms of
// its addresses; an IPv6 entry never contains an IPv4 address.
#ifndef CONNMGR_CORE_IP_PREFIX_SET_H_
#define CONNMGR_CORE_IP_PREFIX_SET_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/ip.h"
#include "core/prefix_trie.h"

namespace connmgr {

class IpPrefixSet {
 public:
  explicit IpPrefixSet(size_t max_entries) : max_entries_(max_entries) {}

  // True if added, false if already present; ResourceExhausted when max_entries are held.
  absl::StatusOr<bool> Insert(const IpPrefix& prefix);
  // Removes exactly this entry (not the entries it contains). Returns whether it was present.
  bool Erase(const IpPrefix& prefix);

  // The most specific entry containing `address`.
  std::optional<IpPrefix> LongestMatch(const IpAddress& address) const;
  bool Contains(const IpAddress& address) const { return LongestMatch(address).has_value(); }
  bool ContainsEntry(const IpPrefix& prefix) const;

  size_t size() const { return v4_.size() + v6_.size(); }
  size_t max_entries() const { return max_entries_; }
  // Every entry, in IpPrefix order. O(n log n): for inspection, not hot paths.
  std::vector<IpPrefix> Entries() const;

 private:
  std::optional<IpPrefix> LongestIn(const IpAddress& address) const;

  const PrefixTrie& TrieOf(const IpAddress& address) const { return address.is_v4() ? v4_ : v6_; }
  PrefixTrie& TrieOf(const IpAddress& address) { return address.is_v4() ? v4_ : v6_; }

  size_t max_entries_;
  PrefixTrie v4_;  // an IPv4 address's 32 bits at the top of the key
  PrefixTrie v6_;
};

// Parses list entries ("1.2.3.0/24", "2001:db8::/32", a bare IP, or "/ip4/1.2.3.0/ipcidr/24")
// and refuses the first invalid one, naming `field`, its index and its text:
// `deny_list[3] "1.2.3.0/33": ...`. Never skips an entry silently.
absl::StatusOr<std::vector<IpPrefix>> ParseIpPrefixList(absl::Span<const std::string> entries,
                                                        absl::string_view field);

}  // namespace connmgr

#endif  // CONNMGR_CORE_IP_PREFIX_SET_H_
