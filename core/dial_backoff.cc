#include "core/dial_backoff.h"

#include <algorithm>

namespace connmgr {
namespace {

Duration NonNegative(Duration d) { return std::max(d, Duration::Zero()); }

DialBackoffOptions Sanitized(DialBackoffOptions o) {
  o.base = NonNegative(o.base);
  o.step = NonNegative(o.step);
  o.max = NonNegative(o.max);
  o.max_entries = std::max<uint32_t>(o.max_entries, 1);
  return o;
}

}  // namespace

DialBackoff::DialBackoff(DialBackoffOptions options) : options_(Sanitized(options)) {}

Duration DialBackoff::BackoffAfter(uint32_t failures) const {
  if (failures == 0) return Duration::Zero();
  const int64_t prior = failures - 1;
  // Saturating: step × prior × prior cannot wrap, whatever the count.
  return std::min(options_.base + options_.step * prior * prior, options_.max);
}

void DialBackoff::RecordFailure(const PeerId& peer, const Multiaddr& address, Instant now) {
  const std::string& key = address.ToBytes();
  Entry* entry = nullptr;
  if (auto p = by_peer_.find(peer); p != by_peer_.end()) {
    if (auto a = p->second.find(key); a != p->second.end()) entry = &a->second;
  }
  if (entry != nullptr) {
    by_until_.erase(UntilKey{entry->until, entry->sequence});
  } else {
    while (by_until_.size() >= options_.max_entries) EraseFront();
    entry = &by_peer_[peer][key];  // looked up after evicting, which may erase the peer's map
  }
  if (entry->failures < std::numeric_limits<uint32_t>::max()) ++entry->failures;
  entry->until = now + BackoffAfter(entry->failures);
  entry->sequence = next_sequence_++;
  by_until_.emplace(UntilKey{entry->until, entry->sequence}, std::make_pair(peer, key));
}

const DialBackoff::Entry* DialBackoff::Find(const PeerId& peer, const Multiaddr& address) const {
  auto p = by_peer_.find(peer);
  if (p == by_peer_.end()) return nullptr;
  auto a = p->second.find(address.ToBytes());
  return a == p->second.end() ? nullptr : &a->second;
}

bool DialBackoff::IsBackedOff(const PeerId& peer, const Multiaddr& address, Instant now) const {
  return now < BackedOffUntil(peer, address);
}

Instant DialBackoff::BackedOffUntil(const PeerId& peer, const Multiaddr& address) const {
  const Entry* entry = Find(peer, address);
  return entry == nullptr ? kNotBackedOff : entry->until;
}

uint32_t DialBackoff::Failures(const PeerId& peer, const Multiaddr& address) const {
  const Entry* entry = Find(peer, address);
  return entry == nullptr ? 0 : entry->failures;
}

void DialBackoff::ClearPeer(const PeerId& peer) {
  if (by_peer_.empty()) return;  // the common case: no hashing of the peer id
  auto p = by_peer_.find(peer);
  if (p == by_peer_.end()) return;
  for (const auto& [address, entry] : p->second) {
    by_until_.erase(UntilKey{entry.until, entry.sequence});
  }
  by_peer_.erase(p);
}

void DialBackoff::EraseFront() {
  auto front = by_until_.begin();
  const auto& [peer, address] = front->second;
  auto p = by_peer_.find(peer);
  p->second.erase(address);
  if (p->second.empty()) by_peer_.erase(p);
  by_until_.erase(front);
}

void DialBackoff::Expire(Instant now) {
  while (!by_until_.empty() && by_until_.begin()->first.first + options_.max <= now) {
    EraseFront();
  }
}

}  // namespace connmgr
