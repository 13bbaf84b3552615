#include "core/output.h"

#include <iterator>

namespace connmgr {

absl::string_view RejectReasonName(RejectReason r) {
  static constexpr absl::string_view kNames[] = {
      "pending_limit", "inbound_limit", "connection_limit",  "resource_limit",    "denied",
      "not_allowed",   "rate_limit_ip", "rate_limit_subnet", "rate_limit_global", "ip_limit",
      "subnet_limit"};
  static_assert(std::size(kNames) == kRejectReasonCount);
  return kNames[static_cast<int>(r)];
}

absl::string_view CloseReasonName(CloseReason r) {
  static constexpr absl::string_view kNames[] = {
      "transport",   "requested",      "upgrade_timeout", "pruned",
      "peer_limit",  "outbound_limit", "resource_limit",  "denied",
      "dial_failed", "dial_cancelled", "protocol_error",  "handshake_failed",
      "slow_reader", "memory_limit",   "pending_evicted", "evicted"};
  static_assert(std::size(kNames) == kCloseReasonCount);
  return kNames[static_cast<int>(r)];
}

absl::string_view StreamRejectReasonName(StreamRejectReason r) {
  static constexpr absl::string_view kNames[] = {"connection_closing", "connection_stream_limit",
                                                 "resource_limit"};
  static_assert(std::size(kNames) == kStreamRejectReasonCount);
  return kNames[static_cast<int>(r)];
}

absl::string_view PlacementOutcomeName(PlacementOutcome o) {
  static constexpr absl::string_view kNames[] = {"placed", "not_connected", "stream_limit",
                                                 "resource_limit"};
  static_assert(std::size(kNames) == kPlacementOutcomeCount);
  return kNames[static_cast<int>(o)];
}

absl::string_view GateStageName(GateStage stage) {
  static constexpr absl::string_view kNames[] = {"dial_peer", "dial_address", "accept",
                                                 "secured",   "upgraded",     "list_change"};
  static_assert(std::size(kNames) == kGateStageCount);
  return kNames[static_cast<int>(stage)];
}

absl::string_view DialOutcomeName(DialOutcome o) {
  static constexpr absl::string_view kNames[] = {"connected",    "existing_connection",
                                                 "no_addresses", "denied",
                                                 "backed_off",   "failed",
                                                 "timeout",      "cancelled"};
  static_assert(std::size(kNames) == kDialOutcomeCount);
  return kNames[static_cast<int>(o)];
}

absl::string_view OutputName(const Output& output) {
  return std::visit([](const auto& out) { return std::decay_t<decltype(out)>::kKind; }, output);
}

std::optional<Command> AsCommand(const Output& output) { return NarrowVariant<Command>(output); }

}  // namespace connmgr
