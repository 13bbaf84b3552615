#include "core/config.h"

#include <functional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

TEST(ConfigTest, DefaultsAreValidAndMatchJsLibp2p) {
  Config c;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  EXPECT_EQ(c.max_connections, 300u);
  EXPECT_EQ(c.max_parallel_dials, 100u);
  EXPECT_EQ(c.max_dial_queue_length, 500u);
  EXPECT_EQ(c.max_peer_addrs_to_dial, 25u);
  EXPECT_EQ(c.dial_timeout, Duration::Seconds(10));
  EXPECT_EQ(c.address_dial_timeout, Duration::Seconds(6));
  EXPECT_EQ(c.connection_close_timeout, Duration::Seconds(1));
  EXPECT_EQ(c.inbound_upgrade_timeout, Duration::Seconds(10));
  EXPECT_EQ(c.inbound_rate_per_ip, (RateLimit{5, Duration::Seconds(1), 5}));
  EXPECT_EQ(c.max_incoming_pending_connections, 10u);
  EXPECT_EQ(c.max_connections_per_peer, 3u);
  EXPECT_EQ(c.reconnect_retries, 5u);
  EXPECT_EQ(c.reconnect_retry_interval, Duration::Seconds(1));
  EXPECT_EQ(c.reconnect_backoff_factor, 2u);
  EXPECT_EQ(c.max_parallel_reconnects, 5u);
  EXPECT_EQ(c.default_dial_priority, 50u);
  EXPECT_EQ(c.user_dial_priority, 75u);
  EXPECT_EQ(c.dnsaddr_max_depth, 32u);
  EXPECT_EQ(c.keep_alive_tag_prefix, "keep-alive");
  EXPECT_EQ(c.effective_low_watermark(), 300u);
  EXPECT_EQ(c.effective_high_watermark(), 300u);
  EXPECT_EQ(c.grace_period, Duration::Zero());
  EXPECT_EQ(c.silence_period, Duration::Zero());
}

TEST(ConfigTest, WatermarksFollowMaxConnectionsUntilSet) {
  Config c;
  c.max_connections = 50;
  EXPECT_EQ(c.effective_low_watermark(), 50u);
  EXPECT_EQ(c.effective_high_watermark(), 50u);
  c.low_watermark = 40;
  EXPECT_EQ(c.effective_low_watermark(), 40u);
  EXPECT_TRUE(c.Validate().ok());
  // Setting only the high watermark moves the low one with it: trim exactly the excess.
  c.low_watermark = 0;
  c.high_watermark = 30;
  EXPECT_EQ(c.effective_low_watermark(), 30u);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(ConfigTest, VisitorNamesEveryFieldOnce) {
  Config c;
  std::set<std::string> names;
  size_t visits = 0;
  VisitConfigFields(c, [&](absl::string_view name, const auto&) {
    names.insert(std::string(name));
    ++visits;
  });
  EXPECT_EQ(names.size(), visits);
  // Changing a field through the visitor changes the config: the visitor sees the real fields.
  VisitConfigFields(c, [](absl::string_view name, auto& field) {
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, uint32_t>) {
      if (name == "max_connections") field = 7;
    }
  });
  EXPECT_EQ(c.max_connections, 7u);
  // A field added to Config changes its size; this trips until the visitor (and with it the
  // config file, the trace header and docs/configuration.md) know the new field.
  EXPECT_EQ(visits, 77u);
  EXPECT_EQ(sizeof(Config), 808u)
      << "Config changed: list the new field in VisitConfigFields, then update these numbers";
}

struct Rule {
  std::string name;
  std::function<void(Config&)> break_it;
  std::string expected_message;
};

class ConfigRuleTest : public testing::TestWithParam<Rule> {};

TEST_P(ConfigRuleTest, IsRejectedWithFieldAndRule) {
  Config c;
  GetParam().break_it(c);
  absl::Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), GetParam().expected_message);
}

const PeerId kEmptyPeer;

INSTANTIATE_TEST_SUITE_P(
    EveryRule, ConfigRuleTest,
    testing::Values(
        Rule{"MaxConnectionsZero", [](Config& c) { c.max_connections = 0; },
             "config: max_connections: must be at least 1"},
        Rule{"InboundCapAboveMax", [](Config& c) { c.max_inbound_connections = 301; },
             "config: max_inbound_connections: must not exceed max_connections (301 > 300); "
             "0 means no separate cap"},
        Rule{"OutboundCapAboveMax", [](Config& c) { c.max_outbound_connections = 400; },
             "config: max_outbound_connections: must not exceed max_connections (400 > 300); "
             "0 means no separate cap"},
        Rule{"PerPeerZero", [](Config& c) { c.max_connections_per_peer = 0; },
             "config: max_connections_per_peer: must be at least 1"},
        Rule{"IncomingPendingZero", [](Config& c) { c.max_incoming_pending_connections = 0; },
             "config: max_incoming_pending_connections: must be at least 1"},
        Rule{"OutboundPendingZero", [](Config& c) { c.max_outbound_pending_connections = 0; },
             "config: max_outbound_pending_connections: must be at least 1"},
        Rule{"HighAboveMax", [](Config& c) { c.high_watermark = 301; },
             "config: high_watermark: must not exceed max_connections (301 > 300)"},
        Rule{"LowAboveHigh",
             [](Config& c) {
               c.low_watermark = 200;
               c.high_watermark = 100;
             },
             "config: low_watermark: must not exceed high_watermark (200 > 100)"},
        Rule{"LowAboveDefaultHigh",
             [](Config& c) {
               c.max_connections = 100;
               c.low_watermark = 150;
             },
             "config: low_watermark: must not exceed high_watermark (150 > 100)"},
        Rule{"NegativeGrace", [](Config& c) { c.grace_period = Duration::Seconds(-1); },
             "config: grace_period: must not be negative (got -1000000000ns)"},
        Rule{"NegativeSilence", [](Config& c) { c.silence_period = Duration::Nanoseconds(-5); },
             "config: silence_period: must not be negative (got -5ns)"},
        Rule{"ClosableProtocolWithoutSlash",
             [](Config& c) { c.closable_protocols.push_back("ipfs/ping"); },
             "config: closable_protocols[4]: a protocol id must start with '/'"},
        Rule{"ClosableProtocolTooLong",
             [](Config& c) { c.closable_protocols = {"/" + std::string(256, 'x')}; },
             "config: closable_protocols[0]: must be at most 256 bytes"},
        Rule{"ClosableProtocolDuplicate",
             [](Config& c) { c.closable_protocols.push_back("/libp2p/dcutr"); },
             "config: closable_protocols[4]: duplicate \"/libp2p/dcutr\""},
        Rule{"DiversityAboveLow",
             [](Config& c) {
               c.low_watermark = 10;
               c.high_watermark = 20;
               c.diversity_protected_connections = 11;
             },
             "config: diversity_protected_connections: must not exceed the low watermark "
             "(11 > 10)"},
        Rule{"EmptyKeepAlivePrefix", [](Config& c) { c.keep_alive_tag_prefix.clear(); },
             "config: keep_alive_tag_prefix: must not be empty"},
        Rule{"TagsPerPeerZero", [](Config& c) { c.max_tags_per_peer = 0; },
             "config: max_tags_per_peer: must be at least 1"},
        Rule{"TaggedPeersZero", [](Config& c) { c.max_tagged_peers = 0; },
             "config: max_tagged_peers: must be at least 1"},
        Rule{"ScopeInboundAboveTotal",
             [](Config& c) {
               c.transient_scope.connections = 10;
               c.transient_scope.connections_inbound = 11;
             },
             "config: transient_scope.connections_inbound: must not exceed "
             "transient_scope.connections (11 > 10)"},
        Rule{"ScopeOutboundAboveTotal",
             [](Config& c) {
               c.system_scope.connections = 1000;
               c.system_scope.connections_outbound = 1001;
             },
             "config: system_scope.connections_outbound: must not exceed "
             "system_scope.connections (1001 > 1000)"},
        Rule{"ScopeStreamsInboundAboveTotal",
             [](Config& c) {
               c.peer_scope.streams = 4;
               c.peer_scope.streams_inbound = 5;
             },
             "config: peer_scope.streams_inbound: must not exceed peer_scope.streams (5 > 4)"},
        Rule{"ScopeStreamsOutboundAboveTotal",
             [](Config& c) {
               c.peer_scope.streams = 4;
               c.peer_scope.streams_outbound = 6;
             },
             "config: peer_scope.streams_outbound: must not exceed peer_scope.streams (6 > 4)"},
        Rule{"WatermarkAboveSystemScope", [](Config& c) { c.system_scope.connections = 200; },
             "config: high_watermark: must not exceed system_scope.connections (300 > 200): "
             "the scope would deny before pruning could act"},
        Rule{"PerPeerAbovePeerScope", [](Config& c) { c.peer_scope.connections = 2; },
             "config: max_connections_per_peer: must not exceed peer_scope.connections "
             "(3 > 2)"},
        Rule{"ParallelDialsZero", [](Config& c) { c.max_parallel_dials = 0; },
             "config: max_parallel_dials: must be at least 1"},
        Rule{"QueueShorterThanParallel", [](Config& c) { c.max_dial_queue_length = 99; },
             "config: max_dial_queue_length: must be at least max_parallel_dials (99 < 100): "
             "it counts queued and running dials"},
        Rule{"AddrsToDialZero", [](Config& c) { c.max_peer_addrs_to_dial = 0; },
             "config: max_peer_addrs_to_dial: must be at least 1"},
        Rule{"DialTimeoutZero", [](Config& c) { c.dial_timeout = Duration::Zero(); },
             "config: dial_timeout: must be positive (got 0ns)"},
        Rule{"AddressTimeoutZero", [](Config& c) { c.address_dial_timeout = Duration::Zero(); },
             "config: address_dial_timeout: must be positive (got 0ns)"},
        Rule{"AddressTimeoutAboveDial",
             [](Config& c) { c.address_dial_timeout = Duration::Seconds(11); },
             "config: address_dial_timeout: must not exceed dial_timeout"},
        Rule{"UpgradeTimeoutZero", [](Config& c) { c.inbound_upgrade_timeout = Duration::Zero(); },
             "config: inbound_upgrade_timeout: must be positive (got 0ns)"},
        Rule{"CloseTimeoutZero", [](Config& c) { c.connection_close_timeout = Duration::Zero(); },
             "config: connection_close_timeout: must be positive (got 0ns)"},
        Rule{"DnsaddrDepthZero", [](Config& c) { c.dnsaddr_max_depth = 0; },
             "config: dnsaddr_max_depth: must be between 1 and 64 (got 0)"},
        Rule{"DnsaddrDepthHuge", [](Config& c) { c.dnsaddr_max_depth = 65; },
             "config: dnsaddr_max_depth: must be between 1 and 64 (got 65)"},
        Rule{"DnsCacheZero", [](Config& c) { c.dns_cache_max_entries = 0; },
             "config: dns_cache_max_entries: must be at least 1"},
        Rule{"NegativeDnsTtl", [](Config& c) { c.dns_negative_ttl = Duration::Seconds(-2); },
             "config: dns_negative_ttl: must not be negative (got -2000000000ns)"},
        Rule{"BackoffBaseAboveMax", [](Config& c) { c.dial_backoff_base = Duration::Minutes(6); },
             "config: dial_backoff_base: must not exceed dial_backoff_max"},
        Rule{"BackoffEntriesZero", [](Config& c) { c.max_backoff_entries = 0; },
             "config: max_backoff_entries: must be at least 1"},
        Rule{"BlackHoleWindowZero", [](Config& c) { c.black_hole_window = 0; },
             "config: black_hole_window: must be between 1 and 1048576 (got 0)"},
        Rule{"BlackHoleWindowTooLarge", [](Config& c) { c.black_hole_window = (1 << 20) + 1; },
             "config: black_hole_window: must be between 1 and 1048576 (got 1048577)"},
        Rule{"BlackHoleSuccessesAboveWindow", [](Config& c) { c.black_hole_min_successes = 101; },
             "config: black_hole_min_successes: must not exceed black_hole_window (101 > 100)"},
        Rule{"BlackHoleProbeZero", [](Config& c) { c.black_hole_probe_interval = 0; },
             "config: black_hole_probe_interval: must be at least 1"},
        Rule{"ReconnectFactorZero", [](Config& c) { c.reconnect_backoff_factor = 0; },
             "config: reconnect_backoff_factor: must be at least 1"},
        Rule{"ReconnectIntervalAboveMax",
             [](Config& c) { c.reconnect_retry_interval = Duration::Minutes(10); },
             "config: reconnect_retry_interval: must not exceed reconnect_max_wait"},
        Rule{"JitterAbove100", [](Config& c) { c.reconnect_jitter_percent = 101; },
             "config: reconnect_jitter_percent: must be at most 100 (got 101)"},
        Rule{"NoParallelReconnects", [](Config& c) { c.max_parallel_reconnects = 0; },
             "config: max_parallel_reconnects: must be at least 1 when reconnect_retries > 0"},
        Rule{"ListEntriesZero", [](Config& c) { c.max_list_entries = 0; },
             "config: max_list_entries: must be at least 1"},
        Rule{"AllowListTooLong",
             [](Config& c) {
               c.max_list_entries = 1;
               c.allow_list.resize(2);
             },
             "config: allow_list: has more than max_list_entries (1) entries"},
        Rule{"DenyListTooLong",
             [](Config& c) {
               c.max_list_entries = 1;
               c.deny_list.resize(2);
             },
             "config: deny_list: has more than max_list_entries (1) entries"},
        Rule{"DeniedPeersTooLong",
             [](Config& c) {
               c.max_list_entries = 1;
               c.denied_peers.resize(2);
             },
             "config: denied_peers: has more than max_list_entries (1) entries"},
        Rule{"DeniedPeerEmpty", [](Config& c) { c.denied_peers.push_back(kEmptyPeer); },
             "config: denied_peers[0]: must be a valid peer id"},
        Rule{"TrackedSourcesZero", [](Config& c) { c.max_tracked_sources = 0; },
             "config: max_tracked_sources: must be at least 1"},
        Rule{"RateWithoutBurst",
             [](Config& c) {
               c.inbound_rate_global = {100, Duration::Seconds(1), 0};
             },
             "config: inbound_rate_global.burst: must be at least 1 when count > 0"},
        Rule{"RateWithZeroInterval",
             [](Config& c) { c.inbound_rate_per_ip.interval = Duration::Zero(); },
             "config: inbound_rate_per_ip.interval: must be positive when count > 0 (got 0ns)"},
        Rule{"NegativeDelayedReject",
             [](Config& c) { c.delayed_reject = Duration::Milliseconds(-1); },
             "config: delayed_reject: must not be negative (got -1000000ns)"},
        Rule{"OutputQueueZero", [](Config& c) { c.max_output_queue = 0; },
             "config: max_output_queue: must be at least 1"}),
    [](const testing::TestParamInfo<Rule>& info) { return info.param.name; });

TEST(ConfigTest, DisabledRateLimitNeedsNoBurst) {
  Config c;
  c.inbound_rate_per_ip = {0, Duration::Zero(), 0};
  EXPECT_TRUE(c.Validate().ok());
}

TEST(ConfigTest, NoReconnectsNeedNoParallelism) {
  Config c;
  c.reconnect_retries = 0;
  c.max_parallel_reconnects = 0;
  EXPECT_TRUE(c.Validate().ok());
}

TEST(ConfigTest, RuntimeChangesAreLimitedToTheListedSettings) {
  const Config from;
  Config to = from;
  to.max_connections = 100;
  to.inbound_rate_per_ip = {1, Duration::Seconds(1), 1};
  to.max_parallel_dials = 10;
  EXPECT_TRUE(CheckRuntimeChange(from, to).ok());

  to.keep_alive_tag_prefix = "pin";
  EXPECT_EQ(CheckRuntimeChange(from, to).message(),
            "config: keep_alive_tag_prefix: cannot change on a running core (it needs a new "
            "core; see docs/configuration.md for the settings that can)");

  Config invalid = from;
  invalid.max_connections = 10;
  invalid.low_watermark = 20;
  EXPECT_EQ(CheckRuntimeChange(from, invalid).message(),
            "config: low_watermark: must not exceed high_watermark (20 > 10)");
  EXPECT_EQ(CheckRuntimeChange(from, invalid).code(), absl::StatusCode::kInvalidArgument);

  EXPECT_TRUE(IsRuntimeChangeable("max_connections"));
  EXPECT_FALSE(IsRuntimeChangeable("random_seed"));
  EXPECT_FALSE(IsRuntimeChangeable("deny_list"));  // it has its own inputs
  EXPECT_FALSE(IsRuntimeChangeable("no_such_setting"));
}

TEST(ConfigTest, EnumNamesRoundTrip) {
  for (DialStrategy s : {DialStrategy::kSequential, DialStrategy::kRanked}) {
    DialStrategy parsed;
    ASSERT_TRUE(ParseDialStrategy(DialStrategyName(s), &parsed));
    EXPECT_EQ(parsed, s);
  }
  for (StreamPlacement s : {StreamPlacement::kRoundRobin, StreamPlacement::kLeastLoaded}) {
    StreamPlacement parsed;
    ASSERT_TRUE(ParseStreamPlacement(StreamPlacementName(s), &parsed));
    EXPECT_EQ(parsed, s);
  }
  DialStrategy unused;
  EXPECT_FALSE(ParseDialStrategy("fastest", &unused));
}

}  // namespace
}  // namespace connmgr
