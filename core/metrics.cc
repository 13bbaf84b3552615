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
  };
  static_assert(std::size(kNames) == kCounterCount);
  return kNames[static_cast<int>(c)];
}

}  // namespace connmgr
