#include "core/source_limiter.h"

#include <array>
#include <utility>
#include <vector>

namespace connmgr {

SourceLimiter::SourceLimiter(const SourceLimiterOptions& options) : options_(options) {}

int SourceLimiter::KeysOf(const IpAddress& ip, Checks out[4]) const {
  int n = 0;
  // A key with no bucket that counts nothing is never stored nor checked: left out.
  auto add = [&](KeyKind kind, int length, const RateLimit& rate, uint32_t max_live,
                 bool counts_live, SourceVerdict rate_verdict, SourceVerdict live_verdict) {
    const RateLimit* bucket = rate.enabled() ? &rate : nullptr;
    if (bucket == nullptr && !counts_live) return;
    out[n++] = {Key(kind, PackPrefix(ip, length)),
                bucket,
                max_live,
                counts_live,
                rate_verdict,
                live_verdict};
  };
  if (ip.is_v4()) {
    add(KeyKind::kAddress, 32, options_.per_ip, options_.max_per_ipv4_32, true,
        SourceVerdict::kRateLimitIp, SourceVerdict::kIpConnectionLimit);
    add(KeyKind::kV4Slash24, 24, options_.per_ipv4_24, 0, false, SourceVerdict::kRateLimitSubnet,
        SourceVerdict::kAdmit);
    return n;
  }
  add(KeyKind::kAddress, 128, options_.per_ip, 0, false, SourceVerdict::kRateLimitIp,
      SourceVerdict::kAdmit);
  add(KeyKind::kV6Slash56, 56, options_.per_ipv6_56, options_.max_per_ipv6_56, true,
      SourceVerdict::kRateLimitSubnet, SourceVerdict::kIpConnectionLimit);
  add(KeyKind::kV6Slash48, 48, options_.per_ipv6_48, options_.max_per_ipv6_48, true,
      SourceVerdict::kRateLimitSubnet, SourceVerdict::kSubnetConnectionLimit);
  return n;
}

const RateLimit& SourceLimiter::RateOf(KeyKind kind) const {
  switch (kind) {
    case KeyKind::kAddress:
      return options_.per_ip;
    case KeyKind::kV4Slash24:
      return options_.per_ipv4_24;
    case KeyKind::kV6Slash56:
      return options_.per_ipv6_56;
    case KeyKind::kV6Slash48:
      return options_.per_ipv6_48;
  }
  return options_.per_ip;
}

SourceLimiter::Entry* SourceLimiter::Find(const Key& key) {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

SourceVerdict SourceLimiter::Admit(const IpAddress& address, Instant now, bool exempt) {
  const IpAddress ip = address.Unmapped();
  ForgetFullBuckets(now, /*budget=*/4);
  if (exempt || !Charges(ip)) return SourceVerdict::kAdmit;
  Checks checks[4];
  const int n = KeysOf(ip, checks);
  // Concurrency caps first, then the buckets; an absent key has a full bucket and no live
  // connection. (Nothing is inserted until the checks pass, so the pointers stay valid until
  // then.)
  Entry* found[4];
  for (int i = 0; i < n; ++i) {
    Entry* e = found[i] = Find(checks[i].key);
    if (checks[i].max_live != 0 && e != nullptr && e->live >= checks[i].max_live) {
      return checks[i].live_verdict;
    }
  }
  for (int i = 0; i < n; ++i) {
    const Entry* e = found[i];
    if (checks[i].rate != nullptr && e != nullptr && e->has_bucket &&
        !e->credit.WouldAdmit(*checks[i].rate, now)) {
      return checks[i].rate_verdict;
    }
  }
  if (options_.global.enabled()) {
    if (!global_) global_.emplace(options_.global, now);
    if (!global_->WouldAdmit(now)) return SourceVerdict::kRateLimitGlobal;
    global_->TryTake(now);
  }
  bool inserted = false;  // after an insertion the other pointers may have moved
  for (int i = 0; i < n; ++i) {
    Entry& e = Touch(checks[i].key, inserted ? nullptr : found[i], &inserted);
    if (checks[i].rate != nullptr) {
      if (!e.has_bucket) {
        e.credit = TokenCredit(*checks[i].rate, now);
        e.has_bucket = true;
      }
      e.credit.TryTake(*checks[i].rate, now);
    }
    if (checks[i].counts_live) ++e.live;
    Reindex(checks[i].key, e);
  }
  return SourceVerdict::kAdmit;
}

void SourceLimiter::SetOptions(const SourceLimiterOptions& options) {
  const SourceLimiterOptions old = std::exchange(options_, options);
  if (!(old.global == options.global)) global_.reset();
  const bool rates_changed =
      !(old.per_ip == options.per_ip) || !(old.per_ipv4_24 == options.per_ipv4_24) ||
      !(old.per_ipv6_56 == options.per_ipv6_56) || !(old.per_ipv6_48 == options.per_ipv6_48);
  if (rates_changed) {
    // Each entry is changed on its own, so the hash map's order decides nothing.
    std::vector<Key> with_bucket;
    for (const auto& [key, entry] : entries_) {
      if (entry.has_bucket) with_bucket.push_back(key);
    }
    for (const Key& key : with_bucket) {
      Entry& e = entries_.find(key)->second;
      Unindex(key, e);
      e.has_bucket = false;
      Reindex(key, e);  // forgets the entry unless it counts live connections
    }
  }
  EvictUnpinnedAbove(options_.max_tracked_sources);
}

void SourceLimiter::EvictUnpinnedAbove(size_t limit) {
  while (lru_.size() > limit) {
    const Key victim = lru_.begin()->second;
    auto v = entries_.find(victim);
    Unindex(victim, v->second);
    entries_.erase(v);
  }
}

void SourceLimiter::Release(const IpAddress& address) {
  const IpAddress ip = address.Unmapped();
  if (!Charges(ip)) return;
  Checks checks[4];
  const int n = KeysOf(ip, checks);
  for (int i = 0; i < n; ++i) {
    if (!checks[i].counts_live) continue;
    const Key& key = checks[i].key;
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.live == 0) continue;  // misuse: ignored
    Unindex(key, it->second);
    --it->second.live;
    Reindex(key, it->second);
  }
}

SourceLimiter::Entry& SourceLimiter::Touch(const Key& key, Entry* existing, bool* inserted) {
  if (existing != nullptr) {
    Unindex(key, *existing);
    existing->last_use = ++use_sequence_;
    return *existing;
  }
  auto [it, added] = entries_.try_emplace(key);
  if (!added) Unindex(key, it->second);
  it->second.last_use = ++use_sequence_;
  // Room for this one. Erasing others leaves `it` valid (flat_hash_map erase never moves).
  if (added) {
    *inserted = true;
    EvictUnpinnedAbove(options_.max_tracked_sources - 1);
  }
  return it->second;
}

void SourceLimiter::Unindex(const Key& key, Entry& e) {
  if (!e.indexed) return;
  lru_.erase(e.last_use);
  full_at_.erase({e.full_at, key});
  e.indexed = false;
}

void SourceLimiter::Reindex(const Key& key, Entry& e) {
  Unindex(key, e);
  e.full_at = e.has_bucket ? e.credit.FullAt(RateOf(key.kind)) : Instant::Never();
  if (e.live != 0) return;  // pinned
  if (!e.has_bucket) {
    entries_.erase(key);  // nothing left to remember
    return;
  }
  // A touched entry is the newest and a fresh bucket fills up after the others: both usually
  // go at the end, which the hint makes O(1).
  lru_.insert(lru_.end(), {e.last_use, key});
  full_at_.insert(full_at_.end(), {e.full_at, key});
  e.indexed = true;
}

void SourceLimiter::ForgetFullBuckets(Instant now, int budget) {
  while (budget-- > 0 && !full_at_.empty() && full_at_.begin()->first <= now) {
    auto first = full_at_.begin();
    auto it = entries_.find(first->second);
    lru_.erase(it->second.last_use);
    full_at_.erase(first);
    entries_.erase(it);
  }
}

size_t SourceLimiter::memory_bytes() const {
  // Hash slots plus B-tree nodes (about one key each, with overhead).
  return entries_.capacity() * (sizeof(Key) + sizeof(Entry) + 1) +
         (lru_.size() + full_at_.size()) * (sizeof(Key) + sizeof(uint64_t)) * 3 / 2;
}

}  // namespace connmgr
