#include "core/metrics.h"

#include <iterator>

namespace connmgr {

absl::string_view CounterName(Counter c) {
  static constexpr absl::string_view kNames[] = {
      "inputs",
      "input_errors",
      "inputs_refused_queue_full",
      "clock_regressions",
      "inbound_accepted",
      "inbound_rejected",
      "outbound_registered",
      "connections_opened",
      "connections_closed",
      "close_commands",
      "aborts",
      "peers_connected",
      "peers_disconnected",
      "streams_opened",
      "streams_closed",
      "trims",
      "pruned",
      "streams_rejected",
      "stream_placements",
      "memory_reserved",
      "memory_denied",
      "dial_requests",
      "dials_joined",
      "dials_refused_queue_full",
      "dial_attempts",
      "dial_attempts_failed",
      "dial_jobs_finished",
      "dns_queries",
      "reconnect_attempts",
      "reconnects_failed",
      "config_updates",
  };
  static_assert(std::size(kNames) == kCounterCount);
  return kNames[static_cast<int>(c)];
}

}  // namespace connmgr
