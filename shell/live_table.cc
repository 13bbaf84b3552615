#include "shell/live_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace connmgr::shell {
namespace {

// "name=n name=n" for the non-zero entries of a by-reason array.
template <typename Enum, size_t N, typename NameFn>
std::string NonZero(const std::array<uint64_t, N>& counts, NameFn name) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (counts[i] == 0) continue;
    absl::StrAppend(&out, out.empty() ? "" : " ", name(static_cast<Enum>(i)), "=", counts[i]);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string LiveTableHeader() {
  return "    time  open in/out  pend  peers  pruned  dials  tried/failed  reconn  rejected";
}

std::string LiveTableRow(double seconds, const Metrics& m, absl::string_view note) {
  const uint64_t pending = m.connections(Direction::kInbound, ConnectionState::kPending) +
                           m.connections(Direction::kOutbound, ConnectionState::kPending);
  std::string row =
      absl::StrFormat("%7.1fs  %5d/%-5d  %4d  %5d  %6d  %5d  %5d/%-6d  %6d   %s", seconds,
                      m.connections(Direction::kInbound, ConnectionState::kOpen),
                      m.connections(Direction::kOutbound, ConnectionState::kOpen), pending, m.peers,
                      m.counter(Counter::kPruned), m.counter(Counter::kDialRequests),
                      m.counter(Counter::kDialAttempts), m.counter(Counter::kDialAttemptsFailed),
                      m.counter(Counter::kReconnectAttempts),
                      NonZero<RejectReason>(m.rejected_by_reason, RejectReasonName));
  if (!note.empty()) absl::StrAppend(&row, "   | ", note);
  return row;
}

std::string MetricsSummary(const Metrics& m) {
  std::string out;
  absl::StrAppendFormat(&out, "  open connections   %d inbound, %d outbound, %d peers\n",
                        m.connections(Direction::kInbound, ConnectionState::kOpen),
                        m.connections(Direction::kOutbound, ConnectionState::kOpen), m.peers);
  absl::StrAppendFormat(&out, "  inbound sockets    %d accepted, %d rejected: %s\n",
                        m.counter(Counter::kInboundAccepted), m.counter(Counter::kInboundRejected),
                        NonZero<RejectReason>(m.rejected_by_reason, RejectReasonName));
  absl::StrAppendFormat(&out, "  closed             %d: %s\n",
                        m.counter(Counter::kConnectionsClosed),
                        NonZero<CloseReason>(m.closed_by_reason, CloseReasonName));
  absl::StrAppendFormat(&out, "  trims              %d, connections pruned %d\n",
                        m.counter(Counter::kTrims), m.counter(Counter::kPruned));
  absl::StrAppendFormat(&out, "  dials              %d requests, %d attempts: %s\n",
                        m.counter(Counter::kDialRequests), m.counter(Counter::kDialAttempts),
                        NonZero<DialOutcome>(m.dial_outcomes, DialOutcomeName));
  absl::StrAppendFormat(&out, "  reconnects         %d attempts, %d peers given up\n",
                        m.counter(Counter::kReconnectAttempts),
                        m.counter(Counter::kReconnectsFailed));
  absl::StrAppendFormat(&out, "  core inputs        %d (%d refused as misuse)\n",
                        m.counter(Counter::kInputs), m.counter(Counter::kInputErrors));
  return out;
}

}  // namespace connmgr::shell
