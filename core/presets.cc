#include "core/presets.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace connmgr {

Config DefaultPreset() { return Config{}; }

Config ProductionPreset() {
  Config c;
  c.max_connections = 400;
  c.high_watermark = 380;  // trims start before the hard limit refuses anyone
  c.low_watermark = 320;   // and free room for a burst of 60
  c.grace_period = Duration::Minutes(1);
  c.silence_period = Duration::Seconds(10);
  c.max_incoming_pending_connections = 32;
  c.inbound_rate_per_ipv4_24 = {20, Duration::Seconds(1), 40};
  c.inbound_rate_per_ipv6_56 = {20, Duration::Seconds(1), 40};
  c.dial_strategy = DialStrategy::kRanked;
  c.reconnect_jitter_percent = 20;
  c.diversity_protected_connections = 32;
  c.inbound_eviction = true;  // a table full of idle peers still admits new ones
  return c;
}

Config HighThroughputPreset() {
  Config c;
  c.max_connections = 2'000;
  c.high_watermark = 1'900;
  c.low_watermark = 1'600;
  c.grace_period = Duration::Seconds(30);
  c.silence_period = Duration::Seconds(5);
  c.max_connections_per_peer = 4;
  c.max_incoming_pending_connections = 256;
  c.max_outbound_pending_connections = 400;
  c.max_parallel_dials = 400;
  c.max_dial_queue_length = 2'000;
  c.dial_strategy = DialStrategy::kRanked;
  c.inbound_rate_per_ip = {20, Duration::Seconds(1), 40};
  c.max_tracked_sources = 200'000;
  c.stream_placement = StreamPlacement::kLeastLoaded;
  c.max_output_queue = 16'384;
  return c;
}

Config RestrictivePreset() {
  Config c;
  c.max_connections = 50;
  c.max_inbound_connections = 20;
  c.max_connections_per_peer = 1;
  c.max_incoming_pending_connections = 4;
  c.inbound_upgrade_timeout = Duration::Seconds(5);
  c.grace_period = Duration::Seconds(30);
  c.diversity_protected_connections = 8;
  c.allow_only_mode = true;
  c.inbound_rate_per_ip = {1, Duration::Seconds(1), 2};
  c.inbound_rate_global = {20, Duration::Seconds(1), 20};
  c.max_connections_per_ipv4_32 = 2;
  c.max_connections_per_ipv6_56 = 2;
  c.max_connections_per_ipv6_48 = 8;
  c.delayed_reject = Duration::Seconds(1);
  c.max_parallel_dials = 20;
  c.max_dial_queue_length = 100;
  return c;
}

absl::Span<const absl::string_view> PresetNames() {
  static constexpr absl::string_view kNames[] = {"default", "production", "high_throughput",
                                                 "restrictive"};
  return kNames;
}

absl::StatusOr<Config> PresetConfig(absl::string_view name) {
  if (name == "default") return DefaultPreset();
  if (name == "production") return ProductionPreset();
  if (name == "high_throughput") return HighThroughputPreset();
  if (name == "restrictive") return RestrictivePreset();
  return absl::InvalidArgumentError(
      absl::StrCat("config: preset: unknown preset \"", name,
                   "\"; known: ", absl::StrJoin(PresetNames(), ", ")));
}

}  // namespace connmgr
