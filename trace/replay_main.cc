// replay: runs a trace's inputs through the core and prints the trace it produces.
//
//   replay TRACE            the replayed trace, JSON Lines (byte-identical for a trace this
//                           build recorded)
//   replay --check TRACE    exit 1 at the first line where the replay differs from TRACE
//   replay --human TRACE    a readable timeline (seconds since the trace's first instant) and a
//                           metrics summary
//   replay --what-if CONFIG.json TRACE   what another config would have decided
//                           (trace/what_if.h; --assume-dials=succeed, --json, --diverging N)
//
// Relative paths are read from the directory the command ran from, under `bazel run` too
// (BUILD_WORKING_DIRECTORY).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/metrics.h"
#include "core/printable.h"
#include "nlohmann/json.hpp"
#include "trace/config_json.h"
#include "trace/trace_format.h"
#include "trace/what_if.h"

namespace connmgr {
namespace {

constexpr char kUsage[] =
    "usage: replay [--check | --human] TRACE\n"
    "  Replays TRACE (JSON Lines, docs/trace-format.md) through the connmgr core and prints\n"
    "  the trace it produces.\n"
    "  --check  compare the replay with TRACE; exit 1 at the first differing line\n"
    "  --human  print a readable timeline, in seconds since the trace's first instant, and a\n"
    "           metrics summary\n"
    "usage: replay --what-if CONFIG.json [--assume-dials=succeed] [--json] [--diverging N] TRACE\n"
    "  Runs TRACE's external events through a core with CONFIG.json instead and prints both\n"
    "  sides' decisions and the first N (10) steps where they differ (docs/trace-format.md).\n"
    "  Relative paths are read from the directory the command ran from.\n";

// `path` as the user meant it: relative to the directory the command ran from, which under
// `bazel run` is BUILD_WORKING_DIRECTORY (the process runs in its runfiles directory).
std::string UserPath(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || dir == nullptr || *dir == '\0') return path;
  return absl::StrCat(dir, "/", path);
}

// A field as the timeline shows it. Strings may come from remote peers (protocol ids, dial
// errors quoting what a peer sent): escaped and capped like everything the node prints; other
// values as JSON, non-ASCII escaped.
std::string Scalar(const nlohmann::ordered_json& v) {
  constexpr size_t kMaxFieldChars = 1024;
  return v.is_string() ? Printable(v.get<std::string>(), kMaxFieldChars)
                       : v.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/true);
}

// The keys of `config` whose values differ from `before`'s, as " key=value".
std::string ConfigChanges(const nlohmann::ordered_json& before,
                          const nlohmann::ordered_json& config) {
  std::string out;
  for (const auto& [key, value] : config.items()) {
    if (!before.contains(key) || before[key] != value) {
      absl::StrAppend(&out, " ", key, "=",
                      value.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/true));
    }
  }
  return out;
}

// The header shows only what differs from the defaults, an update_config what it changes
// (against the config last shown); other lines show their fields. Times are seconds since
// `first`, the trace's first instant (set from the first timed line).
std::string HumanLine(absl::string_view line, nlohmann::ordered_json& shown_config,
                      std::optional<int64_t>& first) {
  auto o = nlohmann::ordered_json::parse(line);
  if (o.contains("connmgr_trace")) {
    shown_config = o["config"];
    return absl::StrCat("config (differences from the defaults):",
                        ConfigChanges(ConfigToJson(Config{}), o["config"]));
  }
  if (o.contains("config")) {
    std::string changes = ConfigChanges(shown_config, o["config"]);
    shown_config = o["config"];
    o["config"] = changes.empty() ? " (no change)" : changes.substr(1);
  }
  const int64_t t = o["t"].get<int64_t>();
  if (!first) first = t;
  std::string out = absl::StrFormat("%9.3fs  ", static_cast<double>(t - *first) / 1e9);
  if (o.contains("in")) {
    absl::StrAppend(&out, "> ", Scalar(o["in"]));
  } else if (o.contains("out")) {
    absl::StrAppend(&out, "    < ", Scalar(o["out"]));
  } else {
    absl::StrAppend(&out, "    ! ", Scalar(o["error"]));
    return out;
  }
  for (const auto& [key, value] : o.items()) {
    if (key == "t" || key == "in" || key == "out") continue;
    // An update's config changes were written above, as JSON, from the parsed trace.
    const bool written_here = key == "config" && value.is_string();
    absl::StrAppend(&out, "  ", key, "=", written_here ? value.get<std::string>() : Scalar(value));
  }
  return out;
}

void PrintSummary(const Metrics& m) {
  std::printf("\nsummary\n");
  for (Direction d : {Direction::kInbound, Direction::kOutbound}) {
    std::printf("  %-9s connections: %llu pending, %llu open, %llu closing\n",
                std::string(DirectionName(d)).c_str(),
                static_cast<unsigned long long>(m.connections(d, ConnectionState::kPending)),
                static_cast<unsigned long long>(m.connections(d, ConnectionState::kOpen)),
                static_cast<unsigned long long>(m.connections(d, ConnectionState::kClosing)));
  }
  std::printf("  peers: %llu, streams: %llu in / %llu out, p90 streams per connection: %u\n",
              static_cast<unsigned long long>(m.peers),
              static_cast<unsigned long long>(m.streams_inbound),
              static_cast<unsigned long long>(m.streams_outbound), m.streams_per_connection_p90);
  for (int i = 0; i < kCounterCount; ++i) {
    if (m.counters[i] == 0) continue;
    std::printf("  %-26s %llu\n", std::string(CounterName(static_cast<Counter>(i))).c_str(),
                static_cast<unsigned long long>(m.counters[i]));
  }
  for (int i = 0; i < kRejectReasonCount; ++i) {
    if (m.rejected_by_reason[i] == 0) continue;
    std::printf("  rejected: %-16s %llu\n",
                std::string(RejectReasonName(static_cast<RejectReason>(i))).c_str(),
                static_cast<unsigned long long>(m.rejected_by_reason[i]));
  }
  for (int i = 0; i < kCloseReasonCount; ++i) {
    if (m.closed_by_reason[i] == 0) continue;
    std::printf("  closed: %-18s %llu\n",
                std::string(CloseReasonName(static_cast<CloseReason>(i))).c_str(),
                static_cast<unsigned long long>(m.closed_by_reason[i]));
  }
  for (int i = 0; i < kStreamRejectReasonCount; ++i) {
    if (m.streams_rejected_by_reason[i] == 0) continue;
    std::printf("  streams reset: %-11s %llu\n",
                std::string(StreamRejectReasonName(static_cast<StreamRejectReason>(i))).c_str(),
                static_cast<unsigned long long>(m.streams_rejected_by_reason[i]));
  }
  for (int i = 0; i < kPlacementOutcomeCount; ++i) {
    if (m.placements_by_outcome[i] == 0) continue;
    std::printf("  placements: %-14s %llu\n",
                std::string(PlacementOutcomeName(static_cast<PlacementOutcome>(i))).c_str(),
                static_cast<unsigned long long>(m.placements_by_outcome[i]));
  }
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool check = false;
  bool human = false;
  std::string path;
  std::string what_if;  // --what-if CONFIG.json
  WhatIfOptions what_if_options;
  bool json = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--what-if" && i + 1 < args.size()) {
      what_if = UserPath(args[++i]);
    } else if (a == "--assume-dials=succeed") {
      what_if_options.assume_dials_succeed = true;
    } else if (a == "--assume-dials=fail") {
      what_if_options.assume_dials_succeed = false;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--diverging" && i + 1 < args.size()) {
      size_t n = 0;
      if (!absl::SimpleAtoi(args[++i], &n) || n > 100'000) {
        std::fprintf(stderr, "replay: --diverging: a count from 0 to 100000\n");
        return 2;
      }
      what_if_options.max_divergences = n;
    } else if (a == "--check") {
      check = true;
    } else if (a == "--human") {
      human = true;
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "replay: unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    } else if (path.empty()) {
      path = UserPath(a);
    } else {
      std::fprintf(stderr, "replay: one trace at a time\n%s", kUsage);
      return 2;
    }
  }
  if (path.empty() || (check && human) || (!what_if.empty() && (check || human))) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!what_if.empty()) {
    absl::StatusOr<std::string> report = WhatIfFromFiles(what_if, path, what_if_options, json);
    if (!report.ok()) {
      std::fprintf(stderr, "replay: %s\n", std::string(report.status().message()).c_str());
      return 1;
    }
    std::fputs(report->c_str(), stdout);
    return 0;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot open %s\n", path.c_str());
    return 2;
  }

  std::vector<std::string> replayed;
  nlohmann::ordered_json shown_config;
  std::optional<int64_t> first_instant;
  TraceReplayer replayer([&](absl::string_view line) {
    if (check) {
      replayed.emplace_back(line);
    } else if (human) {
      std::printf("%s\n", HumanLine(line, shown_config, first_instant).c_str());
    } else {
      std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    }
  });
  if (absl::Status s = replayer.FeedStream(in); !s.ok()) {
    std::fprintf(stderr, "replay: %s: %s\n", path.c_str(), std::string(s.message()).c_str());
    return 1;
  }
  if (human) PrintSummary(replayer.core()->GetMetrics());
  if (!check) return 0;

  in.clear();
  in.seekg(0);
  std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines = absl::StrSplit(original, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  for (size_t i = 0; i < std::max(lines.size(), replayed.size()); ++i) {
    const std::string& want = i < lines.size() ? lines[i] : "(end of trace)";
    const std::string& got = i < replayed.size() ? replayed[i] : "(end of replay)";
    if (want != got) {
      std::fprintf(stderr, "replay: %s: line %zu differs\n  trace:  %s\n  replay: %s\n",
                   path.c_str(), i + 1, want.c_str(), got.c_str());
      return 1;
    }
  }
  std::printf("replay: %s: %zu lines, identical\n", path.c_str(), replayed.size());
  return 0;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) { return connmgr::Main(argc, argv); }
