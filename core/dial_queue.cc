#include "core/dial_queue.h"

#include <algorithm>

namespace connmgr {

DialJob& DialQueue::Add(const PeerId& peer, uint32_t priority, bool force, Instant now) {
  const DialJobId id{next_id_++};
  DialJob& job = jobs_[id];
  job.id = id;
  job.peer = peer;
  job.priority = priority;
  job.sequence = next_sequence_++;
  job.queued_at = now;
  job.force = force;
  queued_.insert(KeyOf(job));
  by_peer_[peer] = id;
  return job;
}

DialJob* DialQueue::Find(DialJobId id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

DialJob* DialQueue::FindByPeer(const PeerId& peer) {
  auto it = by_peer_.find(peer);
  return it == by_peer_.end() ? nullptr : Find(it->second);
}

DialJob* DialQueue::FindByAddress(const Multiaddr& address) {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : Find(it->second);
}

DialJob* DialQueue::FindByRequest(uint64_t request) {
  auto it = by_request_.find(request);
  return it == by_request_.end() ? nullptr : Find(it->second);
}

DialJob* DialQueue::FindByAttempt(ConnectionId attempt) {
  auto it = by_attempt_.find(attempt);
  return it == by_attempt_.end() ? nullptr : Find(it->second);
}

void DialQueue::AddJoiner(DialJob& job, const DialJoiner& joiner) {
  job.joiners.push_back(joiner);
  if (!joiner.internal) by_request_[joiner.request] = job.id;
}

std::optional<DialJoiner> DialQueue::RemoveJoiner(DialJob& job, uint64_t request, bool internal) {
  auto it = std::find_if(job.joiners.begin(), job.joiners.end(), [&](const DialJoiner& j) {
    return j.request == request && j.internal == internal;
  });
  if (it == job.joiners.end()) return std::nullopt;
  const DialJoiner joiner = *it;
  job.joiners.erase(it);
  if (!joiner.internal) by_request_.erase(request);
  return joiner;
}

void DialQueue::AddCandidate(DialJob& job, const Multiaddr& address, size_t max_candidates) {
  if (job.candidates.size() >= max_candidates) return;
  if (std::find(job.candidates.begin(), job.candidates.end(), address) != job.candidates.end()) {
    return;
  }
  job.candidates.push_back(address);
  by_address_.try_emplace(address, job.id);
}

void DialQueue::IndexAttempt(DialJob& job, ConnectionId attempt) { by_attempt_[attempt] = job.id; }

void DialQueue::UnindexAttempt(ConnectionId attempt) { by_attempt_.erase(attempt); }

DialJob* DialQueue::StartNext() {
  if (queued_.empty()) return nullptr;
  DialJob* job = Find(std::get<2>(*queued_.begin()));
  queued_.erase(queued_.begin());
  job->state = DialJobState::kDialling;
  ++running_;
  return job;
}

void DialQueue::Remove(DialJobId id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  DialJob& job = it->second;
  if (job.state == DialJobState::kQueued) {
    queued_.erase(KeyOf(job));
  } else {
    --running_;
  }
  if (auto p = by_peer_.find(job.peer); p != by_peer_.end() && p->second == id) {
    by_peer_.erase(p);
  }
  for (const Multiaddr& a : job.candidates) {
    if (auto c = by_address_.find(a); c != by_address_.end() && c->second == id) {
      by_address_.erase(c);
    }
  }
  for (const DialJoiner& j : job.joiners) {
    if (!j.internal) by_request_.erase(j.request);
  }
  for (const PlannedAddress& p : job.plan) {
    if (p.attempt != ConnectionId{}) by_attempt_.erase(p.attempt);
  }
  jobs_.erase(it);
}

}  // namespace connmgr
