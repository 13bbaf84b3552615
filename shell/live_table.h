// The node's live view: one compact line per interval of a core's metrics, and a summary.
//
//     time  open in/out  pend  peers  pruned  dials  tried/failed  reconn  rejected
//     1.0s      5/2         1      7       4      2      2/1            3   denied=3
//
// Columns: open connections by direction, pending ones, peers with an open connection, and
// since the start: connections pruned, dial requests, dial attempts (one address each) and
// those that failed, reconnect attempts, inbound sockets rejected by reason.
#ifndef CONNMGR_SHELL_LIVE_TABLE_H_
#define CONNMGR_SHELL_LIVE_TABLE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "core/metrics.h"

namespace connmgr::shell {

std::string LiveTableHeader();
// `note` (what happened in the interval) goes at the end of the line.
std::string LiveTableRow(double seconds, const Metrics& m, absl::string_view note = "");
// Multi-line: connections, rejects and closes by reason, dials by outcome, reconnects.
std::string MetricsSummary(const Metrics& m);

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_LIVE_TABLE_H_
