// A simulation scenario: the network, the nodes' configs and what happens to them, read from a
// small JSON file (sim/scenarios/*.json, docs/simulation.md).
//
//   absl::StatusOr<std::vector<Scenario>> runs = LoadScenarioFile("sim/scenarios/eclipse.json");
//
// A file holds one scenario and, optionally, "variants": a list of objects, each with a "name"
// and keys that replace the scenario's own (JSON merge patch), so one file compares settings
// side by side ("protected" against "unprotected"). Unknown keys are errors naming the key.
#ifndef CONNMGR_SIM_SCENARIO_H_
#define CONNMGR_SIM_SCENARIO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/config.h"
#include "core/time.h"
#include "nlohmann/json.hpp"

namespace connmgr::sim {

// The largest network a scenario may ask for: every node holds a core, so memory is the bound.
inline constexpr uint32_t kMaxNodes = 100'000;

struct Scenario {
  std::string name;     // the file's "name"
  std::string variant;  // the variant's "name", or "" without variants
  uint64_t seed = 1;
  uint32_t nodes = 100;                       // node 0 is the "popular" node
  Duration duration = Duration::Minutes(10);  // simulated
  Duration sample_interval = Duration::Seconds(1);
  // Links: one-way latency drawn per pair of nodes, uniform in [min, max]; a dial's first
  // packet is lost with this probability (per mille), and the dialer's timeout then fires.
  Duration latency_min = Duration::Milliseconds(10);
  Duration latency_max = Duration::Milliseconds(80);
  uint32_t loss_per_mille = 0;
  uint32_t handshake_round_trips = 2;  // from accept to upgraded (security + muxer)

  // Every node but node 0, every `maintain_interval` (first at a random phase), dials random
  // live nodes while it has fewer than `target_peers` peers; and node 0 too when
  // `popular_maintains`. With `want_popular`, a node not connected to node 0 dials it too.
  uint32_t target_peers = 8;
  uint32_t dials_per_tick = 2;
  Duration maintain_interval = Duration::Seconds(5);
  bool popular_maintains = true;
  bool want_popular = false;
  bool keep_alive_popular = false;  // every node tags node 0 keep-alive (the core reconnects)

  // Every node's core gets its own random_seed, drawn from `seed`, unless this is set: then
  // they all use the configs' random_seed (and draw the same reconnect jitter).
  bool shared_random_seed = false;
  Config node_config;     // nodes 1..n-1
  Config popular_config;  // node 0

  // Churn: every node but node 0 lives for an exponential time of this mean (0: forever), is
  // down for an exponential time of `mean_downtime`, and comes back with a fresh core.
  Duration mean_lifetime = Duration::Zero();
  Duration mean_downtime = Duration::Seconds(30);

  // Attack on node 0 from one IPv4 /16: from `attack_start`, `attack_rate` connections per
  // second from random addresses among `attacker_addresses` in `attacker_prefix`/16, each
  // with a fresh peer id; each opens `attacker_streams` streams on a protocol that is not
  // closable, and holds its connection until node 0 closes it.
  Duration attack_start = Duration::Zero();
  uint32_t attack_rate = 0;  // 0: no attack
  uint32_t attacker_addresses = 4'096;
  std::string attacker_prefix = "99.99";
  uint32_t attacker_streams = 1;

  // Outage ("restart"): at `outage_at`, `outage_percent` % of the nodes (never node 0) lose
  // every connection and are unreachable for `outage_downtime`; their cores stay, so their
  // keep-alive peers are redialled on the reconnect schedule.
  Duration outage_at = Duration::Zero();
  uint32_t outage_percent = 0;  // 0: no outage
  Duration outage_downtime = Duration::Milliseconds(500);

  // Each headline figure this scenario's test pins, and the SVG chart's series.
  Duration warmup = Duration::Seconds(60);  // samples before this are not judged
};

absl::StatusOr<Scenario> ScenarioFromJson(const nlohmann::json& object);
// One Scenario per variant (or the one scenario). `overrides`, applied last to each, are
// "key=json" pairs from the command line ("nodes=10000", "duration=\"10m\"").
absl::StatusOr<std::vector<Scenario>> ParseScenarios(absl::string_view text,
                                                     const std::vector<std::string>& overrides);
absl::StatusOr<std::vector<Scenario>> LoadScenarioFile(const std::string& path,
                                                       const std::vector<std::string>& overrides);

}  // namespace connmgr::sim

#endif  // CONNMGR_SIM_SCENARIO_H_
