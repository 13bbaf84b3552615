#include "trace/what_if.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/core.h"
#include "trace/config_json.h"
#include "trace/trace_format.h"

namespace connmgr {
namespace {

// Bounds on the work one recorded input may cause on the what-if side.
constexpr int kMaxFollowUpsPerStep = 100'000;
constexpr int kMaxTimerFiringsPerStep = 100'000;

std::string Seconds(Instant t) {
  return absl::StrFormat("%.3fs", static_cast<double>(t.nanoseconds()) / 1e9);
}

class WhatIfRun {
 public:
  WhatIfRun(std::unique_ptr<Core> recorded, std::unique_ptr<Core> what_if,
            const WhatIfOptions& options, WhatIfReport& report)
      : r_(std::move(recorded)), w_(std::move(what_if)), options_(options), report_(report) {}

  void Step(int64_t line, Instant at, const Input& input);
  void FireWhatIfTimers(Instant until);
  void Finish();

 private:
  struct PendingDial {
    uint64_t connection;
    PeerId peer;
    Multiaddr address;
    bool matched = false;
  };
  struct PendingLookup {
    uint64_t query;
    std::string name;
    DnsRecordType type;
    bool matched = false;
  };

  std::vector<Output> Drain(Core& core) {
    std::vector<Output> out;
    while (std::optional<Output> o = core.PollOutput()) out.push_back(*std::move(o));
    return out;
  }
  // The input for the what-if core, or nullopt to drop it.
  // `recorded_live`: the input's connection was live in the recorded core before it.
  std::optional<Input> Translate(const Input& input, const Config& recorded_before,
                                 bool recorded_live);
  // Hands `input` to the what-if core with every follow-up the embedder would make (completing
  // its own closes, answering unrecorded dials), appending everything it decided to `outputs`.
  void FeedWhatIf(Instant at, Input input, std::vector<Output>& outputs,
                  std::vector<PendingDial>& recorded_dials,
                  std::vector<PendingLookup>& recorded_lookups,
                  const absl::flat_hash_set<uint64_t>& recorded_closes,
                  std::optional<uint64_t> recorded_created = std::nullopt);
  std::optional<std::string> Describe(const Output& o, bool what_if) const;
  std::string Conn(uint64_t id, bool what_if) const {
    if (!what_if) return absl::StrCat(id);
    auto it = w2r_.find(id);
    return it == w2r_.end() ? absl::StrCat("w", id) : absl::StrCat(it->second);
  }
  void CountPrunes(const Core& core, const std::vector<Output>& outputs, WhatIfSide& side);
  void Compare(int64_t line, Instant at, absl::string_view input,
               const std::vector<Output>& recorded, const std::vector<Output>& what_if);

  std::unique_ptr<Core> r_;
  std::unique_ptr<Core> w_;
  const WhatIfOptions& options_;
  WhatIfReport& report_;
  absl::flat_hash_map<uint64_t, uint64_t> r2w_;  // recorded connection → what-if connection
  absl::flat_hash_map<uint64_t, uint64_t> w2r_;
  absl::flat_hash_set<uint64_t> recorded_self_closed_;  // the recorded core asked to close
  absl::flat_hash_set<uint64_t> shared_closes_;         // both asked, at the same input
  absl::flat_hash_map<uint64_t, uint64_t> queries_;     // recorded DNS query → what-if query
};

std::optional<Input> WhatIfRun::Translate(const Input& input, const Config& recorded_before,
                                          bool recorded_live) {
  Input out = input;
  bool keep = true;
  std::visit(
      [&](auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (requires { x.connection; }) {
          const uint64_t r = x.connection.value;
          if (r == 0) return;  // reserve_memory / release_memory without a connection
          auto it = r2w_.find(r);
          if (!recorded_live) {
            // Stale or unknown in the recording too: the same misuse (or harmless repeat) for
            // the what-if core. An id the recorded core never gave maps to one the what-if
            // core never gives either.
            x.connection.value = it != r2w_.end() ? it->second : (r | (uint64_t{1} << 62));
            return;
          }
          constexpr bool kCompletion = std::is_same_v<T, TransportClosed> ||
                                       std::is_same_v<T, DialSucceeded> ||
                                       std::is_same_v<T, DialFailed>;
          if (kCompletion && recorded_self_closed_.contains(r) && !shared_closes_.contains(r)) {
            keep = false;  // completes a close only the recorded core asked for
            return;
          }
          if (it == r2w_.end() || w_->connections().Find(ConnectionId{it->second}) == nullptr) {
            keep = false;  // never dialled, refused or closed on the what-if side
            return;
          }
          x.connection.value = it->second;
        } else if constexpr (std::is_same_v<T, DnsAnswered> || std::is_same_v<T, DnsFailed>) {
          auto it = queries_.find(x.query);
          if (it == queries_.end()) {
            keep = false;
            return;
          }
          x.query = it->second;
          queries_.erase(it);
        } else if constexpr (std::is_same_v<T, UpdateConfig>) {
          // The settings this update changes, applied to the what-if config.
          Config before = recorded_before;
          Config after = *x.config;
          Config mine = w_->config();
          VisitConfigFieldsOf(
              [](const char*, const auto& b, const auto& a, auto& m) {
                if (!(b == a)) m = a;
              },
              before, after, mine);
          x.config = std::move(mine);
        }
      },
      out);
  if (!keep) return std::nullopt;
  return out;
}

void WhatIfRun::FeedWhatIf(Instant at, Input input, std::vector<Output>& outputs,
                           std::vector<PendingDial>& recorded_dials,
                           std::vector<PendingLookup>& recorded_lookups,
                           const absl::flat_hash_set<uint64_t>& recorded_closes,
                           std::optional<uint64_t> recorded_created) {
  std::deque<Input> queue;
  queue.push_back(std::move(input));
  for (int n = 0; !queue.empty() && n < kMaxFollowUpsPerStep; ++n) {
    const Input next = std::move(queue.front());
    queue.pop_front();
    absl::StatusOr<ConnectionId> result = w_->Handle(at, next);
    if (!result.ok()) ++report_.what_if.errors;
    if (n == 0 && recorded_created && result.ok()) {
      // The connection this input created on both sides: map it before reading what the
      // what-if core decided about it.
      r2w_[*recorded_created] = result->value;
      w2r_[result->value] = *recorded_created;
    }
    for (Output& o : Drain(*w_)) {
      if (const auto* dial = std::get_if<DialAddress>(&o)) {
        auto match = std::find_if(recorded_dials.begin(), recorded_dials.end(), [&](auto& d) {
          return !d.matched && d.peer == dial->peer && d.address == dial->address;
        });
        if (match != recorded_dials.end()) {
          match->matched = true;
          r2w_[match->connection] = dial->connection.value;
          w2r_[dial->connection.value] = match->connection;
        } else {
          ++report_.unrecorded_dials;
          if (options_.assume_dials_succeed) {
            queue.push_back(DialSucceeded{dial->connection});
          } else {
            queue.push_back(DialFailed{dial->connection, "not recorded"});
          }
        }
      } else if (const auto* lookup = std::get_if<ResolveDns>(&o)) {
        auto match = std::find_if(recorded_lookups.begin(), recorded_lookups.end(), [&](auto& l) {
          return !l.matched && l.name == lookup->name && l.type == lookup->type;
        });
        if (match != recorded_lookups.end()) {
          match->matched = true;
          queries_[match->query] = lookup->query;
        } else {
          ++report_.unrecorded_lookups;
          queue.push_back(DnsFailed{lookup->query, "not recorded"});
        }
      } else if (std::holds_alternative<CloseConnection>(o) ||
                 std::holds_alternative<RejectConnection>(o) ||
                 std::holds_alternative<AbortConnection>(o)) {
        const ConnectionId id = std::visit(
            [](const auto& c) {
              if constexpr (requires { c.connection; }) return c.connection;
              return ConnectionId{};
            },
            o);
        auto it = w2r_.find(id.value);
        if (it != w2r_.end() && recorded_closes.contains(it->second)) {
          shared_closes_.insert(it->second);  // the recording's transport_closed completes it
        } else if (std::holds_alternative<CloseConnection>(o)) {
          queue.push_back(TransportClosed{id});  // the embedder closes it now
        }
      }
      outputs.push_back(std::move(o));
    }
  }
}

std::optional<std::string> WhatIfRun::Describe(const Output& out, bool what_if) const {
  auto conn = [&](ConnectionId id) { return Conn(id.value, what_if); };
  if (const auto* o = std::get_if<AcceptConnection>(&out)) {
    return absl::StrCat("accept_connection conn=", conn(o->connection));
  } else if (const auto* o = std::get_if<RejectConnection>(&out)) {
    return absl::StrCat("reject_connection conn=", conn(o->connection),
                        " reason=", RejectReasonName(o->reason));
  } else if (const auto* o = std::get_if<CloseConnection>(&out)) {
    return absl::StrCat("close_connection conn=", conn(o->connection),
                        " reason=", CloseReasonName(o->reason));
  } else if (const auto* o = std::get_if<AbortConnection>(&out)) {
    return absl::StrCat("abort_connection conn=", conn(o->connection));
  } else if (const auto* o = std::get_if<DialAddress>(&out)) {
    return absl::StrCat("dial_address conn=", conn(o->connection), " peer=", o->peer.ToString(),
                        " address=", o->address.ToString());
  } else if (const auto* o = std::get_if<CancelDialAttempt>(&out)) {
    return absl::StrCat("cancel_dial_attempt conn=", conn(o->connection));
  } else if (const auto* o = std::get_if<ResetStream>(&out)) {
    return absl::StrCat("reset_stream conn=", conn(o->connection), " protocol=", o->protocol);
  } else if (const auto* o = std::get_if<ResolveDns>(&out)) {
    return absl::StrCat("resolve_dns name=", o->name);
  } else if (const auto* o = std::get_if<ConnectionsPruned>(&out)) {
    std::vector<std::string> ids;
    for (const PrunedConnection& p : o->pruned) ids.push_back(conn(p.connection));
    return absl::StrCat("connections_pruned conns=", absl::StrJoin(ids, ","));
  } else if (const auto* o = std::get_if<DialResult>(&out)) {
    return absl::StrCat("dial_result request=", o->request,
                        " outcome=", DialOutcomeName(o->outcome));
  } else if (const auto* o = std::get_if<ReconnectFailed>(&out)) {
    return absl::StrCat("reconnect_failed peer=", o->peer.ToString());
  }
  return std::nullopt;
}

void WhatIfRun::CountPrunes(const Core& core, const std::vector<Output>& outputs,
                            WhatIfSide& side) {
  for (const Output& o : outputs) {
    if (const auto* p = std::get_if<ConnectionsPruned>(&o)) {
      for (const PrunedConnection& c : p->pruned) {
        if (core.tags().HasKeepAlive(c.peer)) ++side.keep_alive_pruned;
      }
    }
  }
}

void WhatIfRun::Compare(int64_t line, Instant at, absl::string_view input,
                        const std::vector<Output>& recorded, const std::vector<Output>& what_if) {
  WhatIfDivergence d;
  d.line = line;
  d.at = at;
  d.input = std::string(input);
  for (const Output& o : recorded) {
    if (std::optional<std::string> s = Describe(o, false)) d.recorded.push_back(*std::move(s));
  }
  for (const Output& o : what_if) {
    if (std::optional<std::string> s = Describe(o, true)) d.what_if.push_back(*std::move(s));
  }
  std::vector<std::string> a = d.recorded, b = d.what_if;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a == b) return;
  ++report_.divergent_steps;
  if (report_.divergences.size() < options_.max_divergences) {
    report_.divergences.push_back(std::move(d));
  }
}

void WhatIfRun::FireWhatIfTimers(Instant until) {
  // The what-if core's own deadlines, except one the recorded core shares: that one fires
  // when the recording's timer_expired does (the embedder's timing, kept).
  for (int n = 0; n < kMaxTimerFiringsPerStep; ++n) {
    const Instant deadline = w_->NextDeadline();
    if (deadline.is_never() || deadline > until || deadline == r_->NextDeadline()) return;
    std::vector<Output> outputs;
    std::vector<PendingDial> no_dials;
    std::vector<PendingLookup> no_lookups;
    FeedWhatIf(deadline, TimerExpired{}, outputs, no_dials, no_lookups, {});
    CountPrunes(*w_, outputs, report_.what_if);
    Compare(0, deadline, "timer_expired (the what-if core's own deadline)", {}, outputs);
  }
}

void WhatIfRun::Step(int64_t line, Instant at, const Input& input) {
  ++report_.inputs;
  FireWhatIfTimers(at);
  const Config recorded_before = r_->config();
  bool recorded_live = false;
  std::visit(
      [&](const auto& x) {
        if constexpr (requires { x.connection; }) {
          recorded_live = r_->connections().Find(x.connection) != nullptr;
        }
      },
      input);
  absl::StatusOr<ConnectionId> r_result = r_->Handle(at, input);
  if (!r_result.ok()) ++report_.recorded.errors;
  std::vector<Output> r_outputs = Drain(*r_);
  CountPrunes(*r_, r_outputs, report_.recorded);

  // What the recorded core did that the what-if side is matched against.
  std::vector<PendingDial> dials;
  std::vector<PendingLookup> lookups;
  absl::flat_hash_set<uint64_t> closes;
  for (const Output& o : r_outputs) {
    if (const auto* d = std::get_if<DialAddress>(&o)) {
      dials.push_back({d->connection.value, d->peer, d->address});
    } else if (const auto* l = std::get_if<ResolveDns>(&o)) {
      lookups.push_back({l->query, l->name, l->type});
    } else if (const auto* c = std::get_if<CloseConnection>(&o)) {
      closes.insert(c->connection.value);
      recorded_self_closed_.insert(c->connection.value);
    } else if (const auto* rj = std::get_if<RejectConnection>(&o)) {
      closes.insert(rj->connection.value);
      recorded_self_closed_.insert(rj->connection.value);
    } else if (const auto* a = std::get_if<AbortConnection>(&o)) {
      closes.insert(a->connection.value);
      recorded_self_closed_.insert(a->connection.value);
    } else if (const auto* c = std::get_if<CancelDialAttempt>(&o)) {
      recorded_self_closed_.insert(c->connection.value);
    }
  }

  std::vector<Output> w_outputs;
  std::optional<Input> translated = Translate(input, recorded_before, recorded_live);
  if (!translated) {
    ++report_.dropped_inputs;
  } else {
    const bool creates = std::holds_alternative<InboundConnection>(input) ||
                         std::holds_alternative<OutboundConnection>(input);
    std::optional<uint64_t> created;
    if (creates && r_result.ok()) created = r_result->value;
    FeedWhatIf(at, *std::move(translated), w_outputs, dials, lookups, closes, created);
  }
  CountPrunes(*w_, w_outputs, report_.what_if);
  Compare(line, at, InputName(input), r_outputs, w_outputs);
}

void WhatIfRun::Finish() {
  report_.recorded.metrics = r_->GetMetrics();
  report_.what_if.metrics = w_->GetMetrics();
}

// The summary rows: (label, recorded, what-if), rows where both are 0 left out except the
// first few.
std::vector<std::tuple<std::string, uint64_t, uint64_t>> Rows(const WhatIfReport& r) {
  const Metrics& a = r.recorded.metrics;
  const Metrics& b = r.what_if.metrics;
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> rows;
  rows.emplace_back("inbound accepted", a.counter(Counter::kInboundAccepted),
                    b.counter(Counter::kInboundAccepted));
  rows.emplace_back("inbound rejected", a.counter(Counter::kInboundRejected),
                    b.counter(Counter::kInboundRejected));
  for (int i = 0; i < kRejectReasonCount; ++i) {
    if (a.rejected_by_reason[i] == 0 && b.rejected_by_reason[i] == 0) continue;
    rows.emplace_back(absl::StrCat("  rejected: ", RejectReasonName(static_cast<RejectReason>(i))),
                      a.rejected_by_reason[i], b.rejected_by_reason[i]);
  }
  rows.emplace_back("connections opened", a.counter(Counter::kConnectionsOpened),
                    b.counter(Counter::kConnectionsOpened));
  rows.emplace_back("trims", a.counter(Counter::kTrims), b.counter(Counter::kTrims));
  rows.emplace_back("connections pruned", a.counter(Counter::kPruned), b.counter(Counter::kPruned));
  rows.emplace_back("  of keep-alive peers", r.recorded.keep_alive_pruned,
                    r.what_if.keep_alive_pruned);
  for (int i = 0; i < kCloseReasonCount; ++i) {
    if (a.closed_by_reason[i] == 0 && b.closed_by_reason[i] == 0) continue;
    rows.emplace_back(absl::StrCat("closed: ", CloseReasonName(static_cast<CloseReason>(i))),
                      a.closed_by_reason[i], b.closed_by_reason[i]);
  }
  auto open = [](const Metrics& m) {
    return m.connections(Direction::kInbound, ConnectionState::kOpen) +
           m.connections(Direction::kOutbound, ConnectionState::kOpen);
  };
  rows.emplace_back("open connections at the end", open(a), open(b));
  rows.emplace_back("peers kept at the end", a.peers, b.peers);
  rows.emplace_back("dial requests", a.counter(Counter::kDialRequests),
                    b.counter(Counter::kDialRequests));
  rows.emplace_back("dial attempts", a.counter(Counter::kDialAttempts),
                    b.counter(Counter::kDialAttempts));
  rows.emplace_back("reconnect attempts", a.counter(Counter::kReconnectAttempts),
                    b.counter(Counter::kReconnectAttempts));
  rows.emplace_back("reconnects given up", a.counter(Counter::kReconnectsFailed),
                    b.counter(Counter::kReconnectsFailed));
  rows.emplace_back("inputs refused (errors)", r.recorded.errors, r.what_if.errors);
  return rows;
}

// Config keys whose values differ, as "key: a -> b".
std::vector<std::string> ConfigDifferences(const Config& a, const Config& b) {
  const nlohmann::ordered_json ja = ConfigToJson(a), jb = ConfigToJson(b);
  std::vector<std::string> out;
  for (const auto& [key, value] : ja.items()) {
    if (jb[key] != value)
      out.push_back(absl::StrCat(key, ": ", value.dump(), " -> ", jb[key].dump()));
  }
  return out;
}

}  // namespace

absl::StatusOr<WhatIfReport> RunWhatIf(std::istream& in, const Config& what_if,
                                       const WhatIfOptions& options) {
  WhatIfReport report;
  std::unique_ptr<WhatIfRun> run;
  std::string line;
  int64_t number = 0;
  Instant last = Instant::FromNanoseconds(0);
  // Reads a line of at most kMaxTraceLineBytes, as the replayer does.
  while (std::getline(in, line)) {
    ++number;
    if (line.size() > kMaxTraceLineBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": longer than ", kMaxTraceLineBytes, " bytes"));
    }
    if (run == nullptr) {
      absl::StatusOr<Config> recorded = DecodeTraceHeader(line);
      if (!recorded.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", number, ": ", recorded.status().message()));
      }
      absl::StatusOr<std::unique_ptr<Core>> r = Core::Create(*recorded);
      if (!r.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", number, ": recorded config: ", r.status().message()));
      }
      absl::StatusOr<std::unique_ptr<Core>> w = Core::Create(what_if);
      if (!w.ok())
        return absl::InvalidArgumentError(absl::StrCat("what-if config: ", w.status().message()));
      report.recorded_config = *recorded;
      report.what_if_config = what_if;
      run = std::make_unique<WhatIfRun>(*std::move(r), *std::move(w), options, report);
      continue;
    }
    absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(line);
    if (!entry.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", number, ": ", entry.status().message()));
    }
    if (!entry->input) continue;  // a recorded output or error: derived again
    last = std::max(last, entry->at);
    run->Step(number, entry->at, *entry->input);
  }
  if (run == nullptr) return absl::InvalidArgumentError("line 1: no trace header");
  run->FireWhatIfTimers(last);
  run->Finish();
  return report;
}

std::string FormatWhatIf(const WhatIfReport& r) {
  std::string out = "what-if replay: the recorded config against the other one\n";
  std::vector<std::string> diff = ConfigDifferences(r.recorded_config, r.what_if_config);
  if (diff.empty()) absl::StrAppend(&out, "  (the configs are the same)\n");
  for (const std::string& d : diff) absl::StrAppend(&out, "  ", d, "\n");
  absl::StrAppend(&out, absl::StrFormat("\n%-32s %10s %10s\n", "", "recorded", "what-if"));
  for (const auto& [label, a, b] : Rows(r)) {
    absl::StrAppend(&out, absl::StrFormat("%-32s %10d %10d%s\n", label, a, b, a != b ? "  *" : ""));
  }
  absl::StrAppend(
      &out, absl::StrFormat("\n%d recorded inputs; %d dropped for the what-if core; %d what-if "
                            "dials and %d DNS lookups not recorded (answered %s)\n",
                            r.inputs, r.dropped_inputs, r.unrecorded_dials, r.unrecorded_lookups,
                            "as failed, or dials as succeeded with "
                            "--assume-dials=succeed"));
  absl::StrAppend(&out, absl::StrFormat("%d steps decided differently", r.divergent_steps));
  if (r.divergences.empty()) {
    absl::StrAppend(&out, "\n");
    return out;
  }
  absl::StrAppend(&out, absl::StrFormat("; the first %d:\n", r.divergences.size()));
  for (const WhatIfDivergence& d : r.divergences) {
    absl::StrAppend(
        &out, absl::StrFormat("  %s %s  %s\n", d.line > 0 ? absl::StrCat("line ", d.line) : "timer",
                              Seconds(d.at), d.input));
    absl::StrAppend(&out, "    recorded: ",
                    d.recorded.empty() ? "(nothing)" : absl::StrJoin(d.recorded, "; "), "\n");
    absl::StrAppend(&out, "    what-if:  ",
                    d.what_if.empty() ? "(nothing)" : absl::StrJoin(d.what_if, "; "), "\n");
  }
  return out;
}

nlohmann::ordered_json WhatIfToJson(const WhatIfReport& r) {
  nlohmann::ordered_json j;
  j["config_differences"] = ConfigDifferences(r.recorded_config, r.what_if_config);
  nlohmann::ordered_json summary = nlohmann::ordered_json::array();
  for (const auto& [label, a, b] : Rows(r)) {
    std::string key = label;
    key.erase(0, key.find_first_not_of(' '));
    summary.push_back({{"figure", key}, {"recorded", a}, {"what_if", b}});
  }
  j["summary"] = summary;
  j["inputs"] = r.inputs;
  j["dropped_inputs"] = r.dropped_inputs;
  j["unrecorded_dials"] = r.unrecorded_dials;
  j["unrecorded_lookups"] = r.unrecorded_lookups;
  j["divergent_steps"] = r.divergent_steps;
  nlohmann::ordered_json first = nlohmann::ordered_json::array();
  for (const WhatIfDivergence& d : r.divergences) {
    first.push_back({{"line", d.line},
                     {"t", d.at.nanoseconds()},
                     {"input", d.input},
                     {"recorded", d.recorded},
                     {"what_if", d.what_if}});
  }
  j["first_divergences"] = first;
  return j;
}

absl::StatusOr<std::string> WhatIfFromFiles(const std::string& config_path,
                                            const std::string& trace_path,
                                            const WhatIfOptions& options, bool json) {
  std::ifstream config_file(config_path, std::ios::binary);
  if (!config_file) return absl::NotFoundError(absl::StrCat("cannot open ", config_path));
  std::string text;
  // A config file is small: refuse anything past a generous bound rather than read it all.
  constexpr size_t kMaxConfigBytes = 16u << 20;
  char buffer[4096];
  while (config_file.read(buffer, sizeof buffer) || config_file.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(config_file.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return absl::InvalidArgumentError(absl::StrCat(config_path, ": over 16 MiB"));
    }
  }
  absl::StatusOr<Config> config = ParseConfigJson(text);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": ", config.status().message()));
  }
  std::ifstream in(trace_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", trace_path));
  absl::StatusOr<WhatIfReport> report = RunWhatIf(in, *config, options);
  if (!report.ok()) {
    return absl::Status(report.status().code(),
                        absl::StrCat(trace_path, ": ", report.status().message()));
  }
  return json ? WhatIfToJson(*report).dump(2) + "\n" : FormatWhatIf(*report);
}

}  // namespace connmgr
