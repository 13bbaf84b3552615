// The dial queue's bookkeeping: jobs in priority order, the requests that joined each job, and
// the indexes that let a new request find the job it must join (same peer, or a shared address).
//
//   DialQueue queue(/*max_jobs=*/500);
//   if (queue.full()) ...                         // refuse the request
//   DialJob& job = queue.Add(peer, /*priority=*/75, /*force=*/false, now);
//   queue.AddJoiner(job, DialJoiner{request, deadline, /*internal=*/false});
//   queue.AddCandidate(job, address, /*max_candidates=*/25);  // FindByAddress finds the job
//   while (queue.running() < max_parallel) {
//     DialJob* next = queue.StartNext();          // highest priority, FIFO within a priority
//     if (next == nullptr) break;
//     ...
//   }
//   queue.Remove(job.id);                         // when its result is out
//
// It decides nothing about addresses, timeouts or results: the core does (docs/design.md,
// "Dialing"). Every lookup is O(log n) or O(1); nothing is ever iterated in hash order.
#ifndef CONNMGR_CORE_DIAL_QUEUE_H_
#define CONNMGR_CORE_DIAL_QUEUE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

struct DialJobId {
  uint64_t value = 0;
  friend auto operator<=>(const DialJobId&, const DialJobId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, DialJobId id) {
    return H::combine(std::move(h), id.value);
  }
};

enum class DialJobState : uint8_t {
  kQueued,     // waiting for a parallel-dial slot
  kResolving,  // holds a slot; waiting for DNS answers
  kDialling,   // holds a slot; address attempts in flight or scheduled
};

struct DialJoiner {
  uint64_t request;
  Instant deadline;
  bool internal;  // a reconnect: no DialResult is emitted for it
};

// One address of a job's plan, with the instant it may be dialled (ranked strategy) and what
// became of it.
struct PlannedAddress {
  Multiaddr address;
  Duration delay = Duration::Zero();  // after the job's dialling began
  ConnectionId attempt;               // the attempt's connection, once dialled
  bool done = false;                  // failed, timed out or cancelled
};

struct DialJob {
  DialJobId id;
  PeerId peer;
  uint32_t priority = 0;
  uint64_t sequence = 0;  // FIFO order within a priority
  Instant queued_at;
  DialJobState state = DialJobState::kQueued;
  bool force = false;
  std::vector<DialJoiner> joiners;
  std::vector<Multiaddr> candidates;  // requested addresses, deduplicated, bounded
  std::vector<Multiaddr> certified;   // candidates from a signed peer record
  std::vector<Multiaddr> resolved;    // candidates after DNS
  std::vector<PlannedAddress> plan;   // prepared and ordered, once resolved
  Instant dialling_since = Instant::Never();
  uint32_t in_flight = 0;
  uint32_t dns_pending = 0;  // DNS resolutions still out
  std::string last_error;    // the latest attempt's error, for the result
};

class DialQueue {
 public:
  explicit DialQueue(uint32_t max_jobs) : max_jobs_(max_jobs) {}

  bool full() const { return jobs_.size() >= max_jobs_; }
  // A lower bound keeps the jobs already in; only new ones are refused.
  void set_max_jobs(uint32_t max_jobs) { max_jobs_ = max_jobs; }
  size_t size() const { return jobs_.size(); }
  size_t running() const { return running_; }
  size_t queued() const { return queued_.size(); }

  // A new queued job. The caller checks full() first.
  DialJob& Add(const PeerId& peer, uint32_t priority, bool force, Instant now);
  DialJob* Find(DialJobId id);
  // The live job dialling `peer`, if any.
  DialJob* FindByPeer(const PeerId& peer);
  // The live job that has `address` among its candidates, if any.
  DialJob* FindByAddress(const Multiaddr& address);
  DialJob* FindByRequest(uint64_t request);
  DialJob* FindByAttempt(ConnectionId attempt);

  void AddJoiner(DialJob& job, const DialJoiner& joiner);
  // Removes the joiner of `request` (a reconnect's id when `internal`); returns it, or nullopt
  // when the job has no such joiner.
  std::optional<DialJoiner> RemoveJoiner(DialJob& job, uint64_t request, bool internal = false);
  // Adds `address` to the job's candidates (ignored when present or when the job holds
  // `max_candidates`) and indexes it.
  void AddCandidate(DialJob& job, const Multiaddr& address, size_t max_candidates);
  void IndexAttempt(DialJob& job, ConnectionId attempt);
  void UnindexAttempt(ConnectionId attempt);

  // Takes the highest-priority queued job (FIFO within a priority) into the running set.
  DialJob* StartNext();
  void Remove(DialJobId id);

 private:
  // Queued jobs: higher priority first, then lower sequence.
  using QueueKey = std::tuple<int64_t, uint64_t, DialJobId>;
  static QueueKey KeyOf(const DialJob& job) {
    return {-static_cast<int64_t>(job.priority), job.sequence, job.id};
  }

  uint32_t max_jobs_;
  uint64_t next_id_ = 1;
  uint64_t next_sequence_ = 0;
  size_t running_ = 0;
  std::map<DialJobId, DialJob> jobs_;  // node-based: a DialJob& stays valid until it is removed
  absl::btree_set<QueueKey> queued_;
  absl::flat_hash_map<PeerId, DialJobId> by_peer_;
  absl::flat_hash_map<Multiaddr, DialJobId> by_address_;
  absl::flat_hash_map<uint64_t, DialJobId> by_request_;
  absl::flat_hash_map<ConnectionId, DialJobId> by_attempt_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_DIAL_QUEUE_H_
