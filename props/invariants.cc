#include "props/invariants.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

absl::Status Broken(absl::string_view invariant, absl::string_view detail) {
  return absl::InternalError(absl::StrCat("invariant broken: ", invariant, ": ", detail));
}

}  // namespace

std::vector<Output> DrainAll(Core& core) {
  std::vector<Output> out;
  while (std::optional<Output> o = core.PollOutput()) out.push_back(*std::move(o));
  return out;
}

void InvariantChecker::Before(const Core& core) { open_before_ = core.connections().open_count(); }

absl::Status InvariantChecker::Check(const Core& core, Instant now, const Input& input,
                                     const absl::StatusOr<ConnectionId>& result,
                                     const std::vector<Output>& outputs) {
  latest_now_ = std::max(latest_now_, now);
  core_ = &core;
  if (absl::Status s = CheckOutputs(now, input, result, outputs); !s.ok()) return s;
  bool trimmed_at_once = false;
  if (const auto* update = std::get_if<UpdateConfig>(&input)) {
    if (!result.ok()) {
      if (!(core.config() == config_)) {
        return Broken("a refused config change leaves the config", result.status().ToString());
      }
    } else {
      if (!(core.config() == *update->config)) {
        return Broken("an accepted config change is the config in force", "differs");
      }
      // A lower limit trims at once, whatever the silence period.
      trimmed_at_once =
          update->config->max_connections < config_.max_connections ||
          update->config->effective_high_watermark() < config_.effective_high_watermark() ||
          update->config->diversity_protected_connections < config_.diversity_protected_connections;
      config_ = core.config();
      loosest_pending_limit_ =
          std::max(loosest_pending_limit_, config_.max_incoming_pending_connections);
      if (loosest_stream_limit_ != 0) {
        loosest_stream_limit_ =
            config_.max_streams_per_connection == 0
                ? 0
                : std::max(loosest_stream_limit_, config_.max_streams_per_connection);
      }
    }
  }
  if (absl::Status s = CheckDials(core, now, input, result, outputs); !s.ok()) return s;
  if (std::holds_alternative<TimerExpired>(input) && core.NextDeadline() <= latest_now_) {
    return Broken("timers are in the future after TimerExpired",
                  absl::StrCat("next deadline ", core.NextDeadline().nanoseconds(), " <= now ",
                               latest_now_.nanoseconds()));
  }
  return CheckAggregates(core, trimmed_at_once);
}

absl::Status InvariantChecker::CheckDials(const Core& core, Instant, const Input& input,
                                          const absl::StatusOr<ConnectionId>& result,
                                          const std::vector<Output>& outputs) {
  const Instant now = latest_now_;  // the core clamps a clock that steps back
  if (const auto* dial = std::get_if<DialRequest>(&input); dial != nullptr && result.ok()) {
    waiting_dials_[dial->request] =
        now + (dial->timeout == Duration::Zero() ? config_.dial_timeout : dial->timeout);
  }
  for (const Output& o : outputs) {
    if (const auto* r = std::get_if<DialResult>(&o)) {
      if (waiting_dials_.erase(r->request) == 0) {
        return Broken("every dial ends in exactly one dial_result",
                      absl::StrCat("a result for request ", r->request, ", which is not waiting"));
      }
    } else if (const auto* f = std::get_if<DialAttemptFailed>(&o)) {
      Failures& e = failures_[{f->peer, f->address.ToBytes()}];
      // The core's entry may have expired (after until + max): count afresh, which only
      // loosens the check.
      const bool maybe_expired = e.in_a_row > 0 && now >= e.last + e.backoff + e.max;
      e.in_a_row = maybe_expired ? 1 : e.in_a_row + 1;
      const int64_t prior = e.in_a_row - 1;
      const Duration backoff =
          std::min(config_.dial_backoff_base + config_.dial_backoff_step * (prior * prior),
                   config_.dial_backoff_max);
      e.last = now;
      e.backoff = backoff;
      e.max = config_.dial_backoff_max;
    } else if (const auto* d = std::get_if<DialAddress>(&o)) {
      auto it = failures_.find({d->peer, d->address.ToBytes()});
      // Evicted entries (more pairs than max_backoff_entries) may be redialled at once.
      if (it != failures_.end() && failures_.size() <= config_.max_backoff_entries &&
          now < it->second.last + it->second.backoff) {
        return Broken("a failed address is not dialled again before its backoff ends",
                      absl::StrCat(d->address.ToString(), " after ", it->second.in_a_row,
                                   " failures in a row"));
      }
    } else if (const auto* opened = std::get_if<ConnectionOpened>(&o)) {
      // Any new connection to the peer clears its backoff.
      for (auto it = failures_.begin(); it != failures_.end();) {
        it = it->first.first == opened->peer ? failures_.erase(it) : std::next(it);
      }
    }
  }
  for (const auto& [request, deadline] : waiting_dials_) {
    if (core.NextDeadline() > deadline) {
      return Broken("a waiting dial's deadline is armed",
                    absl::StrCat("request ", request, " waits past the next deadline"));
    }
  }
  loosest_parallel_dials_ = std::max(loosest_parallel_dials_, config_.max_parallel_dials);
  if (const Metrics m = core.GetMetrics(); m.dials_running > loosest_parallel_dials_) {
    return Broken("at most max_parallel_dials run",
                  absl::StrCat(m.dials_running, " > ", loosest_parallel_dials_));
  }
  return absl::OkStatus();
}

bool InvariantChecker::Exempt(const Core& core, const Connection& c) {
  return c.allow_listed || c.in_grace || core.tags().IsProtected(c.peer);
}

absl::Status InvariantChecker::CheckOutputs(Instant, const Input& input,
                                            const absl::StatusOr<ConnectionId>& result,
                                            const std::vector<Output>& outputs) {
  if (!result.ok() && !outputs.empty()) {
    return Broken("a refused input changes nothing", result.status().ToString());
  }
  const bool creates = std::holds_alternative<InboundConnection>(input) ||
                       std::holds_alternative<OutboundConnection>(input);
  if (creates && result.ok()) {
    if (result->value <= last_created_id_) {
      return Broken("ids are never reused",
                    absl::StrCat("id ", result->value, " after ", last_created_id_));
    }
    last_created_id_ = result->value;
    // An outbound connection is live from its creation (it may close before it opens).
    if (std::holds_alternative<OutboundConnection>(input)) live_.insert(*result);
  }
  size_t admission_answers = 0;
  for (const Output& out : outputs) {
    if (const auto* accept = std::get_if<AcceptConnection>(&out)) {
      ++admission_answers;
      const Connection* accepted = core_->connections().Find(accept->connection);
      if (accepted != nullptr && !accepted->allow_listed &&
          open_before_ >= config_.max_connections) {
        return Broken("no inbound accepted at the connection limit",
                      absl::StrCat(open_before_, " open, max ", config_.max_connections));
      }
      if (accepted != nullptr && accepted->remote_ip &&
          core_->deny_list().Contains(*accepted->remote_ip)) {
        return Broken("a denied address is never accepted", accepted->remote.ToString());
      }
      if (!live_.insert(accept->connection).second) {
        return Broken("one admission answer per inbound", "accepted twice");
      }
    } else if (const auto* reject = std::get_if<RejectConnection>(&out)) {
      ++admission_answers;
      if (!finished_.insert(reject->connection).second || live_.contains(reject->connection)) {
        return Broken("one admission answer per inbound",
                      absl::StrCat("connection ", reject->connection.value, " answered twice"));
      }
    } else if (const auto* dial = std::get_if<DialAddress>(&out)) {
      // A dial attempt is a connection from its DialAddress command on.
      if (!live_.insert(dial->connection).second) {
        return Broken("dial attempts get fresh ids", absl::StrCat(dial->connection.value));
      }
    } else if (const auto* opened = std::get_if<ConnectionOpened>(&out)) {
      const Connection* c = core_->connections().Find(opened->connection);
      if (c != nullptr && (core_->IsPeerDenied(opened->peer) ||
                           (c->remote_ip && core_->deny_list().Contains(*c->remote_ip)))) {
        return Broken("a denied peer or address never opens", opened->peer.ToString());
      }
      if (!live_.contains(opened->connection)) {
        return Broken("only live connections open",
                      absl::StrCat("connection ", opened->connection.value));
      }
    } else if (const auto* closed = std::get_if<ConnectionClosed>(&out)) {
      if (live_.erase(closed->connection) != 1 || !finished_.insert(closed->connection).second) {
        return Broken("every connection closes exactly once",
                      absl::StrCat("connection ", closed->connection.value));
      }
    } else if (const auto* connected = std::get_if<PeerConnected>(&out)) {
      if (!connected_peers_.insert(connected->peer).second) {
        return Broken("peer events alternate", "connected twice: " + connected->peer.ToString());
      }
    } else if (const auto* pruned = std::get_if<ConnectionsPruned>(&out)) {
      for (const PrunedConnection& p : pruned->pruned) {
        const Connection* c = core_->connections().Find(p.connection);
        if (c == nullptr || Exempt(*core_, *c)) {
          return Broken("protected, allow-listed and young connections are never pruned",
                        absl::StrCat("connection ", p.connection.value));
        }
      }
    } else if (const auto* placed = std::get_if<StreamPlaced>(&out)) {
      const Connection* c = core_->connections().Find(placed->connection);
      const bool placed_ok = placed->outcome == PlacementOutcome::kPlaced;
      if (placed_ok != (c != nullptr) ||
          (c != nullptr && (c->state != ConnectionState::kOpen || c->peer != placed->peer))) {
        return Broken("a stream is placed on an open connection of its peer, or nowhere",
                      absl::StrCat("connection ", placed->connection.value, " outcome ",
                                   PlacementOutcomeName(placed->outcome)));
      }
      if (!result.ok() || *result != placed->connection) {
        return Broken("place_stream returns the placed connection", "");
      }
    } else if (const auto* gone = std::get_if<PeerDisconnected>(&out)) {
      if (connected_peers_.erase(gone->peer) != 1) {
        return Broken("peer events alternate",
                      "disconnected while not connected: " + gone->peer.ToString());
      }
    }
  }
  const bool inbound_ok = std::holds_alternative<InboundConnection>(input) && result.ok();
  if (admission_answers != (inbound_ok ? 1u : 0u)) {
    return Broken("each inbound gets exactly one accept or reject",
                  absl::StrCat(admission_answers, " answers"));
  }
  return absl::OkStatus();
}

absl::Status InvariantChecker::CheckAggregates(const Core& core, bool trimmed_at_once) const {
  const ConnectionTable& table = core.connections();
  // Allow-listed remotes skip the admission limits, so they are not counted here.
  uint64_t limited_pending = 0;
  for (const Connection* c : table.SortedForInspection()) {
    // Admitted as allow-listed (charged to no scope): skipped the limits, even if its entry
    // was removed since.
    limited_pending += c->direction == Direction::kInbound &&
                       c->state == ConnectionState::kPending && c->charge != ScopeCharge::kNone;
  }
  if (limited_pending > loosest_pending_limit_) {
    return Broken("pending inbound within max_incoming_pending_connections",
                  absl::StrCat(limited_pending));
  }
  uint64_t counted = 0;
  for (Direction d : {Direction::kInbound, Direction::kOutbound}) {
    for (ConnectionState s :
         {ConnectionState::kPending, ConnectionState::kOpen, ConnectionState::kClosing}) {
      counted += table.count(d, s);
    }
  }
  if (counted != table.size() || table.size() != live_.size()) {
    return Broken("state counts add up to the table",
                  absl::StrCat(counted, " counted, ", table.size(), " in table, ", live_.size(),
                               " live by events"));
  }
  if (table.peer_count() != connected_peers_.size()) {
    return Broken("peer count matches peer events",
                  absl::StrCat(table.peer_count(), " vs ", connected_peers_.size()));
  }
  if (core.queued_outputs() != 0) return Broken("outputs drained", "queue not empty");
  // Rate-limit state is bounded: unpinned keys by max_tracked_sources, pinned ones (up to three
  // per live inbound connection) by the connections.
  if (core.GetMetrics().tracked_sources > config_.max_tracked_sources + 3 * table.size()) {
    return Broken("tracked sources within max_tracked_sources",
                  absl::StrCat(core.GetMetrics().tracked_sources));
  }
  if (loosest_stream_limit_ != 0) {
    for (const Connection* c : table.SortedForInspection()) {
      if (c->stream_count() > loosest_stream_limit_) {
        return Broken("streams per connection within max_streams_per_connection",
                      absl::StrCat("connection ", c->id.value, " has ", c->stream_count()));
      }
    }
  }
  // Over the hard limit, only connections that may never be pruned remain open, besides at
  // most one per diversity-protected group (unless a silence period holds the trim back).
  if (table.open_count() > config_.max_connections &&
      (config_.silence_period == Duration::Zero() || trimmed_at_once)) {
    uint64_t prunable = 0;
    for (const Connection* c : table.SortedForInspection()) {
      prunable += c->state == ConnectionState::kOpen && !Exempt(core, *c);
    }
    if (prunable > config_.diversity_protected_connections) {
      return Broken("open connections stay within max_connections",
                    absl::StrCat(table.open_count(), " open, ", prunable,
                                 " of them prunable, diversity keeps ",
                                 config_.diversity_protected_connections));
    }
  }
  return absl::OkStatus();
}

}  // namespace connmgr
