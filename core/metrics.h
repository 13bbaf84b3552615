// A snapshot of what the core holds and a count of every decision it has made.
//
//   Metrics m = core.GetMetrics();
//   m.connections(Direction::kInbound, ConnectionState::kPending);
//   m.counter(Counter::kInboundAccepted);
//   m.rejected(RejectReason::kPendingLimit);
//
// Counter names are stable: they appear in traces' summaries and in the Prometheus endpoint.
#ifndef CONNMGR_CORE_METRICS_H_
#define CONNMGR_CORE_METRICS_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/output.h"
#include "core/protocol_table.h"
#include "core/types.h"

namespace connmgr {

enum class Counter : uint8_t {
  kInputs,       // every input handed in, accepted or not
  kInputErrors,  // inputs refused with a status (unknown id, wrong state, ...)
  kInputsRefusedQueueFull,
  kClockRegressions,  // inputs whose `now` was before the previous one's
  kInboundAccepted,
  kInboundRejected,     // by reason: Metrics::rejected
  kOutboundRegistered,  // OutboundConnection inputs
  kConnectionsOpened,
  kConnectionsClosed,  // by reason: Metrics::closed
  kCloseCommands,
  kAborts,  // connection_close_timeout passed after a close command
  kPeersConnected,
  kPeersDisconnected,
  kStreamsOpened,
  kStreamsClosed,
  kTrims,             // trims that closed at least one connection
  kPruned,            // connections closed by trims
  kStreamsRejected,   // by reason: Metrics::streams_rejected
  kStreamPlacements,  // PlaceStream questions, by outcome: Metrics::placements
  kMemoryReserved,    // ReserveMemory inputs granted
  kMemoryDenied,      // ReserveMemory inputs refused by a scope
  kDialRequests,      // DialRequest inputs accepted (by outcome: Metrics::dial_outcomes)
  kDialsJoined,       // requests that joined a dial already queued or running
  kDialsRefusedQueueFull,
  kDialAttempts,        // DialAddress commands
  kDialAttemptsFailed,  // attempts that failed or timed out
  kDialJobsFinished,    // dials that ended with a result
  kDnsQueries,          // ResolveDns commands
  kReconnectAttempts,
  kReconnectsFailed,  // peers whose reconnects all failed
  kConfigUpdates,     // UpdateConfig inputs applied
};
inline constexpr int kCounterCount = 31;
absl::string_view CounterName(Counter c);

struct Metrics {
  std::array<std::array<uint64_t, kLiveStateCount>, kDirectionCount> connections_by_state{};
  uint64_t peers = 0;
  uint64_t streams_inbound = 0;
  uint64_t streams_outbound = 0;
  std::vector<ProtocolStreams> streams_by_protocol;  // sorted by protocol
  uint32_t streams_per_connection_p90 = 0;           // over open connections
  std::array<uint64_t, kCounterCount> counters{};
  std::array<uint64_t, kRejectReasonCount> rejected_by_reason{};
  std::array<uint64_t, kCloseReasonCount> closed_by_reason{};
  std::array<uint64_t, kStreamRejectReasonCount> streams_rejected_by_reason{};
  std::array<uint64_t, kPlacementOutcomeCount> placements_by_outcome{};
  uint64_t memory_bytes = 0;  // reserved with ReserveMemory and not yet released
  std::array<uint64_t, kDialOutcomeCount> dial_outcomes{};
  uint64_t dials_queued = 0;
  uint64_t dials_running = 0;
  uint64_t dial_backoff_entries = 0;
  uint64_t dns_cache_entries = 0;
  uint64_t tracked_sources = 0;  // keys held by the inbound rate limiter

  uint64_t connections(Direction d, ConnectionState s) const {
    return connections_by_state[static_cast<int>(d)][static_cast<int>(s)];
  }
  uint64_t counter(Counter c) const { return counters[static_cast<int>(c)]; }
  uint64_t rejected(RejectReason r) const { return rejected_by_reason[static_cast<int>(r)]; }
  uint64_t closed(CloseReason r) const { return closed_by_reason[static_cast<int>(r)]; }
  uint64_t streams_rejected(StreamRejectReason r) const {
    return streams_rejected_by_reason[static_cast<int>(r)];
  }
  uint64_t dials(DialOutcome o) const { return dial_outcomes[static_cast<int>(o)]; }
  uint64_t placements(PlacementOutcome o) const {
    return placements_by_outcome[static_cast<int>(o)];
  }
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_METRICS_H_
