// Everything the core can say: commands the caller must carry out, and events it may report.
//
// Outputs wait in a bounded queue until the caller drains them with `Core::PollOutput`. Every
// inbound connection gets exactly one AcceptConnection or RejectConnection; every connection
// that ends gets exactly one ConnectionClosed event.
#ifndef CONNMGR_CORE_OUTPUT_H_
#define CONNMGR_CORE_OUTPUT_H_

#include <variant>

#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "core/types.h"

namespace connmgr {

// Why an inbound connection was refused. Names are stable (trace format, metrics).
enum class RejectReason : uint8_t {
  kPendingLimit,     // max_incoming_pending_connections reached
  kConnectionLimit,  // max_connections reached
};
inline constexpr int kRejectReasonCount = 2;
absl::string_view RejectReasonName(RejectReason r);

// Why a connection ended. Names are stable (trace format, metrics).
enum class CloseReason : uint8_t {
  kTransport,       // the transport reported it closed before the core asked
  kRequested,       // the application asked (CloseRequest)
  kUpgradeTimeout,  // inbound_upgrade_timeout passed while pending
};
inline constexpr int kCloseReasonCount = 3;
absl::string_view CloseReasonName(CloseReason r);

// --- Commands ------------------------------------------------------------------------------

// Go on with this inbound connection (start its upgrade).
struct AcceptConnection {
  ConnectionId connection;
  friend bool operator==(const AcceptConnection&, const AcceptConnection&) = default;
};

// Close this inbound socket now; it never becomes a connection.
struct RejectConnection {
  ConnectionId connection;
  RejectReason reason;
  friend bool operator==(const RejectConnection&, const RejectConnection&) = default;
};

// Close this connection gracefully; report TransportClosed when it is gone. If that takes
// longer than connection_close_timeout, an AbortConnection follows.
struct CloseConnection {
  ConnectionId connection;
  CloseReason reason;
  friend bool operator==(const CloseConnection&, const CloseConnection&) = default;
};

// Reset this connection's socket now. The core already counts it closed: report nothing more.
struct AbortConnection {
  ConnectionId connection;
  friend bool operator==(const AbortConnection&, const AbortConnection&) = default;
};

// --- Events --------------------------------------------------------------------------------

struct ConnectionOpened {
  ConnectionId connection;
  PeerId peer;
  Direction direction;
  friend bool operator==(const ConnectionOpened&, const ConnectionOpened&) = default;
};

struct ConnectionClosed {
  ConnectionId connection;
  CloseReason reason;
  friend bool operator==(const ConnectionClosed&, const ConnectionClosed&) = default;
};

// The peer's first connection opened.
struct PeerConnected {
  PeerId peer;
  friend bool operator==(const PeerConnected&, const PeerConnected&) = default;
};

// The peer's last connection closed.
struct PeerDisconnected {
  PeerId peer;
  friend bool operator==(const PeerDisconnected&, const PeerDisconnected&) = default;
};

using Output = std::variant<AcceptConnection, RejectConnection, CloseConnection,
                            AbortConnection, ConnectionOpened, ConnectionClosed, PeerConnected,
                            PeerDisconnected>;

// The trace-format name of an output kind ("accept_connection", ...).
absl::string_view OutputName(const Output& output);

}  // namespace connmgr

#endif  // CONNMGR_CORE_OUTPUT_H_
