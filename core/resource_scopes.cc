#include "core/resource_scopes.h"

#include <algorithm>
#include <limits>

#include "absl/base/attributes.h"
#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

constexpr uint64_t kCounterCapacity = std::numeric_limits<uint64_t>::max();
constexpr uint8_t kFullPriority = 255;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

uint64_t EffectiveLimit(uint64_t configured) {
  return configured == 0 ? kCounterCapacity : configured;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t LimitOf(const ScopeLimits& limits, Resource resource) {
  switch (resource) {
    case Resource::kConnectionsInbound:
      return limits.connections_inbound;
    case Resource::kConnectionsOutbound:
      return limits.connections_outbound;
    case Resource::kConnections:
      return limits.connections;
    case Resource::kStreamsInbound:
      return limits.streams_inbound;
    case Resource::kStreamsOutbound:
      return limits.streams_outbound;
    case Resource::kStreams:
      return limits.streams;
    case Resource::kFileDescriptors:
      return limits.file_descriptors;
    case Resource::kMemory:
      return limits.memory_bytes;
  }
  return 0;
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t UsedOf(const ScopeUsage& usage, Resource resource) {
  switch (resource) {
    case Resource::kConnectionsInbound:
      return usage.connections_inbound;
    case Resource::kConnectionsOutbound:
      return usage.connections_outbound;
    case Resource::kConnections:
      return usage.connections();
    case Resource::kStreamsInbound:
      return usage.streams_inbound;
    case Resource::kStreamsOutbound:
      return usage.streams_outbound;
    case Resource::kStreams:
      return usage.streams();
    case Resource::kFileDescriptors:
      return usage.file_descriptors;
    case Resource::kMemory:
      return usage.memory_bytes;
  }
  return 0;
}

// Inlined where the resource is a constant: each check folds to one comparison.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline std::optional<ScopeDenial> CheckOneMore(
    ScopeKind scope, Resource resource, const ScopeLimits& limits, const ScopeUsage& usage) {
  const uint64_t used = UsedOf(usage, resource);
  const uint64_t limit = EffectiveLimit(LimitOf(limits, resource));
  if (used < limit) return std::nullopt;
  return ScopeDenial{scope, resource, used, 1, limit};
}

std::optional<ScopeDenial> CheckConnection(ScopeKind scope, const ScopeLimits& limits,
                                           const ScopeUsage& usage, Direction direction,
                                           bool uses_fd) {
  if (auto denial = direction == Direction::kInbound
                        ? CheckOneMore(scope, Resource::kConnectionsInbound, limits, usage)
                        : CheckOneMore(scope, Resource::kConnectionsOutbound, limits, usage)) {
    return denial;
  }
  if (auto denial = CheckOneMore(scope, Resource::kConnections, limits, usage)) return denial;
  if (uses_fd) return CheckOneMore(scope, Resource::kFileDescriptors, limits, usage);
  return std::nullopt;
}

std::optional<ScopeDenial> CheckStream(ScopeKind scope, const ScopeLimits& limits,
                                       const ScopeUsage& usage, Direction direction) {
  if (auto denial = direction == Direction::kInbound
                        ? CheckOneMore(scope, Resource::kStreamsInbound, limits, usage)
                        : CheckOneMore(scope, Resource::kStreamsOutbound, limits, usage)) {
    return denial;
  }
  return CheckOneMore(scope, Resource::kStreams, limits, usage);
}

std::optional<ScopeDenial> CheckMemory(ScopeKind scope, const ScopeLimits& limits,
                                       const ScopeUsage& usage, uint64_t bytes, uint8_t priority) {
  const bool limited = limits.memory_bytes != 0;
  const uint64_t allowed =
      limited ? MemoryLimitAtPriority(limits.memory_bytes, priority) : kCounterCapacity;
  if (absl::uint128(usage.memory_bytes) + bytes <= allowed) return std::nullopt;
  return ScopeDenial{scope,
                     Resource::kMemory,
                     usage.memory_bytes,
                     bytes,
                     EffectiveLimit(limits.memory_bytes),
                     limited ? priority : kFullPriority};
}

ScopeUsage ConnectionCharge(Direction direction, bool uses_fd) {
  ScopeUsage charge;
  (direction == Direction::kInbound ? charge.connections_inbound : charge.connections_outbound) = 1;
  charge.file_descriptors = uses_fd ? 1 : 0;
  return charge;
}

ScopeUsage StreamCharge(Direction direction) {
  ScopeUsage charge;
  (direction == Direction::kInbound ? charge.streams_inbound : charge.streams_outbound) = 1;
  return charge;
}

ScopeUsage MemoryCharge(uint64_t bytes) {
  ScopeUsage charge;
  charge.memory_bytes = bytes;
  return charge;
}

// Called only once every scope has accepted `charge`, so no counter can wrap.
void Add(ScopeUsage& usage, const ScopeUsage& charge) {
  usage.connections_inbound += charge.connections_inbound;
  usage.connections_outbound += charge.connections_outbound;
  usage.streams_inbound += charge.streams_inbound;
  usage.streams_outbound += charge.streams_outbound;
  usage.file_descriptors += charge.file_descriptors;
  usage.memory_bytes += charge.memory_bytes;
}

// Returns false when some counter held less than `charge`; such counters end at zero.
bool Subtract(ScopeUsage& usage, const ScopeUsage& charge) {
  bool held = true;
  auto take = [&held](uint64_t& counter, uint64_t amount) {
    if (counter < amount) {
      held = false;
      counter = 0;
    } else {
      counter -= amount;
    }
  };
  take(usage.connections_inbound, charge.connections_inbound);
  take(usage.connections_outbound, charge.connections_outbound);
  take(usage.streams_inbound, charge.streams_inbound);
  take(usage.streams_outbound, charge.streams_outbound);
  take(usage.file_descriptors, charge.file_descriptors);
  take(usage.memory_bytes, charge.memory_bytes);
  return held;
}

// In every scope the inbound limits are half the total and the outbound limits equal it.
ScopeLimits LimitsWithDirections(uint64_t connections, uint64_t streams, uint64_t fds,
                                 uint64_t memory_bytes) {
  ScopeLimits limits;
  limits.connections_inbound = connections / 2;
  limits.connections_outbound = connections;
  limits.connections = connections;
  limits.streams_inbound = streams / 2;
  limits.streams_outbound = streams;
  limits.streams = streams;
  limits.file_descriptors = fds;
  limits.memory_bytes = memory_bytes;
  return limits;
}

}  // namespace

std::optional<ScopeDenial> CheckConnectionMemory(uint64_t used, uint64_t bytes, uint64_t limit,
                                                 uint8_t priority) {
  ScopeLimits limits;
  limits.memory_bytes = limit;
  ScopeUsage usage;
  usage.memory_bytes = used;
  return CheckMemory(ScopeKind::kConnection, limits, usage, bytes, priority);
}

absl::string_view ScopeKindName(ScopeKind kind) {
  switch (kind) {
    case ScopeKind::kSystem:
      return "system";
    case ScopeKind::kTransient:
      return "transient";
    case ScopeKind::kPeer:
      return "peer";
    case ScopeKind::kConnection:
      return "connection";
  }
  return "unknown";
}

absl::string_view ResourceName(Resource resource) {
  switch (resource) {
    case Resource::kConnectionsInbound:
      return "connections_inbound";
    case Resource::kConnectionsOutbound:
      return "connections_outbound";
    case Resource::kConnections:
      return "connections";
    case Resource::kStreamsInbound:
      return "streams_inbound";
    case Resource::kStreamsOutbound:
      return "streams_outbound";
    case Resource::kStreams:
      return "streams";
    case Resource::kFileDescriptors:
      return "file_descriptors";
    case Resource::kMemory:
      return "memory_bytes";
  }
  return "unknown";
}

uint64_t MemoryLimitAtPriority(uint64_t limit, uint8_t priority) {
  return absl::Uint128Low64(absl::uint128(limit) * (uint32_t{priority} + 1) / 256);
}

uint64_t ScopeDenial::allowed() const {
  return resource == Resource::kMemory ? MemoryLimitAtPriority(limit, priority) : limit;
}

std::string ScopeDenial::ToString() const {
  const std::string where = absl::StrCat(ScopeKindName(scope), " scope: ", ResourceName(resource));
  if (resource != Resource::kMemory) {
    return absl::StrCat(where, " at its limit (", used, " of ", limit, ")");
  }
  return absl::StrCat(where, " over its limit (", used, " used + ", requested, " requested > ",
                      allowed(), " allowed at priority ", static_cast<int>(priority), ", of limit ",
                      limit, ")");
}

ResourceScopes::ResourceScopes(const ScopeLimits& system, const ScopeLimits& transient,
                               const ScopeLimits& peer)
    : system_limits_(system),
      transient_limits_(transient),
      peer_limits_(peer),
      track_peers_(!(peer == ScopeLimits{})) {}

std::optional<ScopeDenial> ResourceScopes::ReserveConnection(Direction direction, bool uses_fd) {
  if (auto denial =
          CheckConnection(ScopeKind::kSystem, system_limits_, system_usage_, direction, uses_fd)) {
    return denial;
  }
  if (auto denial = CheckConnection(ScopeKind::kTransient, transient_limits_, transient_usage_,
                                    direction, uses_fd)) {
    return denial;
  }
  const ScopeUsage charge = ConnectionCharge(direction, uses_fd);
  Add(system_usage_, charge);
  Add(transient_usage_, charge);
  return std::nullopt;
}

std::optional<ScopeDenial> ResourceScopes::MoveConnectionToPeer(Direction direction, bool uses_fd,
                                                                const PeerId& peer) {
  const ScopeUsage charge = ConnectionCharge(direction, uses_fd);
  if (auto denial = ChargePeerIfAllowed(peer, charge, [&](const ScopeUsage& usage) {
        return CheckConnection(ScopeKind::kPeer, peer_limits_, usage, direction, uses_fd);
      })) {
    return denial;
  }
  Release(charge, /*from_system=*/false, /*peer=*/nullptr);
  return std::nullopt;
}

std::optional<ScopeDenial> ResourceScopes::ReserveConnectionForPeer(Direction direction,
                                                                    bool uses_fd,
                                                                    const PeerId& peer) {
  if (auto denial =
          CheckConnection(ScopeKind::kSystem, system_limits_, system_usage_, direction, uses_fd)) {
    return denial;
  }
  const ScopeUsage charge = ConnectionCharge(direction, uses_fd);
  if (auto denial = ChargePeerIfAllowed(peer, charge, [&](const ScopeUsage& usage) {
        return CheckConnection(ScopeKind::kPeer, peer_limits_, usage, direction, uses_fd);
      })) {
    return denial;
  }
  Add(system_usage_, charge);
  return std::nullopt;
}

void ResourceScopes::ReleaseConnection(Direction direction, bool uses_fd, const PeerId* peer) {
  Release(ConnectionCharge(direction, uses_fd), /*from_system=*/true, peer);
}

std::optional<ScopeDenial> ResourceScopes::CheckStream(Direction direction,
                                                       const PeerId& peer) const {
  if (auto denial =
          connmgr::CheckStream(ScopeKind::kSystem, system_limits_, system_usage_, direction)) {
    return denial;
  }
  return connmgr::CheckStream(ScopeKind::kPeer, peer_limits_, peer_usage(peer), direction);
}

std::optional<ScopeDenial> ResourceScopes::ReserveStream(Direction direction, const PeerId& peer) {
  if (auto denial =
          connmgr::CheckStream(ScopeKind::kSystem, system_limits_, system_usage_, direction)) {
    return denial;
  }
  const ScopeUsage charge = StreamCharge(direction);
  if (auto denial = ChargePeerIfAllowed(peer, charge, [&](const ScopeUsage& usage) {
        return connmgr::CheckStream(ScopeKind::kPeer, peer_limits_, usage, direction);
      })) {
    return denial;
  }
  Add(system_usage_, charge);
  return std::nullopt;
}

void ResourceScopes::ReleaseStream(Direction direction, const PeerId& peer) {
  Release(StreamCharge(direction), /*from_system=*/true, &peer);
}

std::optional<ScopeDenial> ResourceScopes::ReserveMemory(uint64_t bytes, uint8_t priority,
                                                         const PeerId* peer) {
  if (auto denial =
          CheckMemory(ScopeKind::kSystem, system_limits_, system_usage_, bytes, priority)) {
    return denial;
  }
  const ScopeUsage charge = MemoryCharge(bytes);
  if (peer == nullptr) {
    if (auto denial = CheckMemory(ScopeKind::kTransient, transient_limits_, transient_usage_, bytes,
                                  priority)) {
      return denial;
    }
    Add(transient_usage_, charge);
  } else if (auto denial = ChargePeerIfAllowed(*peer, charge, [&](const ScopeUsage& usage) {
               return CheckMemory(ScopeKind::kPeer, peer_limits_, usage, bytes, priority);
             })) {
    return denial;
  }
  Add(system_usage_, charge);
  return std::nullopt;
}

void ResourceScopes::ReleaseMemory(uint64_t bytes, const PeerId* peer) {
  Release(MemoryCharge(bytes), /*from_system=*/true, peer);
}

ScopeUsage ResourceScopes::peer_usage(const PeerId& peer) const {
  auto it = peer_usage_.find(peer);
  return it == peer_usage_.end() ? ScopeUsage{} : it->second;
}

std::optional<ScopeDenial> ResourceScopes::ChargePeerIfAllowed(
    const PeerId& peer, const ScopeUsage& charge,
    absl::FunctionRef<std::optional<ScopeDenial>(const ScopeUsage&)> check) {
  if (!track_peers_) return check(ScopeUsage{});
  const auto it = peer_usage_.try_emplace(peer).first;
  std::optional<ScopeDenial> denial = check(it->second);
  if (!denial) Add(it->second, charge);
  if (it->second.is_zero()) peer_usage_.erase(it);
  return denial;
}

void ResourceScopes::Release(const ScopeUsage& charge, bool from_system, const PeerId* peer) {
  bool held = true;
  if (from_system && !Subtract(system_usage_, charge)) held = false;
  if (peer == nullptr) {
    if (!Subtract(transient_usage_, charge)) held = false;
  } else if (!track_peers_) {
    // Nothing is tracked per peer.
  } else if (auto it = peer_usage_.find(*peer); it != peer_usage_.end()) {
    if (!Subtract(it->second, charge)) held = false;
    if (it->second.is_zero()) peer_usage_.erase(it);
  } else if (!charge.is_zero()) {
    held = false;
  }
  if (!held) ++over_releases_;
}

ScaledScopeLimits ScaleScopeLimits(uint64_t memory_bytes, uint64_t fd_limit) {
  const uint64_t gib = memory_bytes / kGiB;  // < 2^34, so nothing below overflows
  const uint64_t connections = 300 + 128 * gib;
  const uint64_t streams = 16 * connections;
  const uint64_t fds = std::max<uint64_t>(256, fd_limit / 2);
  const uint64_t memory = std::max<uint64_t>(128 * kMiB, memory_bytes / 8);
  ScaledScopeLimits scaled;
  scaled.system = LimitsWithDirections(connections, streams, fds, memory);
  scaled.transient = LimitsWithDirections(connections / 4, streams / 4, fds / 4, memory / 4);
  scaled.peer = LimitsWithDirections(
      std::max<uint64_t>(8, connections / 64), std::max<uint64_t>(256, streams / 64),
      std::max<uint64_t>(8, fds / 64), std::max<uint64_t>(16 * kMiB, memory / 64));
  // memory / connections >= 128 MiB / 300 (G = 0): room for a window, buffers and 52 KiB.
  constexpr uint64_t kWindowAndBuffers = uint64_t{256} * 1024 + ShellConnectionOverhead();
  scaled.connection_memory_bytes = std::min<uint64_t>(memory / connections, 4 * kMiB);
  scaled.max_connection_send_bytes = static_cast<uint32_t>(
      std::min<uint64_t>(scaled.connection_memory_bytes - kWindowAndBuffers, kMiB));
  return scaled;
}

}  // namespace connmgr
