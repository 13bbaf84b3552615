#include "core/dial_backoff.h"

#include <algorithm>
#include <limits>

namespace connmgr {

Duration DialBackoff::BackoffAfter(uint32_t failures) const {
  const int64_t n = failures == 0 ? 0 : failures - 1;
  // step × n² saturates in Duration's arithmetic; cap n first so n² cannot overflow.
  const int64_t squared = std::min<int64_t>(n, 3'000'000'000) * std::min<int64_t>(n, 3'000'000'000);
  return std::min(options_.base + options_.step * squared, options_.max);
}

void DialBackoff::RecordFailure(const PeerId& peer, const Multiaddr& address, Instant now) {
  Key key{peer, address};
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    while (!by_until_.empty() && entries_.size() >= options_.max_entries) {
      Erase(std::get<2>(*by_until_.begin()));
    }
    it = entries_.emplace(key, Entry{}).first;
    by_peer_[peer].insert(address);
  } else {
    by_until_.erase({it->second.until, it->second.sequence, key});
  }
  Entry& e = it->second;
  ++e.failures;
  e.until = now + BackoffAfter(e.failures);
  e.sequence = next_sequence_++;
  by_until_.insert({e.until, e.sequence, std::move(key)});
}

Instant DialBackoff::BackedOffUntil(const PeerId& peer, const Multiaddr& address) const {
  auto it = entries_.find(Key{peer, address});
  return it == entries_.end() ? Instant::FromNanoseconds(std::numeric_limits<int64_t>::min())
                              : it->second.until;
}

void DialBackoff::Erase(const Key& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  const Key copy = key;
  by_until_.erase({it->second.until, it->second.sequence, copy});
  entries_.erase(it);
  auto p = by_peer_.find(copy.first);
  p->second.erase(copy.second);
  if (p->second.empty()) by_peer_.erase(p);
}

void DialBackoff::ClearPeer(const PeerId& peer) {
  auto p = by_peer_.find(peer);
  if (p == by_peer_.end()) return;
  const absl::btree_set<Multiaddr> addresses = std::move(p->second);
  by_peer_.erase(p);
  for (const Multiaddr& a : addresses) {
    auto it = entries_.find(Key{peer, a});
    by_until_.erase({it->second.until, it->second.sequence, Key{peer, a}});
    entries_.erase(it);
  }
}

void DialBackoff::Expire(Instant now) {
  while (!by_until_.empty() && std::get<0>(*by_until_.begin()) + options_.max <= now) {
    Erase(std::get<2>(*by_until_.begin()));
  }
}

Instant DialBackoff::NextExpiry() const {
  return by_until_.empty() ? Instant::Never() : std::get<0>(*by_until_.begin()) + options_.max;
}

}  // namespace connmgr
