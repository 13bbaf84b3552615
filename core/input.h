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
#include <vector>

#include "absl/strings/string_view.h"
#include "core/config.h"
#include "core/ip.h"
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

// Optional: a pending connection finished its security handshake and the remote peer is known
// (before the muxer). The core gates it on the peer (denied peers, the gater's DenySecured);
// without this input, ConnectionUpgraded runs that check.
struct ConnectionSecured {
  ConnectionId connection;
  PeerId peer;
  friend bool operator==(const ConnectionSecured&, const ConnectionSecured&) = default;
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

// Runtime changes of the gating lists (docs/design.md, "Gating"). Adding an entry that is
// already there, or removing one that is not, changes nothing. A newly denied range or peer
// closes its live connections when close_newly_denied_connections is set.
struct DenyAddress {
  IpPrefix prefix;
  friend bool operator==(const DenyAddress&, const DenyAddress&) = default;
};
struct UndenyAddress {
  IpPrefix prefix;
  friend bool operator==(const UndenyAddress&, const UndenyAddress&) = default;
};
struct AllowAddress {
  IpPrefix prefix;
  friend bool operator==(const AllowAddress&, const AllowAddress&) = default;
};
struct UnallowAddress {
  IpPrefix prefix;
  friend bool operator==(const UnallowAddress&, const UnallowAddress&) = default;
};
struct DenyPeer {
  PeerId peer;
  friend bool operator==(const DenyPeer&, const DenyPeer&) = default;
};
struct UndenyPeer {
  PeerId peer;
  friend bool operator==(const UndenyPeer&, const UndenyPeer&) = default;
};

// --- Dialing (docs/design.md, "Dialing") -----------------------------------------------------

// Asks the core to connect to `peer`. `request` is the caller's id for it: unique among live
// requests; exactly one DialResult names it later. An open connection to the peer is reused
// unless `force`. Queueing beyond max_dial_queue_length is refused (ResourceExhausted).
struct DialRequest {
  uint64_t request;
  PeerId peer;
  std::vector<Multiaddr> addresses;  // candidates; /dns*, /dnsaddr are resolved first
  uint32_t priority;                 // higher first (default_dial_priority, user_dial_priority)
  bool force;                        // dial even if a connection is open
  Duration timeout;                  // whole dial from now; Duration::Zero(): dial_timeout
  friend bool operator==(const DialRequest&, const DialRequest&) = default;
};

// The caller gives up on its request: a DialResult with outcome cancelled follows. The dial
// itself stops only when every request that joined it has given up.
struct CancelDial {
  uint64_t request;
  friend bool operator==(const CancelDial&, const CancelDial&) = default;
};

// The attempt the core started with DialAddress connected, upgraded and opened.
struct DialSucceeded {
  ConnectionId connection;
  friend bool operator==(const DialSucceeded&, const DialSucceeded&) = default;
};

// The attempt failed (refused, unreachable, handshake error...).
struct DialFailed {
  ConnectionId connection;
  std::string error;
  friend bool operator==(const DialFailed&, const DialFailed&) = default;
};

// The answer to ResolveDns: A/AAAA records as textual IPs, TXT records as raw strings.
struct DnsAnswered {
  uint64_t query;
  std::vector<std::string> records;
  Duration ttl;
  friend bool operator==(const DnsAnswered&, const DnsAnswered&) = default;
};

struct DnsFailed {
  uint64_t query;
  std::string error;
  friend bool operator==(const DnsFailed&, const DnsFailed&) = default;
};

// The dialable addresses the core keeps for a peer with a keep-alive tag, used to reconnect it
// (replaces earlier ones; at most max_peer_addrs_to_dial are kept).
struct SetPeerAddresses {
  PeerId peer;
  std::vector<Multiaddr> addresses;
  friend bool operator==(const SetPeerAddresses&, const SetPeerAddresses&) = default;
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

// Replaces the running config (js-libp2p's setMaxConnections and more): `config` is the whole
// new config, usually `core.config()` with some limits changed. Only the settings
// IsRuntimeChangeable names may differ; anything else, or an invalid config, is refused with
// InvalidArgument and the old config stays in force. A lower max_connections (or high
// watermark) trims at once, ignoring the silence period; a higher one closes nothing.
struct UpdateConfig {
  Config config;
  friend bool operator==(const UpdateConfig&, const UpdateConfig&) = default;
};

// The caller's timer for `Core::NextDeadline()` fired. Calling it early is a no-op.
struct TimerExpired {
  friend bool operator==(const TimerExpired&, const TimerExpired&) = default;
};

using Input =
    std::variant<InboundConnection, OutboundConnection, ConnectionUpgraded, TransportClosed,
                 CloseRequest, StreamOpened, StreamClosed, TimerExpired, SetPeerTag, RemovePeerTag,
                 ProtectPeer, UnprotectPeer, RegisterDecayingTag, BumpPeerTag, AddToPeerTag,
                 PlaceStream, ReserveMemory, ReleaseMemory, ConnectionSecured, DenyAddress,
                 UndenyAddress, AllowAddress, UnallowAddress, DenyPeer, UndenyPeer, DialRequest,
                 CancelDial, DialSucceeded, DialFailed, DnsAnswered, DnsFailed, SetPeerAddresses,
                 UpdateConfig>;

// The trace-format name of an input kind ("inbound_connection", ...).
absl::string_view InputName(const Input& input);

}  // namespace connmgr

#endif  // CONNMGR_CORE_INPUT_H_
