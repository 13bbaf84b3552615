// A deterministic, single-process, virtual-time simulator of many nodes, each running the real
// connmgr::Core (through sim/node.h), over a simulated network: per-link latency and loss,
// dialing, handshakes, streams, DNS and a clock, all events in one queue ordered by
// (time, sequence). No sockets, no threads, no wall clock: the same scenario and seed give the
// same run, byte for byte.
//
//   Scenario s = LoadScenarioFile("sim/scenarios/eclipse.json", {}).value()[0];
//   RunResult r = Simulate(s, {.trace_node = 0});
//   std::cout << FormatSummary({r});
#ifndef CONNMGR_SIM_SIMULATOR_H_
#define CONNMGR_SIM_SIMULATOR_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/scenario.h"

namespace connmgr::sim {

struct RunOptions {
  // Write this node's trace (trace/trace_format.h) into RunResult::trace. Only for the node's
  // first life: a node that goes down and comes back starts a fresh core, and its trace ends.
  std::optional<uint32_t> trace_node;
  // Bound on the trace's size; the run fails past it rather than grow without bound.
  size_t max_trace_bytes = 256u << 20;
};

struct RunResult {
  Scenario scenario;
  // Headline figures, in a fixed order, integers so they print and compare exactly.
  std::vector<std::pair<std::string, int64_t>> figures;
  // One value per sample (at sample_interval), for the charts.
  std::vector<double> sample_seconds;
  std::vector<std::pair<std::string, std::vector<double>>> series;
  std::string trace;
  uint64_t events = 0;

  int64_t figure(const std::string& name) const;  // -1 if absent
};

absl::StatusOr<RunResult> Simulate(const Scenario& scenario, const RunOptions& options = {});

// A table: one row per figure, one column per run (variant).
std::string FormatSummary(const std::vector<RunResult>& runs);

// An SVG line chart of the runs' main series (which ones depends on the scenario), written
// without any plotting dependency.
std::string RenderSvg(const std::vector<RunResult>& runs);

}  // namespace connmgr::sim

#endif  // CONNMGR_SIM_SIMULATOR_H_
