// DialBackoff: after a failed dial, a (peer, address) pair is not dialled again for a while —
// go-libp2p's schedule: after the n-th failure in a row, min(base + step × (n-1)², max).
//
//   failures  1    2    3    4     5     ...  18+
//   backoff   5 s  6 s  9 s  14 s  21 s  ...  5 min   (base 5 s, step 1 s, max 5 min)
//
//   DialBackoff backoff(DialBackoffOptions{});
//   backoff.RecordFailure(peer, address, now);    // not for a cancelled dial
//   if (backoff.IsBackedOff(peer, address, now)) skip(address);
//   backoff.ClearPeer(peer);                      // a new connection to the peer clears it
//
// An entry is forgotten `max` after its backoff ends (so the failure count can keep growing
// meanwhile), when Expire runs. At most `max_entries` are held; when full, the entry whose
// backoff ends first is dropped (ties: the oldest). Nothing is ever iterated in hash order.
#ifndef CONNMGR_CORE_DIAL_BACKOFF_H_
#define CONNMGR_CORE_DIAL_BACKOFF_H_

#include <cstdint>
#include <tuple>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"

namespace connmgr {

struct DialBackoffOptions {
  Duration base = Duration::Seconds(5);
  Duration step = Duration::Seconds(1);
  Duration max = Duration::Minutes(5);
  uint32_t max_entries = 10'000;
};

class DialBackoff {
 public:
  explicit DialBackoff(const DialBackoffOptions& options) : options_(options) {}

  void RecordFailure(const PeerId& peer, const Multiaddr& address, Instant now);
  bool IsBackedOff(const PeerId& peer, const Multiaddr& address, Instant now) const {
    return now < BackedOffUntil(peer, address);
  }
  // The end of the pair's backoff; an instant in the past (or the epoch minimum) when none.
  Instant BackedOffUntil(const PeerId& peer, const Multiaddr& address) const;
  void ClearPeer(const PeerId& peer);

  // Forgets entries whose backoff ended at least `max` ago.
  void Expire(Instant now);
  // When Expire next has something to do; Never when nothing is held.
  Instant NextExpiry() const;
  size_t size() const { return entries_.size(); }

  // The backoff after `failures` failures in a row.
  Duration BackoffAfter(uint32_t failures) const;

 private:
  using Key = std::pair<PeerId, Multiaddr>;
  struct Entry {
    uint32_t failures = 0;
    Instant until;
    uint64_t sequence = 0;
  };
  void Erase(const Key& key);

  DialBackoffOptions options_;
  uint64_t next_sequence_ = 0;
  absl::flat_hash_map<Key, Entry> entries_;  // looked up only
  absl::btree_set<std::tuple<Instant, uint64_t, Key>> by_until_;
  absl::btree_map<PeerId, absl::btree_set<Multiaddr>> by_peer_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_DIAL_BACKOFF_H_
