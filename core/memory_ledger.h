// Memory reservations (ReserveMemory/ReleaseMemory, go-libp2p's resource manager rule): within
// the connection's own budget (connection_memory_bytes), charged to the system scope and the
// connection's peer scope, or to the transient scope for memory not tied to a connection; a
// connection's reservations are released when it ends.
#ifndef CONNMGR_CORE_MEMORY_LEDGER_H_
#define CONNMGR_CORE_MEMORY_LEDGER_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/connection_table.h"
#include "core/input.h"
#include "core/outbox.h"
#include "core/resource_scopes.h"

namespace connmgr {

class MemoryLedger {
 public:
  // Every argument is the core's own and outlives this object.
  MemoryLedger(const Config& config, ConnectionTable& table, ResourceScopes& scopes, Outbox& outbox)
      : config_(config), table_(table), scopes_(scopes), outbox_(outbox) {}

  // Answers with a MemoryReservation event (after a ScopeDenied when refused).
  absl::StatusOr<ConnectionId> On(Instant now, const ReserveMemory& in);
  absl::StatusOr<ConnectionId> On(Instant now, const ReleaseMemory& in);
  // The connection ends: its reservations leave the total (the core releases its scopes).
  void ConnectionEnded(const Connection& c) { memory_bytes_ -= c.memory_bytes; }

  // Every reservation granted and not released.
  uint64_t reserved() const { return memory_bytes_; }

 private:
  const Config& config_;
  ConnectionTable& table_;
  ResourceScopes& scopes_;
  Outbox& outbox_;
  uint64_t transient_memory_bytes_ = 0;  // reserved with ConnectionId{}
  uint64_t memory_bytes_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_MEMORY_LEDGER_H_
