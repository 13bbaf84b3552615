// Resource accounting in the style of the go-libp2p resource manager: every connection, stream,
// file descriptor and byte of memory is charged to the scopes it belongs to, and a reservation
// that would take any of them past a limit is refused, naming the scope and the resource.
//
// Three kinds of scope: the system scope (everything), the transient scope (connections whose
// peer is not known yet, and memory not tied to a peer) and one scope per peer.
//
//   ResourceScopes scopes(config.system_scope, config.transient_scope, config.peer_scope);
//   if (auto denial = scopes.ReserveConnection(Direction::kInbound, /*uses_fd=*/true)) {
//     Reject(denial->ToString());                  // nothing was charged
//   }
//   // ...the handshake names the peer:
//   if (auto denial = scopes.MoveConnectionToPeer(Direction::kInbound, true, peer)) {
//     Close();                                     // the charge is still in transient
//     scopes.ReleaseConnection(Direction::kInbound, true, /*peer=*/nullptr);
//   }
//
// Rules:
//  - A limit of 0 means "no limit". Counters are 64 bits wide, so an unlimited resource still
//    refuses a reservation that would take its counter past UINT64_MAX; the denial then
//    reports UINT64_MAX as the limit.
//  - Reservations are all-or-nothing: when any scope refuses, no scope is charged.
//  - Check order, first refusal wins: the system scope before the transient or peer scope;
//    within a scope, resources in the order of `Resource` below, that is the direction's
//    connection limit, then total connections, then file descriptors; the direction's stream
//    limit, then total streams; memory.
//  - Memory has a priority, 0..255: a reservation succeeds only if, in every scope charged,
//    used + bytes <= limit * (priority + 1) / 256. Priority 255 may use the whole limit,
//    priority 0 only 1/256 of it.
//  - Releasing more than was reserved is a caller bug. The counter saturates at zero instead of
//    wrapping, and the call is counted in `over_releases()`.
//  - Bounds: one entry per peer that holds something; a peer's scope is forgotten as soon as
//    all its usage is back to zero, and a refused reservation never creates one.
#ifndef CONNMGR_CORE_RESOURCE_SCOPES_H_
#define CONNMGR_CORE_RESOURCE_SCOPES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "core/config.h"
#include "core/peer_id.h"
#include "core/types.h"

namespace connmgr {

// kConnection is one connection's memory budget (connection_memory_bytes), checked first.
enum class ScopeKind : uint8_t { kSystem, kTransient, kPeer, kConnection };

// In check order (see above).
enum class Resource : uint8_t {
  kConnectionsInbound,
  kConnectionsOutbound,
  kConnections,
  kStreamsInbound,
  kStreamsOutbound,
  kStreams,
  kFileDescriptors,
  kMemory,
};

// "system", "transient", "peer", "connection".
absl::string_view ScopeKindName(ScopeKind kind);
// The name of the matching `ScopeLimits` field: "connections_inbound", ..., "memory_bytes".
absl::string_view ResourceName(Resource resource);

// The most memory a reservation of `priority` may bring a scope with memory limit `limit` to:
// limit * (priority + 1) / 256, rounded down, computed without overflow. Plain arithmetic: a
// `limit` of 0 gives 0 here, and the callers treat 0 as "no limit" before scaling.
uint64_t MemoryLimitAtPriority(uint64_t limit, uint8_t priority);

// Why a reservation was refused.
struct ScopeDenial {
  ScopeKind scope = ScopeKind::kSystem;
  Resource resource = Resource::kConnections;
  uint64_t used = 0;       // in use in that scope before the request
  uint64_t requested = 0;  // 1 for a connection, stream or descriptor; bytes for memory
  uint64_t limit = 0;      // the configured limit, or UINT64_MAX when there is none
  // The memory priority `limit` was scaled by; 255 (no scaling) for every other denial.
  uint8_t priority = 255;

  // What the request had to fit in: `limit` scaled by `priority` for memory, else `limit`.
  uint64_t allowed() const;

  // "transient scope: connections_inbound at its limit (10 of 10)", or for memory
  // "peer scope: memory_bytes over its limit (500 used + 100 requested > 512 allowed at
  // priority 127, of limit 1024)".
  std::string ToString() const;

  friend bool operator==(const ScopeDenial&, const ScopeDenial&) = default;
};

// Whether `bytes` more fit one connection's memory budget `limit` (0: none) when it holds
// `used`, at `priority` as for the scopes.
std::optional<ScopeDenial> CheckConnectionMemory(uint64_t used, uint64_t bytes, uint64_t limit,
                                                 uint8_t priority);

// What one scope holds.
struct ScopeUsage {
  uint64_t connections_inbound = 0;
  uint64_t connections_outbound = 0;
  uint64_t streams_inbound = 0;
  uint64_t streams_outbound = 0;
  uint64_t file_descriptors = 0;
  uint64_t memory_bytes = 0;

  // Never overflow: the total counts are limited to UINT64_MAX like every other counter.
  uint64_t connections() const { return connections_inbound + connections_outbound; }
  uint64_t streams() const { return streams_inbound + streams_outbound; }
  bool is_zero() const { return *this == ScopeUsage{}; }

  friend bool operator==(const ScopeUsage&, const ScopeUsage&) = default;
};

class ResourceScopes {
 public:
  ResourceScopes(const ScopeLimits& system, const ScopeLimits& transient, const ScopeLimits& peer);

  // A new connection whose peer is not known yet: charged to system and transient, with one
  // file descriptor too when `uses_fd`.
  std::optional<ScopeDenial> ReserveConnection(Direction direction, bool uses_fd);
  // The connection's peer became known: its charge moves from transient to `peer` (system is
  // unchanged). When the peer's scope refuses, the charge stays in transient; the caller then
  // closes the connection and calls ReleaseConnection with peer == nullptr.
  std::optional<ScopeDenial> MoveConnectionToPeer(Direction direction, bool uses_fd,
                                                  const PeerId& peer);
  // A connection whose peer is known from the start (a dial): charged to system and `peer`.
  std::optional<ScopeDenial> ReserveConnectionForPeer(Direction direction, bool uses_fd,
                                                      const PeerId& peer);
  // Frees a connection's charge from system and from transient (peer == nullptr) or `*peer`.
  void ReleaseConnection(Direction direction, bool uses_fd, const PeerId* peer);

  // Streams are charged to system and the peer's scope.
  std::optional<ScopeDenial> ReserveStream(Direction direction, const PeerId& peer);
  void ReleaseStream(Direction direction, const PeerId& peer);
  // What ReserveStream would refuse, without charging anything.
  std::optional<ScopeDenial> CheckStream(Direction direction, const PeerId& peer) const;

  // Charged to system and to transient (peer == nullptr) or `*peer`; see the priority rule
  // above.
  std::optional<ScopeDenial> ReserveMemory(uint64_t bytes, uint8_t priority, const PeerId* peer);
  void ReleaseMemory(uint64_t bytes, const PeerId* peer);

  ScopeUsage system_usage() const { return system_usage_; }
  ScopeUsage transient_usage() const { return transient_usage_; }
  // Zero for a peer that holds nothing, and for every peer while the peer scope has no limit
  // (then nothing is tracked per peer: no limit can be reached, and a table of every connected
  // peer would cost memory for nothing).
  ScopeUsage peer_usage(const PeerId& peer) const;
  // Peers holding anything (0 while the peer scope has no limit).
  size_t peer_scope_count() const { return peer_usage_.size(); }

  const ScopeLimits& system_limits() const { return system_limits_; }
  const ScopeLimits& transient_limits() const { return transient_limits_; }
  const ScopeLimits& peer_limits() const { return peer_limits_; }

  // Release calls that freed more than their scopes held (see the rules above).
  uint64_t over_releases() const { return over_releases_; }

 private:
  // Adds `charge` to `peer`'s scope unless `check` of its usage (zero when it holds nothing)
  // refuses: one lookup for both; a scope left empty holds no entry.
  std::optional<ScopeDenial> ChargePeerIfAllowed(
      const PeerId& peer, const ScopeUsage& charge,
      absl::FunctionRef<std::optional<ScopeDenial>(const ScopeUsage&)> check);
  // Removes `charge` from system (when `from_system`) and from transient or `*peer`.
  void Release(const ScopeUsage& charge, bool from_system, const PeerId* peer);

  ScopeLimits system_limits_;
  ScopeLimits transient_limits_;
  ScopeLimits peer_limits_;
  ScopeUsage system_usage_;
  ScopeUsage transient_usage_;
  // Looked up only, never iterated. Holds no all-zero entry.
  absl::flat_hash_map<PeerId, ScopeUsage> peer_usage_;
  bool track_peers_;  // the peer scope has a limit
  uint64_t over_releases_ = 0;
};

// Default limits scaled from the machine, go-libp2p style. The shell measures total memory
// (`memory_bytes`) and the process's file descriptor limit (`fd_limit`); this only computes.
// With G = memory_bytes / 1 GiB, rounded down:
//
//   system     connections       300 + 128 * G
//              streams           16 * system connections
//              file_descriptors  max(256, fd_limit / 2)
//              memory_bytes      max(128 MiB, memory_bytes / 8)
//   transient  each of the four  system / 4
//   peer       connections       max(8, system / 64)
//              streams           max(256, system / 64)
//              file_descriptors  max(8, system / 64)
//              memory_bytes      max(16 MiB, system / 64)
//
// and in every scope the inbound limits are half the total and the outbound limits equal it.
// Each connection's memory budget (`connection_memory_bytes`) is the system memory shared by
// the system connections, at most 4 MiB (the default), and its send queue
// (`max_connection_send_bytes`) what the budget leaves beside a 256 KiB stream window and the
// shell's 128 KiB of read buffers, at most 1 MiB (the default).
// So system connections >= 300 (the default `max_connections` and watermarks fit) and peer
// connections >= 8 (the default `max_connections_per_peer`, 3, fits); the result passes
// `Config::Validate` with every other field at its default. No step overflows.
struct ScaledScopeLimits {
  ScopeLimits system;
  ScopeLimits transient;
  ScopeLimits peer;
  uint64_t connection_memory_bytes = 0;
  uint32_t max_connection_send_bytes = 0;

  friend bool operator==(const ScaledScopeLimits&, const ScaledScopeLimits&) = default;
};
ScaledScopeLimits ScaleScopeLimits(uint64_t memory_bytes, uint64_t fd_limit);

}  // namespace connmgr

#endif  // CONNMGR_CORE_RESOURCE_SCOPES_H_
