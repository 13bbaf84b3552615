// Named configs to start from: each a validated Config, with the reasoning for each value in
// docs/configuration.md ("Presets").
//
//   connmgr::Config config = connmgr::ProductionPreset();
//   config.max_connections = 1'000;                 // then adjust, as with any Config
//   absl::StatusOr<Config> named = connmgr::PresetConfig("restrictive");
//
// The config file and a trace header accept {"preset": "production", ...}: the preset first,
// then the other keys over it.
#ifndef CONNMGR_CORE_PRESETS_H_
#define CONNMGR_CORE_PRESETS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/config.h"

namespace connmgr {

// js-libp2p's defaults: `Config{}`.
Config DefaultPreset();
// A long-running public node: watermarks below the hard limit, go-libp2p's grace and silence
// periods, per-subnet rates, ranked dialing, reconnect jitter, diversity protection.
Config ProductionPreset();
// Many peers and much traffic: more connections and parallel dials, several connections per
// peer, streams to the least-loaded connection.
Config HighThroughputPreset();
// A private or exposed node that talks to known addresses only: allow-only mode, a low inbound
// threshold, a small pending limit, diversity protection.
Config RestrictivePreset();

// "default", "production", "high_throughput", "restrictive".
absl::Span<const absl::string_view> PresetNames();
// InvalidArgument naming the known presets for an unknown name.
absl::StatusOr<Config> PresetConfig(absl::string_view name);

}  // namespace connmgr

#endif  // CONNMGR_CORE_PRESETS_H_
