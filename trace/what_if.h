// What-if replay: runs a recorded trace's external events through a core with another config,
// acting as the embedder would, and compares its decisions with the recorded ones
// (docs/trace-format.md, "What-if replay").
//
//   std::ifstream in("recorded.jsonl");
//   absl::StatusOr<WhatIfReport> r = RunWhatIf(in, other_config, {});
//   std::cout << FormatWhatIf(*r);
//
// The recorded side is the trace replayed through this build (for a trace this build recorded,
// exactly the recording). The what-if side is fed the same external inputs, translated:
// - connection ids and DNS query ids are mapped (the two cores hand out their own);
// - inputs about a connection the what-if core refused, closed or never dialled are dropped;
// - a close only the what-if core asked for completes at once (the embedder reports
//   transport_closed), and the recorded transport_closed that completed a close only the
//   recorded core asked for is dropped (that connection stays open on the what-if side);
// - dials (and DNS lookups) only the what-if core asked for were never recorded: they fail
//   with "not recorded", or succeed with `assume_dials_succeed`; dials are matched when the
//   same input makes both cores dial the same peer at the same address;
// - its timer fires at its own deadlines, except a deadline the recorded core has too, which
//   fires when the recording's timer_expired does;
// - an update_config applies the settings it changes to the what-if config.
#ifndef CONNMGR_TRACE_WHAT_IF_H_
#define CONNMGR_TRACE_WHAT_IF_H_

#include <array>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/metrics.h"
#include "core/output.h"
#include "nlohmann/json.hpp"

namespace connmgr {

struct WhatIfOptions {
  bool assume_dials_succeed = false;
  size_t max_divergences = 10;  // kept in the report; all are counted
};

// One side's decisions over the whole trace.
struct WhatIfSide {
  Metrics metrics;                 // at the end
  uint64_t keep_alive_pruned = 0;  // pruned connections whose peer had a keep-alive tag
  uint64_t errors = 0;             // inputs the core refused with a status
};

// A step where the two cores decided differently: the recorded input (line, instant, kind)
// and each side's decisions, connection ids in the recording's numbering ("w5": a connection
// only the what-if core has).
struct WhatIfDivergence {
  int64_t line = 0;  // 0: the what-if core's own timer
  Instant at;
  std::string input;
  std::vector<std::string> recorded;
  std::vector<std::string> what_if;
};

struct WhatIfReport {
  Config recorded_config;
  Config what_if_config;
  WhatIfSide recorded;
  WhatIfSide what_if;
  uint64_t inputs = 0;              // recorded inputs
  uint64_t dropped_inputs = 0;      // not handed to the what-if core (see above)
  uint64_t unrecorded_dials = 0;    // what-if dial attempts answered without a recording
  uint64_t unrecorded_lookups = 0;  // what-if DNS lookups answered without a recording
  uint64_t divergent_steps = 0;
  std::vector<WhatIfDivergence> divergences;  // the first max_divergences
};

// Errors: the trace's own ("line N: problem"), or an invalid what-if config.
absl::StatusOr<WhatIfReport> RunWhatIf(std::istream& recorded, const Config& what_if,
                                       const WhatIfOptions& options);

// A side-by-side summary and the first divergences.
std::string FormatWhatIf(const WhatIfReport& report);
nlohmann::ordered_json WhatIfToJson(const WhatIfReport& report);

// `replay --what-if CONFIG.json TRACE`: reads both files and returns the summary (or, with
// `json`, the JSON form). Errors name the file.
absl::StatusOr<std::string> WhatIfFromFiles(const std::string& config_path,
                                            const std::string& trace_path,
                                            const WhatIfOptions& options, bool json);

}  // namespace connmgr

#endif  // CONNMGR_TRACE_WHAT_IF_H_
