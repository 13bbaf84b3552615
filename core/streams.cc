#include "core/streams.h"

#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

// The longest stream protocol id accepted; longer ones come from a misbehaving peer.
constexpr size_t kMaxProtocolLength = 256;

absl::Status CheckProtocol(absl::string_view input, absl::string_view protocol) {
  if (protocol.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": protocol must not be empty"));
  }
  if (protocol.size() > kMaxProtocolLength) {
    return absl::InvalidArgumentError(absl::StrCat(input, ": protocol is ", protocol.size(),
                                                   " bytes, longer than ", kMaxProtocolLength));
  }
  return absl::OkStatus();
}

}  // namespace

void EmitScopeDenied(Outbox& outbox, ConnectionId id, const ScopeDenial& denial) {
  outbox.Emit(ScopeDenied{id, std::string(ScopeKindName(denial.scope)),
                          std::string(ResourceName(denial.resource)), denial.used, denial.limit});
}

absl::StatusOr<ConnectionId> Streams::On(Instant, const StreamOpened& in) {
  if (absl::Status s = CheckProtocol("stream_opened", in.protocol); !s.ok()) return s;
  absl::StatusOr<Connection*> c = table_.FindLive("stream_opened", in.connection);
  if (!c.ok()) return c.status();
  if ((*c)->opened_at.is_never()) {
    return absl::FailedPreconditionError(
        absl::StrCat("stream_opened: connection ", in.connection.value, " was never upgraded"));
  }
  std::optional<ScopeDenial> denial;
  if (std::optional<StreamRejectReason> reason = Room(**c, in.direction, &denial)) {
    if (denial) EmitScopeDenied(outbox_, in.connection, *denial);
    outbox_.Count(Counter::kStreamsRejected);
    ++streams_rejected_by_reason_[static_cast<int>(*reason)];
    outbox_.Emit(ResetStream{in.connection, in.stream, in.protocol, in.direction, *reason});
    return in.connection;
  }
  if ((*c)->charge == ScopeCharge::kPeer) scopes_.ReserveStream(in.direction, (*c)->peer);
  table_.AddStream(**c, in.protocol, in.direction);
  pruner_.Reindex(**c);
  outbox_.Count(Counter::kStreamsOpened);
  return in.connection;
}

absl::StatusOr<ConnectionId> Streams::On(Instant, const StreamClosed& in) {
  if (absl::Status s = CheckProtocol("stream_closed", in.protocol); !s.ok()) return s;
  absl::StatusOr<Connection*> c = table_.FindLive("stream_closed", in.connection);
  if (!c.ok()) return c.status();
  if (absl::Status s = table_.RemoveStream(**c, in.protocol, in.direction); !s.ok()) return s;
  if ((*c)->charge == ScopeCharge::kPeer) scopes_.ReleaseStream(in.direction, (*c)->peer);
  pruner_.Reindex(**c);
  outbox_.Count(Counter::kStreamsClosed);
  return in.connection;
}

std::optional<StreamRejectReason> Streams::Room(const Connection& c, Direction direction,
                                                std::optional<ScopeDenial>* denial) const {
  if (c.state == ConnectionState::kClosing) return StreamRejectReason::kConnectionClosing;
  if (config_.max_streams_per_connection != 0 &&
      c.stream_count() >= config_.max_streams_per_connection) {
    return StreamRejectReason::kConnectionStreamLimit;
  }
  // Only connections charged to their peer's scope charge their streams (allow-listed
  // connections are charged nowhere).
  if (c.charge == ScopeCharge::kPeer) {
    *denial = scopes_.CheckStream(direction, c.peer);
    if (*denial) return StreamRejectReason::kResourceLimit;
  }
  return std::nullopt;
}

absl::StatusOr<ConnectionId> Streams::On(Instant, const PlaceStream& in) {
  if (in.peer.is_empty()) {
    return absl::InvalidArgumentError("place_stream: peer must not be empty");
  }
  // Candidates: open connections with room for an outbound stream, direct ones preferred over
  // relayed ones. The peer's connections come in id order.
  const Connection* best = nullptr;
  PlacementOutcome none = PlacementOutcome::kNotConnected;
  const ConnectionId cursor = [&] {
    auto it = round_robin_cursor_.find(in.peer);
    return it == round_robin_cursor_.end() ? ConnectionId{} : it->second;
  }();
  // Smaller is better: direct first; then least streams (least-loaded) or the first id after
  // the cursor, wrapping (round-robin); then lowest id.
  auto rank = [&](const Connection& c) {
    const bool wraps = c.id.value <= cursor.value;
    const uint32_t load =
        config_.stream_placement == StreamPlacement::kLeastLoaded ? c.stream_count() : wraps;
    return std::make_tuple(c.relayed, load, c.id);
  };
  for (ConnectionId id : table_.PeerConnections(in.peer)) {
    const Connection& c = *table_.Find(id);
    if (c.state != ConnectionState::kOpen) continue;
    std::optional<ScopeDenial> denial;
    if (std::optional<StreamRejectReason> full = Room(c, Direction::kOutbound, &denial)) {
      const PlacementOutcome why = *full == StreamRejectReason::kResourceLimit
                                       ? PlacementOutcome::kResourceLimit
                                       : PlacementOutcome::kStreamLimit;
      // Report the scope when any connection was stopped by one: the peer's scope is shared.
      if (none == PlacementOutcome::kNotConnected || why == PlacementOutcome::kResourceLimit) {
        none = why;
      }
      continue;
    }
    if (best == nullptr || rank(c) < rank(*best)) best = &c;
  }
  const PlacementOutcome outcome = best != nullptr ? PlacementOutcome::kPlaced : none;
  const ConnectionId chosen = best != nullptr ? best->id : ConnectionId{};
  if (best != nullptr && config_.stream_placement == StreamPlacement::kRoundRobin) {
    round_robin_cursor_[in.peer] = chosen;
  }
  outbox_.Count(Counter::kStreamPlacements);
  ++placements_by_outcome_[static_cast<int>(outcome)];
  outbox_.Emit(StreamPlaced{in.peer, chosen, outcome});
  return chosen;
}

void Streams::AddMetrics(Metrics& m) const {
  m.streams_rejected_by_reason = streams_rejected_by_reason_;
  m.placements_by_outcome = placements_by_outcome_;
}

}  // namespace connmgr
