// Reconnects of keep-alive peers (docs/design.md, "Reconnects"): the addresses the core keeps
// for them, and the schedule that redials a keep-alive peer whose last connection closed —
// retry_interval × factor^k with seeded jitter, at most max_parallel_reconnects at once, until
// reconnect_retries attempts failed (then its keep-alive tags go: ReconnectFailed). A turn
// that finds every address of the peer in dial backoff waits until the first backoff ends and
// does not count as an attempt.
#ifndef CONNMGR_CORE_RECONNECTOR_H_
#define CONNMGR_CORE_RECONNECTOR_H_

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/dialer.h"
#include "core/input.h"
#include "core/outbox.h"
#include "core/peer_tags.h"
#include "core/pruner.h"
#include "core/random.h"

namespace connmgr {

class Reconnector {
 public:
  // Every reference is the core's own and outlives this object.
  Reconnector(const Config& config, const ConnectionTable& table, PeerTags& tags, Pruner& pruner,
              Dialer& dialer, Outbox& outbox)
      : config_(config),
        table_(table),
        tags_(tags),
        pruner_(pruner),
        dialer_(dialer),
        outbox_(outbox),
        rng_(config.random_seed) {}

  absl::StatusOr<ConnectionId> On(Instant now, const SetPeerAddresses& in);
  // Starts reconnecting `peer` now if it has a keep-alive tag, known addresses and no open
  // connection (a tag change or new addresses may make it so).
  void MaybeStart(const PeerId& peer, Instant now);
  // The peer's last connection closed: schedule its first reconnect if it is keep-alive.
  void PeerGone(const PeerId& peer, Instant now);
  // A connection to the peer opened: a reconnect that is only waiting ends.
  void PeerConnected(const PeerId& peer);

  // Timers (scheduled in the dialer's timer order): the reconnect is due; its dial timed out.
  void Fire(uint64_t reconnect, Instant now);
  void DialDeadlinePassed(uint64_t reconnect, Instant now);
  // The dialer ended a job this peer's reconnect had joined; HandleResults acts on it.
  void DialEnded(const PeerId& peer, bool connected) { results_.push_back({peer, connected}); }
  // Schedules the next attempt, or gives up, for every ended reconnect dial; then starts
  // reconnects that waited for a slot.
  void HandleResults(Instant now);

 private:
  struct State {
    uint64_t id;
    uint32_t attempt;  // 0 for the first dial
    Instant due;
    bool dialling;
  };
  Duration Wait(uint32_t attempt);
  void Schedule(const PeerId& peer, uint32_t attempt, Instant now, Duration wait);
  void End(const PeerId& peer);

  const Config& config_;
  const ConnectionTable& table_;
  PeerTags& tags_;
  Pruner& pruner_;
  Dialer& dialer_;
  Outbox& outbox_;
  absl::flat_hash_map<PeerId, std::vector<Multiaddr>> peer_addresses_;  // looked up only
  absl::flat_hash_map<PeerId, State> reconnects_;                       // looked up only
  absl::btree_map<uint64_t, PeerId> reconnect_peers_;
  absl::btree_set<std::pair<Instant, uint64_t>> waiting_;  // for a parallel-reconnect slot
  std::deque<std::pair<PeerId, bool>> results_;            // (peer, connected)
  uint64_t next_id_ = 1;
  uint32_t in_flight_ = 0;
  SplitMix64 rng_;  // seeded from random_seed: reconnect jitter
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_RECONNECTOR_H_
