#include "core/reconnector.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace connmgr {

absl::StatusOr<ConnectionId> Reconnector::On(Instant now, const SetPeerAddresses& in) {
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
  MaybeStart(in.peer, now);
  return ConnectionId{};
}

void Reconnector::MaybeStart(const PeerId& peer, Instant now) {
  // Cheapest checks first: most tag changes are not about a keep-alive peer with addresses.
  if (config_.reconnect_retries == 0 || peer_addresses_.empty()) return;
  if (!tags_.HasKeepAlive(peer) || !peer_addresses_.contains(peer)) return;
  if (reconnects_.contains(peer) || table_.OpenPeerConnectionCount(peer) > 0) return;
  Schedule(peer, /*attempt=*/0, now, Duration::Zero());
  dialer_.FireTimers(now);  // due now: dial at once
}

void Reconnector::PeerGone(const PeerId& peer, Instant now) {
  // Redial a keep-alive peer, when the core knows where (SetPeerAddresses).
  if (config_.reconnect_retries > 0 && !peer_addresses_.empty() && tags_.HasKeepAlive(peer) &&
      !reconnects_.contains(peer) && peer_addresses_.contains(peer)) {
    Schedule(peer, /*attempt=*/0, now, Wait(0));
  }
}

void Reconnector::PeerConnected(const PeerId& peer) {
  if (reconnects_.empty()) return;
  if (auto r = reconnects_.find(peer); r != reconnects_.end() && !r->second.dialling) End(peer);
}

Duration Reconnector::Wait(uint32_t attempt) {
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

void Reconnector::Schedule(const PeerId& peer, uint32_t attempt, Instant now, Duration wait) {
  const uint64_t id = next_id_++;
  reconnects_[peer] = State{id, attempt, now + wait, false};
  reconnect_peers_[id] = peer;
  dialer_.ScheduleTimer(now + wait, DialTimerKind::kReconnect, id);
}

void Reconnector::Fire(uint64_t reconnect, Instant now) {
  auto it = reconnect_peers_.find(reconnect);
  if (it == reconnect_peers_.end()) return;
  const PeerId peer = it->second;
  State& state = reconnects_[peer];
  if (in_flight_ >= config_.max_parallel_reconnects) {
    waiting_.insert({state.due, reconnect});
    return;
  }
  auto addresses = peer_addresses_.find(peer);
  if (addresses == peer_addresses_.end()) {
    results_.push_back({peer, false});
    HandleResults(now);
    return;
  }
  // A turn that would find every address backed off waits for the first backoff to end; it
  // is not an attempt (it would fail without dialling, using up a retry).
  if (const Instant due = dialer_.ReconnectDue(peer, addresses->second, now); due > now) {
    const uint32_t attempt = state.attempt;
    End(peer);
    Schedule(peer, attempt, now, due - now);
    return;
  }
  state.dialling = true;
  ++in_flight_;
  outbox_.Count(Counter::kReconnectAttempts);
  if (!dialer_.JoinReconnect(peer, addresses->second, reconnect, now)) {
    // The dial queue is full: this attempt failed.
    --in_flight_;
    state.dialling = false;
    results_.push_back({peer, false});
    HandleResults(now);
  }
}

void Reconnector::DialDeadlinePassed(uint64_t reconnect, Instant now) {
  auto peer = reconnect_peers_.find(reconnect);
  if (peer == reconnect_peers_.end()) return;
  const PeerId p = peer->second;
  results_.push_back({p, false});
  dialer_.DropReconnect(p, reconnect, now);
  HandleResults(now);
}

void Reconnector::HandleResults(Instant now) {
  while (!results_.empty()) {
    const auto [peer, connected] = results_.front();
    results_.pop_front();
    auto it = reconnects_.find(peer);
    if (it == reconnects_.end()) continue;
    State state = it->second;
    if (state.dialling) --in_flight_;
    End(peer);
    if (connected) continue;
    if (state.attempt + 1 >= config_.reconnect_retries) {
      tags_.RemoveKeepAliveTags(peer);
      peer_addresses_.erase(peer);
      outbox_.Count(Counter::kReconnectsFailed);
      outbox_.Emit(ReconnectFailed{peer, state.attempt + 1});
      pruner_.ReindexPeer(peer);
      continue;
    }
    Schedule(peer, state.attempt + 1, now, Wait(state.attempt + 1));
  }
  // Slots freed: start reconnects that waited for one, oldest due first.
  while (!waiting_.empty() && in_flight_ < config_.max_parallel_reconnects) {
    const uint64_t id = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    Fire(id, now);
  }
}

void Reconnector::End(const PeerId& peer) {
  auto it = reconnects_.find(peer);
  if (it == reconnects_.end()) return;
  const State& state = it->second;
  dialer_.CancelTimer(state.due, DialTimerKind::kReconnect, state.id);
  waiting_.erase({state.due, state.id});
  reconnect_peers_.erase(state.id);
  reconnects_.erase(it);
}

}  // namespace connmgr
