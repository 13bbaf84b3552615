// Everything the core can say: commands the caller must carry out, and events it may report.
//
// Outputs wait in a bounded queue until the caller drains them with `Core::PollOutput`. Every
// inbound connection gets exactly one AcceptConnection or RejectConnection; every connection
// that ends gets exactly one ConnectionClosed event.
#ifndef CONNMGR_CORE_OUTPUT_H_
#define CONNMGR_CORE_OUTPUT_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "core/types.h"

namespace connmgr {

// Why an inbound connection was refused. Names are stable (trace format, metrics).
enum class RejectReason : uint8_t {
  kPendingLimit,     // max_incoming_pending_connections reached
  kInboundLimit,     // max_inbound_connections reached
  kConnectionLimit,  // max_connections reached
  kResourceLimit,    // a resource scope refused it (a ScopeDenied event says which)
};
inline constexpr int kRejectReasonCount = 4;
absl::string_view RejectReasonName(RejectReason r);

// Why a connection ended. Names are stable (trace format, metrics).
enum class CloseReason : uint8_t {
  kTransport,       // the transport reported it closed before the core asked
  kRequested,       // the application asked (CloseRequest)
  kUpgradeTimeout,  // inbound_upgrade_timeout passed while pending
  kPruned,          // trimmed: over the high watermark, or over the hard limit
  kPeerLimit,       // the peer went over max_connections_per_peer
  kOutboundLimit,   // an outbound connection over max_outbound_connections, or over
                    // max_connections with reject_outbound_over_max
  kResourceLimit,   // a resource scope refused it (a ScopeDenied event says which)
};
inline constexpr int kCloseReasonCount = 7;
absl::string_view CloseReasonName(CloseReason r);

// Why a reported stream was refused. Names are stable (trace format, metrics).
enum class StreamRejectReason : uint8_t {
  kConnectionClosing,      // the connection is closing
  kConnectionStreamLimit,  // the connection carries max_streams_per_connection streams
  kResourceLimit,          // a resource scope refused it (a ScopeDenied event says which)
};
inline constexpr int kStreamRejectReasonCount = 3;
absl::string_view StreamRejectReasonName(StreamRejectReason r);

// The answer to PlaceStream. Names are stable (trace format, metrics).
enum class PlacementOutcome : uint8_t {
  kPlaced,         // `connection` should carry the stream
  kNotConnected,   // the peer has no open connection
  kStreamLimit,    // every open connection carries max_streams_per_connection streams
  kResourceLimit,  // the system or the peer's scope has no room for an outbound stream
};
inline constexpr int kPlacementOutcomeCount = 4;
absl::string_view PlacementOutcomeName(PlacementOutcome o);

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

// Reset the stream just reported by StreamOpened: the core did not count it, so report no
// StreamClosed for it.
struct ResetStream {
  ConnectionId connection;
  std::string protocol;
  Direction direction;
  StreamRejectReason reason;
  friend bool operator==(const ResetStream&, const ResetStream&) = default;
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

// A trim chose these connections (in prune order); a CloseConnection{kPruned} follows for each.
struct PrunedConnection {
  ConnectionId connection;
  PeerId peer;
  int64_t peer_value;
  uint32_t streams;
  bool busy;  // had a stream on a non-closable protocol: closed only to get under the hard limit

  friend bool operator==(const PrunedConnection&, const PrunedConnection&) = default;
};

struct ConnectionsPruned {
  uint64_t open;       // open connections when the trim ran
  uint64_t target;     // the low watermark it trimmed towards
  std::vector<PrunedConnection> pruned;

  friend bool operator==(const ConnectionsPruned&, const ConnectionsPruned&) = default;
};

// A resource scope refused a connection; a RejectConnection or CloseConnection with reason
// resource_limit follows.
struct ScopeDenied {
  ConnectionId connection;
  std::string scope;     // "system", "transient" or "peer"
  std::string resource;  // a ScopeLimits field name, e.g. "connections_inbound"
  uint64_t used;
  uint64_t limit;

  friend bool operator==(const ScopeDenied&, const ScopeDenied&) = default;
};

// The answer to PlaceStream: the connection to open the new stream on (ConnectionId{} unless
// placed). Handle returns the same connection.
struct StreamPlaced {
  PeerId peer;
  ConnectionId connection;
  PlacementOutcome outcome;
  friend bool operator==(const StreamPlaced&, const StreamPlaced&) = default;
};

// The answer to ReserveMemory. When refused, a ScopeDenied event came first.
struct MemoryReservation {
  ConnectionId connection;  // ConnectionId{}: memory not tied to a connection (transient)
  uint64_t bytes;
  bool granted;
  friend bool operator==(const MemoryReservation&, const MemoryReservation&) = default;
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
                            PeerDisconnected, ConnectionsPruned, ScopeDenied, ResetStream,
                            StreamPlaced, MemoryReservation>;

// The trace-format name of an output kind ("accept_connection", ...).
absl::string_view OutputName(const Output& output);

}  // namespace connmgr

#endif  // CONNMGR_CORE_OUTPUT_H_
