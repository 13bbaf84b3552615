#include "trace/trace_format.h"

#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/variants.h"
#include "trace/config_json.h"

namespace connmgr {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr const char* kDecayKinds[] = {"none", "fixed", "linear", "expire_when_inactive"};
constexpr const char* kBumpKinds[] = {"sum", "sum_bounded", "overwrite"};

constexpr size_t kMaxListItems = 1024;

OrderedJson Line(Instant at, absl::string_view kind_key, absl::string_view kind) {
  OrderedJson o = OrderedJson::object();
  o["t"] = at.nanoseconds();
  o[std::string(kind_key)] = std::string(kind);
  return o;
}

std::string Dump(const OrderedJson& o) {
  return o.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                OrderedJson::error_handler_t::replace);
}

// Writes one field by its type, in the order the kind lists its fields.
struct FieldEncoder {
  OrderedJson& o;

  template <typename T>
  void operator()(const char* key, const T& field, OmitWhenZero) const {
    if (field != T{}) (*this)(key, field);
  }
  template <typename T>
  void operator()(const char* key, const T& field) const {
    if constexpr (std::is_same_v<T, DecayPolicy>) {
      o[key] = kDecayKinds[static_cast<int>(field.kind)];
      o["decay_amount"] = field.amount;
      o["decay_percent_kept"] = field.percent_kept;
      o["decay_after"] = FormatDuration(field.after);
    } else if constexpr (std::is_same_v<T, BumpPolicy>) {
      o[key] = kBumpKinds[static_cast<int>(field.kind)];
      o["bump_min"] = field.min;
      o["bump_max"] = field.max;
    } else {
      o[key] = Value(field);
    }
  }

  static OrderedJson Value(ConnectionId v) { return v.value; }
  static OrderedJson Value(const Multiaddr& v) { return v.ToString(); }
  static OrderedJson Value(const PeerId& v) { return v.ToString(); }
  static OrderedJson Value(const IpPrefix& v) { return v.ToString(); }
  static OrderedJson Value(const std::string& v) { return v; }
  static OrderedJson Value(Duration v) { return FormatDuration(v); }
  static OrderedJson Value(const Config& v) { return ConfigToJson(v); }
  static OrderedJson Value(Direction v) { return std::string(DirectionName(v)); }
  static OrderedJson Value(RejectReason v) { return std::string(RejectReasonName(v)); }
  static OrderedJson Value(CloseReason v) { return std::string(CloseReasonName(v)); }
  static OrderedJson Value(StreamRejectReason v) { return std::string(StreamRejectReasonName(v)); }
  static OrderedJson Value(PlacementOutcome v) { return std::string(PlacementOutcomeName(v)); }
  static OrderedJson Value(DialOutcome v) { return std::string(DialOutcomeName(v)); }
  static OrderedJson Value(GateStage v) { return std::string(GateStageName(v)); }
  static OrderedJson Value(DnsRecordType v) { return std::string(DnsRecordTypeName(v)); }
  template <typename T>
  requires std::is_arithmetic_v<T>
  static OrderedJson Value(T v) { return v; }
  template <typename T>
  static OrderedJson Value(const std::vector<T>& list) {
    OrderedJson array = OrderedJson::array();
    for (const T& item : list) {
      if constexpr (requires { T::Fields(item, std::declval<FieldEncoder>()); }) {
        OrderedJson entry = OrderedJson::object();
        T::Fields(item, FieldEncoder{entry});
        array.push_back(std::move(entry));
      } else {
        array.push_back(Value(item));
      }
    }
    return array;
  }
};

// --- Decoding helpers: each names the field and the rule ---------------------------------------

class Fields {
 public:
  Fields(const Json& object, absl::string_view kind) : object_(object), kind_(kind) {}

  template <typename T, typename ParseFn>
  absl::Status Get(const char* key, T* out, ParseFn parse) {
    used_.push_back(key);
    auto it = object_.find(key);
    if (it == object_.end()) return Error(key, "missing");
    return parse(*it, out);
  }

  bool Has(const char* key) const { return object_.contains(key); }

  absl::Status Connection(const char* key, ConnectionId* out) {
    return Get(key, out, [&](const Json& v, ConnectionId* id) {
      if (!v.is_number_unsigned()) return Error(key, "expected a positive integer");
      id->value = v.get<uint64_t>();
      return absl::OkStatus();
    });
  }

  absl::Status Address(const char* key, Multiaddr* out) {
    return Get(key, out, [&](const Json& v, Multiaddr* addr) {
      if (!v.is_string()) return Error(key, "expected a multiaddr string");
      // "" records an empty address: an input the core refused is still a valid trace line.
      if (v.get<std::string>().empty()) {
        *addr = Multiaddr();
        return absl::OkStatus();
      }
      absl::StatusOr<Multiaddr> parsed = Multiaddr::Parse(v.get<std::string>());
      if (!parsed.ok()) return Error(key, parsed.status().message());
      *addr = *std::move(parsed);
      return absl::OkStatus();
    });
  }

  absl::Status Peer(const char* key, PeerId* out) {
    return Get(key, out, [&](const Json& v, PeerId* peer) {
      if (!v.is_string()) return Error(key, "expected a peer id string");
      if (v.get<std::string>().empty()) {
        // Copied from a named empty id: GCC 12 -O2 flags the temporary's inline storage
        // as maybe-uninitialized (-Werror) in `*peer = PeerId()`.
        static const PeerId kNoPeer;
        *peer = kNoPeer;
        return absl::OkStatus();
      }
      absl::StatusOr<PeerId> parsed = PeerId::Parse(v.get<std::string>());
      if (!parsed.ok()) return Error(key, parsed.status().message());
      *peer = *std::move(parsed);
      return absl::OkStatus();
    });
  }

  absl::Status Prefix(const char* key, IpPrefix* out) {
    return Get(key, out, [&](const Json& v, IpPrefix* prefix) {
      if (!v.is_string()) return Error(key, "expected an IP prefix string");
      absl::StatusOr<IpPrefix> parsed = IpPrefix::Parse(v.get<std::string>());
      if (!parsed.ok()) return Error(key, parsed.status().message());
      *prefix = *parsed;
      return absl::OkStatus();
    });
  }

  absl::Status Bool(const char* key, bool* out) {
    return Get(key, out, [&](const Json& v, bool* b) {
      if (!v.is_boolean()) return Error(key, "expected true or false");
      *b = v.get<bool>();
      return absl::OkStatus();
    });
  }

  // At most kMaxListItems items: a trace line is bounded, and so is what it may ask for.
  absl::Status Strings(const char* key, std::vector<std::string>* out) {
    return Get(key, out, [&](const Json& v, std::vector<std::string>* list) {
      if (!v.is_array()) return Error(key, "expected an array of strings");
      if (v.size() > kMaxListItems) {
        return Error(key, absl::StrCat("more than ", kMaxListItems, " items"));
      }
      for (const Json& item : v) {
        if (!item.is_string()) return Error(key, "expected an array of strings");
        list->push_back(item.get<std::string>());
      }
      return absl::OkStatus();
    });
  }

  absl::Status Addresses(const char* key, std::vector<Multiaddr>* out) {
    std::vector<std::string> texts;
    if (absl::Status s = Strings(key, &texts); !s.ok()) return s;
    for (const std::string& text : texts) {
      absl::StatusOr<Multiaddr> parsed = Multiaddr::Parse(text);
      if (!parsed.ok()) return Error(key, parsed.status().message());
      out->push_back(*std::move(parsed));
    }
    return absl::OkStatus();
  }

  absl::Status String(const char* key, std::string* out) {
    return Get(key, out, [&](const Json& v, std::string* s) {
      if (!v.is_string()) return Error(key, "expected a string");
      *s = v.get<std::string>();
      return absl::OkStatus();
    });
  }

  absl::Status Int64(const char* key, int64_t* out) {
    return Get(key, out, [&](const Json& v, int64_t* n) {
      if (!v.is_number_integer()) return Error(key, "expected an integer");
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) {
        return Error(key, "out of range");
      }
      *n = v.get<int64_t>();
      return absl::OkStatus();
    });
  }

  absl::Status Uint64(const char* key, uint64_t* out) {
    return Get(key, out, [&](const Json& v, uint64_t* n) {
      if (!v.is_number_unsigned()) return Error(key, "expected a non-negative integer");
      *n = v.get<uint64_t>();
      return absl::OkStatus();
    });
  }

  absl::Status Uint32(const char* key, uint32_t* out) {
    return Get(key, out, [&](const Json& v, uint32_t* n) {
      if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
        return Error(key, "expected an integer from 0 to 4294967295");
      }
      *n = static_cast<uint32_t>(v.get<uint64_t>());
      return absl::OkStatus();
    });
  }

  absl::Status DurationText(const char* key, Duration* out) {
    return Get(key, out, [&](const Json& v, Duration* d) {
      if (!v.is_string()) return Error(key, "expected a duration string such as \"10s\"");
      absl::StatusOr<Duration> parsed = ParseDuration(v.get<std::string>());
      if (!parsed.ok()) return Error(key, parsed.status().message());
      *d = *parsed;
      return absl::OkStatus();
    });
  }

  // One of `names`, stored as its index cast to the enum.
  template <typename Enum, size_t N>
  absl::Status Named(const char* key, const char* const (&names)[N], Enum* out) {
    return Get(key, out, [&](const Json& v, Enum* e) {
      for (size_t i = 0; i < N; ++i) {
        if (v.is_string() && v.get<std::string>() == names[i]) {
          *e = static_cast<Enum>(i);
          return absl::OkStatus();
        }
      }
      return Error(key, "unknown kind");
    });
  }

  absl::Status ConfigObject(Config* out) {
    return Get("config", out, [&](const Json& v, Config* config) {
      if (!v.is_object()) return Error("config", "expected an object of config keys");
      absl::StatusOr<Config> decoded = ConfigFieldsFromJson(v);
      if (!decoded.ok()) return Error("config", decoded.status().message());
      *config = *std::move(decoded);
      return absl::OkStatus();
    });
  }

  absl::Status CloseReasonName(const char* key, CloseReason* out) {
    return Get(key, out, [&](const Json& v, CloseReason* r) {
      for (int i = 0; i < kCloseReasonCount; ++i) {
        if (v.is_string() && v.get<std::string>() == connmgr::CloseReasonName(CloseReason(i))) {
          *r = CloseReason(i);
          return absl::OkStatus();
        }
      }
      return Error(key, "unknown close reason");
    });
  }

  absl::Status Direction(const char* key, connmgr::Direction* out) {
    return Get(key, out, [&](const Json& v, connmgr::Direction* d) {
      if (v == "inbound") {
        *d = Direction::kInbound;
      } else if (v == "outbound") {
        *d = Direction::kOutbound;
      } else {
        return Error(key, "expected \"inbound\" or \"outbound\"");
      }
      return absl::OkStatus();
    });
  }

  // Every key must have been read: a misspelt field is an error, not silently ignored.
  absl::Status NoOthers() const {
    for (const auto& [key, value] : object_.items()) {
      if (key == "t" || key == "in") continue;
      if (std::find(used_.begin(), used_.end(), key) == used_.end()) {
        return absl::InvalidArgumentError(absl::StrCat(kind_, ": unknown field \"", key, "\""));
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view key, absl::string_view rule) const {
    return absl::InvalidArgumentError(absl::StrCat(kind_, ": \"", key, "\": ", rule));
  }

  const Json& object_;
  std::string kind_;
  std::vector<std::string> used_;
};

// Decodes one field by its type; each names the key and the rule.
struct FieldDecoder {
  Fields& f;
  int version;
  absl::Status status;

  template <typename T>
  void operator()(const char* key, T& field, OmitWhenZero) {
    if (f.Has(key)) (*this)(key, field);
  }
  template <typename T>
  void operator()(const char* key, T& field) {
    // A field newer than the trace keeps its default; present, it is an unknown field.
    if (version < VersionThatAdded(key)) return;
    status.Update(Decode(key, field));
  }

  // Input fields added after version 1: stream ids (2), a transport close's reason and a
  // dial's certified addresses (3).
  static int VersionThatAdded(absl::string_view key) {
    if (key == "stream") return 2;
    if (key == "reason" || key == "certified") return 3;
    return 1;
  }

  absl::Status Decode(const char* key, ConnectionId& v) { return f.Connection(key, &v); }
  absl::Status Decode(const char* key, Multiaddr& v) { return f.Address(key, &v); }
  absl::Status Decode(const char* key, PeerId& v) { return f.Peer(key, &v); }
  absl::Status Decode(const char* key, IpPrefix& v) { return f.Prefix(key, &v); }
  absl::Status Decode(const char* key, bool& v) { return f.Bool(key, &v); }
  absl::Status Decode(const char* key, std::string& v) { return f.String(key, &v); }
  absl::Status Decode(const char* key, std::vector<std::string>& v) { return f.Strings(key, &v); }
  absl::Status Decode(const char* key, std::vector<Multiaddr>& v) { return f.Addresses(key, &v); }
  absl::Status Decode(const char* key, int64_t& v) { return f.Int64(key, &v); }
  absl::Status Decode(const char* key, uint64_t& v) { return f.Uint64(key, &v); }
  absl::Status Decode(const char* key, uint32_t& v) { return f.Uint32(key, &v); }
  absl::Status Decode(const char* key, Duration& v) { return f.DurationText(key, &v); }
  absl::Status Decode(const char* key, connmgr::Direction& v) { return f.Direction(key, &v); }
  absl::Status Decode(const char* key, CloseReason& v) { return f.CloseReasonName(key, &v); }
  absl::Status Decode(const char*, Config& v) { return f.ConfigObject(&v); }
  absl::Status Decode(const char* key, DecayPolicy& v) {
    absl::Status s = f.Named(key, kDecayKinds, &v.kind);
    s.Update(f.Int64("decay_amount", &v.amount));
    s.Update(f.Uint32("decay_percent_kept", &v.percent_kept));
    s.Update(f.DurationText("decay_after", &v.after));
    return s;
  }
  absl::Status Decode(const char* key, BumpPolicy& v) {
    absl::Status s = f.Named(key, kBumpKinds, &v.kind);
    s.Update(f.Int64("bump_min", &v.min));
    s.Update(f.Int64("bump_max", &v.max));
    return s;
  }
};

absl::StatusOr<Input> DecodeInput(const Json& o, const std::string& kind, int version) {
  Fields f(o, kind);
  std::optional<absl::StatusOr<Input>> decoded;
  ForEachAlternative<Input>([&]<typename T>(std::type_identity<T>) {
    if (T::kKind != kind) return false;
    T in{};
    FieldDecoder decoder{f, version, absl::OkStatus()};
    T::Fields(in, decoder);
    decoder.status.Update(f.NoOthers());
    if (decoder.status.ok()) {
      decoded = Input(std::move(in));
    } else {
      decoded = decoder.status;
    }
    return true;
  });
  if (!decoded)
    return absl::InvalidArgumentError(absl::StrCat("unknown input kind \"", kind, "\""));
  return *std::move(decoded);
}

absl::StatusOr<Json> ParseObject(absl::string_view line) {
  Json o = Json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (o.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!o.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  return o;
}

}  // namespace

std::string EncodeTraceHeader(const Config& config) {
  OrderedJson o = OrderedJson::object();
  o["connmgr_trace"] = kTraceVersion;
  o["config"] = ConfigToJson(config);
  return Dump(o);
}

std::string EncodeTraceInput(Instant at, const Input& input) {
  OrderedJson o = Line(at, "in", InputName(input));
  std::visit([&](const auto& in) { in.Fields(in, FieldEncoder{o}); }, input);
  return Dump(o);
}

std::string EncodeTraceOutput(Instant at, const Output& output) {
  OrderedJson o = Line(at, "out", OutputName(output));
  std::visit([&](const auto& out) { out.Fields(out, FieldEncoder{o}); }, output);
  return Dump(o);
}

std::string EncodeTraceError(Instant at, const absl::Status& status) {
  OrderedJson o = OrderedJson::object();
  o["t"] = at.nanoseconds();
  o["error"] = status.ToString();
  return Dump(o);
}

absl::StatusOr<Config> DecodeTraceHeader(absl::string_view line, int* version_out) {
  absl::StatusOr<Json> o = ParseObject(line);
  if (!o.ok()) return o.status();
  auto version = o->find("connmgr_trace");
  if (version == o->end()) {
    return absl::InvalidArgumentError(
        "not a trace header: the first line must hold \"connmgr_trace\" and \"config\"");
  }
  if (!version->is_number_integer() || version->get<int64_t>() < kOldestTraceVersion ||
      version->get<int64_t>() > kTraceVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("trace version ", version->dump(), " is not supported (this build reads ",
                     kOldestTraceVersion, " to ", kTraceVersion, ")"));
  }
  if (version_out != nullptr) *version_out = static_cast<int>(version->get<int64_t>());
  auto config = o->find("config");
  if (config == o->end()) return absl::InvalidArgumentError("header: \"config\" is missing");
  if (o->size() != 2) return absl::InvalidArgumentError("header: unexpected extra field");
  return ConfigFromJson(*config);
}

absl::StatusOr<TraceEntry> DecodeTraceEntry(absl::string_view line, int version) {
  absl::StatusOr<Json> o = ParseObject(line);
  if (!o.ok()) return o.status();
  auto t = o->find("t");
  if (t == o->end()) return absl::InvalidArgumentError("\"t\" is missing");
  if (!t->is_number_integer()) {
    return absl::InvalidArgumentError("\"t\": expected an integer count of nanoseconds");
  }
  TraceEntry entry{Instant::FromNanoseconds(t->get<int64_t>()), std::nullopt};
  auto kind = o->find("in");
  if (kind == o->end() && (o->contains("out") || o->contains("error"))) return entry;
  if (kind == o->end() || !kind->is_string()) {
    return absl::InvalidArgumentError("expected \"in\", \"out\" or \"error\"");
  }
  absl::StatusOr<Input> input = DecodeInput(*o, kind->get<std::string>(), version);
  if (!input.ok()) return input.status();
  entry.input = *std::move(input);
  return entry;
}

TraceWriter::TraceWriter(const Config& config, Sink sink) : sink_(std::move(sink)) {
  sink_(EncodeTraceHeader(config));
}

absl::StatusOr<ConnectionId> TraceWriter::Handle(Core& core, Instant now, const Input& input,
                                                 std::vector<Output>* outputs) {
  sink_(EncodeTraceInput(now, input));
  absl::StatusOr<ConnectionId> result = core.Handle(now, input);
  if (!result.ok()) sink_(EncodeTraceError(now, result.status()));
  while (std::optional<Output> out = core.PollOutput()) {
    sink_(EncodeTraceOutput(now, *out));
    if (outputs != nullptr) outputs->push_back(*std::move(out));
  }
  return result;
}

absl::Status TraceReplayer::AtLine(const absl::Status& status) const {
  return absl::Status(status.code(), absl::StrCat("line ", line_number_, ": ", status.message()));
}

absl::Status TraceReplayer::FeedLine(absl::string_view line) {
  ++line_number_;
  if (line.size() > kMaxTraceLineBytes) {
    return AtLine(
        absl::InvalidArgumentError(absl::StrCat("longer than ", kMaxTraceLineBytes, " bytes")));
  }
  if (core_ == nullptr) {
    absl::StatusOr<Config> config = DecodeTraceHeader(line, &version_);
    if (!config.ok()) return AtLine(config.status());
    absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(*config);
    if (!core.ok()) return AtLine(core.status());
    core_ = *std::move(core);
    writer_.emplace(*config, sink_);
    return absl::OkStatus();
  }
  absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(line, version_);
  if (!entry.ok()) return AtLine(entry.status());
  if (entry->input.has_value()) {
    // The core's answer, error or not, is part of the replayed trace, not a replay failure.
    writer_->Handle(*core_, entry->at, *entry->input).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status TraceReplayer::FeedStream(std::istream& in) {
  std::string line;
  char c;
  while (in.get(c)) {
    if (c != '\n') {
      // One byte past the cap is enough for FeedLine to refuse the line.
      if (line.size() <= kMaxTraceLineBytes) line.push_back(c);
      continue;
    }
    if (absl::Status s = FeedLine(line); !s.ok()) return s;
    line.clear();
  }
  if (!line.empty()) {
    if (absl::Status s = FeedLine(line); !s.ok()) return s;
  }
  if (core_ == nullptr) {
    return absl::InvalidArgumentError("line 1: the trace is empty; it needs a header line");
  }
  return absl::OkStatus();
}

}  // namespace connmgr
