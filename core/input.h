// Everything the core can be told. The caller hands each one to `Core::Handle` with `now`.
//
// Inputs are facts ("a socket was accepted", "the transport closed") or requests ("close this
// connection"); the core answers with outputs (core/output.h). Each kind has a stable name used
// by the trace format (docs/trace-format.md).
#ifndef CONNMGR_CORE_INPUT_H_
#define CONNMGR_CORE_INPUT_H_

#include <cstdint>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/peer_tags.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

// A socket was accepted. The core gives it an id (returned by Handle) and answers
// AcceptConnection or RejectConnection for that id.
struct InboundConnection {
  Multiaddr remote;
  Multiaddr local;
  friend bool operator==(const InboundConnection&, const InboundConnection&) = default;
};

// The embedder dialled and upgraded a connection itself (not through the core's dialer). It
// enters the table already open; Handle returns its id.
struct OutboundConnection {
  Multiaddr remote;
  Multiaddr local;
  PeerId peer;
  friend bool operator==(const OutboundConnection&, const OutboundConnection&) = default;
};

// A pending inbound connection finished its security and muxer handshakes.
struct ConnectionUpgraded {
  ConnectionId connection;
  PeerId peer;
  friend bool operator==(const ConnectionUpgraded&, const ConnectionUpgraded&) = default;
};

// The transport reports the connection gone (remote close, error, or the close the core asked
// for completed). Reporting an already closed connection again is harmless.
struct TransportClosed {
  ConnectionId connection;
  friend bool operator==(const TransportClosed&, const TransportClosed&) = default;
};

// The application asks the core to close a connection.
struct CloseRequest {
  ConnectionId connection;
  friend bool operator==(const CloseRequest&, const CloseRequest&) = default;
};

struct StreamOpened {
  ConnectionId connection;
  std::string protocol;
  Direction direction;
  friend bool operator==(const StreamOpened&, const StreamOpened&) = default;
};

struct StreamClosed {
  ConnectionId connection;
  std::string protocol;
  Direction direction;
  friend bool operator==(const StreamClosed&, const StreamClosed&) = default;
};

// Asks which of the peer's connections should carry a new outbound stream. The answer is a
// StreamPlaced event, and Handle returns the chosen connection (ConnectionId{} when none).
// Asking moves the round-robin cursor; it opens nothing: report the stream with StreamOpened.
struct PlaceStream {
  PeerId peer;
  friend bool operator==(const PlaceStream&, const PlaceStream&) = default;
};

// Reserves `bytes` of memory for the connection (charged to system and its peer's scope), or,
// with ConnectionId{}, memory not tied to a connection (charged to system and transient). The
// answer is a MemoryReservation event. A connection's reservations are released when it ends.
struct ReserveMemory {
  ConnectionId connection;
  uint64_t bytes;
  uint32_t priority;  // 0..255: a reservation may fill the scopes up to (priority + 1) / 256
  friend bool operator==(const ReserveMemory&, const ReserveMemory&) = default;
};

struct ReleaseMemory {
  ConnectionId connection;
  uint64_t bytes;
  friend bool operator==(const ReleaseMemory&, const ReleaseMemory&) = default;
};

// Sets the peer's tag `tag` to `value` (creating it). The peer need not be connected. A peer's
// value, the sum of its tags, orders pruning.
struct SetPeerTag {
  PeerId peer;
  std::string tag;
  int64_t value;
  friend bool operator==(const SetPeerTag&, const SetPeerTag&) = default;
};

// Adds `delta` to the peer's tag `tag` (creating it at `delta`; saturating).
struct AddToPeerTag {
  PeerId peer;
  std::string tag;
  int64_t delta;
  friend bool operator==(const AddToPeerTag&, const AddToPeerTag&) = default;
};

struct RemovePeerTag {
  PeerId peer;
  std::string tag;
  friend bool operator==(const RemovePeerTag&, const RemovePeerTag&) = default;
};

// Protects the peer's connections from pruning until its last protection tag is removed.
struct ProtectPeer {
  PeerId peer;
  std::string tag;
  friend bool operator==(const ProtectPeer&, const ProtectPeer&) = default;
};

struct UnprotectPeer {
  PeerId peer;
  std::string tag;
  friend bool operator==(const UnprotectPeer&, const UnprotectPeer&) = default;
};

// Registers a decaying tag kind (go-libp2p's decayer): every `interval` each peer's instance
// decays by `decay`; BumpPeerTag adds to it by `bump`. Names share the space of plain tags.
struct RegisterDecayingTag {
  std::string tag;
  Duration interval;
  DecayPolicy decay;
  BumpPolicy bump;
  friend bool operator==(const RegisterDecayingTag&, const RegisterDecayingTag&) = default;
};

struct BumpPeerTag {
  PeerId peer;
  std::string tag;
  int64_t delta;
  friend bool operator==(const BumpPeerTag&, const BumpPeerTag&) = default;
};

// The caller's timer for `Core::NextDeadline()` fired. Calling it early is a no-op.
struct TimerExpired {
  friend bool operator==(const TimerExpired&, const TimerExpired&) = default;
};

using Input = std::variant<InboundConnection, OutboundConnection, ConnectionUpgraded,
                           TransportClosed, CloseRequest, StreamOpened, StreamClosed,
                           TimerExpired, SetPeerTag, RemovePeerTag, ProtectPeer, UnprotectPeer,
                           RegisterDecayingTag, BumpPeerTag, AddToPeerTag, PlaceStream,
                           ReserveMemory, ReleaseMemory>;

// The trace-format name of an input kind ("inbound_connection", ...).
absl::string_view InputName(const Input& input);

}  // namespace connmgr

#endif  // CONNMGR_CORE_INPUT_H_
