#include "shell/close_reason.h"

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace connmgr::shell {
namespace {

constexpr char kPayloadUrl[] = "type.connmgr/close_reason";

bool TransportMayReport(CloseReason reason) {
  switch (reason) {
    case CloseReason::kTransport:
    case CloseReason::kProtocolError:
    case CloseReason::kHandshakeFailed:
    case CloseReason::kSlowReader:
    case CloseReason::kMemoryLimit:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::Status WithCloseReason(absl::Status status, CloseReason reason) {
  if (status.ok() || !TransportMayReport(reason)) return status;
  status.SetPayload(kPayloadUrl, absl::Cord(CloseReasonName(reason)));
  return status;
}

CloseReason CloseReasonOf(const absl::Status& status) {
  const absl::optional<absl::Cord> name = status.GetPayload(kPayloadUrl);
  if (!name) return CloseReason::kTransport;
  for (int i = 0; i < kCloseReasonCount; ++i) {
    const auto reason = static_cast<CloseReason>(i);
    if (TransportMayReport(reason) && *name == CloseReasonName(reason)) return reason;
  }
  return CloseReason::kTransport;
}

}  // namespace connmgr::shell
