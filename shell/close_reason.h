// Why the shell ends a connection, carried by the absl::Status that ends it. The upgrader, the
// session and the wire mark the status with the reason where they decide; the driver reports it
// to the core with TransportClosed. An unmarked status (EOF, a socket error) is kTransport.
//
//   return Fail(WithCloseReason(absl::InvalidArgumentError("yamux: bad header"),
//                               CloseReason::kProtocolError));
//   ...
//   driver.Submit(TransportClosed{id, CloseReasonOf(why)});
#ifndef CONNMGR_SHELL_CLOSE_REASON_H_
#define CONNMGR_SHELL_CLOSE_REASON_H_

#include "absl/status/status.h"
#include "core/output.h"

namespace connmgr::shell {

// `status` marked with `reason`, which must be one the transport may report (kTransport,
// kProtocolError, kHandshakeFailed, kSlowReader, kMemoryLimit; others are ignored). An OK
// status stays OK and unmarked.
absl::Status WithCloseReason(absl::Status status, CloseReason reason);

// The reason `status` was marked with; kTransport when it was not.
CloseReason CloseReasonOf(const absl::Status& status);

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_CLOSE_REASON_H_
