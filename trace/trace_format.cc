#include "trace/trace_format.h"

#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "trace/config_json.h"

namespace connmgr {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

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

  absl::Status Connection(ConnectionId* out) {
    return Get("conn", out, [&](const Json& v, ConnectionId* id) {
      if (!v.is_number_unsigned()) return Error("conn", "expected a positive integer");
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

  absl::Status Peer(PeerId* out) {
    return Get("peer", out, [&](const Json& v, PeerId* peer) {
      if (!v.is_string()) return Error("peer", "expected a peer id string");
      if (v.get<std::string>().empty()) {
        *peer = PeerId();
        return absl::OkStatus();
      }
      absl::StatusOr<PeerId> parsed = PeerId::Parse(v.get<std::string>());
      if (!parsed.ok()) return Error("peer", parsed.status().message());
      *peer = *std::move(parsed);
      return absl::OkStatus();
    });
  }

  absl::Status Prefix(IpPrefix* out) {
    return Get("prefix", out, [&](const Json& v, IpPrefix* prefix) {
      if (!v.is_string()) return Error("prefix", "expected an IP prefix string");
      absl::StatusOr<IpPrefix> parsed = IpPrefix::Parse(v.get<std::string>());
      if (!parsed.ok()) return Error("prefix", parsed.status().message());
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

  absl::Status Addresses(std::vector<Multiaddr>* out) {
    std::vector<std::string> texts;
    if (absl::Status s = Strings("addresses", &texts); !s.ok()) return s;
    for (const std::string& text : texts) {
      absl::StatusOr<Multiaddr> parsed = Multiaddr::Parse(text);
      if (!parsed.ok()) return Error("addresses", parsed.status().message());
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

  absl::Status Direction(connmgr::Direction* out) {
    return Get("direction", out, [&](const Json& v, connmgr::Direction* d) {
      if (v == "inbound") {
        *d = Direction::kInbound;
      } else if (v == "outbound") {
        *d = Direction::kOutbound;
      } else {
        return Error("direction", "expected \"inbound\" or \"outbound\"");
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

absl::StatusOr<Input> DecodeInput(const Json& o, const std::string& kind) {
  Fields f(o, kind);
  absl::Status s;
  Input input;
  if (kind == "inbound_connection") {
    InboundConnection in;
    s.Update(f.Address("remote", &in.remote));
    s.Update(f.Address("local", &in.local));
    input = std::move(in);
  } else if (kind == "outbound_connection") {
    OutboundConnection in;
    s.Update(f.Address("remote", &in.remote));
    s.Update(f.Address("local", &in.local));
    s.Update(f.Peer(&in.peer));
    input = std::move(in);
  } else if (kind == "connection_upgraded") {
    ConnectionUpgraded in;
    s.Update(f.Connection(&in.connection));
    s.Update(f.Peer(&in.peer));
    input = std::move(in);
  } else if (kind == "transport_closed") {
    TransportClosed in;
    s.Update(f.Connection(&in.connection));
    input = in;
  } else if (kind == "close_request") {
    CloseRequest in;
    s.Update(f.Connection(&in.connection));
    input = in;
  } else if (kind == "stream_opened" || kind == "stream_closed") {
    ConnectionId conn;
    std::string protocol;
    connmgr::Direction direction = Direction::kInbound;
    s.Update(f.Connection(&conn));
    s.Update(f.String("protocol", &protocol));
    s.Update(f.Direction(&direction));
    if (kind == "stream_opened") {
      input = StreamOpened{conn, std::move(protocol), direction};
    } else {
      input = StreamClosed{conn, std::move(protocol), direction};
    }
  } else if (kind == "place_stream") {
    PlaceStream in;
    s.Update(f.Peer(&in.peer));
    input = std::move(in);
  } else if (kind == "reserve_memory") {
    ReserveMemory in{};
    s.Update(f.Connection(&in.connection));
    s.Update(f.Uint64("bytes", &in.bytes));
    s.Update(f.Uint32("priority", &in.priority));
    input = in;
  } else if (kind == "release_memory") {
    ReleaseMemory in{};
    s.Update(f.Connection(&in.connection));
    s.Update(f.Uint64("bytes", &in.bytes));
    input = in;
  } else if (kind == "connection_secured") {
    ConnectionSecured in;
    s.Update(f.Connection(&in.connection));
    s.Update(f.Peer(&in.peer));
    input = std::move(in);
  } else if (kind == "deny_address" || kind == "undeny_address" || kind == "allow_address" ||
             kind == "unallow_address") {
    IpPrefix prefix;
    s.Update(f.Prefix(&prefix));
    if (kind == "deny_address") {
      input = DenyAddress{prefix};
    } else if (kind == "undeny_address") {
      input = UndenyAddress{prefix};
    } else if (kind == "allow_address") {
      input = AllowAddress{prefix};
    } else {
      input = UnallowAddress{prefix};
    }
  } else if (kind == "deny_peer" || kind == "undeny_peer") {
    PeerId peer;
    s.Update(f.Peer(&peer));
    if (kind == "deny_peer") {
      input = DenyPeer{std::move(peer)};
    } else {
      input = UndenyPeer{std::move(peer)};
    }
  } else if (kind == "dial_request") {
    DialRequest in{};
    s.Update(f.Uint64("request", &in.request));
    s.Update(f.Peer(&in.peer));
    s.Update(f.Addresses(&in.addresses));
    s.Update(f.Uint32("priority", &in.priority));
    s.Update(f.Bool("force", &in.force));
    s.Update(f.DurationText("timeout", &in.timeout));
    input = std::move(in);
  } else if (kind == "cancel_dial") {
    CancelDial in{};
    s.Update(f.Uint64("request", &in.request));
    input = in;
  } else if (kind == "dial_succeeded") {
    DialSucceeded in;
    s.Update(f.Connection(&in.connection));
    input = in;
  } else if (kind == "dial_failed") {
    DialFailed in;
    s.Update(f.Connection(&in.connection));
    s.Update(f.String("error", &in.error));
    input = std::move(in);
  } else if (kind == "dns_answered") {
    DnsAnswered in{};
    s.Update(f.Uint64("query", &in.query));
    s.Update(f.Strings("records", &in.records));
    s.Update(f.DurationText("ttl", &in.ttl));
    input = std::move(in);
  } else if (kind == "dns_failed") {
    DnsFailed in{};
    s.Update(f.Uint64("query", &in.query));
    s.Update(f.String("error", &in.error));
    input = std::move(in);
  } else if (kind == "set_peer_addresses") {
    SetPeerAddresses in;
    s.Update(f.Peer(&in.peer));
    s.Update(f.Addresses(&in.addresses));
    input = std::move(in);
  } else if (kind == "update_config") {
    UpdateConfig in;
    s.Update(f.ConfigObject(&in.config));
    input = std::move(in);
  } else if (kind == "timer_expired") {
    input = TimerExpired{};
  } else if (kind == "set_peer_tag") {
    SetPeerTag in;
    s.Update(f.Peer(&in.peer));
    s.Update(f.String("tag", &in.tag));
    s.Update(f.Int64("value", &in.value));
    input = std::move(in);
  } else if (kind == "register_decaying_tag") {
    RegisterDecayingTag in;
    s.Update(f.String("tag", &in.tag));
    s.Update(f.DurationText("interval", &in.interval));
    s.Update(f.Named("decay", kDecayKinds, &in.decay.kind));
    s.Update(f.Int64("decay_amount", &in.decay.amount));
    s.Update(f.Uint32("decay_percent_kept", &in.decay.percent_kept));
    s.Update(f.DurationText("decay_after", &in.decay.after));
    s.Update(f.Named("bump", kBumpKinds, &in.bump.kind));
    s.Update(f.Int64("bump_min", &in.bump.min));
    s.Update(f.Int64("bump_max", &in.bump.max));
    input = std::move(in);
  } else if (kind == "bump_peer_tag" || kind == "add_to_peer_tag") {
    PeerId peer;
    std::string tag;
    int64_t delta = 0;
    s.Update(f.Peer(&peer));
    s.Update(f.String("tag", &tag));
    s.Update(f.Int64("delta", &delta));
    if (kind == "bump_peer_tag") {
      input = BumpPeerTag{std::move(peer), std::move(tag), delta};
    } else {
      input = AddToPeerTag{std::move(peer), std::move(tag), delta};
    }
  } else if (kind == "remove_peer_tag" || kind == "protect_peer" || kind == "unprotect_peer") {
    PeerId peer;
    std::string tag;
    s.Update(f.Peer(&peer));
    s.Update(f.String("tag", &tag));
    if (kind == "remove_peer_tag") {
      input = RemovePeerTag{std::move(peer), std::move(tag)};
    } else if (kind == "protect_peer") {
      input = ProtectPeer{std::move(peer), std::move(tag)};
    } else {
      input = UnprotectPeer{std::move(peer), std::move(tag)};
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown input kind \"", kind, "\""));
  }
  s.Update(f.NoOthers());
  if (!s.ok()) return s;
  return input;
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
  std::visit(Overloaded{
                 [&](const RegisterDecayingTag& in) {
                   o["tag"] = in.tag;
                   o["interval"] = FormatDuration(in.interval);
                   o["decay"] = kDecayKinds[static_cast<int>(in.decay.kind)];
                   o["decay_amount"] = in.decay.amount;
                   o["decay_percent_kept"] = in.decay.percent_kept;
                   o["decay_after"] = FormatDuration(in.decay.after);
                   o["bump"] = kBumpKinds[static_cast<int>(in.bump.kind)];
                   o["bump_min"] = in.bump.min;
                   o["bump_max"] = in.bump.max;
                 },
                 // Every other kind writes the fields it has, always in this order.
                 [&](const auto& in) {
                   if constexpr (requires { in.request; }) o["request"] = in.request;
                   if constexpr (requires { in.query; }) o["query"] = in.query;
                   if constexpr (requires { in.remote; }) o["remote"] = in.remote.ToString();
                   if constexpr (requires { in.local; }) o["local"] = in.local.ToString();
                   if constexpr (requires { in.connection; }) o["conn"] = in.connection.value;
                   if constexpr (requires { in.peer; }) o["peer"] = in.peer.ToString();
                   if constexpr (requires { in.protocol; }) o["protocol"] = in.protocol;
                   if constexpr (requires { in.direction; }) {
                     o["direction"] = std::string(DirectionName(in.direction));
                   }
                   if constexpr (requires { in.tag; }) o["tag"] = in.tag;
                   if constexpr (requires { in.value; }) o["value"] = in.value;
                   if constexpr (requires { in.delta; }) o["delta"] = in.delta;
                   if constexpr (requires { in.bytes; }) o["bytes"] = in.bytes;
                   if constexpr (requires { in.prefix; }) o["prefix"] = in.prefix.ToString();
                   if constexpr (requires { in.addresses; }) {
                     OrderedJson list = OrderedJson::array();
                     for (const Multiaddr& a : in.addresses) list.push_back(a.ToString());
                     o["addresses"] = std::move(list);
                   }
                   if constexpr (requires { in.priority; }) o["priority"] = in.priority;
                   if constexpr (requires { in.force; }) o["force"] = in.force;
                   if constexpr (requires { in.timeout; })
                     o["timeout"] = FormatDuration(in.timeout);
                   if constexpr (requires { in.error; }) o["error"] = in.error;
                   if constexpr (requires { in.records; }) o["records"] = in.records;
                   if constexpr (requires { in.ttl; }) o["ttl"] = FormatDuration(in.ttl);
                   if constexpr (requires { in.config; }) o["config"] = ConfigToJson(in.config);
                 },
             },
             input);
  return Dump(o);
}

std::string EncodeTraceOutput(Instant at, const Output& output) {
  OrderedJson o = Line(at, "out", OutputName(output));
  std::visit(Overloaded{
                 [&](const AcceptConnection& out) { o["conn"] = out.connection.value; },
                 [&](const RejectConnection& out) {
                   o["conn"] = out.connection.value;
                   o["reason"] = std::string(RejectReasonName(out.reason));
                   if (out.hold != Duration::Zero()) o["hold"] = FormatDuration(out.hold);
                 },
                 [&](const CloseConnection& out) {
                   o["conn"] = out.connection.value;
                   o["reason"] = std::string(CloseReasonName(out.reason));
                 },
                 [&](const AbortConnection& out) { o["conn"] = out.connection.value; },
                 [&](const ConnectionOpened& out) {
                   o["conn"] = out.connection.value;
                   o["peer"] = out.peer.ToString();
                   o["direction"] = std::string(DirectionName(out.direction));
                 },
                 [&](const ConnectionClosed& out) {
                   o["conn"] = out.connection.value;
                   o["reason"] = std::string(CloseReasonName(out.reason));
                 },
                 [&](const PeerConnected& out) { o["peer"] = out.peer.ToString(); },
                 [&](const PeerDisconnected& out) { o["peer"] = out.peer.ToString(); },
                 [&](const ConnectionsPruned& out) {
                   o["open"] = out.open;
                   o["target"] = out.target;
                   OrderedJson pruned = OrderedJson::array();
                   for (const PrunedConnection& p : out.pruned) {
                     OrderedJson entry = OrderedJson::object();
                     entry["conn"] = p.connection.value;
                     entry["peer"] = p.peer.ToString();
                     entry["peer_value"] = p.peer_value;
                     entry["streams"] = p.streams;
                     entry["busy"] = p.busy;
                     pruned.push_back(std::move(entry));
                   }
                   o["pruned"] = std::move(pruned);
                 },
                 [&](const ScopeDenied& out) {
                   o["conn"] = out.connection.value;
                   o["scope"] = out.scope;
                   o["resource"] = out.resource;
                   o["used"] = out.used;
                   o["limit"] = out.limit;
                 },
                 [&](const ResetStream& out) {
                   o["conn"] = out.connection.value;
                   o["protocol"] = out.protocol;
                   o["direction"] = std::string(DirectionName(out.direction));
                   o["reason"] = std::string(StreamRejectReasonName(out.reason));
                 },
                 [&](const StreamPlaced& out) {
                   o["peer"] = out.peer.ToString();
                   o["conn"] = out.connection.value;
                   o["outcome"] = std::string(PlacementOutcomeName(out.outcome));
                 },
                 [&](const ConnectionGated& out) {
                   o["conn"] = out.connection.value;
                   o["stage"] = std::string(GateStageName(out.stage));
                   o["rule"] = out.rule;
                 },
                 [&](const DialAddress& out) {
                   o["conn"] = out.connection.value;
                   o["peer"] = out.peer.ToString();
                   o["address"] = out.address.ToString();
                 },
                 [&](const CancelDialAttempt& out) { o["conn"] = out.connection.value; },
                 [&](const ResolveDns& out) {
                   o["query"] = out.query;
                   o["name"] = out.name;
                   o["type"] = std::string(DnsRecordTypeName(out.type));
                 },
                 [&](const DialResult& out) {
                   o["request"] = out.request;
                   o["peer"] = out.peer.ToString();
                   o["conn"] = out.connection.value;
                   o["outcome"] = std::string(DialOutcomeName(out.outcome));
                   o["detail"] = out.detail;
                 },
                 [&](const DialAttemptFailed& out) {
                   o["conn"] = out.connection.value;
                   o["peer"] = out.peer.ToString();
                   o["address"] = out.address.ToString();
                   o["error"] = out.error;
                 },
                 [&](const ReconnectFailed& out) {
                   o["peer"] = out.peer.ToString();
                   o["attempts"] = out.attempts;
                 },
                 [&](const MemoryReservation& out) {
                   o["conn"] = out.connection.value;
                   o["bytes"] = out.bytes;
                   o["granted"] = out.granted;
                 },
             },
             output);
  return Dump(o);
}

std::string EncodeTraceError(Instant at, const absl::Status& status) {
  OrderedJson o = OrderedJson::object();
  o["t"] = at.nanoseconds();
  o["error"] = status.ToString();
  return Dump(o);
}

absl::StatusOr<Config> DecodeTraceHeader(absl::string_view line) {
  absl::StatusOr<Json> o = ParseObject(line);
  if (!o.ok()) return o.status();
  auto version = o->find("connmgr_trace");
  if (version == o->end()) {
    return absl::InvalidArgumentError(
        "not a trace header: the first line must hold \"connmgr_trace\" and \"config\"");
  }
  if (!version->is_number_integer() || version->get<int64_t>() != kTraceVersion) {
    return absl::InvalidArgumentError(absl::StrCat("trace version ", version->dump(),
                                                   " is not supported (this build reads ",
                                                   kTraceVersion, ")"));
  }
  auto config = o->find("config");
  if (config == o->end()) return absl::InvalidArgumentError("header: \"config\" is missing");
  if (o->size() != 2) return absl::InvalidArgumentError("header: unexpected extra field");
  return ConfigFromJson(*config);
}

absl::StatusOr<TraceEntry> DecodeTraceEntry(absl::string_view line) {
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
  absl::StatusOr<Input> input = DecodeInput(*o, kind->get<std::string>());
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
    absl::StatusOr<Config> config = DecodeTraceHeader(line);
    if (!config.ok()) return AtLine(config.status());
    absl::StatusOr<std::unique_ptr<Core>> core = Core::Create(*config);
    if (!core.ok()) return AtLine(core.status());
    core_ = *std::move(core);
    writer_.emplace(*config, sink_);
    return absl::OkStatus();
  }
  absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(line);
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
