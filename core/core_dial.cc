// The dialing half of Core: the dial queue, address preparation, DNS, attempts, backoff,
// black holes and reconnects (docs/design.md, "Dialing").
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/core.h"

namespace connmgr {
namespace {

// Requested addresses kept per dial job (the union of its joiners' addresses).
constexpr size_t kMaxCandidates = 64;

bool NeedsDns(const Multiaddr& a) { return a.dns().has_value(); }

}  // namespace

absl::StatusOr<ConnectionId> Core::OnDialRequest(Instant now, const DialRequest& in) {
  if (in.peer.is_empty()) return absl::InvalidArgumentError("dial_request: peer must not be empty");
  if (in.request == 0) return absl::InvalidArgumentError("dial_request: request must not be 0");
  if (dial_queue_.FindByRequest(in.request) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("dial_request: request ", in.request, " is already waiting for its result"));
  }
  if (in.timeout < Duration::Zero()) {
    return absl::InvalidArgumentError("dial_request: timeout must not be negative");
  }
  if (in.addresses.size() > kMaxCandidates) {
    return absl::InvalidArgumentError(
        absl::StrCat("dial_request: more than ", kMaxCandidates, " addresses"));
  }
  Count(Counter::kDialRequests);
  if (!in.force) {
    if (std::optional<ConnectionId> existing = ReusableConnection(in.peer, in.addresses)) {
      EmitDialResult(in.request, in.peer, *existing, DialOutcome::kExistingConnection, "");
      return *existing;
    }
  }
  if (std::optional<std::string> rule = DialPeerRule(in.peer)) {
    EmitDialResult(in.request, in.peer, ConnectionId{}, DialOutcome::kDenied, *rule);
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
    Count(Counter::kDialsJoined);
  } else {
    if (dial_queue_.full()) {
      Count(Counter::kDialsRefusedQueueFull);
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
  }
  dial_timers_.insert({deadline, DialTimerKind::kJoinerDeadline, in.request});
  PumpDialQueue(now);
  return ConnectionId{};
}

std::optional<ConnectionId> Core::ReusableConnection(const PeerId& peer,
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

std::optional<std::string> Core::DialPeerRule(const PeerId& peer) const {
  if (denied_peers_.contains(peer)) return "denied_peers";
  if (gater_ != nullptr) {
    if (std::optional<std::string> r = gater_->DenyDialPeer(peer))
      return absl::StrCat("gater: ", *r);
  }
  return std::nullopt;
}

absl::StatusOr<ConnectionId> Core::OnCancelDial(Instant now, const CancelDial& in) {
  DialJob* job = dial_queue_.FindByRequest(in.request);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("cancel_dial: no dial waits for request ", in.request));
  }
  const DialJoiner joiner = *dial_queue_.RemoveJoiner(*job, in.request);
  dial_timers_.erase({joiner.deadline, DialTimerKind::kJoinerDeadline, joiner.request});
  EmitDialResult(in.request, job->peer, ConnectionId{}, DialOutcome::kCancelled, "cancelled");
  if (job->joiners.empty()) EndDialJob(*job, now, /*result=*/std::nullopt);
  return ConnectionId{};
}

void Core::PumpDialQueue(Instant now) {
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
      PlanDialJob(*still, now);
    }
  }
}

void Core::DrainDns(Instant now) {
  while (std::optional<DnsQuery> q = dns_.PollQuery()) {
    Count(Counter::kDnsQueries);
    Emit(ResolveDns{q->id, q->name, q->type});
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
    if (DialJob* job = dial_queue_.Find(id)) PlanDialJob(*job, now);
  }
}

void Core::PlanDialJob(DialJob& job, Instant now) {
  AddressFilters filters;
  filters.less = address_order_;
  filters.denied = [&](const Multiaddr& a) {
    std::optional<IpAddress> ip = a.ip();
    if (ip && deny_set_.Contains(ip->Unmapped())) return true;
    return gater_ != nullptr && gater_->DenyDialAddress(job.peer, a).has_value();
  };
  filters.backed_off = [&](const Multiaddr& a) {
    return dial_backoff_.IsBackedOff(job.peer, a, now) || !black_holes_.Allows(a);
  };
  absl::StatusOr<PreparedAddresses> prepared =
      PrepareDialAddresses(job.peer, job.resolved, config_.max_peer_addrs_to_dial, filters);
  if (!prepared.ok()) {
    DialOutcome outcome = DialOutcome::kNoAddresses;
    if (prepared.status().code() == absl::StatusCode::kPermissionDenied) {
      outcome = DialOutcome::kDenied;
    } else if (prepared.status().code() == absl::StatusCode::kUnavailable) {
      outcome = DialOutcome::kBackedOff;
    }
    std::string detail(prepared.status().message());
    if (!job.last_error.empty()) absl::StrAppend(&detail, "; ", job.last_error);
    EndDialJob(job, now, DialJobResult{ConnectionId{}, outcome, std::move(detail)});
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

void Core::DialNext(DialJob& job, Instant now) {
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
    EndDialJob(job, now,
               DialJobResult{ConnectionId{}, DialOutcome::kFailed,
                             absl::StrCat("all ", job.plan.size(),
                                          " addresses failed; last: ", job.last_error)});
    return;
  }
  // Every attempt slot is taken (max_outbound_pending_connections): retry when one frees.
  if (waiting && job.in_flight == 0) waiting_for_attempt_slot_.insert(job.id);
  if (next_due) dial_timers_.insert({*next_due, DialTimerKind::kRankedNext, job.id.value});
}

void Core::StartAttempt(DialJob& job, PlannedAddress& planned, Instant now) {
  Connection& c = table_.AddPending(Direction::kOutbound, planned.address, Multiaddr(), now);
  c.dial_attempt = true;
  Arm(c, now + config_.address_dial_timeout);
  planned.attempt = c.id;
  ++job.in_flight;
  dial_queue_.IndexAttempt(job, c.id);
  Count(Counter::kDialAttempts);
  Emit(DialAddress{c.id, job.peer, planned.address});
}

absl::StatusOr<ConnectionId> Core::OnDialSucceeded(Instant now, const DialSucceeded& in) {
  if (table_.WasClosed(in.connection)) return in.connection;  // cancelled attempt: ignored
  absl::StatusOr<Connection*> c = FindLive("dial_succeeded", in.connection);
  if (!c.ok()) return c.status();
  DialJob* job = dial_queue_.FindByAttempt(in.connection);
  if (!(*c)->dial_attempt || job == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("dial_succeeded: connection ", in.connection.value, " is not a dial attempt"));
  }
  Connection& attempt = **c;
  Disarm(attempt);
  attempt.dial_attempt = false;
  dial_queue_.UnindexAttempt(in.connection);
  --job->in_flight;
  MarkAttemptDone(*job, in.connection);
  black_holes_.RecordResult(attempt.remote, /*success=*/true);
  const PeerId peer = job->peer;
  const DialJobId job_id = job->id;
  const bool opened = AdmitOutbound(attempt, peer, now);
  job = dial_queue_.Find(job_id);
  if (job == nullptr) return in.connection;
  if (opened) {
    EndDialJob(*job, now, DialJobResult{in.connection, DialOutcome::kConnected, ""});
  } else {
    job->last_error = absl::StrCat("connection ", in.connection.value,
                                   " refused: ", CloseReasonName(attempt.close_reason));
    DialNext(*job, now);
  }
  return in.connection;
}

absl::StatusOr<ConnectionId> Core::OnDialFailed(Instant now, const DialFailed& in) {
  if (table_.WasClosed(in.connection)) return in.connection;  // cancelled attempt: ignored
  absl::StatusOr<Connection*> c = FindLive("dial_failed", in.connection);
  if (!c.ok()) return c.status();
  if (!(*c)->dial_attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("dial_failed: connection ", in.connection.value, " is not a dial attempt"));
  }
  AttemptFailed(**c, in.error.empty() ? "failed" : in.error, now);
  return in.connection;
}

void Core::AttemptFailed(Connection& attempt, std::string error, Instant now) {
  DialJob* job = dial_queue_.FindByAttempt(attempt.id);
  const ConnectionId id = attempt.id;
  const Multiaddr address = attempt.remote;
  Disarm(attempt);
  dial_queue_.UnindexAttempt(id);
  Count(Counter::kDialAttemptsFailed);
  Emit(DialAttemptFailed{id, job->peer, address, error});
  dial_backoff_.RecordFailure(job->peer, address, now);
  black_holes_.RecordResult(address, /*success=*/false);
  Finish(id, CloseReason::kDialFailed);
  --job->in_flight;
  MarkAttemptDone(*job, id);
  job->last_error = std::move(error);
  DialNext(*job, now);
  RetryWaitingAttempts(now);
}

void Core::MarkAttemptDone(DialJob& job, ConnectionId attempt) {
  for (PlannedAddress& p : job.plan) {
    if (p.attempt == attempt) p.done = true;
  }
}

void Core::RetryWaitingAttempts(Instant now) {
  while (!waiting_for_attempt_slot_.empty() &&
         table_.pending_count(Direction::kOutbound) < config_.max_outbound_pending_connections) {
    const DialJobId id = *waiting_for_attempt_slot_.begin();
    waiting_for_attempt_slot_.erase(waiting_for_attempt_slot_.begin());
    if (DialJob* job = dial_queue_.Find(id); job != nullptr && job->in_flight == 0) {
      DialNext(*job, now);
    }
  }
}

void Core::EndDialJob(DialJob& job, Instant now, std::optional<DialJobResult> result) {
  const DialJobId id = job.id;
  const PeerId peer = job.peer;
  for (const DialJoiner& j : job.joiners) {
    dial_timers_.erase(
        {j.deadline,
         j.internal ? DialTimerKind::kReconnectDeadline : DialTimerKind::kJoinerDeadline,
         j.request});
    if (result && !j.internal) {
      EmitDialResult(j.request, peer, result->connection, result->outcome, result->detail);
    }
    if (j.internal)
      reconnect_results_.push_back({peer, result && result->connection != ConnectionId{}});
  }
  if (result) {
    Count(Counter::kDialJobsFinished);
    RecordLastDial(peer, now, result->outcome, result->detail);
  }
  // Abandon what is still in flight.
  for (const PlannedAddress& p : job.plan) {
    if (p.attempt == ConnectionId{} || p.done) continue;
    Connection* c = table_.Find(p.attempt);
    if (c == nullptr || !c->dial_attempt) continue;
    Disarm(*c);
    Emit(CancelDialAttempt{p.attempt});
    Finish(p.attempt, CloseReason::kDialCancelled);
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
  PumpDialQueue(now);
  RetryWaitingAttempts(now);
  HandleReconnectResults(now);
}

void Core::EmitDialResult(uint64_t request, const PeerId& peer, ConnectionId connection,
                          DialOutcome outcome, std::string detail) {
  ++dial_outcomes_[static_cast<int>(outcome)];
  Emit(DialResult{request, peer, connection, outcome, std::move(detail)});
}

void Core::RecordLastDial(const PeerId& peer, Instant at, DialOutcome outcome,
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

std::optional<Core::LastDial> Core::LastDialOf(const PeerId& peer) const {
  auto it = last_dials_.find(peer);
  if (it == last_dials_.end()) return std::nullopt;
  return it->second.dial;
}

absl::StatusOr<ConnectionId> Core::OnDnsAnswered(Instant now, const DnsAnswered& in) {
  absl::Status s = dns_.HandleAnswer(in.query, DnsAnswer{in.records, in.ttl}, now);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("dns_answered: ", s.message()));
  DrainDns(now);
  return ConnectionId{};
}

absl::StatusOr<ConnectionId> Core::OnDnsFailed(Instant now, const DnsFailed& in) {
  absl::Status s = dns_.HandleAnswer(
      in.query, absl::UnavailableError(in.error.empty() ? "failed" : in.error), now);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("dns_failed: ", s.message()));
  DrainDns(now);
  return ConnectionId{};
}

void Core::FireDialTimers(Instant now) {
  while (!dial_timers_.empty() && std::get<0>(*dial_timers_.begin()) <= now) {
    const auto [at, kind, id] = *dial_timers_.begin();
    dial_timers_.erase(dial_timers_.begin());
    switch (kind) {
      case DialTimerKind::kJoinerDeadline: {
        DialJob* job = dial_queue_.FindByRequest(id);
        if (job == nullptr) break;
        dial_queue_.RemoveJoiner(*job, id);
        EmitDialResult(id, job->peer, ConnectionId{}, DialOutcome::kTimeout,
                       "the request's dial timeout passed");
        if (job->joiners.empty()) EndDialJob(*job, now, std::nullopt);
        break;
      }
      case DialTimerKind::kRankedNext:
        if (DialJob* job = dial_queue_.Find(DialJobId{id});
            job != nullptr && job->state == DialJobState::kDialling) {
          DialNext(*job, now);
        }
        break;
      case DialTimerKind::kReconnect:
        FireReconnect(id, now);
        break;
      case DialTimerKind::kReconnectDeadline: {
        auto peer = reconnect_peers_.find(id);
        if (peer == reconnect_peers_.end()) break;
        DialJob* job = dial_queue_.FindByPeer(peer->second);
        reconnect_results_.push_back({peer->second, false});
        if (job != nullptr) {
          dial_queue_.RemoveJoiner(*job, id, /*internal=*/true);
          if (job->joiners.empty()) EndDialJob(*job, now, std::nullopt);
        }
        HandleReconnectResults(now);
        break;
      }
    }
  }
  dial_backoff_.Expire(now);
}

Instant Core::NextDialDeadline() const {
  Instant next = dial_timers_.empty() ? Instant::Never() : std::get<0>(*dial_timers_.begin());
  return std::min(next, dial_backoff_.NextExpiry());
}

}  // namespace connmgr

namespace connmgr {

// --- Reconnects --------------------------------------------------------------------------------

absl::StatusOr<ConnectionId> Core::OnSetPeerAddresses(Instant now, const SetPeerAddresses& in) {
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("set_peer_addresses: peer must not be empty");
  }
  if (in.addresses.size() > config_.max_peer_addrs_to_dial) {
    return absl::InvalidArgumentError(absl::StrCat("set_peer_addresses: ", in.addresses.size(),
                                                   " addresses, more than max_peer_addrs_to_dial (",
                                                   config_.max_peer_addrs_to_dial, ")"));
  }
  if (in.addresses.empty()) {
    peer_addresses_.erase(in.peer);
    return ConnectionId{};
  }
  if (!peer_addresses_.contains(in.peer) && peer_addresses_.size() >= config_.max_tagged_peers) {
    return absl::ResourceExhaustedError(
        absl::StrCat("set_peer_addresses: addresses are kept for max_tagged_peers (",
                     config_.max_tagged_peers, ") peers"));
  }
  peer_addresses_[in.peer] = in.addresses;
  MaybeStartReconnect(in.peer, now);
  return ConnectionId{};
}

void Core::MaybeStartReconnect(const PeerId& peer, Instant now) {
  if (config_.reconnect_retries == 0 || !tags_.HasKeepAlive(peer)) return;
  if (reconnects_.contains(peer) || table_.OpenPeerConnectionCount(peer) > 0) return;
  if (!peer_addresses_.contains(peer)) return;
  ScheduleReconnect(peer, /*attempt=*/0, now, Duration::Zero());
  FireDialTimers(now);  // due now: dial at once
}

Duration Core::ReconnectWait(uint32_t attempt) {
  // retry_interval × factor^attempt, capped, then ± jitter from the seeded generator.
  Duration wait = config_.reconnect_retry_interval;
  for (uint32_t i = 0; i < attempt && wait < config_.reconnect_max_wait; ++i) {
    wait = wait * static_cast<int64_t>(config_.reconnect_backoff_factor);
  }
  wait = std::min(wait, config_.reconnect_max_wait);
  const int64_t percent = config_.reconnect_jitter_percent;
  if (percent == 0) return wait;
  const int64_t offset =
      static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(2 * percent + 1))) - percent;
  return wait + Duration::Nanoseconds(wait.nanoseconds() / 100 * offset);
}

void Core::ScheduleReconnect(const PeerId& peer, uint32_t attempt, Instant now, Duration wait) {
  const uint64_t id = next_reconnect_id_++;
  reconnects_[peer] = ReconnectState{id, attempt, now + wait, false};
  reconnect_peers_[id] = peer;
  dial_timers_.insert({now + wait, DialTimerKind::kReconnect, id});
}

void Core::FireReconnect(uint64_t id, Instant now) {
  auto it = reconnect_peers_.find(id);
  if (it == reconnect_peers_.end()) return;
  const PeerId peer = it->second;
  ReconnectState& state = reconnects_[peer];
  if (reconnects_in_flight_ >= config_.max_parallel_reconnects) {
    reconnect_waiting_.insert({state.due, id});
    return;
  }
  auto addresses = peer_addresses_.find(peer);
  if (addresses == peer_addresses_.end()) {
    reconnect_results_.push_back({peer, false});
    HandleReconnectResults(now);
    return;
  }
  state.dialling = true;
  ++reconnects_in_flight_;
  Count(Counter::kReconnectAttempts);
  DialJob* job = dial_queue_.FindByPeer(peer);
  if (job == nullptr) {
    if (dial_queue_.full()) {
      --reconnects_in_flight_;
      state.dialling = false;
      reconnect_results_.push_back({peer, false});
      HandleReconnectResults(now);
      return;
    }
    job = &dial_queue_.Add(peer, config_.default_dial_priority, /*force=*/false, now);
    for (const Multiaddr& a : addresses->second) {
      dial_queue_.AddCandidate(*job, a.WithPeerId(peer), kMaxCandidates);
    }
  }
  dial_queue_.AddJoiner(*job, DialJoiner{id, now + config_.dial_timeout, /*internal=*/true});
  dial_timers_.insert({now + config_.dial_timeout, DialTimerKind::kReconnectDeadline, id});
  PumpDialQueue(now);
}

void Core::HandleReconnectResults(Instant now) {
  while (!reconnect_results_.empty()) {
    const auto [peer, connected] = reconnect_results_.front();
    reconnect_results_.pop_front();
    auto it = reconnects_.find(peer);
    if (it == reconnects_.end()) continue;
    ReconnectState state = it->second;
    if (state.dialling) --reconnects_in_flight_;
    EndReconnect(peer);
    if (connected) continue;
    if (state.attempt + 1 >= config_.reconnect_retries) {
      tags_.RemoveKeepAliveTags(peer);
      peer_addresses_.erase(peer);
      Count(Counter::kReconnectsFailed);
      Emit(ReconnectFailed{peer, state.attempt + 1});
      ReindexPeer(peer);
      continue;
    }
    ScheduleReconnect(peer, state.attempt + 1, now, ReconnectWait(state.attempt + 1));
  }
  // Slots freed: start reconnects that waited for one, oldest due first.
  while (!reconnect_waiting_.empty() && reconnects_in_flight_ < config_.max_parallel_reconnects) {
    const uint64_t id = reconnect_waiting_.begin()->second;
    reconnect_waiting_.erase(reconnect_waiting_.begin());
    FireReconnect(id, now);
  }
}

void Core::EndReconnect(const PeerId& peer) {
  auto it = reconnects_.find(peer);
  if (it == reconnects_.end()) return;
  const ReconnectState& state = it->second;
  dial_timers_.erase({state.due, DialTimerKind::kReconnect, state.id});
  reconnect_waiting_.erase({state.due, state.id});
  reconnect_peers_.erase(state.id);
  reconnects_.erase(it);
}

}  // namespace connmgr
