// The core's record of every live connection, indexed by id and by peer.
//
// It keeps the facts (state, addresses, peer, stream counts, transition instants) and the
// aggregate counts the metrics need, each updated in O(1) or O(log n) as a connection changes.
// It makes no decisions: the core asks it to move connections between states and reads the
// answers (for example "this was the peer's first open connection").
#ifndef CONNMGR_CORE_CONNECTION_TABLE_H_
#define CONNMGR_CORE_CONNECTION_TABLE_H_

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/connection_index.h"
#include "core/group_counts.h"
#include "core/ip.h"
#include "core/multiaddr.h"
#include "core/output.h"
#include "core/peer_id.h"
#include "core/pending_shares.h"
#include "core/pointer_index.h"
#include "core/pooled_btree.h"
#include "core/protocol_table.h"
#include "core/prune_index.h"
#include "core/record_pool.h"
#include "core/source_limiter.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

// The network group diversity protection spreads over: IPv4 /16 or IPv6 /32 (IPv4-mapped
// addresses count as IPv4); 0 for addresses without an IP.
uint64_t NetGroupOf(const Multiaddr& remote);
// The same for an IP (IPv4-mapped addresses count as IPv4).
uint64_t NetGroupOf(const IpAddress& ip);

// The source group pending inbound sockets share fairly (pending_fair_share): IPv4 /24 or
// IPv6 /48 (IPv4-mapped addresses count as IPv4).
uint64_t PendingGroupOf(const IpAddress& ip);

// Relayed connections ride another connection's socket; in-memory ones have none.
bool UsesFileDescriptor(const Multiaddr::Facts& remote);

// Which resource scope a connection is charged to (besides the system scope).
enum class ScopeCharge : uint8_t { kNone, kTransient, kPeer };

struct Connection {
  struct StreamGroup {
    ProtocolId protocol;
    Direction direction;
    uint32_t count;
  };

  // Ordered by size so the record packs tightly (a million of them may be live).
  ConnectionId id;
  Multiaddr remote;
  PeerId peer;  // empty until known
  Instant created_at;
  Instant opened_at = Instant::Never();
  Instant closing_at = Instant::Never();
  Instant deadline = Instant::Never();  // the one timer this connection has armed, if any
  uint64_t memory_bytes = 0;            // reserved with ReserveMemory, released when it ends
  absl::InlinedVector<StreamGroup, 2> streams;
  PruneEntry prune;                     // its place in the core's prune index
  SourceLimiter::Charge source_charge;  // what the per-IP limiter counts it under, if anything
  uint32_t busy_streams = 0;            // streams on protocols that are not closable
  std::optional<IpAddress> remote_ip;   // the remote's IP (IPv4-mapped as IPv4), if it has one
  Direction direction;
  ConnectionState state = ConnectionState::kPending;
  CloseReason close_reason = CloseReason::kTransport;
  ScopeCharge charge = ScopeCharge::kNone;  // where its resources are charged
  bool relayed = false;
  bool allow_listed = false;  // its remote IP is in the allow list: never pruned
  bool uses_fd = false;       // a socket of its own (not relayed, not in-memory)
  bool in_grace = false;      // opened less than grace_period ago: not pruned yet
  bool secured = false;       // ConnectionSecured passed its gates
  bool dial_attempt = false;  // started by DialAddress, no result yet
  bool fair_pending = false;  // counted in its source group's share of pending slots
  uint32_t timer_slot = 0;    // its place in ConnectionTimers while `deadline` is set

  // The remote's IPv4 /16 or IPv6 /32 (0 without an IP), for diversity protection.
  uint64_t netgroup() const { return remote_ip ? NetGroupOf(*remote_ip) : 0; }

  uint32_t stream_count() const {
    uint32_t n = 0;
    for (const StreamGroup& g : streams) n += g.count;
    return n;
  }
  uint32_t stream_count(Direction d) const {
    uint32_t n = 0;
    for (const StreamGroup& g : streams) n += g.direction == d ? g.count : 0;
    return n;
  }
};

class ConnectionTable {
 public:
  // Protocols that always keep their own name in stream counts (the closable protocols).
  explicit ConnectionTable(absl::Span<const std::string> pinned_protocols);

  // Adds a pending connection with a fresh id. References into the table stay valid until the
  // next AddPending or Remove.
  Connection& AddPending(Direction direction, Multiaddr remote, Instant now) {
    const Multiaddr::Facts facts = remote.facts();
    return AddPending(direction, std::move(remote), facts, now);
  }
  // The same, given `remote.facts()`.
  Connection& AddPending(Direction direction, Multiaddr remote, const Multiaddr::Facts& facts,
                         Instant now);

  // Hands out an id that never enters the table (a connection refused at admission).
  ConnectionId SkipId() { return connections_.NextId(); }

  Connection* Find(ConnectionId id);
  const Connection* Find(ConnectionId id) const;
  // True if `id` was handed out and has since been closed.
  bool WasClosed(ConnectionId id) const {
    return id.value != 0 && id.value < connections_.next_id() && !Find(id);
  }
  // Find for an input: the status names the input and says whether the id is stale.
  absl::StatusOr<Connection*> FindLive(absl::string_view input, ConnectionId id);

  // Counts a pending inbound connection admitted through the limits (not allow-listed) in its
  // source group's share of the pending slots, until it leaves the pending state.
  void JoinPendingShare(Connection& c);
  // The oldest pending inbound connection of the source group holding the most pending slots,
  // if that group holds at least two more than `newcomer`'s group (pending_fair_share).
  std::optional<ConnectionId> PendingEvictionVictim(const IpAddress& newcomer) const;
  // Open inbound connections whose remote is in `netgroup` (NetGroupOf).
  uint32_t OpenInboundInNetGroup(uint64_t netgroup) const {
    return open_inbound_by_netgroup_.Count(netgroup);
  }

  // pending → open. Returns how many connections the peer has in the table now, in any state
  // (1: its first).
  size_t Open(Connection& c, const PeerId& peer, Instant now);
  // pending/open → closing.
  void StartClosing(Connection& c, CloseReason reason, Instant now);
  // Removes the connection. Returns true if the peer had no other connection.
  bool Remove(ConnectionId id) {
    Connection* c = Find(id);
    return c != nullptr && Remove(*c);
  }
  // The same, for a record of this table; `c` is gone afterwards.
  bool Remove(Connection& c);

  void AddStream(Connection& c, absl::string_view protocol, Direction direction);
  // Fails if `c` has no such open stream.
  absl::Status RemoveStream(Connection& c, absl::string_view protocol, Direction direction);

  // Aggregates for metrics.
  uint64_t count(Direction d, ConnectionState s) const {
    return counts_[static_cast<int>(d)][static_cast<int>(s)];
  }
  uint64_t size() const { return connections_.size(); }
  uint64_t open_count() const {
    return count(Direction::kInbound, ConnectionState::kOpen) +
           count(Direction::kOutbound, ConnectionState::kOpen);
  }
  uint64_t pending_count(Direction d) const { return count(d, ConnectionState::kPending); }
  uint64_t peer_count() const { return peers_.size(); }
  // The peer's open connections.
  size_t OpenPeerConnectionCount(const PeerId& peer) const;
  // The peer's connections in the table (open or closing), in id order.
  absl::Span<const ConnectionId> PeerConnections(const PeerId& peer) const;
  // Live connections whose remote IP is in `prefix`, in (IP, id) order. O(log n + k), except
  // the first call, which builds the by-IP index in O(n log n).
  std::vector<ConnectionId> ConnectionsInPrefix(const IpPrefix& prefix);
  // Smallest s such that at least 90% of open connections carry at most s streams.
  uint32_t StreamsPerConnectionP90() const;
  std::vector<ProtocolStreams> StreamsByProtocol() const { return protocols_.Snapshot(); }

  // Every connection, in id order. O(n log n): for tests, traces and snapshots, not hot paths.
  std::vector<const Connection*> SortedForInspection() const;

 private:
  void CountState(const Connection& c, int delta) {
    counts_[static_cast<int>(c.direction)][static_cast<int>(c.state)] += delta;
    if (c.state == ConnectionState::kPending && c.fair_pending) {
      CountPendingShare(c, delta);
    } else if (c.state == ConnectionState::kOpen && c.direction == Direction::kInbound) {
      delta > 0 ? open_inbound_by_netgroup_.Add(c.netgroup())
                : open_inbound_by_netgroup_.Remove(c.netgroup());
    }
  }
  void CountPendingShare(const Connection& c, int delta);
  void CountOpenStreams(uint32_t streams, int delta);
  // The pinned protocols are the closable ones; "(other)" is pinned but never closable.
  bool IsClosable(ProtocolId id) const {
    return id != ProtocolTable::kOther && protocols_.is_pinned(id);
  }

  // A connected peer's connections (open or closing), in id order.
  struct PeerRecord {
    PeerId peer;
    absl::InlinedVector<ConnectionId, 3> connections;
  };

  // Records live in pools (stable, reused: churn allocates nothing); the maps index pointers,
  // so their spare room is pointers, not whole records.
  RecordPool<Connection> connection_records_;
  ConnectionIndex<Connection> connections_;
  RecordPool<PeerRecord> peer_records_;
  PointerIndex<PeerRecord, &PeerRecord::peer> peers_;
  // IpAddress order (IPv4 before IPv6, then the bytes), compared as integers.
  struct IpKey {
    uint64_t high;       // bytes 0-7, big-endian
    uint64_t low;        // bytes 8-15
    uint64_t v6_and_id;  // the top bit: IPv6; the rest: the connection id (< 2^63)

    IpKey(const IpAddress& ip, ConnectionId id);
    bool v6() const { return (v6_and_id >> 63) != 0; }
    ConnectionId id() const { return ConnectionId{v6_and_id & ~(uint64_t{1} << 63)}; }
    IpAddress ip() const;
    friend bool operator==(const IpKey&, const IpKey&) = default;
    friend std::strong_ordering operator<=>(const IpKey& a, const IpKey& b) {
      return std::tuple(a.v6(), a.high, a.low, a.id()) <=>
             std::tuple(b.v6(), b.high, b.low, b.id());
    }
  };
  // Built on the first ConnectionsInPrefix (a runtime deny or allow list change) and kept from
  // then on: a node whose lists never change does not pay for it on every connection.
  std::optional<absl::btree_set<IpKey>> by_ip_;
  std::array<std::array<uint64_t, kLiveStateCount>, kDirectionCount> counts_{};
  NodePool pool_;
  // Open connections by stream count: counted in place below kDenseStreamCounts (nearly every
  // connection), in an ordered map above.
  static constexpr uint32_t kDenseStreamCounts = 64;
  std::array<uint64_t, kDenseStreamCounts> open_by_few_streams_{};
  PooledBtreeMap<uint32_t, uint64_t> open_by_many_streams_{&pool_};
  PendingShares pending_shares_;  // fair_pending ones
  GroupCounts open_inbound_by_netgroup_;
  ProtocolTable protocols_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONNECTION_TABLE_H_
