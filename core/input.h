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
#include "core/boxed.h"
#include "core/config.h"
#include "core/ip.h"
#include "core/multiaddr.h"
#include "core/output.h"
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
  static constexpr absl::string_view kKind = "inbound_connection";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("remote", self.remote);
    v("local", self.local);
  }
  friend bool operator==(const InboundConnection&, const InboundConnection&) = default;
};

// The embedder dialled and upgraded a connection itself (not through the core's dialer). It
// enters the table already open; Handle returns its id.
struct OutboundConnection {
  Multiaddr remote;
  Multiaddr local;
  PeerId peer;
  static constexpr absl::string_view kKind = "outbound_connection";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("remote", self.remote);
    v("local", self.local);
    v("peer", self.peer);
  }
  friend bool operator==(const OutboundConnection&, const OutboundConnection&) = default;
};

// A pending inbound connection finished its security and muxer handshakes.
struct ConnectionUpgraded {
  ConnectionId connection;
  PeerId peer;
  static constexpr absl::string_view kKind = "connection_upgraded";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("peer", self.peer);
  }
  friend bool operator==(const ConnectionUpgraded&, const ConnectionUpgraded&) = default;
};

// Optional: a pending connection finished its security handshake and the remote peer is known
// (before the muxer). The core gates it on the peer (denied peers, the gater's DenySecured);
// without this input, ConnectionUpgraded runs that check.
struct ConnectionSecured {
  ConnectionId connection;
  PeerId peer;
  static constexpr absl::string_view kKind = "connection_secured";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("peer", self.peer);
  }
  friend bool operator==(const ConnectionSecured&, const ConnectionSecured&) = default;
};

// The transport reports the connection gone (remote close, error, or the close the core asked
// for completed). Reporting an already closed connection again is harmless. `reason` says why
// the shell ended it: kTransport (the remote closed it, or a socket error), or one of
// kProtocolError, kHandshakeFailed, kSlowReader, kMemoryLimit; no other reason is accepted.
struct TransportClosed {
  ConnectionId connection;
  CloseReason reason = CloseReason::kTransport;
  static constexpr absl::string_view kKind = "transport_closed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("reason", self.reason, kOmitWhenZero);
  }
  friend bool operator==(const TransportClosed&, const TransportClosed&) = default;
};

// The application asks the core to close a connection.
struct CloseRequest {
  ConnectionId connection;
  static constexpr absl::string_view kKind = "close_request";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
  }
  friend bool operator==(const CloseRequest&, const CloseRequest&) = default;
};

// A stream opened on the connection (either side opened it). `stream` is the caller's id for it,
// unique among the connection's open streams (the multiplexer's stream id): a refusal names it in
// ResetStream, and StreamClosed names it when it ends.
struct StreamOpened {
  ConnectionId connection;
  uint64_t stream = 0;
  std::string protocol;
  Direction direction;
  static constexpr absl::string_view kKind = "stream_opened";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("stream", self.stream);
    v("protocol", self.protocol);
    v("direction", self.direction);
  }
  friend bool operator==(const StreamOpened&, const StreamOpened&) = default;
};

// A counted stream ended (never one the core refused). Streams are counted by protocol and
// direction; the id is the one StreamOpened gave.
struct StreamClosed {
  ConnectionId connection;
  uint64_t stream = 0;
  std::string protocol;
  Direction direction;
  static constexpr absl::string_view kKind = "stream_closed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("stream", self.stream);
    v("protocol", self.protocol);
    v("direction", self.direction);
  }
  friend bool operator==(const StreamClosed&, const StreamClosed&) = default;
};

// Asks which of the peer's connections should carry a new outbound stream. The answer is a
// StreamPlaced event, and Handle returns the chosen connection (ConnectionId{} when none).
// Asking moves the round-robin cursor; it opens nothing: report the stream with StreamOpened.
struct PlaceStream {
  PeerId peer;
  static constexpr absl::string_view kKind = "place_stream";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
  }
  friend bool operator==(const PlaceStream&, const PlaceStream&) = default;
};

// Reserves `bytes` of memory for the connection (charged to system and its peer's scope), or,
// with ConnectionId{}, memory not tied to a connection (charged to system and transient). The
// answer is a MemoryReservation event. A connection's reservations are released when it ends.
struct ReserveMemory {
  ConnectionId connection;
  uint64_t bytes;
  uint32_t priority;  // 0..255: a reservation may fill the scopes up to (priority + 1) / 256
  static constexpr absl::string_view kKind = "reserve_memory";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("bytes", self.bytes);
    v("priority", self.priority);
  }
  friend bool operator==(const ReserveMemory&, const ReserveMemory&) = default;
};

struct ReleaseMemory {
  ConnectionId connection;
  uint64_t bytes;
  static constexpr absl::string_view kKind = "release_memory";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("bytes", self.bytes);
  }
  friend bool operator==(const ReleaseMemory&, const ReleaseMemory&) = default;
};

// Runtime changes of the gating lists (docs/design.md, "Gating"). Adding an entry that is
// already there, or removing one that is not, changes nothing. A newly denied range or peer
// closes its live connections when close_newly_denied_connections is set.
struct DenyAddress {
  IpPrefix prefix;
  static constexpr absl::string_view kKind = "deny_address";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("prefix", self.prefix);
  }
  friend bool operator==(const DenyAddress&, const DenyAddress&) = default;
};
struct UndenyAddress {
  IpPrefix prefix;
  static constexpr absl::string_view kKind = "undeny_address";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("prefix", self.prefix);
  }
  friend bool operator==(const UndenyAddress&, const UndenyAddress&) = default;
};
struct AllowAddress {
  IpPrefix prefix;
  static constexpr absl::string_view kKind = "allow_address";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("prefix", self.prefix);
  }
  friend bool operator==(const AllowAddress&, const AllowAddress&) = default;
};
struct UnallowAddress {
  IpPrefix prefix;
  static constexpr absl::string_view kKind = "unallow_address";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("prefix", self.prefix);
  }
  friend bool operator==(const UnallowAddress&, const UnallowAddress&) = default;
};
struct DenyPeer {
  PeerId peer;
  static constexpr absl::string_view kKind = "deny_peer";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
  }
  friend bool operator==(const DenyPeer&, const DenyPeer&) = default;
};
struct UndenyPeer {
  PeerId peer;
  static constexpr absl::string_view kKind = "undeny_peer";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
  }
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
  // Those of `addresses` that come from the peer's signed peer record: dialled before the
  // others of their class (js-libp2p's sorter). Any other address here is ignored.
  std::vector<Multiaddr> certified = {};
  static constexpr absl::string_view kKind = "dial_request";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("request", self.request);
    v("peer", self.peer);
    v("addresses", self.addresses);
    v("priority", self.priority);
    v("force", self.force);
    v("timeout", self.timeout);
    v("certified", self.certified, kOmitWhenZero);
  }
  friend bool operator==(const DialRequest&, const DialRequest&) = default;
};

// The caller gives up on its request: a DialResult with outcome cancelled follows. The dial
// itself stops only when every request that joined it has given up.
struct CancelDial {
  uint64_t request;
  static constexpr absl::string_view kKind = "cancel_dial";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("request", self.request);
  }
  friend bool operator==(const CancelDial&, const CancelDial&) = default;
};

// The attempt the core started with DialAddress connected, upgraded and opened.
struct DialSucceeded {
  ConnectionId connection;
  static constexpr absl::string_view kKind = "dial_succeeded";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
  }
  friend bool operator==(const DialSucceeded&, const DialSucceeded&) = default;
};

// The attempt failed (refused, unreachable, handshake error...).
struct DialFailed {
  ConnectionId connection;
  std::string error;
  static constexpr absl::string_view kKind = "dial_failed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("conn", self.connection);
    v("error", self.error);
  }
  friend bool operator==(const DialFailed&, const DialFailed&) = default;
};

// The answer to ResolveDns: A/AAAA records as textual IPs, TXT records as raw strings.
struct DnsAnswered {
  uint64_t query;
  std::vector<std::string> records;
  Duration ttl;
  static constexpr absl::string_view kKind = "dns_answered";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("query", self.query);
    v("records", self.records);
    v("ttl", self.ttl);
  }
  friend bool operator==(const DnsAnswered&, const DnsAnswered&) = default;
};

struct DnsFailed {
  uint64_t query;
  std::string error;
  static constexpr absl::string_view kKind = "dns_failed";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("query", self.query);
    v("error", self.error);
  }
  friend bool operator==(const DnsFailed&, const DnsFailed&) = default;
};

// The dialable addresses the core keeps for a peer with a keep-alive tag, used to reconnect it
// (replaces earlier ones; at most max_peer_addrs_to_dial are kept).
struct SetPeerAddresses {
  PeerId peer;
  std::vector<Multiaddr> addresses;
  static constexpr absl::string_view kKind = "set_peer_addresses";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("addresses", self.addresses);
  }
  friend bool operator==(const SetPeerAddresses&, const SetPeerAddresses&) = default;
};

// Sets the peer's tag `tag` to `value` (creating it). The peer need not be connected. A peer's
// value, the sum of its tags, orders pruning.
struct SetPeerTag {
  PeerId peer;
  std::string tag;
  int64_t value;
  static constexpr absl::string_view kKind = "set_peer_tag";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("tag", self.tag);
    v("value", self.value);
  }
  friend bool operator==(const SetPeerTag&, const SetPeerTag&) = default;
};

// Adds `delta` to the peer's tag `tag` (creating it at `delta`; saturating).
struct AddToPeerTag {
  PeerId peer;
  std::string tag;
  int64_t delta;
  static constexpr absl::string_view kKind = "add_to_peer_tag";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("tag", self.tag);
    v("delta", self.delta);
  }
  friend bool operator==(const AddToPeerTag&, const AddToPeerTag&) = default;
};

struct RemovePeerTag {
  PeerId peer;
  std::string tag;
  static constexpr absl::string_view kKind = "remove_peer_tag";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("tag", self.tag);
  }
  friend bool operator==(const RemovePeerTag&, const RemovePeerTag&) = default;
};

// Protects the peer's connections from pruning until its last protection tag is removed.
struct ProtectPeer {
  PeerId peer;
  std::string tag;
  static constexpr absl::string_view kKind = "protect_peer";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("tag", self.tag);
  }
  friend bool operator==(const ProtectPeer&, const ProtectPeer&) = default;
};

struct UnprotectPeer {
  PeerId peer;
  std::string tag;
  static constexpr absl::string_view kKind = "unprotect_peer";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("tag", self.tag);
  }
  friend bool operator==(const UnprotectPeer&, const UnprotectPeer&) = default;
};

// Registers a decaying tag kind (go-libp2p's decayer): every `interval` each peer's instance
// decays by `decay`; BumpPeerTag adds to it by `bump`. Names share the space of plain tags.
struct RegisterDecayingTag {
  std::string tag;
  Duration interval;
  DecayPolicy decay;
  BumpPolicy bump;
  static constexpr absl::string_view kKind = "register_decaying_tag";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("tag", self.tag);
    v("interval", self.interval);
    v("decay", self.decay);
    v("bump", self.bump);
  }
  friend bool operator==(const RegisterDecayingTag&, const RegisterDecayingTag&) = default;
};

struct BumpPeerTag {
  PeerId peer;
  std::string tag;
  int64_t delta;
  static constexpr absl::string_view kKind = "bump_peer_tag";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("peer", self.peer);
    v("tag", self.tag);
    v("delta", self.delta);
  }
  friend bool operator==(const BumpPeerTag&, const BumpPeerTag&) = default;
};

// Replaces the running config (js-libp2p's setMaxConnections and more): `config` is the whole
// new config, usually `core.config()` with some limits changed. Only the settings
// IsRuntimeChangeable names may differ; anything else, or an invalid config, is refused with
// InvalidArgument and the old config stays in force. A lower max_connections (or high
// watermark) trims at once, ignoring the silence period; a higher one closes nothing.
struct UpdateConfig {
  Boxed<Config> config;  // boxed: a Config is 800 bytes, the other inputs at most 112
  static constexpr absl::string_view kKind = "update_config";
  template <typename Self, typename Visitor>
  static void Fields(Self& self, Visitor&& v) {
    v("config", *self.config);
  }
  friend bool operator==(const UpdateConfig&, const UpdateConfig&) = default;
};

// Trims now (go-libp2p's TrimOpenConns): while more than the low watermark are open, closes
// the lowest-valued prunable connections down to it, ignoring the silence period. Busy
// connections are closed only above max_connections, as in any trim.
struct TrimOpenConnections {
  static constexpr absl::string_view kKind = "trim_open_connections";
  template <typename Self, typename Visitor>
  static void Fields(Self&, Visitor&&) {}
  friend bool operator==(const TrimOpenConnections&, const TrimOpenConnections&) = default;
};

// The caller's timer for `Core::NextDeadline()` fired. Calling it early is a no-op.
struct TimerExpired {
  static constexpr absl::string_view kKind = "timer_expired";
  template <typename Self, typename Visitor>
  static void Fields(Self&, Visitor&&) {}
  friend bool operator==(const TimerExpired&, const TimerExpired&) = default;
};

// Every input kind, once. Each kind names itself (kKind) and lists its fields (Fields); the trace
// codec, InputName, Core::Handle's routing and the input generator are built from this list, so
// a new kind is its struct here, its handler in the part that owns it, and their tests.
using Input =
    std::variant<InboundConnection, OutboundConnection, ConnectionUpgraded, TransportClosed,
                 CloseRequest, StreamOpened, StreamClosed, TimerExpired, SetPeerTag, RemovePeerTag,
                 ProtectPeer, UnprotectPeer, RegisterDecayingTag, BumpPeerTag, AddToPeerTag,
                 PlaceStream, ReserveMemory, ReleaseMemory, ConnectionSecured, DenyAddress,
                 UndenyAddress, AllowAddress, UnallowAddress, DenyPeer, UndenyPeer, DialRequest,
                 CancelDial, DialSucceeded, DialFailed, DnsAnswered, DnsFailed, SetPeerAddresses,
                 UpdateConfig, TrimOpenConnections>;

// The trace-format name of an input kind ("inbound_connection", ...).
absl::string_view InputName(const Input& input);

}  // namespace connmgr

#endif  // CONNMGR_CORE_INPUT_H_
