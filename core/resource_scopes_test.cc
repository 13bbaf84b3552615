#include "core/resource_scopes.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "core/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {

// Readable failures for the types under test.
void PrintTo(const ScopeDenial& d, std::ostream* os) {
  *os << "{" << d.ToString() << ", requested " << d.requested << "}";
}
void PrintTo(const ScopeUsage& u, std::ostream* os) {
  *os << "{conns in " << u.connections_inbound << " out " << u.connections_outbound
      << ", streams in " << u.streams_inbound << " out " << u.streams_outbound << ", fds "
      << u.file_descriptors << ", memory " << u.memory_bytes << "}";
}

namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr Direction kIn = Direction::kInbound;
constexpr Direction kOut = Direction::kOutbound;

const PeerId kAlice = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
const PeerId kBob = PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value();

ScopeLimits OnlyLimit(Resource resource, uint64_t limit) {
  ScopeLimits limits;
  switch (resource) {
    case Resource::kConnectionsInbound:
      limits.connections_inbound = limit;
      break;
    case Resource::kConnectionsOutbound:
      limits.connections_outbound = limit;
      break;
    case Resource::kConnections:
      limits.connections = limit;
      break;
    case Resource::kStreamsInbound:
      limits.streams_inbound = limit;
      break;
    case Resource::kStreamsOutbound:
      limits.streams_outbound = limit;
      break;
    case Resource::kStreams:
      limits.streams = limit;
      break;
    case Resource::kFileDescriptors:
      limits.file_descriptors = limit;
      break;
    case Resource::kMemory:
      limits.memory_bytes = limit;
      break;
  }
  return limits;
}

ScopeLimits MemoryLimit(uint64_t bytes) { return OnlyLimit(Resource::kMemory, bytes); }

ScopeUsage Usage(uint64_t conns_in, uint64_t conns_out, uint64_t streams_in, uint64_t streams_out,
                 uint64_t fds, uint64_t memory) {
  return ScopeUsage{conns_in, conns_out, streams_in, streams_out, fds, memory};
}

TEST(ResourceScopesNamesTest, NamesMatchTheScopeLimitsFields) {
  EXPECT_EQ(ScopeKindName(ScopeKind::kSystem), "system");
  EXPECT_EQ(ScopeKindName(ScopeKind::kTransient), "transient");
  EXPECT_EQ(ScopeKindName(ScopeKind::kPeer), "peer");
  EXPECT_EQ(ResourceName(Resource::kConnectionsInbound), "connections_inbound");
  EXPECT_EQ(ResourceName(Resource::kConnectionsOutbound), "connections_outbound");
  EXPECT_EQ(ResourceName(Resource::kConnections), "connections");
  EXPECT_EQ(ResourceName(Resource::kStreamsInbound), "streams_inbound");
  EXPECT_EQ(ResourceName(Resource::kStreamsOutbound), "streams_outbound");
  EXPECT_EQ(ResourceName(Resource::kStreams), "streams");
  EXPECT_EQ(ResourceName(Resource::kFileDescriptors), "file_descriptors");
  EXPECT_EQ(ResourceName(Resource::kMemory), "memory_bytes");
}

// --- Every count limit of every scope denies at exactly its limit -----------------------------

struct LimitCase {
  ScopeKind scope;
  Resource resource;
};

class CountLimitTest : public ::testing::TestWithParam<LimitCase> {
 protected:
  static constexpr uint64_t kLimit = 3;

  // Reserves one unit of the resource under test through the scope under test. Totals
  // alternate directions so both halves count.
  static std::optional<ScopeDenial> ReserveOne(ResourceScopes& scopes, int i) {
    const LimitCase& c = GetParam();
    Direction direction = i % 2 == 0 ? kIn : kOut;
    if (c.resource == Resource::kConnectionsInbound || c.resource == Resource::kStreamsInbound) {
      direction = kIn;
    }
    if (c.resource == Resource::kConnectionsOutbound || c.resource == Resource::kStreamsOutbound) {
      direction = kOut;
    }
    const bool stream = c.resource == Resource::kStreamsInbound ||
                        c.resource == Resource::kStreamsOutbound ||
                        c.resource == Resource::kStreams;
    if (stream) return scopes.ReserveStream(direction, kAlice);
    const bool uses_fd = c.resource == Resource::kFileDescriptors;
    if (c.scope == ScopeKind::kPeer) {
      return scopes.ReserveConnectionForPeer(direction, uses_fd, kAlice);
    }
    return scopes.ReserveConnection(direction, uses_fd);
  }

  static ResourceScopes MakeScopes() {
    const LimitCase& c = GetParam();
    const ScopeLimits limited = OnlyLimit(c.resource, kLimit);
    return ResourceScopes(c.scope == ScopeKind::kSystem ? limited : ScopeLimits{},
                          c.scope == ScopeKind::kTransient ? limited : ScopeLimits{},
                          c.scope == ScopeKind::kPeer ? limited : ScopeLimits{});
  }
};

TEST_P(CountLimitTest, DeniesAtExactlyItsLimitAndNotBefore) {
  ResourceScopes scopes = MakeScopes();
  for (int i = 0; i < static_cast<int>(kLimit); ++i) {
    EXPECT_EQ(ReserveOne(scopes, i), std::nullopt) << "reservation " << i;
  }
  const ScopeUsage system_before = scopes.system_usage();
  const ScopeUsage transient_before = scopes.transient_usage();
  const ScopeUsage alice_before = scopes.peer_usage(kAlice);

  EXPECT_EQ(ReserveOne(scopes, static_cast<int>(kLimit)),
            (ScopeDenial{GetParam().scope, GetParam().resource, kLimit, 1, kLimit}));
  EXPECT_EQ(scopes.system_usage(), system_before);
  EXPECT_EQ(scopes.transient_usage(), transient_before);
  EXPECT_EQ(scopes.peer_usage(kAlice), alice_before);
}

INSTANTIATE_TEST_SUITE_P(
    AllScopesAndResources, CountLimitTest,
    ::testing::Values(LimitCase{ScopeKind::kSystem, Resource::kConnectionsInbound},
                      LimitCase{ScopeKind::kSystem, Resource::kConnectionsOutbound},
                      LimitCase{ScopeKind::kSystem, Resource::kConnections},
                      LimitCase{ScopeKind::kSystem, Resource::kStreamsInbound},
                      LimitCase{ScopeKind::kSystem, Resource::kStreamsOutbound},
                      LimitCase{ScopeKind::kSystem, Resource::kStreams},
                      LimitCase{ScopeKind::kSystem, Resource::kFileDescriptors},
                      LimitCase{ScopeKind::kTransient, Resource::kConnectionsInbound},
                      LimitCase{ScopeKind::kTransient, Resource::kConnectionsOutbound},
                      LimitCase{ScopeKind::kTransient, Resource::kConnections},
                      LimitCase{ScopeKind::kTransient, Resource::kFileDescriptors},
                      LimitCase{ScopeKind::kPeer, Resource::kConnectionsInbound},
                      LimitCase{ScopeKind::kPeer, Resource::kConnectionsOutbound},
                      LimitCase{ScopeKind::kPeer, Resource::kConnections},
                      LimitCase{ScopeKind::kPeer, Resource::kStreamsInbound},
                      LimitCase{ScopeKind::kPeer, Resource::kStreamsOutbound},
                      LimitCase{ScopeKind::kPeer, Resource::kStreams},
                      LimitCase{ScopeKind::kPeer, Resource::kFileDescriptors}),
    [](const ::testing::TestParamInfo<LimitCase>& info) {
      return std::string(ScopeKindName(info.param.scope)) + "_" +
             std::string(ResourceName(info.param.resource));
    });

TEST(ResourceScopesTest, ZeroMeansNoLimit) {
  ResourceScopes scopes({}, {}, {});
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(scopes.ReserveConnection(i % 2 == 0 ? kIn : kOut, true), std::nullopt);
    ASSERT_EQ(scopes.ReserveStream(i % 2 == 0 ? kIn : kOut, kAlice), std::nullopt);
  }
  EXPECT_EQ(scopes.ReserveMemory(kMax / 2, 0, nullptr), std::nullopt);
  EXPECT_EQ(scopes.system_usage(), Usage(500, 500, 500, 500, 1000, kMax / 2));
  EXPECT_EQ(scopes.transient_usage(), Usage(500, 500, 0, 0, 1000, kMax / 2));
  // While the peer scope has no limit nothing is tracked per peer.
  EXPECT_EQ(scopes.peer_usage(kAlice), ScopeUsage{});
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
}

TEST(ResourceScopesTest, PeersAreTrackedOnceThePeerScopeHasALimit) {
  ScopeLimits peer;
  peer.streams = 10'000;
  ResourceScopes scopes({}, {}, peer);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(scopes.ReserveStream(i % 2 == 0 ? kIn : kOut, kAlice), std::nullopt);
  }
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(0, 0, 500, 500, 0, 0));
  EXPECT_EQ(scopes.peer_scope_count(), 1u);
}

TEST(ResourceScopesTest, ConnectionsWithoutDescriptorsDoNotCountAgainstTheFdLimit) {
  ResourceScopes scopes(OnlyLimit(Resource::kFileDescriptors, 1), {}, {});
  EXPECT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);  // e.g. a relayed connection
  EXPECT_EQ(scopes.ReserveConnection(kOut, true),
            (ScopeDenial{ScopeKind::kSystem, Resource::kFileDescriptors, 1, 1, 1}));
  EXPECT_EQ(scopes.system_usage(), Usage(2, 0, 0, 0, 1, 0));
}

TEST(ResourceScopesTest, DirectionLimitsAreIndependent) {
  ScopeLimits peer;
  peer.connections_inbound = 1;
  peer.streams_outbound = 1;
  ResourceScopes scopes({}, {}, peer);
  EXPECT_EQ(scopes.ReserveConnectionForPeer(kIn, false, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnectionForPeer(kOut, false, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnectionForPeer(kOut, false, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnectionForPeer(kIn, false, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kConnectionsInbound, 1, 1, 1}));
  EXPECT_EQ(scopes.ReserveStream(kOut, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveStream(kOut, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kStreamsOutbound, 1, 1, 1}));
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(1, 2, 2, 1, 0, 0));
}

TEST(ResourceScopesTest, PeersHaveTheirOwnScopes) {
  ResourceScopes scopes({}, {}, OnlyLimit(Resource::kStreams, 1));
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kStreams, 1, 1, 1}));
  EXPECT_EQ(scopes.ReserveStream(kIn, kBob), std::nullopt);
  EXPECT_EQ(scopes.system_usage(), Usage(0, 0, 2, 0, 0, 0));
}

// --- All-or-nothing --------------------------------------------------------------------------

TEST(ResourceScopesTest, TransientDenialLeavesSystemUnchanged) {
  ResourceScopes scopes({}, OnlyLimit(Resource::kConnectionsInbound, 1), {});
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnection(kIn, true),
            (ScopeDenial{ScopeKind::kTransient, Resource::kConnectionsInbound, 1, 1, 1}));
  EXPECT_EQ(scopes.system_usage(), Usage(1, 0, 0, 0, 1, 0));
  EXPECT_EQ(scopes.transient_usage(), Usage(1, 0, 0, 0, 1, 0));
}

TEST(ResourceScopesTest, PeerDenialLeavesSystemUnchanged) {
  ScopeLimits peer;
  peer.connections = 1;
  peer.streams = 1;
  peer.memory_bytes = 100;
  ResourceScopes scopes({}, {}, peer);
  ASSERT_EQ(scopes.ReserveConnectionForPeer(kOut, true, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveStream(kOut, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveMemory(100, 255, &kAlice), std::nullopt);
  const ScopeUsage held = Usage(0, 1, 0, 1, 1, 100);
  ASSERT_EQ(scopes.system_usage(), held);

  EXPECT_EQ(scopes.ReserveConnectionForPeer(kIn, true, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kConnections, 1, 1, 1}));
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kStreams, 1, 1, 1}));
  EXPECT_EQ(scopes.ReserveMemory(1, 255, &kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kMemory, 100, 1, 100}));
  EXPECT_EQ(scopes.system_usage(), held);
  EXPECT_EQ(scopes.peer_usage(kAlice), held);
}

TEST(ResourceScopesTest, SystemDenialChargesNoOtherScope) {
  ResourceScopes scopes(OnlyLimit(Resource::kConnections, 1), {}, {});
  ASSERT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);
  const ScopeDenial full{ScopeKind::kSystem, Resource::kConnections, 1, 1, 1};
  EXPECT_EQ(scopes.ReserveConnection(kOut, false), full);
  EXPECT_EQ(scopes.ReserveConnectionForPeer(kOut, false, kAlice), full);
  EXPECT_EQ(scopes.transient_usage(), Usage(1, 0, 0, 0, 0, 0));
  EXPECT_EQ(scopes.peer_usage(kAlice), ScopeUsage{});
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
}

// --- Check order -------------------------------------------------------------------------------

TEST(ResourceScopesTest, SystemIsCheckedBeforeTransientAndPeer) {
  const ScopeLimits one = OnlyLimit(Resource::kConnections, 1);
  ScopeLimits everything_one = one;
  everything_one.streams = 1;
  everything_one.memory_bytes = 1;
  ResourceScopes scopes(everything_one, everything_one, everything_one);
  ASSERT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnection(kIn, false),
            (ScopeDenial{ScopeKind::kSystem, Resource::kConnections, 1, 1, 1}));

  ResourceScopes peer_scopes(one, {}, one);
  ASSERT_EQ(peer_scopes.ReserveConnectionForPeer(kIn, false, kAlice), std::nullopt);
  EXPECT_EQ(peer_scopes.ReserveConnectionForPeer(kIn, false, kAlice),
            (ScopeDenial{ScopeKind::kSystem, Resource::kConnections, 1, 1, 1}));

  ASSERT_EQ(scopes.ReserveStream(kIn, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice),
            (ScopeDenial{ScopeKind::kSystem, Resource::kStreams, 1, 1, 1}));
  ASSERT_EQ(scopes.ReserveMemory(1, 255, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(1, 255, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 1, 1, 1}));
}

TEST(ResourceScopesTest, DirectionIsCheckedBeforeTotalAndTotalBeforeDescriptors) {
  ScopeLimits limits;
  limits.connections_inbound = 1;
  limits.connections_outbound = 2;
  limits.connections = 2;
  limits.file_descriptors = 1;
  limits.streams_inbound = 1;
  limits.streams = 1;
  ResourceScopes scopes(limits, {}, {});
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  // Inbound, total and descriptors are all full: the inbound limit is named.
  EXPECT_EQ(scopes.ReserveConnection(kIn, true),
            (ScopeDenial{ScopeKind::kSystem, Resource::kConnectionsInbound, 1, 1, 1}));
  // Total and descriptors would both refuse once outbound has room: the total is named.
  ASSERT_EQ(scopes.ReserveConnection(kOut, false), std::nullopt);
  EXPECT_EQ(scopes.ReserveConnection(kOut, true),
            (ScopeDenial{ScopeKind::kSystem, Resource::kConnections, 2, 1, 2}));

  ASSERT_EQ(scopes.ReserveStream(kIn, kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveStream(kIn, kAlice),
            (ScopeDenial{ScopeKind::kSystem, Resource::kStreamsInbound, 1, 1, 1}));
  EXPECT_EQ(scopes.ReserveStream(kOut, kAlice),
            (ScopeDenial{ScopeKind::kSystem, Resource::kStreams, 1, 1, 1}));
}

// --- Moving a connection from transient to its peer --------------------------------------------

TEST(ResourceScopesTest, MoveToPeerMovesTheChargeAndLeavesSystemAlone) {
  ScopeLimits peer;
  peer.connections = 1'000;  // a limit, so peers are tracked
  ResourceScopes scopes({}, {}, peer);
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  ASSERT_EQ(scopes.ReserveConnection(kOut, false), std::nullopt);

  EXPECT_EQ(scopes.MoveConnectionToPeer(kIn, true, kAlice), std::nullopt);
  EXPECT_EQ(scopes.system_usage(), Usage(1, 1, 0, 0, 1, 0));
  EXPECT_EQ(scopes.transient_usage(), Usage(0, 1, 0, 0, 0, 0));
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(1, 0, 0, 0, 1, 0));

  EXPECT_EQ(scopes.MoveConnectionToPeer(kOut, false, kBob), std::nullopt);
  EXPECT_EQ(scopes.system_usage(), Usage(1, 1, 0, 0, 1, 0));
  EXPECT_EQ(scopes.transient_usage(), ScopeUsage{});
  EXPECT_EQ(scopes.peer_usage(kBob), Usage(0, 1, 0, 0, 0, 0));
  EXPECT_EQ(scopes.peer_scope_count(), 2u);
  EXPECT_EQ(scopes.over_releases(), 0u);
}

TEST(ResourceScopesTest, MoveToAFullPeerLeavesTheChargeInTransient) {
  ScopeLimits peer;
  peer.connections_inbound = 1;
  peer.file_descriptors = 1;
  ResourceScopes scopes({}, {}, peer);
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  ASSERT_EQ(scopes.MoveConnectionToPeer(kIn, true, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);

  EXPECT_EQ(scopes.MoveConnectionToPeer(kIn, true, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kConnectionsInbound, 1, 1, 1}));
  EXPECT_EQ(scopes.system_usage(), Usage(2, 0, 0, 0, 2, 0));
  EXPECT_EQ(scopes.transient_usage(), Usage(1, 0, 0, 0, 1, 0));
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(1, 0, 0, 0, 1, 0));

  // The caller closes the refused connection.
  scopes.ReleaseConnection(kIn, true, nullptr);
  EXPECT_EQ(scopes.system_usage(), Usage(1, 0, 0, 0, 1, 0));
  EXPECT_EQ(scopes.transient_usage(), ScopeUsage{});
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(1, 0, 0, 0, 1, 0));
  EXPECT_EQ(scopes.over_releases(), 0u);
}

TEST(ResourceScopesTest, MoveToAFullPeerNamesTheDescriptorLimit) {
  ResourceScopes scopes({}, {}, OnlyLimit(Resource::kFileDescriptors, 1));
  ASSERT_EQ(scopes.ReserveConnectionForPeer(kOut, true, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  EXPECT_EQ(scopes.MoveConnectionToPeer(kIn, true, kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kFileDescriptors, 1, 1, 1}));
  // The same connection without a descriptor of its own fits.
  ASSERT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);
  EXPECT_EQ(scopes.MoveConnectionToPeer(kIn, false, kAlice), std::nullopt);
  EXPECT_EQ(scopes.transient_usage(), Usage(1, 0, 0, 0, 1, 0));
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(1, 1, 0, 0, 1, 0));
}

// --- Releasing ---------------------------------------------------------------------------------

TEST(ResourceScopesTest, EveryReleasePathReturnsToZero) {
  ResourceScopes scopes(MemoryLimit(1000), MemoryLimit(1000), MemoryLimit(1000));
  ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);  // stays transient
  ASSERT_EQ(scopes.ReserveConnection(kOut, true), std::nullopt);
  ASSERT_EQ(scopes.MoveConnectionToPeer(kOut, true, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveConnectionForPeer(kIn, false, kBob), std::nullopt);
  ASSERT_EQ(scopes.ReserveStream(kIn, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveStream(kOut, kBob), std::nullopt);
  ASSERT_EQ(scopes.ReserveMemory(10, 255, nullptr), std::nullopt);
  ASSERT_EQ(scopes.ReserveMemory(20, 255, &kAlice), std::nullopt);
  EXPECT_EQ(scopes.system_usage(), Usage(2, 1, 1, 1, 2, 30));
  EXPECT_EQ(scopes.transient_usage(), Usage(1, 0, 0, 0, 1, 10));
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(0, 1, 1, 0, 1, 20));
  EXPECT_EQ(scopes.peer_usage(kBob), Usage(1, 0, 0, 1, 0, 0));

  scopes.ReleaseStream(kIn, kAlice);
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(0, 1, 0, 0, 1, 20));
  scopes.ReleaseMemory(20, &kAlice);
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(0, 1, 0, 0, 1, 0));
  scopes.ReleaseConnection(kOut, true, &kAlice);
  EXPECT_EQ(scopes.peer_usage(kAlice), ScopeUsage{});
  scopes.ReleaseConnection(kIn, true, nullptr);
  scopes.ReleaseMemory(10, nullptr);
  EXPECT_EQ(scopes.transient_usage(), ScopeUsage{});
  scopes.ReleaseStream(kOut, kBob);
  scopes.ReleaseConnection(kIn, false, &kBob);
  EXPECT_EQ(scopes.peer_usage(kBob), ScopeUsage{});
  EXPECT_EQ(scopes.system_usage(), ScopeUsage{});
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
  EXPECT_EQ(scopes.over_releases(), 0u);
}

TEST(ResourceScopesTest, ReleasedResourcesCanBeReservedAgain) {
  ResourceScopes scopes(OnlyLimit(Resource::kConnections, 1), {}, {});
  ASSERT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);
  ASSERT_NE(scopes.ReserveConnection(kIn, false), std::nullopt);
  scopes.ReleaseConnection(kIn, false, nullptr);
  EXPECT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);
}

TEST(ResourceScopesTest, ReleasingMoreThanReservedSaturatesAtZeroAndIsCounted) {
  ResourceScopes scopes({}, {}, {});
  scopes.ReleaseConnection(kIn, true, nullptr);
  EXPECT_EQ(scopes.system_usage(), ScopeUsage{});
  EXPECT_EQ(scopes.transient_usage(), ScopeUsage{});
  EXPECT_EQ(scopes.over_releases(), 1u);

  // A peer that holds nothing gets no scope from a release.
  scopes.ReleaseStream(kOut, kAlice);
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
  EXPECT_EQ(scopes.over_releases(), 2u);

  ASSERT_EQ(scopes.ReserveMemory(10, 255, &kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveConnection(kIn, false), std::nullopt);
  scopes.ReleaseMemory(25, &kAlice);
  EXPECT_EQ(scopes.system_usage(), Usage(1, 0, 0, 0, 0, 0));
  EXPECT_EQ(scopes.peer_usage(kAlice), ScopeUsage{});
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
  EXPECT_EQ(scopes.over_releases(), 3u);

  // Releasing a descriptor the connection never had takes nothing else with it.
  scopes.ReleaseConnection(kIn, true, nullptr);
  EXPECT_EQ(scopes.system_usage(), ScopeUsage{});
  EXPECT_EQ(scopes.over_releases(), 4u);
}

// --- Memory --------------------------------------------------------------------------------------

TEST(ResourceScopesTest, MemoryLimitScalesWithPriority) {
  EXPECT_EQ(MemoryLimitAtPriority(1024, 255), 1024u);
  EXPECT_EQ(MemoryLimitAtPriority(1024, 127), 512u);
  EXPECT_EQ(MemoryLimitAtPriority(1024, 0), 4u);
  EXPECT_EQ(MemoryLimitAtPriority(1000, 0), 3u);  // rounded down
  EXPECT_EQ(MemoryLimitAtPriority(kMax, 255), kMax);
  EXPECT_EQ(MemoryLimitAtPriority(kMax, 0), (uint64_t{1} << 56) - 1);
  EXPECT_EQ(MemoryLimitAtPriority(kMax, 127), kMax / 2);
}

TEST(ResourceScopesTest, MemoryPriority255MayUseTheWholeLimit) {
  ResourceScopes scopes(MemoryLimit(1024), {}, {});
  EXPECT_EQ(scopes.ReserveMemory(1000, 255, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(24, 255, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(1, 255, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 1024, 1, 1024, 255}));
  EXPECT_EQ(scopes.system_usage().memory_bytes, 1024u);
}

TEST(ResourceScopesTest, MemoryPriority127MayUseHalfTheLimit) {
  ResourceScopes scopes(MemoryLimit(1024), {}, {});
  EXPECT_EQ(scopes.ReserveMemory(513, 127, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 0, 513, 1024, 127}));
  EXPECT_EQ(scopes.ReserveMemory(512, 127, nullptr), std::nullopt);
  const std::optional<ScopeDenial> denial = scopes.ReserveMemory(1, 127, nullptr);
  EXPECT_EQ(denial, (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 512, 1, 1024, 127}));
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->allowed(), 512u);
  // A higher priority may still use the rest.
  EXPECT_EQ(scopes.ReserveMemory(512, 255, nullptr), std::nullopt);
}

TEST(ResourceScopesTest, MemoryPriority0MayUseA256thOfTheLimit) {
  ResourceScopes scopes(MemoryLimit(1024), {}, {});
  EXPECT_EQ(scopes.ReserveMemory(4, 0, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(1, 0, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 4, 1, 1024, 0}));
  EXPECT_EQ(scopes.transient_usage().memory_bytes, 4u);
}

TEST(ResourceScopesTest, MemoryPriorityAppliesInTransientAndPeerScopes) {
  ResourceScopes scopes({}, MemoryLimit(1024), MemoryLimit(2048));
  EXPECT_EQ(scopes.ReserveMemory(513, 127, nullptr),
            (ScopeDenial{ScopeKind::kTransient, Resource::kMemory, 0, 513, 1024, 127}));
  EXPECT_EQ(scopes.ReserveMemory(512, 127, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(1025, 127, &kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kMemory, 0, 1025, 2048, 127}));
  EXPECT_EQ(scopes.ReserveMemory(1024, 127, &kAlice), std::nullopt);
  EXPECT_EQ(scopes.system_usage().memory_bytes, 1536u);
  EXPECT_EQ(scopes.transient_usage().memory_bytes, 512u);
  EXPECT_EQ(scopes.peer_usage(kAlice).memory_bytes, 1024u);
}

TEST(ResourceScopesTest, MemoryNeverOverflowsWithHugeLimitsAndSizes) {
  ResourceScopes scopes(MemoryLimit(kMax), MemoryLimit(kMax), {});
  EXPECT_EQ(scopes.ReserveMemory(kMax, 0, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 0, kMax, kMax, 0}));
  EXPECT_EQ(scopes.ReserveMemory((uint64_t{1} << 56) - 1, 0, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(kMax, 255, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, (uint64_t{1} << 56) - 1, kMax, kMax,
                         255}));
  scopes.ReleaseMemory((uint64_t{1} << 56) - 1, nullptr);
  EXPECT_EQ(scopes.ReserveMemory(kMax, 255, nullptr), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(1, 255, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, kMax, 1, kMax, 255}));
  EXPECT_EQ(scopes.ReserveMemory(kMax, 255, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, kMax, kMax, kMax, 255}));
  EXPECT_EQ(scopes.system_usage().memory_bytes, kMax);
  EXPECT_EQ(scopes.transient_usage().memory_bytes, kMax);
}

TEST(ResourceScopesTest, UnlimitedMemoryStillRefusesToWrapItsCounter) {
  ResourceScopes scopes({}, {}, {});
  EXPECT_EQ(scopes.ReserveMemory(kMax - 1, 0, &kAlice), std::nullopt);
  EXPECT_EQ(scopes.ReserveMemory(1, 0, nullptr), std::nullopt);
  // No limit is configured, so the counter's capacity is reported, unscaled.
  EXPECT_EQ(scopes.ReserveMemory(1, 0, nullptr),
            (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, kMax, 1, kMax, 255}));
  EXPECT_EQ(scopes.system_usage().memory_bytes, kMax);
  EXPECT_EQ(scopes.transient_usage().memory_bytes, 1u);
  EXPECT_EQ(scopes.peer_usage(kAlice).memory_bytes, 0u);  // untracked: no peer limit
}

TEST(ResourceScopesTest, HugeCountLimitsWork) {
  ScopeLimits huge;
  huge.connections_inbound = kMax;
  huge.connections = kMax;
  huge.file_descriptors = kMax;
  ResourceScopes scopes(huge, huge, huge);
  EXPECT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  EXPECT_EQ(scopes.MoveConnectionToPeer(kIn, true, kAlice), std::nullopt);
  EXPECT_EQ(scopes.peer_usage(kAlice), Usage(1, 0, 0, 0, 1, 0));
}

// --- Bounds ----------------------------------------------------------------------------------

TEST(ResourceScopesTest, PeerScopesAreForgottenWhenEmpty) {
  ResourceScopes scopes({}, {}, MemoryLimit(100));
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
  ASSERT_EQ(scopes.ReserveConnectionForPeer(kOut, true, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveStream(kOut, kAlice), std::nullopt);
  ASSERT_EQ(scopes.ReserveMemory(50, 255, &kBob), std::nullopt);
  EXPECT_EQ(scopes.peer_scope_count(), 2u);

  scopes.ReleaseStream(kOut, kAlice);
  EXPECT_EQ(scopes.peer_scope_count(), 2u);  // Alice still holds a connection
  scopes.ReleaseConnection(kOut, true, &kAlice);
  EXPECT_EQ(scopes.peer_scope_count(), 1u);
  scopes.ReleaseMemory(50, &kBob);
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
  EXPECT_EQ(scopes.peer_usage(kAlice), ScopeUsage{});
  EXPECT_EQ(scopes.peer_usage(kBob), ScopeUsage{});
}

TEST(ResourceScopesTest, RefusedOrEmptyReservationsCreateNoPeerScope) {
  ResourceScopes scopes({}, {}, MemoryLimit(100));
  EXPECT_EQ(scopes.ReserveMemory(101, 255, &kAlice),
            (ScopeDenial{ScopeKind::kPeer, Resource::kMemory, 0, 101, 100, 255}));
  EXPECT_EQ(scopes.ReserveMemory(0, 255, &kAlice), std::nullopt);
  EXPECT_EQ(scopes.peer_scope_count(), 0u);
  EXPECT_EQ(scopes.system_usage(), ScopeUsage{});
}

// --- Denial text -------------------------------------------------------------------------------

TEST(ScopeDenialTest, ToStringNamesScopeResourceUseAndLimit) {
  EXPECT_EQ(
      (ScopeDenial{ScopeKind::kTransient, Resource::kConnectionsInbound, 10, 1, 10}).ToString(),
      "transient scope: connections_inbound at its limit (10 of 10)");
  EXPECT_EQ((ScopeDenial{ScopeKind::kSystem, Resource::kFileDescriptors, 256, 1, 256}).ToString(),
            "system scope: file_descriptors at its limit (256 of 256)");
  EXPECT_EQ((ScopeDenial{ScopeKind::kPeer, Resource::kMemory, 500, 100, 1024, 127}).ToString(),
            "peer scope: memory_bytes over its limit (500 used + 100 requested > 512 allowed at "
            "priority 127, of limit 1024)");
  EXPECT_EQ(
      (ScopeDenial{ScopeKind::kSystem, Resource::kMemory, 1000, 100, 1024, 255}).ToString(),
      "system scope: memory_bytes over its limit (1000 used + 100 requested > 1024 allowed at "
      "priority 255, of limit 1024)");
}

TEST(ScopeDenialTest, ToStringOfAnActualDenial) {
  ResourceScopes scopes({}, OnlyLimit(Resource::kConnectionsInbound, 10), {});
  for (int i = 0; i < 10; ++i) ASSERT_EQ(scopes.ReserveConnection(kIn, true), std::nullopt);
  const std::optional<ScopeDenial> denial = scopes.ReserveConnection(kIn, true);
  ASSERT_TRUE(denial.has_value());
  EXPECT_EQ(denial->ToString(), "transient scope: connections_inbound at its limit (10 of 10)");
  EXPECT_EQ(denial->allowed(), 10u);
}

// --- Scaled defaults -----------------------------------------------------------------------------

TEST(ScaleScopeLimitsTest, FollowsTheDocumentedFormula) {
  const ScaledScopeLimits scaled = ScaleScopeLimits(8 * kGiB, 65536);
  EXPECT_EQ(scaled.system, (ScopeLimits{662, 1324, 1324, 10592, 21184, 21184, 32768, kGiB}));
  EXPECT_EQ(scaled.transient, (ScopeLimits{165, 331, 331, 2648, 5296, 5296, 8192, 256 * kMiB}));
  EXPECT_EQ(scaled.peer, (ScopeLimits{10, 20, 20, 165, 331, 331, 512, 16 * kMiB}));
  EXPECT_EQ(scaled.connection_memory_bytes, 810'983u);    // 1 GiB / 1324
  EXPECT_EQ(scaled.max_connection_send_bytes, 417'767u);  // what 256 + 128 KiB leave
}

TEST(ScaleScopeLimitsTest, SmallMachinesGetTheFloors) {
  const ScaledScopeLimits scaled = ScaleScopeLimits(0, 0);
  EXPECT_EQ(scaled.system, (ScopeLimits{150, 300, 300, 2400, 4800, 4800, 256, 128 * kMiB}));
  EXPECT_EQ(scaled.transient, (ScopeLimits{37, 75, 75, 600, 1200, 1200, 64, 32 * kMiB}));
  EXPECT_EQ(scaled.peer, (ScopeLimits{4, 8, 8, 128, 256, 256, 8, 16 * kMiB}));
  EXPECT_EQ(scaled.connection_memory_bytes, 447'392u);  // 128 MiB / 300
  EXPECT_EQ(scaled.max_connection_send_bytes, 54'176u);
}

TEST(ScaleScopeLimitsTest, MoreMemoryAndDescriptorsGiveLargerLimits) {
  const ScaledScopeLimits small = ScaleScopeLimits(4 * kGiB, 4096);
  const ScaledScopeLimits more_memory = ScaleScopeLimits(64 * kGiB, 4096);
  const ScaledScopeLimits more_fds = ScaleScopeLimits(4 * kGiB, 1 << 20);

  EXPECT_GT(more_memory.system.connections, small.system.connections);
  EXPECT_GT(more_memory.system.streams, small.system.streams);
  EXPECT_GT(more_memory.system.memory_bytes, small.system.memory_bytes);
  EXPECT_GT(more_memory.transient.connections, small.transient.connections);
  EXPECT_GT(more_memory.transient.memory_bytes, small.transient.memory_bytes);
  EXPECT_GT(more_memory.peer.connections, small.peer.connections);
  EXPECT_GT(more_memory.peer.memory_bytes, small.peer.memory_bytes);
  EXPECT_EQ(more_memory.system.file_descriptors, small.system.file_descriptors);

  EXPECT_GT(more_fds.system.file_descriptors, small.system.file_descriptors);
  EXPECT_GT(more_fds.transient.file_descriptors, small.transient.file_descriptors);
  EXPECT_GT(more_fds.peer.file_descriptors, small.peer.file_descriptors);
  EXPECT_EQ(more_fds.system.connections, small.system.connections);
}

TEST(ScaleScopeLimitsTest, FractionsStayWithinTheSystemScope) {
  for (uint64_t memory : {uint64_t{0}, kGiB, 16 * kGiB, kMax}) {
    for (uint64_t fds : {uint64_t{0}, uint64_t{1024}, uint64_t{1} << 20, kMax}) {
      const ScaledScopeLimits s = ScaleScopeLimits(memory, fds);
      for (const ScopeLimits* scope : {&s.transient, &s.peer}) {
        EXPECT_LE(scope->connections, s.system.connections);
        EXPECT_LE(scope->streams, s.system.streams);
        EXPECT_LE(scope->file_descriptors, s.system.file_descriptors);
        EXPECT_LE(scope->memory_bytes, s.system.memory_bytes);
      }
      EXPECT_GE(s.system.connections, 300u);
      EXPECT_GE(s.peer.connections, 3u);
    }
  }
}

TEST(ScaleScopeLimitsTest, ResultPassesConfigValidation) {
  for (uint64_t memory : {uint64_t{0}, 512 * kMiB, 8 * kGiB, 1024 * kGiB, kMax}) {
    for (uint64_t fds : {uint64_t{0}, uint64_t{256}, uint64_t{65536}, kMax}) {
      const ScaledScopeLimits scaled = ScaleScopeLimits(memory, fds);
      Config config;
      config.system_scope = scaled.system;
      config.transient_scope = scaled.transient;
      config.peer_scope = scaled.peer;
      config.connection_memory_bytes = scaled.connection_memory_bytes;
      config.max_connection_send_bytes = scaled.max_connection_send_bytes;
      EXPECT_EQ(config.Validate(), absl::OkStatus()) << memory << " bytes, " << fds << " fds";
    }
  }
}

}  // namespace
}  // namespace connmgr
