// sim: runs a scenario on the many-node simulator and prints its summary table.
//
//   sim --scenario eclipse                 sim/scenarios/eclipse.json, every variant
//   sim --scenario PATH.json --seed 7      any scenario file, another seed
//   sim --scenario churn --set nodes=10000 --set duration=10m
//   sim --scenario storm --svg docs/sim-storm.svg --trace /tmp/node0.jsonl
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sim/simulator.h"

namespace connmgr::sim {
namespace {

constexpr char kUsage[] =
    "usage: sim --scenario NAME|FILE [--seed N] [--set KEY=VALUE]... [--svg FILE]\n"
    "           [--trace FILE [--trace-node N]] [--variant NAME]\n"
    "  Runs a scenario (sim/scenarios/NAME.json, or a file) on the deterministic simulator:\n"
    "  every node runs the real connmgr core. Prints one column of figures per variant.\n"
    "  --seed N         the scenario's seed (same seed, same output, byte for byte)\n"
    "  --set KEY=VALUE  override a scenario key (nodes=10000, duration=10m,\n"
    "                   node_config.max_connections=50)\n"
    "  --svg FILE       write the scenario's chart\n"
    "  --trace FILE     write node N's trace (default node 0) of the first variant, or of\n"
    "                   --variant NAME; replay it with //trace:replay\n";

// Under `bazel run` the working directory is the runfiles tree: relative paths the user gave
// are meant from the workspace, which Bazel names in BUILD_WORKSPACE_DIRECTORY.
std::string FromWorkspace(const std::string& path) {
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (ws == nullptr || path.empty() || path[0] == '/') return path;
  return absl::StrCat(ws, "/", path);
}

bool WriteFile(const std::string& relative_path, const std::string& text) {
  std::ofstream out(FromWorkspace(relative_path), std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

int Main(int argc, char** argv) {
  std::string scenario, svg, trace, variant;
  std::vector<std::string> overrides;
  uint32_t trace_node = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if ((a == "--scenario" && value(&scenario)) || (a == "--svg" && value(&svg)) ||
               (a == "--trace" && value(&trace)) || (a == "--variant" && value(&variant))) {
      // the value is stored
    } else if (a == "--set" && value(&v)) {
      overrides.push_back(v);
    } else if (a == "--seed" && value(&v)) {
      overrides.push_back(absl::StrCat("seed=", v));
    } else if (a == "--trace-node" && value(&v)) {
      if (!absl::SimpleAtoi(v, &trace_node)) {
        std::fprintf(stderr, "sim: --trace-node: not a node index: %s\n", v.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "sim: bad argument %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (scenario.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string path = scenario;
  if (path.find('/') == std::string::npos && path.find(".json") == std::string::npos) {
    path = absl::StrCat("sim/scenarios/", scenario, ".json");  // in the runfiles too
  } else {
    path = FromWorkspace(path);
  }
  absl::StatusOr<std::vector<Scenario>> scenarios = LoadScenarioFile(path, overrides);
  if (!scenarios.ok()) {
    std::fprintf(stderr, "sim: %s\n", std::string(scenarios.status().message()).c_str());
    return 2;
  }
  std::vector<RunResult> runs;
  bool traced = false;
  for (const Scenario& s : *scenarios) {
    RunOptions options;
    if (!trace.empty() && !traced && (variant.empty() || s.variant == variant)) {
      options.trace_node = trace_node;
      traced = true;
    }
    absl::StatusOr<RunResult> r = Simulate(s, options);
    if (!r.ok()) {
      std::fprintf(stderr, "sim: %s\n", std::string(r.status().message()).c_str());
      return 1;
    }
    if (options.trace_node && !WriteFile(trace, r->trace)) {
      std::fprintf(stderr, "sim: cannot write %s\n", trace.c_str());
      return 1;
    }
    runs.push_back(*std::move(r));
  }
  if (!trace.empty() && !traced) {
    std::fprintf(stderr, "sim: --variant %s: no such variant\n", variant.c_str());
    return 2;
  }
  std::fputs(FormatSummary(runs).c_str(), stdout);
  if (!svg.empty() && !WriteFile(svg, RenderSvg(runs))) {
    std::fprintf(stderr, "sim: cannot write %s\n", svg.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace connmgr::sim

int main(int argc, char** argv) { return connmgr::sim::Main(argc, argv); }
