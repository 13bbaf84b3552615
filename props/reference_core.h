// A naive reference implementation of the core, written for clarity rather than speed: plain
// vectors, linear scans, full sorts. The model-based tests run it beside the real core and
// require the same outputs, statuses, table and metrics after every input.
//
// It models the core's documented behaviour (docs/design.md) independently of core/ code,
// except for the value types (Config, Multiaddr, PeerId), the input/output vocabulary, and
// tag arithmetic: tag values (plain and decaying) come from a PeerTags of its own, which has
// exact unit tests of its own (core/peer_tags_test.cc); what is checked here is how the core
// uses them (ranking, protection, trims after decay, timers).
// It does not model the output-queue bound or the 1024-name protocol cap: the generators stay
// well inside both. Dialing is modelled without a gater and with black-hole detection off
// (core/black_hole_test.cc covers it); the model test's config turns it off. DNS resolution
// is props/reference_dns.h's.
#ifndef CONNMGR_PROPS_REFERENCE_CORE_H_
#define CONNMGR_PROPS_REFERENCE_CORE_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/config.h"
#include "core/input.h"
#include "core/metrics.h"
#include "core/output.h"
#include "core/peer_tags.h"
#include "core/random.h"
#include "core/types.h"
#include "props/reference_dns.h"

namespace connmgr {

class ReferenceCore {
 public:
  struct Stream {
    std::string protocol;
    Direction direction;
  };
  struct Conn {
    ConnectionId id;
    Direction direction;
    ConnectionState state;
    PeerId peer;
    bool upgraded = false;
    Instant created_at;
    Instant opened_at = Instant::Never();
    Instant closing_at = Instant::Never();
    CloseReason close_reason = CloseReason::kTransport;
    Instant deadline = Instant::Never();
    bool allow_listed = false;
    bool relayed = false;
    bool in_grace = false;
    bool uses_fd = false;
    uint64_t netgroup = 0;
    int charge = 0;  // 0: none, 1: transient, 2: peer (the scope it is charged to)
    std::vector<Stream> streams;
    uint64_t memory = 0;
    std::optional<IpAddress> ip;  // unmapped remote IP
    bool source_charged = false;
    bool secured = false;
    bool dial_attempt = false;  // a dial's attempt: pending outbound until it succeeds
    Multiaddr remote;
  };

  explicit ReferenceCore(Config config)
      : config_(std::move(config)),
        allow_(config_.allow_list),
        deny_(config_.deny_list),
        denied_peers_(config_.denied_peers.begin(), config_.denied_peers.end()),
        tags_(PeerTagsLimits{config_.max_tags_per_peer, config_.max_tagged_peers,
                             config_.keep_alive_tag_prefix}),
        dns_(config_) {
    rng_ = SplitMix64(config_.random_seed);
  }

  // Like Core::Handle; the outputs are appended to `outputs`, the created or named connection
  // is stored in `id`.
  absl::StatusCode Handle(Instant now, const Input& input, std::vector<Output>* outputs,
                          ConnectionId* id);

  Instant NextDeadline() const;
  Metrics ExpectedMetrics() const;
  // Live connections in id order.
  const std::vector<Conn>& connections() const { return conns_; }
  uint64_t ids_handed_out() const { return next_id_ - 1; }

 private:
  Conn* Find(ConnectionId id);
  absl::StatusCode Missing(ConnectionId id) const;
  size_t PeerConnectionCount(const PeerId& peer) const;
  void Open(Conn& c, const PeerId& peer, Instant now, std::vector<Output>* out);
  Conn NewOutbound(ConnectionId id, const Multiaddr& remote, Instant now) const;
  // Gates, limits and scopes of an outbound connection that arrives upgraded; opens it or
  // starts closing it. True when it opened.
  bool AdmitOutbound(Conn& c, const PeerId& peer, Instant now, std::vector<Output>* out);
  void Close(Conn& c, CloseReason reason, Instant now, std::vector<Output>* out);
  void Finish(ConnectionId id, CloseReason reason, std::vector<Output>* out);
  void Count(Counter c, uint64_t n = 1) { counters_[static_cast<int>(c)] += n; }
  bool AllowListed(const Multiaddr& remote) const;
  bool Busy(const Conn& c) const;
  int64_t PeerValue(const PeerId& peer) const;
  bool Prunable(const Conn& c) const;
  size_t OpenCount(std::optional<Direction> d = std::nullopt) const;
  void EnforcePeerLimit(ConnectionId opened, const PeerId& peer, Instant now,
                        std::vector<Output>* out);
  // `now_to_low`: a trim_open_connections (to the low watermark, no silence period).
  void MaybeTrim(Instant now, std::vector<Output>* out, bool now_to_low = false);
  // The first limit of `scope` (kind 1: transient, 2: peer) that one more connection would
  // break, as a ScopeDenied; scope 0 is the system scope.
  std::optional<ScopeDenied> CheckScope(int scope, const PeerId* peer, Direction d,
                                        bool uses_fd) const;

  // Like CheckScope, for one more stream in direction `d` (scope 0 or 2).
  std::optional<ScopeDenied> CheckStreamScope(int scope, const PeerId& peer, Direction d) const;
  // Like CheckScope, for `bytes` more memory at `priority` (scope 0, 1 or 2).
  // pending_fair_share and inbound_eviction, naively: full scans and sorts.
  std::optional<ConnectionId> PendingVictim(const std::optional<IpAddress>& ip) const;
  std::optional<ConnectionId> OpenVictim(const std::optional<IpAddress>& ip, Instant now) const;
  void TakeEvictionToken(Instant now);
  std::tuple<int64_t, size_t, int, int64_t, int64_t> PruneOrder(const Conn& c) const;
  static std::optional<ScopeDenied> MemoryOver(const char* scope, uint64_t used, uint64_t bytes,
                                               uint64_t limit, uint32_t priority);
  std::optional<ScopeDenied> CheckMemoryScope(int scope, const PeerId* peer, uint64_t bytes,
                                              uint32_t priority) const;
  // Gating: the most specific deny entry containing `ip` ("deny_list <prefix>").
  std::optional<std::string> DenyRule(const std::optional<IpAddress>& ip) const;
  // The per-source limiter's refusal for a new inbound from `ip`, if any; takes the tokens
  // when it admits.
  std::optional<RejectReason> LimitSource(const IpAddress& ip, Instant now);
  void Gate(Conn& c, GateStage stage, std::string rule, Instant now, std::vector<Output>* out);
  void HandlePlaceStream(const PlaceStream& in, std::vector<Output>* out, ConnectionId* id);

  // --- Dialing (docs/design.md, "Dialing"): plain vectors, full scans, full sorts. ---
  struct Joiner {
    uint64_t request;
    Instant deadline;
    bool internal;  // a reconnect's
  };
  struct Planned {
    Multiaddr address;
    Duration delay;
    ConnectionId attempt;
    bool done = false;
  };
  struct Job {
    uint64_t id;
    PeerId peer;
    uint32_t priority;
    uint64_t sequence;
    int state = 0;  // 0 queued, 1 resolving, 2 dialling
    std::vector<Joiner> joiners;
    std::vector<Multiaddr> candidates;
    std::vector<Multiaddr> certified;
    std::vector<Multiaddr> resolved;
    std::vector<uint64_t> resolutions;  // DNS resolutions not finished
    std::vector<Planned> plan;
    Instant since = Instant::Never();
    int in_flight = 0;
    std::string last_error;
  };
  struct Backoff {
    PeerId peer;
    Multiaddr address;
    uint32_t failures;
    Instant until;
    uint64_t sequence;
  };
  // Dial timers as the core keeps them: (instant, kind, id), kind 0 a request's deadline, 1 a
  // ranked job's next slot (kept after the job ends: it then fires and does nothing).
  struct DialTimer {
    Instant at;
    int kind;
    uint64_t id;
    friend auto operator<=>(const DialTimer&, const DialTimer&) = default;
  };

  void HandleDialRequest(Instant now, const DialRequest& in, std::vector<Output>* out,
                         ConnectionId* id, absl::StatusCode* code);
  Job* JobOf(uint64_t job_id);
  Job* JobOfAttempt(ConnectionId attempt);
  Job* JobWaitingFor(uint64_t request);
  void DialResultOut(uint64_t request, const PeerId& peer, ConnectionId c, DialOutcome o,
                     std::string detail, std::vector<Output>* out);
  void Pump(Instant now, std::vector<Output>* out);
  // Emits the DNS queries asked.
  void Ask(const std::vector<ResolveDns>& asked, std::vector<Output>* out);
  // Hands finished DNS resolutions to their jobs, then plans the jobs they completed.
  void DrainDns(Instant now, std::vector<Output>* out);
  void HandleDnsAnswer(Instant now, uint64_t query, const ReferenceDns::Records& answer,
                       Duration ttl, std::vector<Output>* out, absl::StatusCode* code);
  void PlanJob(Job& job, Instant now, std::vector<Output>* out);
  void DialNext(Job& job, Instant now, std::vector<Output>* out);
  void AttemptFailed(Conn& attempt, std::string error, Instant now, std::vector<Output>* out);
  void EndJob(uint64_t job_id, Instant now, std::optional<DialOutcome> outcome, ConnectionId c,
              const std::string& detail, std::vector<Output>* out);
  void RetryWaiting(Instant now, std::vector<Output>* out);
  void DialSucceededIn(Instant now, Conn& attempt, std::vector<Output>* out);
  bool BackedOff(const PeerId& peer, const Multiaddr& a, Instant now) const;
  void RecordFailure(const PeerId& peer, const Multiaddr& a, Instant now);
  void FireDialTimers(Instant now, std::vector<Output>* out);
  size_t PendingOutbound() const;

  std::vector<Job> jobs_;
  uint64_t next_job_ = 1;
  uint64_t next_job_sequence_ = 0;
  std::set<uint64_t> waiting_for_slot_;  // job ids, lowest first
  std::vector<Backoff> backoffs_;
  uint64_t next_backoff_sequence_ = 0;
  std::set<DialTimer> dial_timers_;
  std::array<uint64_t, kDialOutcomeCount> dial_outcomes_{};
  uint64_t next_resolution_ = 1;

  // --- Reconnects (docs/design.md, "Reconnects") ---
  struct Reconnect {
    PeerId peer;
    uint64_t id;
    uint32_t attempt;
    Instant due;
    bool dialling = false;
  };
  void HandleSetPeerAddresses(Instant now, const SetPeerAddresses& in, absl::StatusCode* code);
  void MaybeStartReconnect(const PeerId& peer, Instant now, std::vector<Output>* out);
  void ScheduleReconnect(const PeerId& peer, uint32_t attempt, Instant now, Duration wait);
  Duration ReconnectWait(uint32_t attempt);
  void FireReconnect(uint64_t id, Instant now, std::vector<Output>* out);
  void HandleReconnectResults(Instant now, std::vector<Output>* out);
  void EndReconnect(const PeerId& peer);
  Reconnect* ReconnectOf(const PeerId& peer);
  Reconnect* ReconnectById(uint64_t id);

  std::vector<std::pair<PeerId, std::vector<Multiaddr>>> peer_addresses_;
  std::vector<Reconnect> reconnects_;
  uint64_t next_reconnect_id_ = 1;
  uint32_t reconnects_in_flight_ = 0;
  std::set<std::pair<Instant, uint64_t>> reconnect_waiting_;  // (due, id)
  std::vector<std::pair<PeerId, bool>> reconnect_results_;    // (peer, connected), FIFO
  SplitMix64 rng_{0};

 public:
  // For the model test's generator: live dial attempts, lowest id first.
  std::vector<ConnectionId> DialAttempts() const;
  // DNS queries asked and not answered, oldest first; how many were ever asked.
  const std::vector<ResolveDns>& DnsQueriesInFlight() const { return dns_.in_flight(); }
  uint64_t DnsQueriesAsked() const { return dns_.queries_asked(); }

 private:
  Config config_;
  std::vector<IpPrefix> allow_;
  std::vector<IpPrefix> deny_;
  std::set<PeerId> denied_peers_;
  // Token buckets by (kind, key prefix): 0 per address, 1 IPv4 /24, 2 IPv6 /56, 3 IPv6 /48,
  // 4 global, 5 inbound evictions. Credit in units of 1/count token-intervals, as documented for
  // TokenBucket.
  struct Bucket {
    unsigned __int128 credit;
    Instant last;
  };
  std::map<std::pair<int, IpPrefix>, Bucket> buckets_;
  std::map<PeerId, ConnectionId> round_robin_;
  uint64_t transient_memory_ = 0;
  std::array<uint64_t, kStreamRejectReasonCount> streams_rejected_{};
  std::array<uint64_t, kPlacementOutcomeCount> placements_{};
  Instant last_now_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  uint64_t next_id_ = 1;
  std::vector<Conn> conns_;
  PeerTags tags_;
  ReferenceDns dns_;  // after config_, which it reads
  Instant last_trim_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  Instant trim_deadline_ = Instant::Never();
  std::array<uint64_t, kCounterCount> counters_{};
  std::array<uint64_t, kRejectReasonCount> rejected_{};
  std::array<uint64_t, kCloseReasonCount> closed_{};
};

}  // namespace connmgr

#endif  // CONNMGR_PROPS_REFERENCE_CORE_H_
