// Every setting of the core, with js-libp2p-compatible defaults, and its validation.
//
//   connmgr::Config config;                 // defaults as in docs/configuration.md
//   config.max_connections = 500;
//   config.low_watermark = 400;
//   if (absl::Status s = config.Validate(); !s.ok()) { ... }  // names the field and the rule
//
// Conventions: a count limit named `max_*` that may be switched off says so and uses 0 for
// "no limit"; durations are `Duration`; rates are `RateLimit`. `VisitConfigFields` lists every
// field with its public name once, so the config file, the trace header and the docs check all
// use the same names.
#ifndef CONNMGR_CORE_CONFIG_H_
#define CONNMGR_CORE_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/ip.h"
#include "core/peer_id.h"
#include "core/time.h"
#include "core/token_bucket.h"

namespace connmgr {

// Limits of one resource scope (system, transient or per peer). 0 means "no limit".
struct ScopeLimits {
  uint64_t connections_inbound = 0;
  uint64_t connections_outbound = 0;
  uint64_t connections = 0;
  uint64_t streams_inbound = 0;
  uint64_t streams_outbound = 0;
  uint64_t streams = 0;
  uint64_t file_descriptors = 0;
  uint64_t memory_bytes = 0;

  friend bool operator==(const ScopeLimits&, const ScopeLimits&) = default;
};

enum class DialStrategy { kSequential, kRanked };
enum class StreamPlacement { kRoundRobin, kLeastLoaded };

struct Config {
  // --- Connection limits -------------------------------------------------------------------
  uint32_t max_connections = 300;         // hard limit on open connections
  uint32_t max_inbound_connections = 0;   // 0: only max_connections applies
  uint32_t max_outbound_connections = 0;  // 0: only max_connections applies
  uint32_t max_connections_per_peer = 3;
  uint32_t max_incoming_pending_connections = 10;  // accepted but not yet upgraded
  uint32_t max_outbound_pending_connections = 100;
  bool reject_outbound_over_max = false;  // js-libp2p never refuses dials; prune instead
  // When every inbound pending slot is taken, a socket from a source /24 (IPv6 /48) holding at
  // least two fewer of them evicts the oldest pending socket of the group holding the most.
  bool pending_fair_share = true;
  // When the table is full, a new inbound socket from a net group (IPv4 /16, IPv6 /32) holding
  // at least two fewer open inbound connections evicts the lowest-value idle inbound one of a
  // larger group (Bitcoin Core style); off: refused at the limit, as js-libp2p does.
  bool inbound_eviction = false;
  RateLimit inbound_eviction_rate = {1, Duration::Seconds(1), 5};  // count 0: no rate limit

  // --- Pruning ------------------------------------------------------------------------------
  uint32_t low_watermark = 0;                  // 0: same as the high watermark
  uint32_t high_watermark = 0;                 // 0: same as max_connections
  Duration grace_period = Duration::Zero();    // young connections are not pruned
  Duration silence_period = Duration::Zero();  // minimum time between two trims
  std::vector<std::string> closable_protocols = {"/ipfs/id/1.0.0", "/ipfs/id/push/1.0.0",
                                                 "/libp2p/autonat/1.0.0", "/libp2p/dcutr"};
  uint32_t diversity_protected_connections = 0;  // 0: network-diversity protection off

  // --- Peer tags ----------------------------------------------------------------------------
  std::string keep_alive_tag_prefix = "keep-alive";
  uint32_t max_tags_per_peer = 64;
  uint32_t max_tagged_peers = 100'000;  // peers with tags, connected or not

  // --- Resource scopes ----------------------------------------------------------------------
  ScopeLimits system_scope;
  ScopeLimits transient_scope;
  ScopeLimits peer_scope;

  // --- Dialing ------------------------------------------------------------------------------
  uint32_t max_parallel_dials = 100;
  uint32_t max_dial_queue_length = 500;  // queued + running
  uint32_t max_peer_addrs_to_dial = 25;
  Duration dial_timeout = Duration::Seconds(10);         // whole dial, from queueing
  Duration address_dial_timeout = Duration::Seconds(6);  // one address
  uint32_t default_dial_priority = 50;
  uint32_t user_dial_priority = 75;
  DialStrategy dial_strategy = DialStrategy::kSequential;
  Duration ranked_public_delay = Duration::Milliseconds(250);
  Duration ranked_private_delay = Duration::Milliseconds(30);

  // --- Connection lifecycle timeouts ----------------------------------------------------------
  Duration inbound_upgrade_timeout = Duration::Seconds(10);
  Duration connection_close_timeout = Duration::Seconds(1);

  // --- DNS ----------------------------------------------------------------------------------
  uint32_t dnsaddr_max_depth = 32;
  uint32_t dns_cache_max_entries = 1'000;
  Duration dns_negative_ttl = Duration::Seconds(10);
  Duration dns_max_ttl = Duration::Minutes(60);

  // --- Dial backoff and black holes -----------------------------------------------------------
  Duration dial_backoff_base = Duration::Seconds(5);
  Duration dial_backoff_step = Duration::Seconds(1);  // × tries²
  Duration dial_backoff_max = Duration::Minutes(5);
  uint32_t max_backoff_entries = 10'000;
  bool black_hole_detection = true;
  uint32_t black_hole_window = 100;
  uint32_t black_hole_min_successes = 5;
  uint32_t black_hole_probe_interval = 100;

  // --- Reconnects ---------------------------------------------------------------------------
  uint32_t reconnect_retries = 5;
  Duration reconnect_retry_interval = Duration::Seconds(1);
  uint32_t reconnect_backoff_factor = 2;
  Duration reconnect_max_wait = Duration::Minutes(5);
  uint32_t reconnect_jitter_percent = 10;
  uint32_t max_parallel_reconnects = 5;

  // --- Gating -------------------------------------------------------------------------------
  std::vector<IpPrefix> allow_list;
  std::vector<IpPrefix> deny_list;
  std::vector<PeerId> denied_peers;
  bool allow_only_mode = false;
  bool close_newly_denied_connections = true;
  uint32_t max_list_entries = 1'000'000;

  // --- Inbound rate limiting and per-IP limits -------------------------------------------------
  RateLimit inbound_rate_per_ip = {5, Duration::Seconds(1), 5};
  RateLimit inbound_rate_per_ipv4_24 = {};
  RateLimit inbound_rate_per_ipv6_56 = {};
  RateLimit inbound_rate_per_ipv6_48 = {};
  RateLimit inbound_rate_global = {};
  uint32_t max_connections_per_ipv4_32 = 8;  // 0: no limit (loopback is never limited)
  uint32_t max_connections_per_ipv6_56 = 8;
  uint32_t max_connections_per_ipv6_48 = 64;
  uint32_t max_tracked_sources = 100'000;
  bool limit_loopback_sources = false;         // loopback is exempt unless set (tests, demos)
  Duration delayed_reject = Duration::Zero();  // hold a rejected socket this long; 0: off

  // --- Connection memory and buffers (the shell's, reserved through ReserveMemory) ----------
  uint64_t connection_memory_bytes = 4 << 20;    // reserved per connection at most; 0: no limit
  uint32_t stream_receive_window = 256 << 10;    // bytes a stream may receive before we read
  uint32_t max_connection_send_bytes = 1 << 20;  // queued for sending on one connection
  Duration slow_reader_timeout = Duration::Seconds(5);  // queued bytes unsent this long; 0: off

  // --- Streams ------------------------------------------------------------------------------
  StreamPlacement stream_placement = StreamPlacement::kRoundRobin;
  uint32_t max_streams_per_connection = 1'024;  // 0: no limit (yamux's default window)

  // --- The core itself ----------------------------------------------------------------------
  uint64_t random_seed = 0;           // seeds reconnect jitter and diversity keys
  uint32_t max_output_queue = 4'096;  // inputs are refused while this many wait

  // Returns OK, or InvalidArgument naming the first field that breaks a rule and the rule.
  absl::Status Validate() const;

  uint32_t effective_low_watermark() const {
    return low_watermark == 0 ? effective_high_watermark() : low_watermark;
  }
  uint32_t effective_high_watermark() const {
    return high_watermark == 0 ? max_connections : high_watermark;
  }

  friend bool operator==(const Config&, const Config&) = default;
};

// What a connection's memory budget must hold beside its stream window and send queue: the
// shell's read buffer and reservation headroom (connection_memory_bytes' rule).
constexpr uint64_t ShellConnectionOverhead() { return 128 << 10; }

// Calls `visit(name, a.field, b.field, ...)` for every field, in declaration order, with the
// same field of each config given: one config to read or write it, two to compare them.
template <typename Visitor, typename... ConfigT>
void VisitConfigFieldsOf(Visitor&& visit, ConfigT&... c) {
  visit("max_connections", c.max_connections...);
  visit("max_inbound_connections", c.max_inbound_connections...);
  visit("max_outbound_connections", c.max_outbound_connections...);
  visit("max_connections_per_peer", c.max_connections_per_peer...);
  visit("max_incoming_pending_connections", c.max_incoming_pending_connections...);
  visit("max_outbound_pending_connections", c.max_outbound_pending_connections...);
  visit("reject_outbound_over_max", c.reject_outbound_over_max...);
  visit("pending_fair_share", c.pending_fair_share...);
  visit("inbound_eviction", c.inbound_eviction...);
  visit("inbound_eviction_rate", c.inbound_eviction_rate...);
  visit("low_watermark", c.low_watermark...);
  visit("high_watermark", c.high_watermark...);
  visit("grace_period", c.grace_period...);
  visit("silence_period", c.silence_period...);
  visit("closable_protocols", c.closable_protocols...);
  visit("diversity_protected_connections", c.diversity_protected_connections...);
  visit("keep_alive_tag_prefix", c.keep_alive_tag_prefix...);
  visit("max_tags_per_peer", c.max_tags_per_peer...);
  visit("max_tagged_peers", c.max_tagged_peers...);
  visit("system_scope", c.system_scope...);
  visit("transient_scope", c.transient_scope...);
  visit("peer_scope", c.peer_scope...);
  visit("max_parallel_dials", c.max_parallel_dials...);
  visit("max_dial_queue_length", c.max_dial_queue_length...);
  visit("max_peer_addrs_to_dial", c.max_peer_addrs_to_dial...);
  visit("dial_timeout", c.dial_timeout...);
  visit("address_dial_timeout", c.address_dial_timeout...);
  visit("default_dial_priority", c.default_dial_priority...);
  visit("user_dial_priority", c.user_dial_priority...);
  visit("dial_strategy", c.dial_strategy...);
  visit("ranked_public_delay", c.ranked_public_delay...);
  visit("ranked_private_delay", c.ranked_private_delay...);
  visit("inbound_upgrade_timeout", c.inbound_upgrade_timeout...);
  visit("connection_close_timeout", c.connection_close_timeout...);
  visit("dnsaddr_max_depth", c.dnsaddr_max_depth...);
  visit("dns_cache_max_entries", c.dns_cache_max_entries...);
  visit("dns_negative_ttl", c.dns_negative_ttl...);
  visit("dns_max_ttl", c.dns_max_ttl...);
  visit("dial_backoff_base", c.dial_backoff_base...);
  visit("dial_backoff_step", c.dial_backoff_step...);
  visit("dial_backoff_max", c.dial_backoff_max...);
  visit("max_backoff_entries", c.max_backoff_entries...);
  visit("black_hole_detection", c.black_hole_detection...);
  visit("black_hole_window", c.black_hole_window...);
  visit("black_hole_min_successes", c.black_hole_min_successes...);
  visit("black_hole_probe_interval", c.black_hole_probe_interval...);
  visit("reconnect_retries", c.reconnect_retries...);
  visit("reconnect_retry_interval", c.reconnect_retry_interval...);
  visit("reconnect_backoff_factor", c.reconnect_backoff_factor...);
  visit("reconnect_max_wait", c.reconnect_max_wait...);
  visit("reconnect_jitter_percent", c.reconnect_jitter_percent...);
  visit("max_parallel_reconnects", c.max_parallel_reconnects...);
  visit("allow_list", c.allow_list...);
  visit("deny_list", c.deny_list...);
  visit("denied_peers", c.denied_peers...);
  visit("allow_only_mode", c.allow_only_mode...);
  visit("close_newly_denied_connections", c.close_newly_denied_connections...);
  visit("max_list_entries", c.max_list_entries...);
  visit("inbound_rate_per_ip", c.inbound_rate_per_ip...);
  visit("inbound_rate_per_ipv4_24", c.inbound_rate_per_ipv4_24...);
  visit("inbound_rate_per_ipv6_56", c.inbound_rate_per_ipv6_56...);
  visit("inbound_rate_per_ipv6_48", c.inbound_rate_per_ipv6_48...);
  visit("inbound_rate_global", c.inbound_rate_global...);
  visit("max_connections_per_ipv4_32", c.max_connections_per_ipv4_32...);
  visit("max_connections_per_ipv6_56", c.max_connections_per_ipv6_56...);
  visit("max_connections_per_ipv6_48", c.max_connections_per_ipv6_48...);
  visit("max_tracked_sources", c.max_tracked_sources...);
  visit("limit_loopback_sources", c.limit_loopback_sources...);
  visit("delayed_reject", c.delayed_reject...);
  visit("connection_memory_bytes", c.connection_memory_bytes...);
  visit("stream_receive_window", c.stream_receive_window...);
  visit("max_connection_send_bytes", c.max_connection_send_bytes...);
  visit("slow_reader_timeout", c.slow_reader_timeout...);
  visit("stream_placement", c.stream_placement...);
  visit("max_streams_per_connection", c.max_streams_per_connection...);
  visit("random_seed", c.random_seed...);
  visit("max_output_queue", c.max_output_queue...);
}

// Calls `visit(name, field)` for every field of `config`, in declaration order. `Config` may be
// const or not; a test checks the list is complete.
template <typename ConfigT, typename Visitor>
void VisitConfigFields(ConfigT& c, Visitor&& visit) {
  VisitConfigFieldsOf(visit, c);
}

// Whether a setting may change on a running core (`UpdateConfig`); the others hold state built
// from them (tables, caches, lists with their own inputs) and need a new core.
bool IsRuntimeChangeable(absl::string_view name);

// OK if `to` is valid and differs from `from` only in runtime-changeable settings; otherwise
// InvalidArgument naming the first field that breaks a rule.
absl::Status CheckRuntimeChange(const Config& from, const Config& to);

absl::string_view DialStrategyName(DialStrategy s);
absl::string_view StreamPlacementName(StreamPlacement s);
bool ParseDialStrategy(absl::string_view name, DialStrategy* out);
bool ParseStreamPlacement(absl::string_view name, StreamPlacement* out);

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONFIG_H_
