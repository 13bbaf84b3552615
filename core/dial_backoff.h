// DialBackoff: after a dial to a (peer, address) pair fails, that pair is not dialled again for
// a while. go-libp2p's swarm schedule (DialBackoff.AddBackoff), quadratic in the failures before
// the latest one:
//
//   backoff after the n-th failure in a row = min(base + step × (n − 1)², max)
//
//   failures   1     2     3     4      5      ...  18      19+
//   backoff    5 s   6 s   9 s   14 s   21 s   ...  294 s   5 min  (base 5 s, step 1 s, max 5 min)
//
// (go keeps `tries`, the failures before this one: the first failure sets tries = 1 and waits
// `base`; each later one waits base + coef × tries² and then increments tries.)
//
//   DialBackoff backoff(DialBackoffOptions{});
//   backoff.RecordFailure(peer, address, now);  // a cancelled dial is not a failure: don't call
//   if (backoff.IsBackedOff(peer, address, now)) skip(address);
//   backoff.ClearPeer(peer);                    // any new connection to the peer clears it
//   // whenever backoff.NextExpiry() has come:
//   backoff.Expire(now);
//
// A pair is backed off while now < until, until = the failure's `now` + its backoff. Its entry
// (and so its failure count) is kept until `until + max`, so a failure soon after the backoff
// ends escalates; Expire forgets it from then on. go forgets a peer's entries at a cleanup
// tick (every `max`) once every entry is past `until` + the next backoff it would get; this is
// the same rule made deterministic and per entry, with the longest retention go can give.
//
// Memory: at most `max_entries` pairs. Recording a new pair when full first evicts the entry
// whose backoff ends soonest, ties broken by the earliest recorded (every failure re-records an
// entry). Nothing is ever decided by hash-map iteration order.
// Cost: RecordFailure, IsBackedOff, BackedOffUntil O(log n); ClearPeer O(pairs of the peer ×
// log n); Expire O(log n) per entry removed.
#ifndef CONNMGR_CORE_DIAL_BACKOFF_H_
#define CONNMGR_CORE_DIAL_BACKOFF_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"

namespace connmgr {

// Config::Validate checks the configured values (base <= max, max_entries >= 1). Here a
// negative duration counts as zero and max_entries 0 as 1; base > max waits `max`.
struct DialBackoffOptions {
  Duration base = Duration::Seconds(5);
  Duration step = Duration::Seconds(1);  // × (failures − 1)²
  Duration max = Duration::Minutes(5);
  uint32_t max_entries = 10'000;
};

class DialBackoff {
 public:
  // What BackedOffUntil returns for a pair without an entry: the earliest instant, before every
  // `now`, so "now < BackedOffUntil(...)" is false.
  static constexpr Instant kNotBackedOff =
      Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());

  explicit DialBackoff(DialBackoffOptions options);

  // Counts one more failure of the pair and backs it off from `now`. The failure count saturates
  // at UINT32_MAX.
  void RecordFailure(const PeerId& peer, const Multiaddr& address, Instant now);

  // now < BackedOffUntil(peer, address): backed off up to until − 1 ns, dialable at `until`.
  bool IsBackedOff(const PeerId& peer, const Multiaddr& address, Instant now) const;
  // The instant the pair's backoff ends (possibly already past: the entry is kept until
  // `until + max`); kNotBackedOff when the pair has no entry. Never Instant::Never().
  Instant BackedOffUntil(const PeerId& peer, const Multiaddr& address) const;
  // Failures in a row recorded for the pair and not yet forgotten; 0 without an entry.
  uint32_t Failures(const PeerId& peer, const Multiaddr& address) const;

  // Forgets every entry of the peer: call on any new connection to it.
  void ClearPeer(const PeerId& peer);

  // Forgets the entries with until + max <= now.
  void Expire(Instant now);
  // The earliest `until + max` among the entries: when Expire next has something to do.
  // Never() when there are none.
  Instant NextExpiry() const {
    return by_until_.empty() ? Instant::Never() : by_until_.begin()->first.first + options_.max;
  }

  // Pairs held.
  size_t size() const { return by_until_.size(); }

  // The backoff after `failures` failures in a row (the schedule above); Zero() for 0.
  Duration BackoffAfter(uint32_t failures) const;

 private:
  struct Entry {
    uint32_t failures = 0;
    Instant until;
    uint64_t sequence = 0;  // when it was last recorded: the eviction tie-break
  };
  using UntilKey = std::pair<Instant, uint64_t>;  // (until, sequence)
  // Addresses are held by their binary form.
  using AddressMap = absl::btree_map<std::string, Entry>;

  const Entry* Find(const PeerId& peer, const Multiaddr& address) const;
  // Removes the entry at the front of by_until_.
  void EraseFront();

  DialBackoffOptions options_;
  uint64_t next_sequence_ = 0;
  // The entries, per peer. Looked up only, never iterated.
  absl::flat_hash_map<PeerId, AddressMap> by_peer_;
  // Every entry, by when its backoff ends: eviction and expiry order.
  absl::btree_map<UntilKey, std::pair<PeerId, std::string>> by_until_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_DIAL_BACKOFF_H_
