#include "trace/config_json.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/presets.h"

namespace connmgr {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

absl::Status KeyError(absl::string_view key, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("config: ", key, ": ", rule));
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string UnknownKeyRule(absl::string_view key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const std::string& name : known) {
    size_t d = EditDistance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = name;
    }
  }
  if (best_distance <= std::max<size_t>(2, key.size() / 3)) {
    return absl::StrCat("unknown key; did you mean \"", best, "\"?");
  }
  return "unknown key";
}

// --- Encoding ------------------------------------------------------------------------------

OrderedJson Encode(uint32_t v) { return v; }
OrderedJson Encode(uint64_t v) { return v; }
OrderedJson Encode(bool v) { return v; }
OrderedJson Encode(Duration d) { return FormatDuration(d); }
OrderedJson Encode(const std::string& s) { return s; }
OrderedJson Encode(DialStrategy s) { return std::string(DialStrategyName(s)); }
OrderedJson Encode(StreamPlacement s) { return std::string(StreamPlacementName(s)); }

OrderedJson Encode(const RateLimit& r) {
  OrderedJson o = OrderedJson::object();
  o["count"] = r.count;
  o["interval"] = FormatDuration(r.interval);
  o["burst"] = r.burst;
  return o;
}

template <typename Visitor, typename ScopeT>
void VisitScopeFields(ScopeT& s, Visitor&& visit) {
  visit("connections_inbound", s.connections_inbound);
  visit("connections_outbound", s.connections_outbound);
  visit("connections", s.connections);
  visit("streams_inbound", s.streams_inbound);
  visit("streams_outbound", s.streams_outbound);
  visit("streams", s.streams);
  visit("file_descriptors", s.file_descriptors);
  visit("memory_bytes", s.memory_bytes);
}

OrderedJson Encode(const ScopeLimits& s) {
  OrderedJson o = OrderedJson::object();
  VisitScopeFields(s, [&](const char* name, uint64_t v) { o[name] = v; });
  return o;
}

template <typename T>
OrderedJson Encode(const std::vector<T>& items) {
  OrderedJson a = OrderedJson::array();
  for (const T& item : items) {
    if constexpr (std::is_same_v<T, std::string>) {
      a.push_back(item);
    } else {
      a.push_back(item.ToString());
    }
  }
  return a;
}

// --- Decoding ------------------------------------------------------------------------------

template <typename Int>
absl::Status DecodeUnsigned(const Json& v, absl::string_view key, Int* out) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return KeyError(key, "expected a non-negative integer");
  }
  const uint64_t n = v.get<uint64_t>();
  if (n > std::numeric_limits<Int>::max()) {
    return KeyError(key, absl::StrCat("must be at most ", std::numeric_limits<Int>::max()));
  }
  *out = static_cast<Int>(n);
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, uint32_t* out) {
  return DecodeUnsigned(v, key, out);
}
absl::Status Decode(const Json& v, absl::string_view key, uint64_t* out) {
  return DecodeUnsigned(v, key, out);
}

absl::Status Decode(const Json& v, absl::string_view key, bool* out) {
  if (!v.is_boolean()) return KeyError(key, "expected true or false");
  *out = v.get<bool>();
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, std::string* out) {
  if (!v.is_string()) return KeyError(key, "expected a string");
  *out = v.get<std::string>();
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, Duration* out) {
  if (!v.is_string()) {
    return KeyError(key, "expected a duration string such as \"10s\" or \"250ms\"");
  }
  absl::StatusOr<Duration> d = ParseDuration(v.get<std::string>());
  if (!d.ok()) return KeyError(key, d.status().message());
  *out = *d;
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, DialStrategy* out) {
  if (!v.is_string() || !ParseDialStrategy(v.get<std::string>(), out)) {
    return KeyError(key, "expected \"sequential\" or \"ranked\"");
  }
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, StreamPlacement* out) {
  if (!v.is_string() || !ParseStreamPlacement(v.get<std::string>(), out)) {
    return KeyError(key, "expected \"round_robin\" or \"least_loaded\"");
  }
  return absl::OkStatus();
}

absl::Status Parse(absl::string_view text, std::string* out) {
  *out = std::string(text);
  return absl::OkStatus();
}
absl::Status Parse(absl::string_view text, IpPrefix* out) {
  absl::StatusOr<IpPrefix> p = IpPrefix::Parse(text);
  if (!p.ok()) return p.status();
  *out = *p;
  return absl::OkStatus();
}
absl::Status Parse(absl::string_view text, PeerId* out) {
  absl::StatusOr<PeerId> p = PeerId::Parse(text);
  if (!p.ok()) return p.status();
  *out = *p;
  return absl::OkStatus();
}

template <typename T>
absl::Status Decode(const Json& v, absl::string_view key, std::vector<T>* out) {
  if (!v.is_array()) return KeyError(key, "expected an array of strings");
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string item_key = absl::StrCat(key, "[", i, "]");
    if (!v[i].is_string()) return KeyError(item_key, "expected a string");
    T item;
    if (absl::Status s = Parse(v[i].get<std::string>(), &item); !s.ok()) {
      return KeyError(item_key, s.message());
    }
    out->push_back(std::move(item));
  }
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, RateLimit* out);
absl::Status Decode(const Json& v, absl::string_view key, ScopeLimits* out);

// Decodes the keys of `v` into the fields `visit_fields` names; unknown keys are errors.
template <typename VisitFields>
absl::Status DecodeObject(const Json& v, absl::string_view prefix, VisitFields visit_fields) {
  if (!v.is_object()) {
    return KeyError(prefix.empty() ? "(top level)" : prefix, "expected a JSON object");
  }
  std::vector<std::string> known;
  visit_fields([&](absl::string_view name, auto&) { known.emplace_back(name); });
  for (const auto& item : v.items()) {
    const std::string& key = item.key();
    const Json& value = item.value();
    const std::string full_key = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    bool found = false;
    absl::Status status;
    visit_fields([&](absl::string_view name, auto& field) {
      if (name != key) return;
      found = true;
      status = Decode(value, full_key, &field);
    });
    if (!found) return KeyError(full_key, UnknownKeyRule(key, known));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status Decode(const Json& v, absl::string_view key, RateLimit* out) {
  return DecodeObject(v, key, [&](auto&& visit) {
    visit("count", out->count);
    visit("interval", out->interval);
    visit("burst", out->burst);
  });
}

absl::Status Decode(const Json& v, absl::string_view key, ScopeLimits* out) {
  return DecodeObject(v, key, [&](auto&& visit) { VisitScopeFields(*out, visit); });
}

// "config: not valid JSON at line L, column C: what is wrong", where the parser stopped at
// byte `byte` (1-based: the last byte it read) of `text`.
absl::Status JsonSyntaxError(absl::string_view text, size_t byte, absl::string_view what) {
  const size_t offset = std::min(byte == 0 ? 0 : byte - 1, text.size());
  const absl::string_view before = text.substr(0, offset);
  const size_t line = 1 + std::count(before.begin(), before.end(), '\n');
  const size_t line_start = before.rfind('\n');
  const size_t column = offset - (line_start == absl::string_view::npos ? 0 : line_start + 1) + 1;
  // nlohmann's message: "[json.exception.parse_error.101] parse error at line 2, column 5:
  // syntax error while parsing ..."; keep what follows its position.
  const size_t at = what.find("column ");
  const size_t colon = at == absl::string_view::npos ? at : what.find(": ", at);
  const absl::string_view detail = colon == absl::string_view::npos ? what : what.substr(colon + 2);
  return absl::InvalidArgumentError(
      absl::StrCat("config: not valid JSON at line ", line, ", column ", column, ": ", detail));
}

}  // namespace

OrderedJson ConfigToJson(const Config& config) {
  OrderedJson o = OrderedJson::object();
  VisitConfigFields(config, [&](const char* name, const auto& field) { o[name] = Encode(field); });
  return o;
}

absl::StatusOr<Config> ConfigFieldsFromJson(const Json& object) {
  // "preset" names the base the other keys apply to.
  std::string preset = "default";
  if (object.is_object() && object.contains("preset")) {
    if (absl::Status s = Decode(object["preset"], "preset", &preset); !s.ok()) return s;
  }
  absl::StatusOr<Config> base = PresetConfig(preset);
  if (!base.ok()) return base.status();
  Config config = *std::move(base);
  if (absl::Status s = DecodeObject(object, "",
                                    [&](auto&& visit) {
                                      visit("preset", preset);
                                      VisitConfigFields(config, visit);
                                    });
      !s.ok()) {
    return s;
  }
  return config;
}

absl::StatusOr<Config> ConfigFromJson(const Json& object) {
  absl::StatusOr<Config> config = ConfigFieldsFromJson(object);
  if (!config.ok()) return config;
  if (absl::Status s = config->Validate(); !s.ok()) return s;
  return config;
}

absl::StatusOr<Config> ParseConfigJson(absl::string_view text) {
  Json object;
  try {
    object = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return JsonSyntaxError(text, e.byte, e.what());
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: not valid JSON: ", e.what()));
  }
  return ConfigFromJson(object);
}

std::string FormatDuration(Duration d) {
  if (d.is_infinite()) return "inf";
  return absl::FormatDuration(absl::Nanoseconds(d.nanoseconds()));
}

absl::StatusOr<Duration> ParseDuration(absl::string_view text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text,
        "\" is not a duration; use a number with a unit: \"10s\", \"250ms\", \"1m30s\""));
  }
  if (d == absl::InfiniteDuration()) return Duration::Infinite();
  if (d < absl::ZeroDuration()) return Duration::Nanoseconds(absl::ToInt64Nanoseconds(d));
  if (d >= absl::Nanoseconds(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is too long; use \"inf\""));
  }
  return Duration::Nanoseconds(absl::ToInt64Nanoseconds(d));
}

}  // namespace connmgr
