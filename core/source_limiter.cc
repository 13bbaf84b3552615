#include "core/source_limiter.h"

#include <array>
#include <cassert>
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

SourceLimiter::Node* SourceLimiter::Find(const Key& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : *it;
}

SourceVerdict SourceLimiter::Admit(const IpAddress& address, Instant now, bool exempt,
                                   Charge* charge) {
  assert(charge == nullptr || charge->empty());
  const IpAddress ip = address.Unmapped();
  ForgetFullBuckets(now, /*budget=*/4);
  if (exempt || !Charges(ip)) return SourceVerdict::kAdmit;
  Checks checks[4];
  const int n = KeysOf(ip, checks);
  // Concurrency caps first, then the buckets; an absent key has a full bucket and no live
  // connection. (Nothing is inserted nor evicted until the checks pass, so the pointers stay
  // valid until then.)
  Node* found[4];
  for (int i = 0; i < n; ++i) {
    const Node* e = found[i] = Find(checks[i].key);
    if (checks[i].max_live != 0 && e != nullptr && e->live >= checks[i].max_live) {
      return checks[i].live_verdict;
    }
  }
  for (int i = 0; i < n; ++i) {
    const Node* e = found[i];
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
  bool inserted = false;  // an insertion may have evicted the nodes found for the other keys
  Charge counted;
  size_t counted_keys = 0;
  for (int i = 0; i < n; ++i) {
    Node* node = inserted ? Find(checks[i].key) : found[i];
    if (node != nullptr) {
      Touch(*node);
    } else {
      node = &Insert(checks[i].key);
      inserted = true;
    }
    Node& e = *node;
    if (checks[i].rate != nullptr) {
      if (!e.has_bucket) {
        e.credit = TokenCredit(*checks[i].rate, now);
        e.has_bucket = true;
      }
      e.credit.TryTake(*checks[i].rate, now);
    }
    if (checks[i].counts_live) {
      ++e.live;
      assert(counted_keys < counted.nodes_.size());  // KeysOf: at most two count connections
      counted.nodes_[counted_keys++] = &e;
    }
    Reindex(e, now);
  }
  if (charge != nullptr) *charge = std::move(counted);
  return SourceVerdict::kAdmit;
}

void SourceLimiter::SetOptions(const SourceLimiterOptions& options) {
  const SourceLimiterOptions old = std::exchange(options_, options);
  if (!(old.global == options.global)) global_.reset();
  const bool rates_changed =
      !(old.per_ip == options.per_ip) || !(old.per_ipv4_24 == options.per_ipv4_24) ||
      !(old.per_ipv6_56 == options.per_ipv6_56) || !(old.per_ipv6_48 == options.per_ipv6_48);
  if (rates_changed) {
    // Each node is changed on its own (forgetting one leaves the others in place), and the
    // indexes order by their keys alone, so the hash set's order decides nothing.
    std::vector<Node*> with_bucket;
    for (Node* node : entries_) {
      if (node->has_bucket) with_bucket.push_back(node);
    }
    for (Node* node : with_bucket) {
      Unindex(*node);
      node->has_bucket = false;
      if (node->live == 0) Forget(*node);  // nothing left to remember
    }
  }
  EvictUnpinnedAbove(options_.max_tracked_sources);
}

void SourceLimiter::EvictUnpinnedAbove(size_t limit) {
  while (lru_.size() > limit) {
    Node& victim = *lru_.top().node;
    Unindex(victim);
    Forget(victim);
  }
}

void SourceLimiter::Release(Charge& charge, Instant now) {
  for (Node* node : std::exchange(charge.nodes_, {})) {
    if (node == nullptr) break;
    --node->live;
    Reindex(*node, now);
  }
}

void SourceLimiter::Touch(Node& node) {
  Unindex(node);
  node.last_use = ++use_sequence_;
}

SourceLimiter::Node& SourceLimiter::Insert(const Key& key) {
  Node* node = nodes_.New();
  node->key = key;
  node->last_use = ++use_sequence_;
  entries_.insert(node);
  // Not indexed yet, so never its own victim.
  EvictUnpinnedAbove(options_.max_tracked_sources - 1);
  return *node;
}

void SourceLimiter::Unindex(Node& node) {
  if (!node.indexed) return;
  lru_.Erase(node.lru_slot);
  full_at_.Erase(node.full_slot);
  node.indexed = false;
}

void SourceLimiter::Reindex(Node& node, Instant now) {
  Unindex(node);
  if (node.live != 0) return;  // pinned
  // Unpinned, a key without a bucket or with a full one is the same as an absent key.
  if (!node.has_bucket) {
    Forget(node);
    return;
  }
  const Instant full_at = node.credit.FullAt(RateOf(node.key.kind));
  if (full_at <= now) {
    Forget(node);
    return;
  }
  lru_.Push({node.last_use, &node});
  full_at_.Push({full_at, &node});
  node.indexed = true;
}

void SourceLimiter::Forget(Node& node) {
  entries_.erase(&node);
  nodes_.Delete(&node);
}

void SourceLimiter::ForgetFullBuckets(Instant now, int budget) {
  while (budget-- > 0 && !full_at_.empty() && full_at_.top().full_at <= now) {
    Node& node = *full_at_.top().node;
    Unindex(node);
    Forget(node);
  }
}

size_t SourceLimiter::memory_bytes() const {
  // Nodes, hash slots (a node pointer and a control byte) and the two indexes' items.
  return entries_.size() * sizeof(Node) + entries_.capacity() * (sizeof(void*) + 1) +
         lru_.capacity() * sizeof(ByUse) + full_at_.capacity() * sizeof(ByFullAt);
}

}  // namespace connmgr
