#include "shell/metrics/prometheus.h"

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/metrics.h"
#include "core/output.h"
#include "core/types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

Metrics Snapshot() {
  Metrics m;
  m.connections_by_state[static_cast<int>(Direction::kInbound)] = {1, 5, 2};
  m.connections_by_state[static_cast<int>(Direction::kOutbound)] = {3, 4, 0};
  m.peers = 7;
  m.streams_inbound = 11;
  m.streams_outbound = 12;
  m.streams_by_protocol = {{"(other)", 2, 0}, {"/ipfs/id/1.0.0", 1, 3}};
  m.streams_per_connection_p90 = 9;
  for (int i = 0; i < kCounterCount; ++i) m.counters[i] = 1000 + i;
  for (int i = 0; i < kRejectReasonCount; ++i) m.rejected_by_reason[i] = 10 + i;
  m.rejected_by_reason[static_cast<int>(RejectReason::kRateLimitIp)] = 3;
  for (int i = 0; i < kCloseReasonCount; ++i) m.closed_by_reason[i] = 20 + i;
  for (int i = 0; i < kStreamRejectReasonCount; ++i) m.streams_rejected_by_reason[i] = 30 + i;
  for (int i = 0; i < kPlacementOutcomeCount; ++i) m.placements_by_outcome[i] = 40 + i;
  m.memory_bytes = 1ull << 40;
  for (int i = 0; i < kDialOutcomeCount; ++i) m.dial_outcomes[i] = 50 + i;
  m.dials_queued = 61;
  m.dials_running = 62;
  m.dial_backoff_entries = 63;
  m.dns_cache_entries = 64;
  m.tracked_sources = UINT64_MAX;
  return m;
}

// The HELP and TYPE lines of family `name` and its samples, up to the next family.
std::string Family(const std::string& text, absl::string_view name) {
  const size_t begin = text.find(absl::StrCat("# HELP ", name, " "));
  if (begin == std::string::npos) return "";
  size_t end = text.find("# HELP ", begin + 1);
  if (end == std::string::npos) end = text.size();
  return text.substr(begin, end - begin);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

TEST(FormatPrometheusTest, ConnectionsByDirectionAndState) {
  EXPECT_EQ(Family(FormatPrometheus(Snapshot()), "connmgr_connections"),
            "# HELP connmgr_connections Connections in the table, by direction and state.\n"
            "# TYPE connmgr_connections gauge\n"
            "connmgr_connections{direction=\"inbound\",state=\"pending\"} 1\n"
            "connmgr_connections{direction=\"inbound\",state=\"open\"} 5\n"
            "connmgr_connections{direction=\"inbound\",state=\"closing\"} 2\n"
            "connmgr_connections{direction=\"outbound\",state=\"pending\"} 3\n"
            "connmgr_connections{direction=\"outbound\",state=\"open\"} 4\n"
            "connmgr_connections{direction=\"outbound\",state=\"closing\"} 0\n");
}

TEST(FormatPrometheusTest, GaugesAreExact) {
  const std::string text = FormatPrometheus(Snapshot());
  EXPECT_EQ(Family(text, "connmgr_peers"),
            "# HELP connmgr_peers Peers with at least one open connection.\n"
            "# TYPE connmgr_peers gauge\n"
            "connmgr_peers 7\n");
  EXPECT_EQ(Family(text, "connmgr_streams"),
            "# HELP connmgr_streams Open streams, by direction.\n"
            "# TYPE connmgr_streams gauge\n"
            "connmgr_streams{direction=\"inbound\"} 11\n"
            "connmgr_streams{direction=\"outbound\"} 12\n");
  EXPECT_EQ(Family(text, "connmgr_protocol_streams"),
            "# HELP connmgr_protocol_streams Open streams, by protocol and direction (rare "
            "protocols under \"(other)\").\n"
            "# TYPE connmgr_protocol_streams gauge\n"
            "connmgr_protocol_streams{protocol=\"(other)\",direction=\"inbound\"} 2\n"
            "connmgr_protocol_streams{protocol=\"(other)\",direction=\"outbound\"} 0\n"
            "connmgr_protocol_streams{protocol=\"/ipfs/id/1.0.0\",direction=\"inbound\"} 1\n"
            "connmgr_protocol_streams{protocol=\"/ipfs/id/1.0.0\",direction=\"outbound\"} 3\n");
  EXPECT_EQ(Family(text, "connmgr_streams_per_connection_p90"),
            "# HELP connmgr_streams_per_connection_p90 90th percentile of the stream count over "
            "open connections.\n"
            "# TYPE connmgr_streams_per_connection_p90 gauge\n"
            "connmgr_streams_per_connection_p90 9\n");
  EXPECT_EQ(Family(text, "connmgr_memory_bytes"),
            "# HELP connmgr_memory_bytes Memory reserved with ReserveMemory and not yet "
            "released.\n"
            "# TYPE connmgr_memory_bytes gauge\n"
            "connmgr_memory_bytes 1099511627776\n");
  EXPECT_THAT(text, HasSubstr("\nconnmgr_dials_queued 61\n"));
  EXPECT_THAT(text, HasSubstr("\nconnmgr_dials_running 62\n"));
  EXPECT_THAT(text, HasSubstr("\nconnmgr_dial_backoff_entries 63\n"));
  EXPECT_THAT(text, HasSubstr("\nconnmgr_dns_cache_entries 64\n"));
  EXPECT_EQ(Family(text, "connmgr_tracked_sources"),
            "# HELP connmgr_tracked_sources Sources held by the inbound rate limiter.\n"
            "# TYPE connmgr_tracked_sources gauge\n"
            "connmgr_tracked_sources 18446744073709551615\n");
}

TEST(FormatPrometheusTest, CountersHaveTheTotalSuffix) {
  const std::string text = FormatPrometheus(Snapshot());
  EXPECT_EQ(Family(text, "connmgr_inputs_total"),
            "# HELP connmgr_inputs_total Inputs handed to the core, accepted or not.\n"
            "# TYPE connmgr_inputs_total counter\n"
            "connmgr_inputs_total 1000\n");
  EXPECT_EQ(Family(text, "connmgr_config_updates_total"),
            "# HELP connmgr_config_updates_total Runtime configuration updates applied.\n"
            "# TYPE connmgr_config_updates_total counter\n"
            "connmgr_config_updates_total 1030\n");
  EXPECT_THAT(text, HasSubstr("\nconnmgr_dial_requests_total 1021\n"));
}

TEST(FormatPrometheusTest, EveryCounterNameIsPresent) {
  const std::string text = FormatPrometheus(Snapshot());
  for (int i = 0; i < kCounterCount; ++i) {
    const absl::string_view name = CounterName(static_cast<Counter>(i));
    EXPECT_THAT(text, HasSubstr(absl::StrCat("\n# TYPE connmgr_", name, "_total counter\n")))
        << name;
  }
}

TEST(FormatPrometheusTest, PlainCountersCarryTheirValue) {
  const std::string text = FormatPrometheus(Snapshot());
  for (Counter c :
       {Counter::kInputs, Counter::kClockRegressions, Counter::kAborts, Counter::kPruned,
        Counter::kMemoryDenied, Counter::kDialAttemptsFailed, Counter::kReconnectsFailed}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("\nconnmgr_", CounterName(c), "_total ",
                                             1000 + static_cast<int>(c), "\n")))
        << CounterName(c);
  }
}

TEST(FormatPrometheusTest, BreakdownsAreLabelledInEnumOrder) {
  const std::string text = FormatPrometheus(Snapshot());
  EXPECT_EQ(Family(text, "connmgr_inbound_rejected_total"),
            "# HELP connmgr_inbound_rejected_total Inbound connections rejected, by reason.\n"
            "# TYPE connmgr_inbound_rejected_total counter\n"
            "connmgr_inbound_rejected_total{reason=\"pending_limit\"} 10\n"
            "connmgr_inbound_rejected_total{reason=\"inbound_limit\"} 11\n"
            "connmgr_inbound_rejected_total{reason=\"connection_limit\"} 12\n"
            "connmgr_inbound_rejected_total{reason=\"resource_limit\"} 13\n"
            "connmgr_inbound_rejected_total{reason=\"denied\"} 14\n"
            "connmgr_inbound_rejected_total{reason=\"not_allowed\"} 15\n"
            "connmgr_inbound_rejected_total{reason=\"rate_limit_ip\"} 3\n"
            "connmgr_inbound_rejected_total{reason=\"rate_limit_subnet\"} 17\n"
            "connmgr_inbound_rejected_total{reason=\"rate_limit_global\"} 18\n"
            "connmgr_inbound_rejected_total{reason=\"ip_limit\"} 19\n"
            "connmgr_inbound_rejected_total{reason=\"subnet_limit\"} 20\n");
  EXPECT_EQ(Family(text, "connmgr_connections_closed_total"),
            "# HELP connmgr_connections_closed_total Connections closed, by reason.\n"
            "# TYPE connmgr_connections_closed_total counter\n"
            "connmgr_connections_closed_total{reason=\"transport\"} 20\n"
            "connmgr_connections_closed_total{reason=\"requested\"} 21\n"
            "connmgr_connections_closed_total{reason=\"upgrade_timeout\"} 22\n"
            "connmgr_connections_closed_total{reason=\"pruned\"} 23\n"
            "connmgr_connections_closed_total{reason=\"peer_limit\"} 24\n"
            "connmgr_connections_closed_total{reason=\"outbound_limit\"} 25\n"
            "connmgr_connections_closed_total{reason=\"resource_limit\"} 26\n"
            "connmgr_connections_closed_total{reason=\"denied\"} 27\n"
            "connmgr_connections_closed_total{reason=\"dial_failed\"} 28\n"
            "connmgr_connections_closed_total{reason=\"dial_cancelled\"} 29\n"
            "connmgr_connections_closed_total{reason=\"protocol_error\"} 30\n"
            "connmgr_connections_closed_total{reason=\"handshake_failed\"} 31\n"
            "connmgr_connections_closed_total{reason=\"slow_reader\"} 32\n"
            "connmgr_connections_closed_total{reason=\"memory_limit\"} 33\n"
            "connmgr_connections_closed_total{reason=\"pending_evicted\"} 34\n"
            "connmgr_connections_closed_total{reason=\"evicted\"} 35\n");
  EXPECT_EQ(Family(text, "connmgr_streams_rejected_total"),
            "# HELP connmgr_streams_rejected_total Streams rejected, by reason.\n"
            "# TYPE connmgr_streams_rejected_total counter\n"
            "connmgr_streams_rejected_total{reason=\"connection_closing\"} 30\n"
            "connmgr_streams_rejected_total{reason=\"connection_stream_limit\"} 31\n"
            "connmgr_streams_rejected_total{reason=\"resource_limit\"} 32\n");
  EXPECT_EQ(Family(text, "connmgr_stream_placements_total"),
            "# HELP connmgr_stream_placements_total PlaceStream questions answered, by "
            "outcome.\n"
            "# TYPE connmgr_stream_placements_total counter\n"
            "connmgr_stream_placements_total{outcome=\"placed\"} 40\n"
            "connmgr_stream_placements_total{outcome=\"not_connected\"} 41\n"
            "connmgr_stream_placements_total{outcome=\"stream_limit\"} 42\n"
            "connmgr_stream_placements_total{outcome=\"resource_limit\"} 43\n");
  EXPECT_EQ(Family(text, "connmgr_dial_outcomes_total"),
            "# HELP connmgr_dial_outcomes_total Dial requests that ended, by outcome.\n"
            "# TYPE connmgr_dial_outcomes_total counter\n"
            "connmgr_dial_outcomes_total{outcome=\"connected\"} 50\n"
            "connmgr_dial_outcomes_total{outcome=\"existing_connection\"} 51\n"
            "connmgr_dial_outcomes_total{outcome=\"no_addresses\"} 52\n"
            "connmgr_dial_outcomes_total{outcome=\"denied\"} 53\n"
            "connmgr_dial_outcomes_total{outcome=\"backed_off\"} 54\n"
            "connmgr_dial_outcomes_total{outcome=\"failed\"} 55\n"
            "connmgr_dial_outcomes_total{outcome=\"timeout\"} 56\n"
            "connmgr_dial_outcomes_total{outcome=\"cancelled\"} 57\n");
}

TEST(FormatPrometheusTest, FamiliesAppearOnceInDeclarationOrder) {
  std::vector<std::string> types;
  for (const std::string& line : Lines(FormatPrometheus(Snapshot()))) {
    if (absl::StartsWith(line, "# TYPE ")) types.push_back(line.substr(7));
  }
  const std::vector<std::string> expected = {
      "connmgr_connections gauge",
      "connmgr_peers gauge",
      "connmgr_streams gauge",
      "connmgr_protocol_streams gauge",
      "connmgr_streams_per_connection_p90 gauge",
      "connmgr_inputs_total counter",
      "connmgr_input_errors_total counter",
      "connmgr_inputs_refused_queue_full_total counter",
      "connmgr_clock_regressions_total counter",
      "connmgr_inbound_accepted_total counter",
      "connmgr_outbound_registered_total counter",
      "connmgr_connections_opened_total counter",
      "connmgr_close_commands_total counter",
      "connmgr_aborts_total counter",
      "connmgr_peers_connected_total counter",
      "connmgr_peers_disconnected_total counter",
      "connmgr_streams_opened_total counter",
      "connmgr_streams_closed_total counter",
      "connmgr_trims_total counter",
      "connmgr_pruned_total counter",
      "connmgr_memory_reserved_total counter",
      "connmgr_memory_denied_total counter",
      "connmgr_dial_requests_total counter",
      "connmgr_dials_joined_total counter",
      "connmgr_dials_refused_queue_full_total counter",
      "connmgr_dial_attempts_total counter",
      "connmgr_dial_attempts_failed_total counter",
      "connmgr_dial_jobs_finished_total counter",
      "connmgr_dns_queries_total counter",
      "connmgr_reconnect_attempts_total counter",
      "connmgr_reconnects_failed_total counter",
      "connmgr_config_updates_total counter",
      "connmgr_inbound_rejected_total counter",
      "connmgr_connections_closed_total counter",
      "connmgr_streams_rejected_total counter",
      "connmgr_stream_placements_total counter",
      "connmgr_memory_bytes gauge",
      "connmgr_dial_outcomes_total counter",
      "connmgr_dials_queued gauge",
      "connmgr_dials_running gauge",
      "connmgr_dial_backoff_entries gauge",
      "connmgr_dns_cache_entries gauge",
      "connmgr_tracked_sources gauge",
  };
  EXPECT_THAT(types, ElementsAreArray(expected));
}

// Every line is HELP, TYPE, or a sample of the family the last TYPE line named.
TEST(FormatPrometheusTest, EveryLineIsWellFormed) {
  Metrics m = Snapshot();
  m.streams_by_protocol.push_back({"odd \\ \"name\"\nwith newline", 1, 1});
  const std::string text = FormatPrometheus(m);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::string label = R"([a-z_]+="([^"\\\n]|\\[\\"n])*")";
  const std::regex sample("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{" + label + "(," + label +
                          ")*\\})? [0-9]+");
  std::string family;
  std::string help_family;
  for (const std::string& line : Lines(text)) {
    std::smatch match;
    if (std::regex_match(line, match, help)) {
      help_family = match[1];
      family.clear();
    } else if (std::regex_match(line, match, type)) {
      EXPECT_EQ(match[1], help_family) << line;
      family = match[1];
    } else {
      ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
      EXPECT_EQ(match[1], family) << line;
    }
  }
}

TEST(FormatPrometheusTest, EscapesBackslashQuoteAndNewlineInProtocolLabels) {
  Metrics m;
  m.streams_by_protocol = {{"/a\\b\"c\nd", 4, 5}};
  const std::string text = FormatPrometheus(m);
  EXPECT_THAT(text, HasSubstr("\nconnmgr_protocol_streams{protocol=\"/a\\\\b\\\"c\\nd\","
                              "direction=\"inbound\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("\nconnmgr_protocol_streams{protocol=\"/a\\\\b\\\"c\\nd\","
                              "direction=\"outbound\"} 5\n"));
}

TEST(FormatPrometheusTest, ReplacesBytesThatAreNotUtf8) {
  Metrics m;
  m.streams_by_protocol = {
      {"/caf\xC3\xA9/\xF0\x9F\x98\x80", 1, 0},  // valid: kept
      {"/bad\xFF", 2, 0},                       // never valid
      {"/cut\xC3", 3, 0},                       // sequence cut short
      {"/long\xC0\xAF", 4, 0},                  // overlong '/'
      {"/half\xED\xA0\x80", 5, 0},              // a surrogate
      {"/big\xF4\x90\x80\x80", 6, 0},           // above U+10FFFF
  };
  const std::string text = FormatPrometheus(m);
  const std::string kReplacement = "\xEF\xBF\xBD";
  EXPECT_THAT(text,
              HasSubstr("{protocol=\"/caf\xC3\xA9/\xF0\x9F\x98\x80\",direction=\"inbound\"} 1"));
  EXPECT_THAT(text, HasSubstr("{protocol=\"/bad" + kReplacement + "\",direction=\"inbound\"} 2"));
  EXPECT_THAT(text, HasSubstr("{protocol=\"/cut" + kReplacement + "\",direction=\"inbound\"} 3"));
  EXPECT_THAT(text, HasSubstr("{protocol=\"/long" + kReplacement + kReplacement +
                              "\",direction=\"inbound\"} 4"));
  EXPECT_THAT(text, HasSubstr("{protocol=\"/half" + kReplacement + kReplacement + kReplacement +
                              "\",direction=\"inbound\"} 5"));
  EXPECT_THAT(text, HasSubstr("{protocol=\"/big" + kReplacement + kReplacement + kReplacement +
                              kReplacement + "\",direction=\"inbound\"} 6"));
}

TEST(FormatPrometheusTest, PrefixIsSanitisedOrLeftOut) {
  const Metrics m = Snapshot();
  EXPECT_THAT(FormatPrometheus(m, "my_node"), HasSubstr("\nmy_node_peers 7\n"));
  EXPECT_THAT(FormatPrometheus(m, "my-node.v2"), HasSubstr("\nmy_node_v2_peers 7\n"));
  EXPECT_THAT(FormatPrometheus(m, "2x"), HasSubstr("\n_x_inputs_total 1000\n"));
  const std::string bare = FormatPrometheus(m, "");
  EXPECT_TRUE(absl::StartsWith(bare, "# HELP connections Connections"));
  EXPECT_THAT(bare, HasSubstr("\npeers 7\n"));
  EXPECT_THAT(bare, HasSubstr("\ninbound_rejected_total{reason=\"rate_limit_ip\"} 3\n"));
}

TEST(FormatPrometheusTest, EmptySnapshotListsEveryFamilyWithZeroes) {
  const std::string text = FormatPrometheus(Metrics{});
  int samples = 0;
  for (const std::string& line : Lines(text)) {
    if (line[0] == '#') continue;
    ++samples;
    EXPECT_TRUE(absl::EndsWith(line, " 0")) << line;
  }
  // 6 connections + peers + 2 streams + p90 + 27 plain counters + 11 + 16 + 3 + 4 breakdown
  // series + memory + 8 dial outcomes + 5 gauges; no protocol series.
  EXPECT_EQ(samples, 85);
  EXPECT_THAT(text, HasSubstr("# TYPE connmgr_protocol_streams gauge\n# HELP "));
}

TEST(FormatPrometheusTest, SameSnapshotSameBytes) {
  EXPECT_EQ(FormatPrometheus(Snapshot()), FormatPrometheus(Snapshot()));
}

}  // namespace
}  // namespace connmgr
