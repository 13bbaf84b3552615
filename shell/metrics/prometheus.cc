#include "shell/metrics/prometheus.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/output.h"
#include "core/types.h"

namespace connmgr {
namespace {

constexpr absl::string_view kCounterHelp[] = {
    "Inputs handed to the core, accepted or not.",
    "Inputs refused with an error status (unknown id, wrong state, ...).",
    "Inputs refused because max_output_queue outputs waited undrained (the output queue was full).",
    "Inputs whose time was before the previous input's.",
    "Inbound connections accepted.",
    "Inbound connections rejected, by reason.",
    "Outbound connections registered.",
    "Connections opened (upgraded).",
    "Connections closed, by reason.",
    "Close commands issued.",
    "Connections aborted after connection_close_timeout passed.",
    "Peers that got their first open connection.",
    "Peers that lost their last open connection.",
    "Streams opened.",
    "Streams closed.",
    "Trims that closed at least one connection.",
    "Connections closed by trims.",
    "Streams rejected, by reason.",
    "PlaceStream questions answered, by outcome.",
    "Memory reservations granted.",
    "Memory reservations refused by a resource scope.",
    "Dial requests accepted.",
    "Dial requests that joined a dial already queued or running.",
    "Dial requests refused because the dial queue was full.",
    "Dial attempts (one address each).",
    "Dial attempts that failed or timed out.",
    "Dials that ended with a result.",
    "DNS queries issued.",
    "Reconnect attempts to keep-alive peers.",
    "Keep-alive peers whose reconnects all failed.",
    "Runtime configuration updates applied.",
};
static_assert(std::size(kCounterHelp) == kCounterCount, "a Counter needs its help text here");

// These counters equal the sum of a by-reason array of Metrics; the array is exposed instead.
bool IsExposedAsBreakdown(Counter c) {
  return c == Counter::kInboundRejected || c == Counter::kConnectionsClosed ||
         c == Counter::kStreamsRejected || c == Counter::kStreamPlacements;
}

bool IsMetricNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

std::string SanitizedPrefix(absl::string_view prefix) {
  std::string out(prefix);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!IsMetricNameChar(out[i], i == 0)) out[i] = '_';
  }
  return out;
}

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none.
size_t Utf8SequenceLength(absl::string_view s) {
  const auto lead = static_cast<unsigned char>(s[0]);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    const unsigned char min = i == 1 ? second_min : 0x80;
    const unsigned char max = i == 1 ? second_max : 0xBF;
    if (byte < min || byte > max) return 0;
  }
  return length;
}

// Label values can be protocol names chosen by remote peers: besides the format's escapes, bytes
// that are not UTF-8 become U+FFFD so the exposition stays parseable.
void AppendLabelValue(std::string& out, absl::string_view value) {
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      const size_t length = Utf8SequenceLength(value.substr(i));
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(value.data() + i, length);
        i += length;
      }
      continue;
    }
    ++i;
  }
}

struct Label {
  absl::string_view name;
  absl::string_view value;
};

class ExpositionWriter {
 public:
  explicit ExpositionWriter(absl::string_view prefix) : prefix_(SanitizedPrefix(prefix)) {}

  // Each Begin* writes a family's HELP and TYPE lines; the samples that follow belong to it.
  void BeginCounter(absl::string_view name, absl::string_view help) {
    Begin(absl::StrCat(name, "_total"), "counter", help);
  }
  void BeginGauge(absl::string_view name, absl::string_view help) { Begin(name, "gauge", help); }

  void Sample(uint64_t value) { absl::StrAppend(&out_, family_, " ", value, "\n"); }

  void Sample(std::initializer_list<Label> labels, uint64_t value) {
    out_ += family_;
    char separator = '{';
    for (const Label& label : labels) {
      out_ += separator;
      absl::StrAppend(&out_, label.name, "=\"");
      AppendLabelValue(out_, label.value);
      out_ += '"';
      separator = ',';
    }
    absl::StrAppend(&out_, "} ", value, "\n");
  }

  std::string Take() { return std::move(out_); }

 private:
  void Begin(absl::string_view name, absl::string_view type, absl::string_view help) {
    family_ = prefix_.empty() ? std::string(name) : absl::StrCat(prefix_, "_", name);
    absl::StrAppend(&out_, "# HELP ", family_, " ", help, "\n# TYPE ", family_, " ", type, "\n");
  }

  std::string prefix_;
  std::string family_;
  std::string out_;
};

template <typename Enum, size_t N>
void WriteBreakdown(ExpositionWriter& w, absl::string_view name, absl::string_view help,
                    absl::string_view label, const std::array<uint64_t, N>& values,
                    absl::string_view (*name_of)(Enum)) {
  w.BeginCounter(name, help);
  for (size_t i = 0; i < N; ++i) {
    w.Sample({{label, name_of(static_cast<Enum>(i))}}, values[i]);
  }
}

}  // namespace

std::string FormatPrometheus(const Metrics& m, absl::string_view prefix) {
  // Naming every field makes adding one to Metrics a compile error here until it is exposed.
  const auto& [connections_by_state, peers, streams_inbound, streams_outbound, streams_by_protocol,
               streams_per_connection_p90, counters, rejected_by_reason, closed_by_reason,
               streams_rejected_by_reason, placements_by_outcome, memory_bytes, dial_outcomes,
               dials_queued, dials_running, dial_backoff_entries, dns_cache_entries,
               tracked_sources] = m;
  ExpositionWriter w(prefix);

  w.BeginGauge("connections", "Connections in the table, by direction and state.");
  for (int d = 0; d < kDirectionCount; ++d) {
    for (int s = 0; s < kLiveStateCount; ++s) {
      w.Sample({{"direction", DirectionName(static_cast<Direction>(d))},
                {"state", ConnectionStateName(static_cast<ConnectionState>(s))}},
               connections_by_state[d][s]);
    }
  }

  w.BeginGauge("peers", "Peers with at least one open connection.");
  w.Sample(peers);

  w.BeginGauge("streams", "Open streams, by direction.");
  w.Sample({{"direction", DirectionName(Direction::kInbound)}}, streams_inbound);
  w.Sample({{"direction", DirectionName(Direction::kOutbound)}}, streams_outbound);

  w.BeginGauge("protocol_streams",
               "Open streams, by protocol and direction (rare protocols under \"(other)\").");
  for (const ProtocolStreams& p : streams_by_protocol) {
    w.Sample({{"protocol", p.protocol}, {"direction", DirectionName(Direction::kInbound)}},
             p.inbound);
    w.Sample({{"protocol", p.protocol}, {"direction", DirectionName(Direction::kOutbound)}},
             p.outbound);
  }

  w.BeginGauge("streams_per_connection_p90",
               "90th percentile of the stream count over open connections.");
  w.Sample(streams_per_connection_p90);

  for (int i = 0; i < kCounterCount; ++i) {
    const auto c = static_cast<Counter>(i);
    if (IsExposedAsBreakdown(c)) continue;
    w.BeginCounter(CounterName(c), kCounterHelp[i]);
    w.Sample(counters[i]);
  }

  WriteBreakdown(w, CounterName(Counter::kInboundRejected),
                 kCounterHelp[static_cast<int>(Counter::kInboundRejected)], "reason",
                 rejected_by_reason, &RejectReasonName);
  WriteBreakdown(w, CounterName(Counter::kConnectionsClosed),
                 kCounterHelp[static_cast<int>(Counter::kConnectionsClosed)], "reason",
                 closed_by_reason, &CloseReasonName);
  WriteBreakdown(w, CounterName(Counter::kStreamsRejected),
                 kCounterHelp[static_cast<int>(Counter::kStreamsRejected)], "reason",
                 streams_rejected_by_reason, &StreamRejectReasonName);
  WriteBreakdown(w, CounterName(Counter::kStreamPlacements),
                 kCounterHelp[static_cast<int>(Counter::kStreamPlacements)], "outcome",
                 placements_by_outcome, &PlacementOutcomeName);

  w.BeginGauge("memory_bytes", "Memory reserved with ReserveMemory and not yet released.");
  w.Sample(memory_bytes);

  WriteBreakdown(w, "dial_outcomes", "Dial requests that ended, by outcome.", "outcome",
                 dial_outcomes, &DialOutcomeName);

  w.BeginGauge("dials_queued", "Dials waiting in the dial queue.");
  w.Sample(dials_queued);
  w.BeginGauge("dials_running", "Dials running.");
  w.Sample(dials_running);
  w.BeginGauge("dial_backoff_entries", "(Peer, address) pairs held in dial backoff.");
  w.Sample(dial_backoff_entries);
  w.BeginGauge("dns_cache_entries", "Entries in the DNS cache.");
  w.Sample(dns_cache_entries);
  w.BeginGauge("tracked_sources", "Sources held by the inbound rate limiter.");
  w.Sample(tracked_sources);

  return w.Take();
}

}  // namespace connmgr
