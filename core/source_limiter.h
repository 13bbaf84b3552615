// SourceLimiter: admission of new inbound connections by remote IP — token buckets per address,
// per subnet and for everything, and caps on concurrent connections per address and subnet.
//
//   SourceLimiter limiter(options);
//   SourceLimiter::Charge charge;                     // kept with the connection
//   switch (limiter.Admit(ip, now, /*exempt=*/allow_listed, &charge)) {
//     case SourceVerdict::kAdmit: ...                 // tokens taken, connection counted
//     default: reject(...);                           // nothing taken: refusals are free
//   }
//   limiter.Release(charge, now);                     // when an admitted connection ends
//
// Rules:
//  - Loopback and exempt (allow-listed) sources are admitted, charged nothing, never counted.
//  - Checks in order, first refusal wins: concurrent connections per IPv4 /32 or IPv6 /56
//    (kIpConnectionLimit), per IPv6 /48 (kSubnetConnectionLimit); then the buckets per address
//    (kRateLimitIp), per IPv4 /24 or IPv6 /56 and /48 (kRateLimitSubnet), global
//    (kRateLimitGlobal). Only an admission takes tokens and counts the connection.
//  - Memory: a source is tracked by up to four keys (address, subnets). A key whose buckets are
//    full again and that counts no live connection is the same as an absent one and is
//    forgotten: at once when its last connection ends, else a few per Admit from an index by
//    the instant they fill up. Keys counting live connections are pinned: bounded by the live
//    connections, never evicted. The others are capped at max_tracked_sources, least recently
//    used evicted first — an evicted source starts again with full buckets, the price of the
//    bound — so a flood from a million addresses cannot grow memory nor evict established
//    peers' addresses.
#ifndef CONNMGR_CORE_SOURCE_LIMITER_H_
#define CONNMGR_CORE_SOURCE_LIMITER_H_

#include <array>
#include <cassert>
#include <compare>
#include <cstdint>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/hash/hash.h"
#include "core/indexed_heap.h"
#include "core/ip.h"
#include "core/pointer_index.h"
#include "core/record_pool.h"
#include "core/time.h"
#include "core/token_bucket.h"

namespace connmgr {

struct SourceLimiterOptions {
  RateLimit per_ip;
  RateLimit per_ipv4_24;
  RateLimit per_ipv6_56;
  RateLimit per_ipv6_48;
  RateLimit global;
  uint32_t max_per_ipv4_32 = 8;  // concurrent connections; 0: no limit
  uint32_t max_per_ipv6_56 = 8;
  uint32_t max_per_ipv6_48 = 64;
  uint32_t max_tracked_sources = 100'000;  // unpinned keys held at most
  bool limit_loopback = false;  // loopback is exempt unless set (tests, one-machine demos)
  friend bool operator==(const SourceLimiterOptions&, const SourceLimiterOptions&) = default;
};

enum class SourceVerdict : uint8_t {
  kAdmit,
  kRateLimitIp,
  kRateLimitSubnet,
  kRateLimitGlobal,
  kIpConnectionLimit,
  kSubnetConnectionLimit,
};

class SourceLimiter {
 private:
  struct Node;

 public:
  // The keys Admit counted one connection under (its address, or its IPv6 /56 and /48), held
  // while the connection lives: counted keys are pinned, so Release finds them without a
  // lookup. Empty when nothing was counted (loopback, exempt, refused).
  // Move-only, so one connection's charge is released once; it moves only into an empty one
  // (assigning over a held charge would lose its pins).
  class Charge {
   public:
    Charge() = default;
    Charge(Charge&& other) noexcept : nodes_(std::exchange(other.nodes_, {})) {}
    Charge& operator=(Charge&& other) noexcept {
      assert(empty() || this == &other);
      nodes_ = std::exchange(other.nodes_, {});
      return *this;
    }
    bool empty() const { return nodes_[0] == nullptr; }

   private:
    friend class SourceLimiter;
    std::array<Node*, 2> nodes_{};
  };

  explicit SourceLimiter(const SourceLimiterOptions& options);

  // On kAdmit, `*charge` (if given; empty) holds what the connection was counted under; hand
  // it to Release exactly once when the connection ends.
  SourceVerdict Admit(const IpAddress& ip, Instant now, bool exempt, Charge* charge = nullptr);
  // Uncounts a connection and empties `charge`. A key released with its bucket full again is
  // forgotten at once.
  void Release(Charge& charge, Instant now);

  // New limits for the next admissions. A changed rate starts the buckets it governs afresh
  // (full); connections already counted stay counted; a lower max_tracked_sources evicts the
  // least recently used unpinned sources at once.
  void SetOptions(const SourceLimiterOptions& options);

  size_t tracked_sources() const { return entries_.size(); }
  size_t pinned_sources() const { return entries_.size() - lru_.size(); }
  // Approximate bytes held by the tables.
  size_t memory_bytes() const;

 private:
  enum class KeyKind : uint8_t { kAddress, kV4Slash24, kV6Slash56, kV6Slash48 };
  // A packed prefix and its kind in 24 bytes (a million of them may be tracked).
  struct Key {
    uint64_t high = 0;
    uint64_t low = 0;
    uint8_t length = 0;
    bool v6 = false;
    KeyKind kind = KeyKind::kAddress;

    Key() = default;
    Key(KeyKind kind, const PackedPrefix& prefix)
        : high(prefix.high), low(prefix.low), length(prefix.length), v6(prefix.v6), kind(kind) {}
    friend bool operator==(const Key&, const Key&) = default;
    // Kind first, then the prefix (the order of the indexes' ties).
    friend std::strong_ordering operator<=>(const Key& a, const Key& b) {
      return std::tie(a.kind, a.high, a.low, a.length, a.v6) <=>
             std::tie(b.kind, b.high, b.low, b.length, b.v6);
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.high, k.low, k.length, k.v6, k.kind);
    }
  };
  // A tracked key. Nodes never move (a record pool): the hash set and both indexes point at
  // them, and each node knows its slots in the indexes. The bucket's rate is the one configured
  // for the key's kind (RateOf), not stored here.
  struct Node {
    Key key;
    // Meaningful if has_bucket.
    TokenCredit credit{RateLimit{1, Duration::Seconds(1), 1}, Instant()};
    uint64_t last_use = 0;   // LRU sequence
    uint32_t live = 0;       // admitted connections not yet released
    uint32_t lru_slot = 0;   // in lru_, while indexed
    uint32_t full_slot = 0;  // in full_at_, while indexed
    bool has_bucket = false;
    bool indexed = false;  // in lru_ and full_at_ (unpinned, with a bucket)
  };
  // The indexes: unpinned nodes by last use (sequence numbers are unique), and by the instant
  // their buckets fill up, ties by key.
  struct ByUse {
    uint64_t last_use;
    Node* node;
  };
  struct ByUseBefore {
    bool operator()(const ByUse& a, const ByUse& b) const { return a.last_use < b.last_use; }
  };
  struct ByUseSlot {
    uint32_t& operator()(const ByUse& item) const { return item.node->lru_slot; }
  };
  struct ByFullAt {
    Instant full_at;
    Node* node;
  };
  struct ByFullAtBefore {
    bool operator()(const ByFullAt& a, const ByFullAt& b) const {
      return a.full_at < b.full_at || (a.full_at == b.full_at && a.node->key < b.node->key);
    }
  };
  struct ByFullAtSlot {
    uint32_t& operator()(const ByFullAt& item) const { return item.node->full_slot; }
  };
  struct Checks {
    Key key;
    const RateLimit* rate;  // nullptr: no bucket for this key
    uint32_t max_live;      // 0: not counted against a cap
    bool counts_live;       // this key counts the source's connections
    SourceVerdict rate_verdict;
    SourceVerdict live_verdict;
  };

  // The keys of `ip` (unmapped, not loopback) that have a bucket or count connections, with
  // what each checks, in the order they are checked.
  int KeysOf(const IpAddress& ip, Checks out[4]) const;
  // Whether Admit counts `ip` (unmapped): not loopback, unless limit_loopback.
  bool Charges(const IpAddress& ip) const { return options_.limit_loopback || !ip.IsLoopback(); }
  Node* Find(const Key& key) const;
  // The rate of the buckets of `kind` (kAddress: per_ip whatever the family).
  const RateLimit& RateOf(KeyKind kind) const;
  // Marks `node` used now.
  void Touch(Node& node);
  // A new node for `key` (absent), used now; makes room for it by evicting the least recently
  // used unpinned nodes beyond max_tracked_sources.
  Node& Insert(const Key& key);
  // Moves a node in or out of the LRU and fill-up indexes after a change at `now`; forgets it
  // if it holds nothing any more (no live connection, and no bucket or a full one).
  void Reindex(Node& node, Instant now);
  void Unindex(Node& node);
  void Forget(Node& node);
  void ForgetFullBuckets(Instant now, int budget);
  // Forgets unpinned nodes, least recently used first, until at most `limit` remain.
  void EvictUnpinnedAbove(size_t limit);

  SourceLimiterOptions options_;
  std::optional<TokenBucket> global_;
  uint64_t use_sequence_ = 0;
  RecordPool<Node> nodes_;
  // Iterated only by SetOptions, which changes each node on its own: its order decides nothing.
  PointerIndex<Node, &Node::key> entries_;
  IndexedHeap<ByUse, ByUseBefore, ByUseSlot> lru_;               // unpinned nodes
  IndexedHeap<ByFullAt, ByFullAtBefore, ByFullAtSlot> full_at_;  // the same nodes
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_SOURCE_LIMITER_H_
