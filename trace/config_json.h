// The JSON form of `Config`: the node's config file and the "config" of a trace header.
//
//   absl::StatusOr<Config> config = ParseConfigJson(R"({"max_connections": 500})");
//   std::string text = ConfigToJson(*config).dump();
//
// Keys are the `Config` field names; a missing key keeps its default (or the value of the
// preset named by an optional "preset" key, core/presets.h), an unknown key is an error that
// suggests the nearest known one. Durations are strings ("10s", "250ms", "1m30s"),
// rates are objects {"count": 5, "interval": "1s", "burst": 5}, IP lists hold CIDR strings.
// The result is validated: any error names the key and the rule; text that is not JSON gives the
// line and column where it stops being JSON.
#ifndef CONNMGR_TRACE_CONFIG_JSON_H_
#define CONNMGR_TRACE_CONFIG_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/config.h"
#include "nlohmann/json.hpp"

namespace connmgr {

// Every field, in declaration order.
nlohmann::ordered_json ConfigToJson(const Config& config);

absl::StatusOr<Config> ConfigFromJson(const nlohmann::json& object);
// The same without Config::Validate: for an update_config trace line, whose validity is the
// core's to judge (a refused update must still replay).
absl::StatusOr<Config> ConfigFieldsFromJson(const nlohmann::json& object);
absl::StatusOr<Config> ParseConfigJson(absl::string_view text);

// "10s", "250ms", "0": the duration forms used in config files and traces.
std::string FormatDuration(Duration d);
absl::StatusOr<Duration> ParseDuration(absl::string_view text);

}  // namespace connmgr

#endif  // CONNMGR_TRACE_CONFIG_JSON_H_
