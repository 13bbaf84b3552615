// Everything the core can say: commands the caller must carry out, and events it may report.
//
// Outputs wait in a bounded queue until the caller drains them with `Core::PollOutput`. Every
// inbound connection gets exactly one AcceptConnection or RejectConnection; every connection
// that ends gets exactly one ConnectionClosed event.
#ifndef CONNMGR_CORE_OUTPUT_H_
#define CONNMGR_CORE_OUTPUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/dns_resolver.h"
#include "core/gater.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"
#include "core/types.h"
#include "core/variants.h"

namespace connmgr {

// Why an inbound connection was refused. Names are stable (trace format, metrics).
enum class RejectReason : uint8_t {
  kPendingLimit,     // max_incoming_pending_connections reached
  kInboundLimit,     // max_inbound_connections reached
  kConnectionLimit,  // max_connections reached
  kResourceLimit,    // a resource scope refused it (a ScopeDenied event says which)
  kDenied,           // the deny list or the gater (a ConnectionGated event says which rule)
  kNotAllowed,       // allow_only_mode and the remote is not in the allow list
  kRateLimitIp,      // inbound_rate_per_ip
  kRateLimitSubnet,  // inbound_rate_per_ipv4_24, _ipv6_56 or _ipv6_48
  kRateLimitGlobal,  // inbound_rate_global
  kIpLimit,          // max_connections_per_ipv4_32 or _ipv6_56 concurrent connections
  kSubnetLimit,      // max_connections_per_ipv6_48 concurrent connections
};
inline constexpr int kRejectReasonCount = 11;
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
  kDenied,          // gated after the handshake, or newly denied (a ConnectionGated event says why)
  kDialFailed,      // a dial attempt failed or timed out (a DialAttemptFailed event says why)
  kDialCancelled,   // a dial attempt was abandoned (CancelDialAttempt)
  // Reported by the shell with TransportClosed:
  kProtocolError,    // the peer broke a wire protocol (garbage, a Yamux violation)
  kHandshakeFailed,  // the security or muxer handshake failed
  kSlowReader,       // the peer stopped reading what we send (slow_reader_timeout)
  kMemoryLimit,      // a memory reservation for the connection was refused
  // Decided by the core:
  kPendingEvicted,  // a pending inbound connection made room for one from a rarer source group
  kEvicted,         // an idle inbound connection made room for a new peer (inbound_eviction)
};
inline constexpr int kCloseReasonCount = 16;
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

// How a dial request ended. Names are stable (trace format, metrics).
enum class DialOutcome : uint8_t {
  kConnected,           // a new connection opened
  kExistingConnection,  // an open connection to the peer was reused
  kNoAddresses,         // nothing to dial: none given, none for this peer, or DNS gave none
  kDenied,              // the gater refused the peer or every address
  kBackedOff,           // every address is in backoff or in a black-holed class
  kFailed,              // every address was tried and failed
  kTimeout,             // the request's own deadline passed
  kCancelled,           // CancelDial
};
inline constexpr int kDialOutcomeCount = 8;
absl::string_view DialOutcomeName(DialOutcome o);

// A field the trace leaves out when it holds its default (zero) value.
inline constexpr struct OmitWhenZero {
} kOmitWhenZero;

// --- Commands ------------------------------------------------------------------------------

// Go on with this inbound connection (start its upgrade).
struct AcceptConnection {
  ConnectionId connection;
  static constexpr absl::string_view kKind = "accept_connection";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
  }
  friend bool operator==(const AcceptConnection&, const AcceptConnection&) = default;
};

// Close this inbound socket; it never becomes a connection. `hold` is delayed_reject: keep the
// socket that long before closing it (an anti-flood measure; 0: close now).
struct RejectConnection {
  ConnectionId connection;
  RejectReason reason;
  Duration hold = Duration::Zero();
  static constexpr absl::string_view kKind = "reject_connection";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("reason", self.reason);
    v("hold", self.hold, kOmitWhenZero);
  }
  friend bool operator==(const RejectConnection&, const RejectConnection&) = default;
};

// Close this connection gracefully; report TransportClosed when it is gone. If that takes
// longer than connection_close_timeout, an AbortConnection follows.
struct CloseConnection {
  ConnectionId connection;
  CloseReason reason;
  static constexpr absl::string_view kKind = "close_connection";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("reason", self.reason);
  }
  friend bool operator==(const CloseConnection&, const CloseConnection&) = default;
};

// Reset this connection's socket now. The core already counts it closed: report nothing more.
struct AbortConnection {
  ConnectionId connection;
  static constexpr absl::string_view kKind = "abort_connection";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
  }
  friend bool operator==(const AbortConnection&, const AbortConnection&) = default;
};

// Reset the stream StreamOpened reported as `stream`: the core did not count it, so report no
// StreamClosed for it.
struct ResetStream {
  ConnectionId connection;
  uint64_t stream = 0;
  std::string protocol;
  Direction direction;
  StreamRejectReason reason;
  static constexpr absl::string_view kKind = "reset_stream";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("stream", self.stream);
    v("protocol", self.protocol);
    v("direction", self.direction);
    v("reason", self.reason);
  }
  friend bool operator==(const ResetStream&, const ResetStream&) = default;
};

// Dial `address` for `peer`; report DialSucceeded or DialFailed for `connection`.
struct DialAddress {
  ConnectionId connection;
  PeerId peer;
  Multiaddr address;
  static constexpr absl::string_view kKind = "dial_address";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("peer", self.peer);
    v("address", self.address);
  }
  friend bool operator==(const DialAddress&, const DialAddress&) = default;
};

// Abandon this dial attempt (its dial ended another way, or its address timed out). The core
// already counts it closed: a later DialSucceeded or DialFailed for it is ignored, and a
// connection that did get through must be closed by the caller.
struct CancelDialAttempt {
  ConnectionId connection;
  static constexpr absl::string_view kKind = "cancel_dial_attempt";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
  }
  friend bool operator==(const CancelDialAttempt&, const CancelDialAttempt&) = default;
};

// Resolve `name` (TXT names are already "_dnsaddr.<name>"); report the answer or the failure.
struct ResolveDns {
  uint64_t query;
  std::string name;
  DnsRecordType type;
  static constexpr absl::string_view kKind = "resolve_dns";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("query", self.query);
    v("name", self.name);
    v("type", self.type);
  }
  friend bool operator==(const ResolveDns&, const ResolveDns&) = default;
};

// --- Events --------------------------------------------------------------------------------

struct ConnectionOpened {
  ConnectionId connection;
  PeerId peer;
  Direction direction;
  static constexpr absl::string_view kKind = "connection_opened";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("peer", self.peer);
    v("direction", self.direction);
  }
  friend bool operator==(const ConnectionOpened&, const ConnectionOpened&) = default;
};

struct ConnectionClosed {
  ConnectionId connection;
  CloseReason reason;
  static constexpr absl::string_view kKind = "connection_closed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("reason", self.reason);
  }
  friend bool operator==(const ConnectionClosed&, const ConnectionClosed&) = default;
};

// A trim chose these connections (in prune order); a CloseConnection{kPruned} follows for each.
struct PrunedConnection {
  ConnectionId connection;
  PeerId peer;
  int64_t peer_value;
  uint32_t streams;
  bool busy;  // had a stream on a non-closable protocol: closed only to get under the hard limit

  static constexpr absl::string_view kKind = "";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("peer", self.peer);
    v("peer_value", self.peer_value);
    v("streams", self.streams);
    v("busy", self.busy);
  }
  friend bool operator==(const PrunedConnection&, const PrunedConnection&) = default;
};

struct ConnectionsPruned {
  uint64_t open;    // open connections when the trim ran
  uint64_t target;  // the low watermark it trimmed towards
  std::vector<PrunedConnection> pruned;

  static constexpr absl::string_view kKind = "connections_pruned";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("open", self.open);
    v("target", self.target);
    v("pruned", self.pruned);
  }
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

  static constexpr absl::string_view kKind = "scope_denied";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("scope", self.scope);
    v("resource", self.resource);
    v("used", self.used);
    v("limit", self.limit);
  }
  friend bool operator==(const ScopeDenied&, const ScopeDenied&) = default;
};

// The answer to PlaceStream: the connection to open the new stream on (ConnectionId{} unless
// placed). Handle returns the same connection.
struct StreamPlaced {
  PeerId peer;
  ConnectionId connection;
  PlacementOutcome outcome;
  static constexpr absl::string_view kKind = "stream_placed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("conn", self.connection);
    v("outcome", self.outcome);
  }
  friend bool operator==(const StreamPlaced&, const StreamPlaced&) = default;
};

// The answer to ReserveMemory. When refused, a ScopeDenied event came first.
struct MemoryReservation {
  ConnectionId connection;  // ConnectionId{}: memory not tied to a connection (transient)
  uint64_t bytes;
  bool granted;
  static constexpr absl::string_view kKind = "memory_reservation";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("bytes", self.bytes);
    v("granted", self.granted);
  }
  friend bool operator==(const MemoryReservation&, const MemoryReservation&) = default;
};

// A gate stopped the connection: a RejectConnection (stage accept) or CloseConnection with
// reason denied follows. `rule` says which: "deny_list 10.0.0.0/8", "denied_peers",
// "gater: <the gater's text>".
struct ConnectionGated {
  ConnectionId connection;
  GateStage stage;
  std::string rule;
  static constexpr absl::string_view kKind = "connection_gated";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("stage", self.stage);
    v("rule", self.rule);
  }
  friend bool operator==(const ConnectionGated&, const ConnectionGated&) = default;
};

// The one answer to a DialRequest. `connection` is set for connected and existing_connection.
struct DialResult {
  uint64_t request;
  PeerId peer;
  ConnectionId connection;
  DialOutcome outcome;
  std::string detail;  // why, for every outcome but connected: "all 3 addresses failed; last: ..."
  static constexpr absl::string_view kKind = "dial_result";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("request", self.request);
    v("peer", self.peer);
    v("conn", self.connection);
    v("outcome", self.outcome);
    v("detail", self.detail);
  }
  friend bool operator==(const DialResult&, const DialResult&) = default;
};

// One address of a dial failed (or timed out: error "timeout").
struct DialAttemptFailed {
  ConnectionId connection;
  PeerId peer;
  Multiaddr address;
  std::string error;
  static constexpr absl::string_view kKind = "dial_attempt_failed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("peer", self.peer);
    v("address", self.address);
    v("error", self.error);
  }
  friend bool operator==(const DialAttemptFailed&, const DialAttemptFailed&) = default;
};

// A keep-alive peer's reconnects all failed; its keep-alive tags were removed.
struct ReconnectFailed {
  PeerId peer;
  uint32_t attempts;
  static constexpr absl::string_view kKind = "reconnect_failed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("attempts", self.attempts);
  }
  friend bool operator==(const ReconnectFailed&, const ReconnectFailed&) = default;
};

// The peer's first connection opened.
struct PeerConnected {
  PeerId peer;
  static constexpr absl::string_view kKind = "peer_connected";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
  }
  friend bool operator==(const PeerConnected&, const PeerConnected&) = default;
};

// The peer's last connection closed.
struct PeerDisconnected {
  PeerId peer;
  static constexpr absl::string_view kKind = "peer_disconnected";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
  }
  friend bool operator==(const PeerDisconnected&, const PeerDisconnected&) = default;
};

// Commands: the caller must carry out every one (docs/design.md, "The call contract").
using Command = std::variant<AcceptConnection, RejectConnection, CloseConnection, AbortConnection,
                             ResetStream, DialAddress, CancelDialAttempt, ResolveDns>;

// Events: what the core reports; the caller may act on them or not.
using Event = std::variant<ConnectionOpened, ConnectionClosed, PeerConnected, PeerDisconnected,
                           ConnectionsPruned, ScopeDenied, StreamPlaced, MemoryReservation,
                           ConnectionGated, DialResult, DialAttemptFailed, ReconnectFailed>;

// Every output, as the queue and the trace hold them: the commands, then the events.
using Output = VariantConcat<Command, Event>::type;

// The command `output` is, or nullopt for an event. A caller visits it with one handler per
// command (no catch-all), so that adding a command fails to compile until it is carried out.
std::optional<Command> AsCommand(const Output& output);

// The trace-format name of an output kind ("accept_connection", ...).
absl::string_view OutputName(const Output& output);

}  // namespace connmgr

#endif  // CONNMGR_CORE_OUTPUT_H_
