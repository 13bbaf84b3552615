// The dialer (docs/design.md, "Dialing"): the dial queue and its parallel-dial slots, address
// preparation and ranking, DNS resolution, dial attempts and their timeouts, dial backoff and
// black-hole detection, and each request's one DialResult. Its timers are shared with the
// reconnector (reconnects are internal joiners of dial jobs), in one (instant, kind, id) order.
#ifndef CONNMGR_CORE_DIALER_H_
#define CONNMGR_CORE_DIALER_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/address_order.h"
#include "core/admission.h"
#include "core/black_hole.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/connection_timers.h"
#include "core/dial_backoff.h"
#include "core/dial_queue.h"
#include "core/dns_resolver.h"
#include "core/input.h"
#include "core/metrics.h"
#include "core/outbox.h"

namespace connmgr {

class Reconnector;

// What the dialer asks of the core: the parts of a connection's life it does not own.
class DialerHost {
 public:
  virtual ~DialerHost() = default;
  // Gates, limits and scopes for a dialled connection that connected; opens it or starts
  // closing it. Returns whether it opened.
  virtual bool AdmitDialled(Connection& c, const PeerId& peer, Instant now) = 0;
  // The connection leaves the table with `reason` (ConnectionClosed).
  virtual void Finish(ConnectionId id, CloseReason reason) = 0;
};

enum class DialTimerKind : uint8_t {
  kJoinerDeadline,     // id: the request
  kRankedNext,         // id: the dial job
  kReconnect,          // id: the reconnect
  kReconnectDeadline,  // id: the reconnect whose dial is in flight
};

class Dialer {
 public:
  // Every reference is the core's own and outlives this object.
  Dialer(const Config& config, AddressLess address_order, ConnectionTable& table,
         ConnectionTimers& timers, const Admission& admission, Outbox& outbox, DialerHost& host);
  void set_reconnector(Reconnector* reconnector) { reconnector_ = reconnector; }

  absl::StatusOr<ConnectionId> On(Instant now, const DialRequest& in);
  absl::StatusOr<ConnectionId> On(Instant now, const CancelDial& in);
  absl::StatusOr<ConnectionId> On(Instant now, const DialSucceeded& in);
  absl::StatusOr<ConnectionId> On(Instant now, const DialFailed& in);
  absl::StatusOr<ConnectionId> On(Instant now, const DnsAnswered& in);
  absl::StatusOr<ConnectionId> On(Instant now, const DnsFailed& in);
  // A dial attempt failed (its transport closed, or its timer fired: error "timeout").
  void AttemptFailed(Connection& attempt, std::string error, Instant now);

  // Reconnects join a dial of the peer (or start one) as internal joiners. False when the
  // queue is full (nothing changed).
  bool JoinReconnect(const PeerId& peer, absl::Span<const Multiaddr> addresses, uint64_t reconnect,
                     Instant now);
  // When a reconnect of `peer` to `addresses` should dial: `now`, unless no dial of the peer
  // is running and every address not denied is backed off; then when the first backoff ends.
  Instant ReconnectDue(const PeerId& peer, absl::Span<const Multiaddr> addresses, Instant now);
  // The reconnect's dial deadline passed: it leaves the peer's dial job.
  void DropReconnect(const PeerId& peer, uint64_t reconnect, Instant now);

  void ScheduleTimer(Instant at, DialTimerKind kind, uint64_t id) {
    timers_by_due_.insert({at, kind, id});
  }
  void CancelTimer(Instant at, DialTimerKind kind, uint64_t id) {
    timers_by_due_.erase({at, kind, id});
  }
  // Fires every dial and reconnect timer due at or before `now`, then expires backoffs.
  void FireTimers(Instant now);
  Instant NextDeadline() const {
    const Instant next =
        timers_by_due_.empty() ? Instant::Never() : std::get<0>(*timers_by_due_.begin());
    return std::min(next, dial_backoff_.NextExpiry());
  }

  // A connection to `peer` opened: any new connection clears the peer's backoff.
  void PeerConnected(const PeerId& peer) { dial_backoff_.ClearPeer(peer); }
  // Starts queued jobs while parallel-dial slots are free.
  void Pump(Instant now);
  // The config changed (UpdateConfig).
  void ConfigChanged() { dial_queue_.set_max_jobs(config_.max_dial_queue_length); }

  // How the last dial to `peer` ended, while remembered (the latest max_backoff_entries peers).
  struct LastDial {
    Instant at;
    DialOutcome outcome;
    std::string detail;
  };
  std::optional<LastDial> LastDialOf(const PeerId& peer) const;
  void AddMetrics(Metrics& m) const;

 private:
  struct JobResult {
    ConnectionId connection;
    DialOutcome outcome;
    std::string detail;
  };
  // An open connection a dial to `peer` may reuse: direct first, lowest id; a relayed one only
  // when no direct address is wanted.
  std::optional<ConnectionId> ReusableConnection(const PeerId& peer,
                                                 absl::Span<const Multiaddr> wanted) const;
  // Emits the resolver's queries and feeds its finished resolutions to their jobs.
  void DrainDns(Instant now);
  void Plan(DialJob& job, Instant now);
  // Starts the job's next attempts (by strategy), or ends it when nothing is left.
  void DialNext(DialJob& job, Instant now);
  void StartAttempt(DialJob& job, PlannedAddress& planned, Instant now);
  void MarkAttemptDone(DialJob& job, ConnectionId attempt);
  void RetryWaitingAttempts(Instant now);
  // Answers the job's joiners with `result` (none: they have all left), abandons its attempts
  // and removes it.
  void EndJob(DialJob& job, Instant now, std::optional<JobResult> result);
  void EmitResult(uint64_t request, const PeerId& peer, ConnectionId connection,
                  DialOutcome outcome, std::string detail);
  void RecordLastDial(const PeerId& peer, Instant at, DialOutcome outcome,
                      const std::string& detail);

  const Config& config_;
  AddressLess address_order_;
  ConnectionTable& table_;
  ConnectionTimers& timers_;
  const Admission& admission_;
  Outbox& outbox_;
  DialerHost& host_;
  Reconnector* reconnector_ = nullptr;
  DialQueue dial_queue_;
  DnsResolver dns_;
  DialBackoff dial_backoff_;
  BlackHoleDetector black_holes_;
  absl::btree_set<std::tuple<Instant, DialTimerKind, uint64_t>> timers_by_due_;
  absl::flat_hash_map<uint64_t, DialJobId> dns_jobs_;  // resolver job → dial job
  uint64_t next_dns_job_ = 1;
  std::vector<DialJobId> pending_plans_;
  absl::btree_set<DialJobId> waiting_for_attempt_slot_;
  std::array<uint64_t, kDialOutcomeCount> dial_outcomes_{};
  struct LastDialEntry {
    LastDial dial;
    uint64_t sequence;
  };
  absl::flat_hash_map<PeerId, LastDialEntry> last_dials_;  // looked up only
  absl::btree_map<uint64_t, PeerId> last_dials_by_age_;    // oldest first
  uint64_t next_last_dial_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_DIALER_H_
