#include "sim/scenario.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "trace/config_json.h"

namespace connmgr::sim {
namespace {

using Json = nlohmann::json;

absl::Status KeyError(absl::string_view key, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("scenario: ", key, ": ", rule));
}

absl::Status Read(const Json& v, absl::string_view key, uint32_t* out) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
    return KeyError(key, "must be an integer from 0 to 4294967295");
  }
  *out = v.get<uint32_t>();
  return absl::OkStatus();
}
absl::Status Read(const Json& v, absl::string_view key, uint64_t* out) {
  if (!v.is_number_unsigned()) return KeyError(key, "must be a non-negative integer");
  *out = v.get<uint64_t>();
  return absl::OkStatus();
}
absl::Status Read(const Json& v, absl::string_view key, bool* out) {
  if (!v.is_boolean()) return KeyError(key, "must be true or false");
  *out = v.get<bool>();
  return absl::OkStatus();
}
absl::Status Read(const Json& v, absl::string_view key, std::string* out) {
  if (!v.is_string()) return KeyError(key, "must be a string");
  *out = v.get<std::string>();
  return absl::OkStatus();
}
absl::Status Read(const Json& v, absl::string_view key, Duration* out) {
  if (!v.is_string()) return KeyError(key, "must be a duration string such as \"10s\"");
  absl::StatusOr<Duration> d = ParseDuration(v.get<std::string>());
  if (!d.ok()) return KeyError(key, d.status().message());
  if (*d < Duration::Zero() || d->is_infinite()) return KeyError(key, "must be finite, >= 0");
  *out = *d;
  return absl::OkStatus();
}
absl::Status Read(const Json& v, absl::string_view key, Config* out) {
  if (!v.is_object()) return KeyError(key, "must be a config object (docs/configuration.md)");
  absl::StatusOr<Config> c = ConfigFromJson(v);
  if (!c.ok()) return KeyError(key, c.status().message());
  *out = *std::move(c);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Scenario> ScenarioFromJson(const Json& object) {
  if (!object.is_object()) return KeyError("(top)", "must be a JSON object");
  Scenario s;
  for (const auto& [key, value] : object.items()) {
    absl::Status st;
#define CONNMGR_SIM_FIELD(name)     \
  if (key == #name) {               \
    st = Read(value, key, &s.name); \
    if (!st.ok()) return st;        \
    continue;                       \
  }
    CONNMGR_SIM_FIELD(name)
    CONNMGR_SIM_FIELD(seed)
    CONNMGR_SIM_FIELD(nodes)
    CONNMGR_SIM_FIELD(duration)
    CONNMGR_SIM_FIELD(sample_interval)
    CONNMGR_SIM_FIELD(latency_min)
    CONNMGR_SIM_FIELD(latency_max)
    CONNMGR_SIM_FIELD(loss_per_mille)
    CONNMGR_SIM_FIELD(handshake_round_trips)
    CONNMGR_SIM_FIELD(target_peers)
    CONNMGR_SIM_FIELD(dials_per_tick)
    CONNMGR_SIM_FIELD(maintain_interval)
    CONNMGR_SIM_FIELD(popular_maintains)
    CONNMGR_SIM_FIELD(want_popular)
    CONNMGR_SIM_FIELD(keep_alive_popular)
    CONNMGR_SIM_FIELD(shared_random_seed)
    CONNMGR_SIM_FIELD(node_config)
    CONNMGR_SIM_FIELD(popular_config)
    CONNMGR_SIM_FIELD(mean_lifetime)
    CONNMGR_SIM_FIELD(mean_downtime)
    CONNMGR_SIM_FIELD(attack_start)
    CONNMGR_SIM_FIELD(attack_rate)
    CONNMGR_SIM_FIELD(attacker_addresses)
    CONNMGR_SIM_FIELD(attacker_prefix)
    CONNMGR_SIM_FIELD(attacker_streams)
    CONNMGR_SIM_FIELD(outage_at)
    CONNMGR_SIM_FIELD(outage_percent)
    CONNMGR_SIM_FIELD(outage_downtime)
    CONNMGR_SIM_FIELD(warmup)
#undef CONNMGR_SIM_FIELD
    if (key == "variant" || key == "description") {
      if (key == "variant") {
        absl::Status v = Read(value, key, &s.variant);
        if (!v.ok()) return v;
      }
      continue;
    }
    return KeyError(key, "unknown key");
  }
  if (s.nodes < 2 || s.nodes > kMaxNodes) {
    return KeyError("nodes", absl::StrCat("must be from 2 to ", kMaxNodes));
  }
  if (s.latency_max < s.latency_min || s.latency_min <= Duration::Zero()) {
    return KeyError("latency_max", "must be >= latency_min > 0");
  }
  if (s.loss_per_mille > 1000) return KeyError("loss_per_mille", "must be at most 1000");
  if (s.sample_interval < Duration::Milliseconds(100)) {
    return KeyError("sample_interval", "must be at least 100ms");
  }
  if (s.maintain_interval < Duration::Milliseconds(100)) {
    return KeyError("maintain_interval", "must be at least 100ms");
  }
  if (s.duration > Duration::Minutes(int64_t{24} * 60))
    return KeyError("duration", "must be at most 24h");
  if (s.outage_percent > 100) return KeyError("outage_percent", "must be at most 100");
  if (s.attack_rate > 10'000) return KeyError("attack_rate", "must be at most 10000");
  if (s.attacker_addresses == 0 || s.attacker_addresses > 65'536) {
    return KeyError("attacker_addresses", "must be from 1 to 65536");
  }
  {
    int a = -1, b = -1;
    char tail = 0;
    if (std::sscanf(s.attacker_prefix.c_str(), "%d.%d%c", &a, &b, &tail) != 2 || a < 0 || a > 255 ||
        b < 0 || b > 255) {
      return KeyError("attacker_prefix", "must be the first two octets, such as \"99.99\"");
    }
  }
  if (s.attacker_streams > 64) return KeyError("attacker_streams", "must be at most 64");
  if (s.dials_per_tick > 64) return KeyError("dials_per_tick", "must be at most 64");
  if (s.handshake_round_trips > 16) return KeyError("handshake_round_trips", "must be at most 16");
  return s;
}

absl::StatusOr<std::vector<Scenario>> ParseScenarios(absl::string_view text,
                                                     const std::vector<std::string>& overrides) {
  Json file = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (file.is_discarded() || !file.is_object()) {
    return absl::InvalidArgumentError("scenario: not a JSON object");
  }
  Json variants = Json::array({Json::object()});
  if (file.contains("variants")) {
    variants = file["variants"];
    file.erase("variants");
    if (!variants.is_array() || variants.empty() || variants.size() > 16) {
      return KeyError("variants", "must be a list of 1 to 16 objects");
    }
  }
  Json patch = Json::object();
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--set ", o, ": must be KEY=JSON"));
    }
    Json value = Json::parse(o.substr(eq + 1), nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = o.substr(eq + 1);  // a bare string: 10m, true...
    // Nested config keys: node_config.max_connections=50.
    const std::string key = o.substr(0, eq);
    const size_t dot = key.find('.');
    if (dot == std::string::npos) {
      patch[key] = value;
    } else {
      patch[key.substr(0, dot)][key.substr(dot + 1)] = value;
    }
  }
  std::vector<Scenario> out;
  for (const Json& v : variants) {
    if (!v.is_object()) return KeyError("variants", "each must be an object");
    Json merged = file;
    Json variant = v;
    if (variant.contains("name")) {
      merged["variant"] = variant["name"];
      variant.erase("name");
    }
    merged.merge_patch(variant);
    merged.merge_patch(patch);
    absl::StatusOr<Scenario> s = ScenarioFromJson(merged);
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<Scenario>> LoadScenarioFile(const std::string& path,
                                                       const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("scenario: cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat("scenario: ", path, ": over 1 MiB"));
  }
  return ParseScenarios(text.str(), overrides);
}

}  // namespace connmgr::sim
