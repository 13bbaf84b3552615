#include "core/config.h"

#include <string>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/black_hole.h"

namespace connmgr {
namespace {

// The longest protocol id the core accepts (multistream-select lines are far shorter in
// practice; this bounds memory for names that come from the network).
constexpr size_t kMaxProtocolLength = 256;
constexpr uint32_t kMaxDnsaddrDepth = 64;

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", field, ": ", rule));
}

template <typename T>
std::string Got(T value) {
  return absl::StrCat(" (got ", value, ")");
}

std::string GotDuration(Duration d) { return absl::StrCat(" (got ", d.nanoseconds(), "ns)"); }

// Rules that hold for every field of one type, checked through the field visitor.
struct PerTypeRules {
  absl::Status status;

  void operator()(absl::string_view name, const Duration& d) {
    if (status.ok() && d < Duration::Zero()) {
      status = Invalid(name, absl::StrCat("must not be negative", GotDuration(d)));
    }
  }
  void operator()(absl::string_view name, const RateLimit& r) {
    if (!status.ok() || !r.enabled()) return;
    if (r.interval <= Duration::Zero()) {
      status = Invalid(absl::StrCat(name, ".interval"),
                       absl::StrCat("must be positive when count > 0", GotDuration(r.interval)));
    } else if (r.burst == 0) {
      status = Invalid(absl::StrCat(name, ".burst"), "must be at least 1 when count > 0");
    }
  }
  void operator()(absl::string_view name, const ScopeLimits& s) {
    if (!status.ok()) return;
    auto part_within_total = [&](uint64_t part, absl::string_view part_name, uint64_t total,
                                 absl::string_view total_name) {
      if (status.ok() && part != 0 && total != 0 && part > total) {
        status = Invalid(
            absl::StrCat(name, ".", part_name),
            absl::StrCat("must not exceed ", name, ".", total_name, " (", part, " > ", total, ")"));
      }
    };
    part_within_total(s.connections_inbound, "connections_inbound", s.connections, "connections");
    part_within_total(s.connections_outbound, "connections_outbound", s.connections, "connections");
    part_within_total(s.streams_inbound, "streams_inbound", s.streams, "streams");
    part_within_total(s.streams_outbound, "streams_outbound", s.streams, "streams");
  }
  template <typename T>
  void operator()(absl::string_view, const T&) {}
};

absl::Status ValidateProtocolList(absl::string_view field,
                                  const std::vector<std::string>& protocols) {
  absl::flat_hash_set<absl::string_view> seen;
  for (size_t i = 0; i < protocols.size(); ++i) {
    const std::string& p = protocols[i];
    std::string name = absl::StrCat(field, "[", i, "]");
    if (p.empty() || p[0] != '/') return Invalid(name, "a protocol id must start with '/'");
    if (p.size() > kMaxProtocolLength) {
      return Invalid(name, absl::StrCat("must be at most ", kMaxProtocolLength, " bytes"));
    }
    if (!seen.insert(p).second) return Invalid(name, absl::StrCat("duplicate \"", p, "\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateLimits(const Config& c) {
  if (c.max_connections == 0) return Invalid("max_connections", "must be at least 1");
  if (c.max_inbound_connections > c.max_connections) {
    return Invalid("max_inbound_connections",
                   absl::StrCat("must not exceed max_connections (", c.max_inbound_connections,
                                " > ", c.max_connections, "); 0 means no separate cap"));
  }
  if (c.max_outbound_connections > c.max_connections) {
    return Invalid("max_outbound_connections",
                   absl::StrCat("must not exceed max_connections (", c.max_outbound_connections,
                                " > ", c.max_connections, "); 0 means no separate cap"));
  }
  if (c.max_connections_per_peer == 0) {
    return Invalid("max_connections_per_peer", "must be at least 1");
  }
  if (c.max_incoming_pending_connections == 0) {
    return Invalid("max_incoming_pending_connections", "must be at least 1");
  }
  if (c.max_outbound_pending_connections == 0) {
    return Invalid("max_outbound_pending_connections", "must be at least 1");
  }
  return absl::OkStatus();
}

absl::Status ValidatePruning(const Config& c) {
  const uint32_t low = c.effective_low_watermark();
  const uint32_t high = c.effective_high_watermark();
  if (high > c.max_connections) {
    return Invalid("high_watermark", absl::StrCat("must not exceed max_connections (", high, " > ",
                                                  c.max_connections, ")"));
  }
  if (low > high) {
    return Invalid("low_watermark",
                   absl::StrCat("must not exceed high_watermark (", low, " > ", high, ")"));
  }
  if (absl::Status s = ValidateProtocolList("closable_protocols", c.closable_protocols); !s.ok()) {
    return s;
  }
  if (c.diversity_protected_connections > low) {
    return Invalid("diversity_protected_connections",
                   absl::StrCat("must not exceed the low watermark (",
                                c.diversity_protected_connections, " > ", low, ")"));
  }
  if (c.keep_alive_tag_prefix.empty()) {
    return Invalid("keep_alive_tag_prefix", "must not be empty");
  }
  if (c.max_tags_per_peer == 0) return Invalid("max_tags_per_peer", "must be at least 1");
  if (c.max_tagged_peers == 0) return Invalid("max_tagged_peers", "must be at least 1");
  return absl::OkStatus();
}

// The connection manager must be able to act before a scope denies: its watermarks and
// per-peer cap have to fit inside the scope limits.
absl::Status ValidateScopesAgainstManager(const Config& c) {
  const uint64_t system_conns = c.system_scope.connections;
  if (system_conns != 0 && c.effective_high_watermark() > system_conns) {
    return Invalid(
        "high_watermark",
        absl::StrCat("must not exceed system_scope.connections (", c.effective_high_watermark(),
                     " > ", system_conns, "): the scope would deny before pruning could act"));
  }
  const uint64_t peer_conns = c.peer_scope.connections;
  if (peer_conns != 0 && c.max_connections_per_peer > peer_conns) {
    return Invalid("max_connections_per_peer",
                   absl::StrCat("must not exceed peer_scope.connections (",
                                c.max_connections_per_peer, " > ", peer_conns, ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDialing(const Config& c) {
  if (c.max_parallel_dials == 0) return Invalid("max_parallel_dials", "must be at least 1");
  if (c.max_dial_queue_length < c.max_parallel_dials) {
    return Invalid(
        "max_dial_queue_length",
        absl::StrCat("must be at least max_parallel_dials (", c.max_dial_queue_length, " < ",
                     c.max_parallel_dials, "): it counts queued and running dials"));
  }
  if (c.max_peer_addrs_to_dial == 0) {
    return Invalid("max_peer_addrs_to_dial", "must be at least 1");
  }
  if (c.dial_timeout <= Duration::Zero()) {
    return Invalid("dial_timeout", absl::StrCat("must be positive", GotDuration(c.dial_timeout)));
  }
  if (c.address_dial_timeout <= Duration::Zero()) {
    return Invalid("address_dial_timeout",
                   absl::StrCat("must be positive", GotDuration(c.address_dial_timeout)));
  }
  if (c.address_dial_timeout > c.dial_timeout) {
    return Invalid("address_dial_timeout", "must not exceed dial_timeout");
  }
  if (c.inbound_upgrade_timeout <= Duration::Zero()) {
    return Invalid("inbound_upgrade_timeout",
                   absl::StrCat("must be positive", GotDuration(c.inbound_upgrade_timeout)));
  }
  if (c.connection_close_timeout <= Duration::Zero()) {
    return Invalid("connection_close_timeout",
                   absl::StrCat("must be positive", GotDuration(c.connection_close_timeout)));
  }
  if (c.dnsaddr_max_depth == 0 || c.dnsaddr_max_depth > kMaxDnsaddrDepth) {
    return Invalid("dnsaddr_max_depth", absl::StrCat("must be between 1 and ", kMaxDnsaddrDepth,
                                                     Got(c.dnsaddr_max_depth)));
  }
  if (c.dns_cache_max_entries == 0) {
    return Invalid("dns_cache_max_entries", "must be at least 1");
  }
  if (c.dial_backoff_base > c.dial_backoff_max) {
    return Invalid("dial_backoff_base", "must not exceed dial_backoff_max");
  }
  if (c.max_backoff_entries == 0) return Invalid("max_backoff_entries", "must be at least 1");
  if (c.black_hole_window == 0 || c.black_hole_window > BlackHoleDetector::kMaxWindow) {
    return Invalid("black_hole_window",
                   absl::StrCat("must be between 1 and ", BlackHoleDetector::kMaxWindow,
                                Got(c.black_hole_window)));
  }
  if (c.black_hole_min_successes > c.black_hole_window) {
    return Invalid("black_hole_min_successes",
                   absl::StrCat("must not exceed black_hole_window (", c.black_hole_min_successes,
                                " > ", c.black_hole_window, ")"));
  }
  if (c.black_hole_probe_interval == 0) {
    return Invalid("black_hole_probe_interval", "must be at least 1");
  }
  return absl::OkStatus();
}

absl::Status ValidateReconnects(const Config& c) {
  if (c.reconnect_backoff_factor == 0) {
    return Invalid("reconnect_backoff_factor", "must be at least 1");
  }
  if (c.reconnect_retry_interval > c.reconnect_max_wait) {
    return Invalid("reconnect_retry_interval", "must not exceed reconnect_max_wait");
  }
  if (c.reconnect_jitter_percent > 100) {
    return Invalid("reconnect_jitter_percent",
                   absl::StrCat("must be at most 100", Got(c.reconnect_jitter_percent)));
  }
  if (c.reconnect_retries > 0 && c.max_parallel_reconnects == 0) {
    return Invalid("max_parallel_reconnects", "must be at least 1 when reconnect_retries > 0");
  }
  return absl::OkStatus();
}

absl::Status ValidateGating(const Config& c) {
  if (c.max_list_entries == 0) return Invalid("max_list_entries", "must be at least 1");
  if (c.allow_list.size() > c.max_list_entries) {
    return Invalid("allow_list", absl::StrCat("has more than max_list_entries (",
                                              c.max_list_entries, ") entries"));
  }
  if (c.deny_list.size() > c.max_list_entries) {
    return Invalid("deny_list", absl::StrCat("has more than max_list_entries (", c.max_list_entries,
                                             ") entries"));
  }
  if (c.denied_peers.size() > c.max_list_entries) {
    return Invalid("denied_peers", absl::StrCat("has more than max_list_entries (",
                                                c.max_list_entries, ") entries"));
  }
  for (size_t i = 0; i < c.denied_peers.size(); ++i) {
    if (c.denied_peers[i].is_empty()) {
      return Invalid(absl::StrCat("denied_peers[", i, "]"), "must be a valid peer id");
    }
  }
  if (c.max_tracked_sources == 0) return Invalid("max_tracked_sources", "must be at least 1");
  return absl::OkStatus();
}

// The shell's buffers must fit the memory budgets they are reserved from.
absl::Status ValidateBuffers(const Config& c) {
  constexpr uint32_t kYamuxInitialWindow = 256 << 10;  // the spec's; a window never shrinks
  constexpr uint32_t kMaxWindow = 16 << 20;
  if (c.stream_receive_window < kYamuxInitialWindow || c.stream_receive_window > kMaxWindow) {
    return Invalid("stream_receive_window",
                   absl::StrCat("must be from 262144 (Yamux's initial window) to 16777216",
                                Got(c.stream_receive_window)));
  }
  if (c.max_connection_send_bytes < (16 << 10) || c.max_connection_send_bytes > (256 << 20)) {
    return Invalid("max_connection_send_bytes", absl::StrCat("must be from 16384 to 268435456",
                                                             Got(c.max_connection_send_bytes)));
  }
  // One full stream window, a full send queue and the shell's read buffers.
  const uint64_t needed =
      uint64_t{c.stream_receive_window} + c.max_connection_send_bytes + ShellConnectionOverhead();
  if (c.connection_memory_bytes != 0 && c.connection_memory_bytes < needed) {
    return Invalid(
        "connection_memory_bytes",
        absl::StrCat("must hold stream_receive_window + max_connection_send_bytes + ",
                     ShellConnectionOverhead(), " (", needed, ")", Got(c.connection_memory_bytes)));
  }
  const uint64_t system = c.system_scope.memory_bytes;
  if (system != 0 && c.connection_memory_bytes != 0 &&
      absl::uint128(c.max_connections) * c.connection_memory_bytes > system) {
    return Invalid("connection_memory_bytes",
                   absl::StrCat("max_connections * connection_memory_bytes (", c.max_connections,
                                " * ", c.connection_memory_bytes,
                                ") must not exceed system_scope.memory_bytes (", system, ")"));
  }
  const Duration timeout = c.slow_reader_timeout;
  if (timeout != Duration::Zero() &&
      (timeout < Duration::Milliseconds(100) || timeout > Duration::Minutes(10))) {
    return Invalid("slow_reader_timeout",
                   absl::StrCat("must be 0 (off) or from 100ms to 10m", GotDuration(timeout)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Config::Validate() const {
  PerTypeRules per_type;
  VisitConfigFields(*this, per_type);
  if (!per_type.status.ok()) return per_type.status;
  for (auto check : {ValidateLimits, ValidatePruning, ValidateScopesAgainstManager, ValidateDialing,
                     ValidateReconnects, ValidateGating, ValidateBuffers}) {
    if (absl::Status s = check(*this); !s.ok()) return s;
  }
  if (max_output_queue == 0) return Invalid("max_output_queue", "must be at least 1");
  return absl::OkStatus();
}

bool IsRuntimeChangeable(absl::string_view name) {
  static constexpr absl::string_view kRuntimeChangeable[] = {
      "max_connections",
      "max_inbound_connections",
      "max_outbound_connections",
      "max_connections_per_peer",
      "max_incoming_pending_connections",
      "max_outbound_pending_connections",
      "reject_outbound_over_max",
      "pending_fair_share",
      "inbound_eviction",
      "inbound_eviction_rate",
      "low_watermark",
      "high_watermark",
      "grace_period",
      "silence_period",
      "diversity_protected_connections",
      "max_parallel_dials",
      "max_dial_queue_length",
      "max_peer_addrs_to_dial",
      "dial_timeout",
      "address_dial_timeout",
      "default_dial_priority",
      "user_dial_priority",
      "dial_strategy",
      "ranked_public_delay",
      "ranked_private_delay",
      "inbound_upgrade_timeout",
      "connection_close_timeout",
      "reconnect_retries",
      "reconnect_retry_interval",
      "reconnect_backoff_factor",
      "reconnect_max_wait",
      "reconnect_jitter_percent",
      "max_parallel_reconnects",
      "close_newly_denied_connections",
      "inbound_rate_per_ip",
      "inbound_rate_per_ipv4_24",
      "inbound_rate_per_ipv6_56",
      "inbound_rate_per_ipv6_48",
      "inbound_rate_global",
      "max_connections_per_ipv4_32",
      "max_connections_per_ipv6_56",
      "max_connections_per_ipv6_48",
      "max_tracked_sources",
      "delayed_reject",
      "stream_placement",
      "max_streams_per_connection",
      "max_output_queue",
  };
  for (absl::string_view n : kRuntimeChangeable) {
    if (n == name) return true;
  }
  return false;
}

absl::Status CheckRuntimeChange(const Config& from, const Config& to) {
  absl::Status status;
  VisitConfigFieldsOf(
      [&](absl::string_view name, const auto& old_value, const auto& new_value) {
        if (status.ok() && !(old_value == new_value) && !IsRuntimeChangeable(name)) {
          status = Invalid(name,
                           "cannot change on a running core (it needs a new core; see "
                           "docs/configuration.md for the settings that can)");
        }
      },
      from, to);
  if (!status.ok()) return status;
  return to.Validate();
}

absl::string_view DialStrategyName(DialStrategy s) {
  switch (s) {
    case DialStrategy::kSequential:
      return "sequential";
    case DialStrategy::kRanked:
      return "ranked";
  }
  return "unknown";
}

absl::string_view StreamPlacementName(StreamPlacement s) {
  switch (s) {
    case StreamPlacement::kRoundRobin:
      return "round_robin";
    case StreamPlacement::kLeastLoaded:
      return "least_loaded";
  }
  return "unknown";
}

bool ParseDialStrategy(absl::string_view name, DialStrategy* out) {
  for (DialStrategy s : {DialStrategy::kSequential, DialStrategy::kRanked}) {
    if (name == DialStrategyName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

bool ParseStreamPlacement(absl::string_view name, StreamPlacement* out) {
  for (StreamPlacement s : {StreamPlacement::kRoundRobin, StreamPlacement::kLeastLoaded}) {
    if (name == StreamPlacementName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

}  // namespace connmgr
