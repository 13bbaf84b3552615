#include "core/memory_ledger.h"

#include "absl/strings/str_cat.h"
#include "core/streams.h"

namespace connmgr {

absl::StatusOr<ConnectionId> MemoryLedger::On(Instant, const ReserveMemory& in) {
  if (in.priority > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("reserve_memory: priority ", in.priority, " is over 255"));
  }
  Connection* c = nullptr;
  if (in.connection != ConnectionId{}) {
    absl::StatusOr<Connection*> found = table_.FindLive("reserve_memory", in.connection);
    if (!found.ok()) return found.status();
    c = *found;
    if (c->charge == ScopeCharge::kTransient) {
      return absl::FailedPreconditionError(
          absl::StrCat("reserve_memory: connection ", in.connection.value,
                       " is not upgraded yet; reserve with conn 0 (transient) until it opens"));
    }
  }
  const uint8_t priority = static_cast<uint8_t>(in.priority);
  std::optional<ScopeDenial> denial;
  if (c == nullptr) {
    denial = scopes_.ReserveMemory(in.bytes, priority, nullptr);
  } else {
    denial =
        CheckConnectionMemory(c->memory_bytes, in.bytes, config_.connection_memory_bytes, priority);
    if (!denial && c->charge == ScopeCharge::kPeer) {
      denial = scopes_.ReserveMemory(in.bytes, priority, &c->peer);
    }
  }
  if (denial) {
    EmitScopeDenied(outbox_, in.connection, *denial);
    outbox_.Count(Counter::kMemoryDenied);
    outbox_.Emit(MemoryReservation{in.connection, in.bytes, false});
    return in.connection;
  }
  uint64_t& held = c == nullptr ? transient_memory_bytes_ : c->memory_bytes;
  held += in.bytes;
  memory_bytes_ += in.bytes;
  outbox_.Count(Counter::kMemoryReserved);
  outbox_.Emit(MemoryReservation{in.connection, in.bytes, true});
  return in.connection;
}

absl::StatusOr<ConnectionId> MemoryLedger::On(Instant, const ReleaseMemory& in) {
  Connection* c = nullptr;
  if (in.connection != ConnectionId{}) {
    absl::StatusOr<Connection*> found = table_.FindLive("release_memory", in.connection);
    if (!found.ok()) return found.status();
    c = *found;
  }
  uint64_t& held = c == nullptr ? transient_memory_bytes_ : c->memory_bytes;
  if (in.bytes > held) {
    return absl::InvalidArgumentError(absl::StrCat("release_memory: releases ", in.bytes,
                                                   " bytes, more than the ", held, " reserved"));
  }
  if (c == nullptr) {
    scopes_.ReleaseMemory(in.bytes, nullptr);
  } else if (c->charge == ScopeCharge::kPeer) {
    scopes_.ReleaseMemory(in.bytes, &c->peer);
  }
  held -= in.bytes;
  memory_bytes_ -= in.bytes;
  return in.connection;
}

}  // namespace connmgr
