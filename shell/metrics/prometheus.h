// Renders a Metrics snapshot in the Prometheus text exposition format 0.0.4, for /metrics.
//
//   std::string body = FormatPrometheus(core.GetMetrics());
//   // # HELP connmgr_peers Peers with at least one open connection.
//   // # TYPE connmgr_peers gauge
//   // connmgr_peers 3
//   // ...
//   // connmgr_inbound_rejected_total{reason="rate_limit_ip"} 3
//
// Names: counters are `<prefix>_<CounterName>_total`, gauges `<prefix>_<field>`. A counter that
// Metrics also breaks down by reason or outcome (inbound_rejected, connections_closed,
// streams_rejected, stream_placements) is exposed as that breakdown only, one labelled series
// per reason, so that summing the family gives the counter. Dial results are
// `<prefix>_dial_outcomes_total{outcome=...}`, separate from `<prefix>_dial_requests_total`
// because requests still queued or running have no outcome yet.
//
// Order: families follow the declaration order of Metrics' fields (counters in the order of
// enum Counter), series within a family follow their enums' declaration order, and protocol
// series the (sorted) order of Metrics::streams_by_protocol. The same snapshot always gives the
// same bytes.
#ifndef CONNMGR_SHELL_METRICS_PROMETHEUS_H_
#define CONNMGR_SHELL_METRICS_PROMETHEUS_H_

#include <string>

#include "absl/strings/string_view.h"
#include "core/metrics.h"

namespace connmgr {

// `prefix` should match [a-zA-Z_:][a-zA-Z0-9_:]*; other characters become '_'. An empty prefix
// gives bare names ("peers", "inputs_total").
std::string FormatPrometheus(const Metrics& m, absl::string_view prefix = "connmgr");

}  // namespace connmgr

#endif  // CONNMGR_SHELL_METRICS_PROMETHEUS_H_
