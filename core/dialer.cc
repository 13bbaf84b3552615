#include "core/dialer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "core/reconnector.h"

namespace connmgr {
namespace {

DnsResolverOptions DnsResolverOptionsFrom(const Config& c) {
  DnsResolverOptions o;
  o.max_depth = c.dnsaddr_max_depth;
  o.cache_max_entries = c.dns_cache_max_entries;
  o.negative_ttl = c.dns_negative_ttl;
  o.max_ttl = c.dns_max_ttl;
  return o;
}

DialBackoffOptions DialBackoffOptionsFrom(const Config& c) {
  return DialBackoffOptions{c.dial_backoff_base, c.dial_backoff_step, c.dial_backoff_max,
                            c.max_backoff_entries};
}

BlackHoleOptions BlackHoleOptionsFrom(const Config& c) {
  return BlackHoleOptions{c.black_hole_detection, c.black_hole_window, c.black_hole_min_successes,
                          c.black_hole_probe_interval};
}

// Requested addresses kept per dial job (the union of its joiners' addresses).
constexpr size_t kMaxCandidates = 64;

bool NeedsDns(const Multiaddr& a) { return a.dns().has_value(); }

}  // namespace

Dialer::Dialer(const Config& config, AddressLess address_order, ConnectionTable& table,
               ConnectionTimers& timers, const Admission& admission, Outbox& outbox,
               DialerHost& host)
    : config_(config),
      address_order_(std::move(address_order)),
      table_(table),
      timers_(timers),
      admission_(admission),
      outbox_(outbox),
      host_(host),
      dial_queue_(config.max_dial_queue_length),
      dns_(DnsResolverOptionsFrom(config)),
      dial_backoff_(DialBackoffOptionsFrom(config)),
      black_holes_(BlackHoleOptionsFrom(config)) {}

absl::StatusOr<ConnectionId> Dialer::On(Instant now, const DialRequest& in) {
  if (in.peer.is_empty()) return absl::InvalidArgumentError("dial_request: peer must not be empty");
  if (in.request == 0) return absl::InvalidArgumentError("dial_request: request must not be 0");
  if (dial_queue_.FindByRequest(in.request) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("dial_request: request ", in.request, " is already waiting for its result"));
  }
  if (in.timeout < Duration::Zero()) {
    return absl::InvalidArgumentError("dial_request: timeout must not be negative");
  }
  if (in.addresses.size() > kMaxCandidates || in.certified.size() > kMaxCandidates) {
    return absl::InvalidArgumentError(
        absl::StrCat("dial_request: more than ", kMaxCandidates, " addresses"));
  }
  outbox_.Count(Counter::kDialRequests);
  if (!in.force) {
    if (std::optional<ConnectionId> existing = ReusableConnection(in.peer, in.addresses)) {
      EmitResult(in.request, in.peer, *existing, DialOutcome::kExistingConnection, "");
      return *existing;
    }
  }
  if (std::optional<std::string> rule = admission_.DialPeerRule(in.peer)) {
    EmitResult(in.request, in.peer, ConnectionId{}, DialOutcome::kDenied, *rule);
    RecordLastDial(in.peer, now, DialOutcome::kDenied, *rule);
    return ConnectionId{};
  }
  const Instant deadline =
      now + (in.timeout == Duration::Zero() ? config_.dial_timeout : in.timeout);
  const DialJoiner joiner{in.request, deadline, /*internal=*/false};
  // Join a dial of the same peer, or one that shares an address, queued or running.
  DialJob* job = dial_queue_.FindByPeer(in.peer);
  for (size_t i = 0; job == nullptr && i < in.addresses.size(); ++i) {
    job = dial_queue_.FindByAddress(in.addresses[i].WithPeerId(in.peer));
    if (job != nullptr && job->peer != in.peer) job = nullptr;
  }
  if (job != nullptr) {
    outbox_.Count(Counter::kDialsJoined);
  } else {
    if (dial_queue_.full()) {
      outbox_.Count(Counter::kDialsRefusedQueueFull);
      return absl::ResourceExhaustedError(
          absl::StrCat("dial_request: ", dial_queue_.size(),
                       " dials are queued or running (max_dial_queue_length); retry later"));
    }
    job = &dial_queue_.Add(in.peer, in.priority, in.force, now);
  }
  dial_queue_.AddJoiner(*job, joiner);
  if (job->state == DialJobState::kQueued) {
    for (const Multiaddr& a : in.addresses) {
      dial_queue_.AddCandidate(*job, a.WithPeerId(in.peer), kMaxCandidates);
    }
    for (const Multiaddr& a : in.certified) {
      const Multiaddr full = a.WithPeerId(in.peer);
      if (absl::c_linear_search(job->candidates, full) &&
          !absl::c_linear_search(job->certified, full)) {
        job->certified.push_back(full);
      }
    }
  }
  timers_by_due_.insert({deadline, DialTimerKind::kJoinerDeadline, in.request});
  Pump(now);
  return ConnectionId{};
}

std::optional<ConnectionId> Dialer::ReusableConnection(const PeerId& peer,
                                                       absl::Span<const Multiaddr> wanted) const {
  const Connection* best = nullptr;
  for (ConnectionId id : table_.PeerConnections(peer)) {
    const Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kOpen) continue;
    if (best == nullptr ||
        std::make_pair(c.relayed, c.id) < std::make_pair(best->relayed, best->id)) {
      best = &c;
    }
  }
  if (best == nullptr) return std::nullopt;
  // A relayed connection does not stop a dial to a direct address.
  if (best->relayed && std::any_of(wanted.begin(), wanted.end(),
                                   [](const Multiaddr& a) { return !a.is_relayed(); })) {
    return std::nullopt;
  }
  return best->id;
}

absl::StatusOr<ConnectionId> Dialer::On(Instant now, const CancelDial& in) {
  DialJob* job = dial_queue_.FindByRequest(in.request);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("cancel_dial: no dial waits for request ", in.request));
  }
  const DialJoiner joiner = *dial_queue_.RemoveJoiner(*job, in.request);
  timers_by_due_.erase({joiner.deadline, DialTimerKind::kJoinerDeadline, joiner.request});
  EmitResult(in.request, job->peer, ConnectionId{}, DialOutcome::kCancelled, "cancelled");
  if (job->joiners.empty()) EndJob(*job, now, /*result=*/std::nullopt);
  return ConnectionId{};
}

void Dialer::Pump(Instant now) {
  while (dial_queue_.running() < config_.max_parallel_dials) {
    DialJob* job = dial_queue_.StartNext();
    if (job == nullptr) return;
    const DialJobId id = job->id;
    job->state = DialJobState::kResolving;
    for (const Multiaddr& a : job->candidates) {
      if (!NeedsDns(a)) {
        job->resolved.push_back(a);
        continue;
      }
      const uint64_t dns_job = next_dns_job_++;
      if (absl::Status s = dns_.Start(dns_job, a, now); !s.ok()) {
        job->last_error = std::string(s.message());
        continue;
      }
      dns_jobs_[dns_job] = job->id;
      ++job->dns_pending;
    }
    DrainDns(now);  // may end jobs, this one included
    if (DialJob* still = dial_queue_.Find(id);
        still != nullptr && still->state == DialJobState::kResolving && still->dns_pending == 0) {
      Plan(*still, now);
    }
  }
}

void Dialer::DrainDns(Instant now) {
  while (std::optional<DnsQuery> q = dns_.PollQuery()) {
    outbox_.Count(Counter::kDnsQueries);
    outbox_.Emit(ResolveDns{q->id, q->name, q->type});
  }
  while (std::optional<DnsResolution> r = dns_.PollResolution()) {
    auto it = dns_jobs_.find(r->job);
    if (it == dns_jobs_.end()) continue;
    DialJob* job = dial_queue_.Find(it->second);
    dns_jobs_.erase(it);
    if (job == nullptr) continue;
    if (r->addresses.ok()) {
      for (const Multiaddr& a : *r->addresses) job->resolved.push_back(a);
    } else {
      job->last_error = std::string(r->addresses.status().message());
    }
    if (--job->dns_pending == 0 && job->state == DialJobState::kResolving) {
      // Planning may end the job; `now` is the answer's instant.
      pending_plans_.push_back(job->id);
    }
  }
  std::vector<DialJobId> plans;
  plans.swap(pending_plans_);
  for (DialJobId id : plans) {
    if (DialJob* job = dial_queue_.Find(id)) Plan(*job, now);
  }
}

void Dialer::Plan(DialJob& job, Instant now) {
  AddressFilters filters;
  filters.less = address_order_;
  filters.denied = [&](const Multiaddr& a) { return admission_.DialAddressDenied(job.peer, a); };
  filters.backed_off = [&](const Multiaddr& a) {
    return dial_backoff_.IsBackedOff(job.peer, a, now) || !black_holes_.Allows(a);
  };
  std::vector<DialAddressInfo> candidates;
  candidates.reserve(job.resolved.size());
  for (const Multiaddr& a : job.resolved) {
    candidates.push_back(DialAddressInfo{a, absl::c_linear_search(job.certified, a)});
  }
  absl::StatusOr<PreparedAddresses> prepared =
      PrepareDialAddresses(job.peer, candidates, config_.max_peer_addrs_to_dial, filters);
  if (!prepared.ok()) {
    DialOutcome outcome = DialOutcome::kNoAddresses;
    if (prepared.status().code() == absl::StatusCode::kPermissionDenied) {
      outcome = DialOutcome::kDenied;
    } else if (prepared.status().code() == absl::StatusCode::kUnavailable) {
      outcome = DialOutcome::kBackedOff;
    }
    std::string detail(prepared.status().message());
    if (!job.last_error.empty()) absl::StrAppend(&detail, "; ", job.last_error);
    EndJob(job, now, JobResult{ConnectionId{}, outcome, std::move(detail)});
    return;
  }
  job.state = DialJobState::kDialling;
  job.dialling_since = now;
  if (config_.dial_strategy == DialStrategy::kRanked) {
    for (const ScheduledAddress& s :
         RankAddresses(prepared->addresses,
                       RankedDelays{config_.ranked_public_delay, config_.ranked_private_delay})) {
      job.plan.push_back(PlannedAddress{s.address.address, s.delay, ConnectionId{}, false});
    }
  } else {
    for (const DialAddressInfo& a : prepared->addresses) {
      job.plan.push_back(PlannedAddress{a.address, Duration::Zero(), ConnectionId{}, false});
    }
  }
  DialNext(job, now);
}

void Dialer::DialNext(DialJob& job, Instant now) {
  const bool ranked = config_.dial_strategy == DialStrategy::kRanked;
  auto has_slot = [&] {
    return table_.pending_count(Direction::kOutbound) < config_.max_outbound_pending_connections;
  };
  std::optional<Instant> next_due;
  bool waiting = false;
  // Ranked with nothing in flight: the whole next delay group starts at once (go-libp2p's
  // dial worker does the same). The plan is sorted by delay.
  Instant horizon = now;
  if (ranked && job.in_flight == 0) {
    for (const PlannedAddress& p : job.plan) {
      if (p.attempt != ConnectionId{} || p.done) continue;
      horizon = std::max(now, job.dialling_since + p.delay);
      break;
    }
  }
  for (PlannedAddress& p : job.plan) {
    if (p.attempt != ConnectionId{} || p.done) continue;
    // Sequential: one at a time. Ranked: each at its delay.
    const Instant due = ranked ? job.dialling_since + p.delay : now;
    if (job.in_flight > 0 && (!ranked || due > horizon)) {
      if (ranked && (!next_due || due < *next_due)) next_due = due;
      if (!ranked) break;
      continue;
    }
    if (!has_slot()) {
      waiting = true;
      break;
    }
    StartAttempt(job, p, now);
  }
  if (job.in_flight == 0 && !waiting) {
    EndJob(job, now,
           JobResult{
               ConnectionId{}, DialOutcome::kFailed,
               absl::StrCat("all ", job.plan.size(), " addresses failed; last: ", job.last_error)});
    return;
  }
  // Every attempt slot is taken (max_outbound_pending_connections): retry when one frees.
  if (waiting && job.in_flight == 0) waiting_for_attempt_slot_.insert(job.id);
  if (next_due) timers_by_due_.insert({*next_due, DialTimerKind::kRankedNext, job.id.value});
}

void Dialer::StartAttempt(DialJob& job, PlannedAddress& planned, Instant now) {
  Connection& c = table_.AddPending(Direction::kOutbound, planned.address, now);
  c.dial_attempt = true;
  timers_.Arm(c, now + config_.address_dial_timeout);
  planned.attempt = c.id;
  ++job.in_flight;
  dial_queue_.IndexAttempt(job, c.id);
  outbox_.Count(Counter::kDialAttempts);
  outbox_.Emit(DialAddress{c.id, job.peer, planned.address});
}

absl::StatusOr<ConnectionId> Dialer::On(Instant now, const DialSucceeded& in) {
  if (table_.WasClosed(in.connection)) return in.connection;  // cancelled attempt: ignored
  absl::StatusOr<Connection*> c = table_.FindLive("dial_succeeded", in.connection);
  if (!c.ok()) return c.status();
  DialJob* job = dial_queue_.FindByAttempt(in.connection);
  if (!(*c)->dial_attempt || job == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("dial_succeeded: connection ", in.connection.value, " is not a dial attempt"));
  }
  Connection& attempt = **c;
  timers_.Disarm(attempt);
  attempt.dial_attempt = false;
  dial_queue_.UnindexAttempt(in.connection);
  --job->in_flight;
  MarkAttemptDone(*job, in.connection);
  black_holes_.RecordResult(attempt.remote, /*success=*/true);
  const PeerId peer = job->peer;
  const DialJobId job_id = job->id;
  const bool opened = host_.AdmitDialled(attempt, peer, now);
  job = dial_queue_.Find(job_id);
  if (job == nullptr) return in.connection;
  if (opened) {
    EndJob(*job, now, JobResult{in.connection, DialOutcome::kConnected, ""});
  } else {
    job->last_error = absl::StrCat("connection ", in.connection.value,
                                   " refused: ", CloseReasonName(attempt.close_reason));
    DialNext(*job, now);
  }
  return in.connection;
}

absl::StatusOr<ConnectionId> Dialer::On(Instant now, const DialFailed& in) {
  if (table_.WasClosed(in.connection)) return in.connection;  // cancelled attempt: ignored
  absl::StatusOr<Connection*> c = table_.FindLive("dial_failed", in.connection);
  if (!c.ok()) return c.status();
  if (!(*c)->dial_attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("dial_failed: connection ", in.connection.value, " is not a dial attempt"));
  }
  AttemptFailed(**c, in.error.empty() ? "failed" : in.error, now);
  return in.connection;
}

void Dialer::AttemptFailed(Connection& attempt, std::string error, Instant now) {
  DialJob* job = dial_queue_.FindByAttempt(attempt.id);
  const ConnectionId id = attempt.id;
  const Multiaddr address = attempt.remote;
  timers_.Disarm(attempt);
  dial_queue_.UnindexAttempt(id);
  outbox_.Count(Counter::kDialAttemptsFailed);
  outbox_.Emit(DialAttemptFailed{id, job->peer, address, error});
  dial_backoff_.RecordFailure(job->peer, address, now);
  black_holes_.RecordResult(address, /*success=*/false);
  host_.Finish(id, CloseReason::kDialFailed);
  --job->in_flight;
  MarkAttemptDone(*job, id);
  job->last_error = std::move(error);
  DialNext(*job, now);
  RetryWaitingAttempts(now);
}

void Dialer::MarkAttemptDone(DialJob& job, ConnectionId attempt) {
  for (PlannedAddress& p : job.plan) {
    if (p.attempt == attempt) p.done = true;
  }
}

void Dialer::RetryWaitingAttempts(Instant now) {
  while (!waiting_for_attempt_slot_.empty() &&
         table_.pending_count(Direction::kOutbound) < config_.max_outbound_pending_connections) {
    const DialJobId id = *waiting_for_attempt_slot_.begin();
    waiting_for_attempt_slot_.erase(waiting_for_attempt_slot_.begin());
    if (DialJob* job = dial_queue_.Find(id); job != nullptr && job->in_flight == 0) {
      DialNext(*job, now);
    }
  }
}

void Dialer::EndJob(DialJob& job, Instant now, std::optional<JobResult> result) {
  const DialJobId id = job.id;
  const PeerId peer = job.peer;
  for (const DialJoiner& j : job.joiners) {
    timers_by_due_.erase(
        {j.deadline,
         j.internal ? DialTimerKind::kReconnectDeadline : DialTimerKind::kJoinerDeadline,
         j.request});
    if (result && !j.internal) {
      EmitResult(j.request, peer, result->connection, result->outcome, result->detail);
    }
    if (j.internal) {
      reconnector_->DialEnded(peer, result && result->connection != ConnectionId{});
    }
  }
  if (result) {
    outbox_.Count(Counter::kDialJobsFinished);
    RecordLastDial(peer, now, result->outcome, result->detail);
  }
  // Abandon what is still in flight.
  for (const PlannedAddress& p : job.plan) {
    if (p.attempt == ConnectionId{} || p.done) continue;
    Connection* c = table_.Find(p.attempt);
    if (c == nullptr || !c->dial_attempt) continue;
    timers_.Disarm(*c);
    outbox_.Emit(CancelDialAttempt{p.attempt});
    host_.Finish(p.attempt, CloseReason::kDialCancelled);
  }
  for (auto it = dns_jobs_.begin(); it != dns_jobs_.end();) {
    // Only this job's resolutions: few, and the order of cancelling does not matter.
    if (it->second == id) {
      dns_.Cancel(it->first);
      dns_jobs_.erase(it++);
    } else {
      ++it;
    }
  }
  waiting_for_attempt_slot_.erase(id);
  dial_queue_.Remove(id);
  Pump(now);
  RetryWaitingAttempts(now);
  reconnector_->HandleResults(now);
}

void Dialer::EmitResult(uint64_t request, const PeerId& peer, ConnectionId connection,
                        DialOutcome outcome, std::string detail) {
  ++dial_outcomes_[static_cast<int>(outcome)];
  outbox_.Emit(DialResult{request, peer, connection, outcome, std::move(detail)});
}

void Dialer::RecordLastDial(const PeerId& peer, Instant at, DialOutcome outcome,
                            const std::string& detail) {
  if (auto it = last_dials_.find(peer); it != last_dials_.end()) {
    last_dials_by_age_.erase(it->second.sequence);
    last_dials_.erase(it);
  }
  while (!last_dials_by_age_.empty() && last_dials_.size() >= config_.max_backoff_entries) {
    last_dials_.erase(last_dials_by_age_.begin()->second);
    last_dials_by_age_.erase(last_dials_by_age_.begin());
  }
  const uint64_t sequence = next_last_dial_++;
  last_dials_[peer] = LastDialEntry{LastDial{at, outcome, detail}, sequence};
  last_dials_by_age_[sequence] = peer;
}

std::optional<Dialer::LastDial> Dialer::LastDialOf(const PeerId& peer) const {
  auto it = last_dials_.find(peer);
  if (it == last_dials_.end()) return std::nullopt;
  return it->second.dial;
}

absl::StatusOr<ConnectionId> Dialer::On(Instant now, const DnsAnswered& in) {
  absl::Status s = dns_.HandleAnswer(in.query, DnsAnswer{in.records, in.ttl}, now);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("dns_answered: ", s.message()));
  DrainDns(now);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Dialer::On(Instant now, const DnsFailed& in) {
  absl::Status s = dns_.HandleAnswer(
      in.query, absl::UnavailableError(in.error.empty() ? "failed" : in.error), now);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("dns_failed: ", s.message()));
  DrainDns(now);
  return ConnectionId{};
}

void Dialer::FireTimers(Instant now) {
  while (!timers_by_due_.empty() && std::get<0>(*timers_by_due_.begin()) <= now) {
    const auto [at, kind, id] = *timers_by_due_.begin();
    timers_by_due_.erase(timers_by_due_.begin());
    switch (kind) {
      case DialTimerKind::kJoinerDeadline: {
        DialJob* job = dial_queue_.FindByRequest(id);
        if (job == nullptr) break;
        dial_queue_.RemoveJoiner(*job, id);
        EmitResult(id, job->peer, ConnectionId{}, DialOutcome::kTimeout,
                   "the request's dial timeout passed");
        if (job->joiners.empty()) EndJob(*job, now, std::nullopt);
        break;
      }
      case DialTimerKind::kRankedNext:
        if (DialJob* job = dial_queue_.Find(DialJobId{id});
            job != nullptr && job->state == DialJobState::kDialling) {
          DialNext(*job, now);
        }
        break;
      case DialTimerKind::kReconnect:
        reconnector_->Fire(id, now);
        break;
      case DialTimerKind::kReconnectDeadline:
        reconnector_->DialDeadlinePassed(id, now);
        break;
    }
  }
  dial_backoff_.Expire(now);
}

bool Dialer::JoinReconnect(const PeerId& peer, absl::Span<const Multiaddr> addresses,
                           uint64_t reconnect, Instant now) {
  DialJob* job = dial_queue_.FindByPeer(peer);
  if (job == nullptr) {
    if (dial_queue_.full()) return false;
    job = &dial_queue_.Add(peer, config_.default_dial_priority, /*force=*/false, now);
    for (const Multiaddr& a : addresses) {
      dial_queue_.AddCandidate(*job, a.WithPeerId(peer), kMaxCandidates);
    }
  }
  dial_queue_.AddJoiner(*job, DialJoiner{reconnect, now + config_.dial_timeout, /*internal=*/true});
  timers_by_due_.insert({now + config_.dial_timeout, DialTimerKind::kReconnectDeadline, reconnect});
  Pump(now);
  return true;
}

Instant Dialer::ReconnectDue(const PeerId& peer, absl::Span<const Multiaddr> addresses,
                             Instant now) {
  if (dial_queue_.FindByPeer(peer) != nullptr) return now;  // it joins the running dial
  Instant first_free = Instant::Never();
  for (const Multiaddr& a : addresses) {
    if (std::optional<PeerId> named = a.peer_id(); named && *named != peer) continue;
    const Multiaddr full = a.WithPeerId(peer);
    if (admission_.DialAddressDenied(peer, full)) continue;
    if (!dial_backoff_.IsBackedOff(peer, full, now)) return now;
    first_free = std::min(first_free, dial_backoff_.BackedOffUntil(peer, full));
  }
  return first_free == Instant::Never() ? now : first_free;
}

void Dialer::DropReconnect(const PeerId& peer, uint64_t reconnect, Instant now) {
  DialJob* job = dial_queue_.FindByPeer(peer);
  if (job == nullptr) return;
  dial_queue_.RemoveJoiner(*job, reconnect, /*internal=*/true);
  if (job->joiners.empty()) EndJob(*job, now, std::nullopt);
}

void Dialer::AddMetrics(Metrics& m) const {
  m.dial_outcomes = dial_outcomes_;
  m.dials_running = dial_queue_.running();
  m.dials_queued = dial_queue_.queued();
  m.dial_backoff_entries = dial_backoff_.size();
  m.dns_cache_entries = dns_.cache_size();
}

}  // namespace connmgr
