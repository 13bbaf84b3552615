// Runs a churn workload (churn_trace.cc) through connmgr's core and prints its throughput.
//
//   churn_core --trace=/tmp/churn.jsonl [--runs=3]
//
// Everything is parsed into memory first (peer ids, multiaddrs, the inputs) and every core input
// is built, in trace order, before the loop; only the loop over the inputs is timed. The last line
// also gives heap allocations per input inside the loop (bench:allocation_counter). Each trace
// input is one Core::Handle call, after which the outputs are drained; the driver plays the
// embedder:
// - a CloseConnection (a prune) is confirmed at once with TransportClosed, as a transport whose
//   close completes immediately would (these calls are inside the timing, counted as
//   "confirmations");
// - when NextDeadline() has passed, TimerExpired is handed in first (counted as "timers");
// - inputs naming a connection the core already rejected or closed are skipped, as an
//   embedder whose socket is gone would (counted as "skipped"; they still count as inputs).
// With --runs=K the whole workload runs K times, each on a fresh core; the best run is reported
// on the last line as key=value pairs for run.sh, with the median rate over the runs (on a shared
// machine the best run is the machine's own speed, the median what its neighbours left). Every
// run must make the same decisions; a run that does not fails the program.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "bench/allocation_counter.h"
#include "core/core.h"
#include "nlohmann/json.hpp"

namespace connmgr {
namespace {

using Json = nlohmann::json;

enum class Kind : uint8_t { kInbound, kUpgraded, kOutbound, kClosed, kTag, kUntag };

struct Event {
  int64_t t;
  Kind kind;
  uint8_t tag;
  uint32_t conn;
  uint32_t peer;
  int64_t value;
};

struct Workload {
  uint64_t max_connections = 300;
  std::vector<PeerId> peers;
  std::vector<Multiaddr> addrs;
  std::vector<std::string> tags;  // names, indexed by Event::tag
  std::vector<Event> events;
  uint32_t connections = 0;
};

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "churn_core: %s\n", message.c_str());
  std::exit(1);
}

Workload Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail("cannot read " + path);
  Workload w;
  std::string line;
  if (!std::getline(in, line)) Fail("empty trace");
  const Json header = Json::parse(line);
  if (header.value("churn_trace", 0) != 1) Fail("not a churn trace (version 1)");
  w.max_connections = header.at("max_connections").get<uint64_t>();
  const uint64_t peers = header.at("peers").get<uint64_t>();
  w.events.reserve(header.at("inputs").get<uint64_t>());
  absl::flat_hash_map<std::string, uint8_t> tag_index;
  while (std::getline(in, line)) {
    const Json j = Json::parse(line);
    if (j.contains("id")) {
      absl::StatusOr<PeerId> id = PeerId::Parse(j.at("id").get<std::string>());
      absl::StatusOr<Multiaddr> addr = Multiaddr::Parse(j.at("addr").get<std::string>());
      if (!id.ok() || !addr.ok()) Fail("bad peer line: " + line);
      w.peers.push_back(*std::move(id));
      w.addrs.push_back(*std::move(addr));
      continue;
    }
    Event e{};
    e.t = j.at("t").get<int64_t>();
    const std::string kind = j.at("in").get<std::string>();
    if (kind == "inbound") {
      e.kind = Kind::kInbound;
    } else if (kind == "upgraded") {
      e.kind = Kind::kUpgraded;
    } else if (kind == "outbound") {
      e.kind = Kind::kOutbound;
    } else if (kind == "closed") {
      e.kind = Kind::kClosed;
    } else if (kind == "tag") {
      e.kind = Kind::kTag;
      e.value = j.at("value").get<int64_t>();
    } else if (kind == "untag") {
      e.kind = Kind::kUntag;
    } else {
      Fail("unknown input kind: " + line);
    }
    if (j.contains("conn")) {
      e.conn = j.at("conn").get<uint32_t>();
      w.connections = std::max(w.connections, e.conn + 1);
    }
    if (j.contains("peer")) {
      e.peer = j.at("peer").get<uint32_t>();
      if (e.peer >= w.peers.size()) Fail("unknown peer: " + line);
    }
    if (j.contains("tag")) {
      const std::string name = j.at("tag").get<std::string>();
      auto [it, added] = tag_index.try_emplace(name, static_cast<uint8_t>(w.tags.size()));
      if (added) w.tags.push_back(name);
      e.tag = it->second;
    }
    w.events.push_back(e);
  }
  if (w.peers.size() != peers) Fail("peer count differs from the header");
  return w;
}

// CPU time of this thread: what the loop cost, without the time other processes took the CPU.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Result {
  double seconds = 0;      // wall time of the loop
  double cpu_seconds = 0;  // this thread's CPU time in the loop
  uint64_t handle_calls = 0;
  uint64_t confirmations = 0;
  uint64_t timers = 0;
  uint64_t skipped = 0;
  uint64_t errors = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t prunes = 0;  // connections chosen by trims (ConnectionsPruned entries)
  uint64_t prune_events = 0;
  uint64_t open_at_end = 0;
  uint64_t allocations = 0;  // operator new calls inside the timed loop
};

// The counts that follow from the core's decisions (not from timing or the allocator).
bool SameDecisions(const Result& a, const Result& b) {
  return std::tie(a.handle_calls, a.confirmations, a.timers, a.skipped, a.errors, a.accepted,
                  a.rejected, a.prunes, a.prune_events, a.open_at_end) ==
         std::tie(b.handle_calls, b.confirmations, b.timers, b.skipped, b.errors, b.accepted,
                  b.rejected, b.prunes, b.prune_events, b.open_at_end);
}

enum class State : uint8_t { kNone, kPending, kOpen, kGone };

// One function on purpose: the timed loop and the lambdas it calls share this frame's state;
// cutting it up would change the hot path measured against js-libp2p.
// NOLINTNEXTLINE(readability-function-size)
Result RunOnce(const Workload& w) {
  Config config;
  config.max_connections = static_cast<uint32_t>(w.max_connections);
  config.max_output_queue = 1 << 20;
  std::unique_ptr<Core> core = Core::Create(config).value();
  const Multiaddr local = Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value();

  // Every input is built before the timed loop, in trace order, so the loop reads them as an
  // embedder hands them in: each one just made, not fetched from a per-peer table. The loop only
  // patches connection ids in place.
  std::vector<Input> inputs;
  inputs.reserve(w.events.size());
  auto tag_name = [&](const Event& e) {
    return e.tag < w.tags.size() ? w.tags[e.tag] : std::string();  // a trace may omit names
  };
  for (const Event& e : w.events) {
    switch (e.kind) {
      case Kind::kInbound:
        inputs.emplace_back(InboundConnection{w.addrs[e.peer], local});
        break;
      case Kind::kOutbound:
        inputs.emplace_back(OutboundConnection{w.addrs[e.peer], local, w.peers[e.peer]});
        break;
      case Kind::kUpgraded:
        inputs.emplace_back(ConnectionUpgraded{ConnectionId{}, w.peers[e.peer]});
        break;
      case Kind::kClosed:
        inputs.emplace_back(TransportClosed{});
        break;
      case Kind::kTag:
        inputs.emplace_back(SetPeerTag{w.peers[e.peer], tag_name(e), e.value});
        break;
      case Kind::kUntag:
        inputs.emplace_back(RemovePeerTag{w.peers[e.peer], tag_name(e)});
        break;
    }
  }
  Input closed = TransportClosed{};

  std::vector<ConnectionId> core_id(w.connections);
  std::vector<State> state(w.connections, State::kNone);
  // Core id → trace connection (kNoConnection when none): ids are handed out in order, at
  // most one per input and confirmation.
  constexpr uint32_t kNoConnection = UINT32_MAX;
  std::vector<uint32_t> trace_conn(2 * w.events.size() + 2, kNoConnection);
  std::vector<ConnectionId> to_confirm;
  to_confirm.reserve(64);
  Result r;

  auto gone = [&](ConnectionId id) {
    uint32_t& conn = trace_conn[id.value];
    if (conn == kNoConnection) return;
    state[conn] = State::kGone;
    conn = kNoConnection;
  };
  auto drain = [&]() {
    core->DrainOutputs([&](const Output& out) {
      if (auto* c = std::get_if<CloseConnection>(&out)) {
        to_confirm.push_back(c->connection);
      } else if (auto* p = std::get_if<ConnectionsPruned>(&out)) {
        r.prunes += p->pruned.size();
        ++r.prune_events;
      } else if (auto* rej = std::get_if<RejectConnection>(&out)) {
        ++r.rejected;
        gone(rej->connection);
      } else if (std::holds_alternative<AcceptConnection>(out)) {
        ++r.accepted;
      } else if (auto* cl = std::get_if<ConnectionClosed>(&out)) {
        gone(cl->connection);
      } else if (auto* ab = std::get_if<AbortConnection>(&out)) {
        gone(ab->connection);
      }
    });
  };
  auto handle = [&](Instant now, const Input& input) -> absl::StatusOr<ConnectionId> {
    ++r.handle_calls;
    absl::StatusOr<ConnectionId> id = core->Handle(now, input);
    if (!id.ok()) ++r.errors;
    drain();
    return id;
  };
  auto confirm = [&](Instant now) {
    // Closing a connection can close no others, but loop in case a confirmation queues more.
    while (!to_confirm.empty()) {
      const ConnectionId id = to_confirm.back();
      to_confirm.pop_back();
      std::get<TransportClosed>(closed).connection = id;
      ++r.confirmations;
      (void)handle(now, closed);
    }
  };

  const uint64_t allocations_before = AllocationCount();
  const double cpu_start = ThreadCpuSeconds();
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < w.events.size(); ++i) {
    const Event& e = w.events[i];
    Input& in = inputs[i];
    const Instant now = Instant::FromNanoseconds(e.t);
    if (core->NextDeadline() <= now) {
      ++r.timers;
      (void)handle(now, TimerExpired{});
      confirm(now);
    }
    switch (e.kind) {
      case Kind::kInbound:
      case Kind::kOutbound: {
        // Map the id before draining, so a reject (or a prune of this very connection) is seen.
        ++r.handle_calls;
        absl::StatusOr<ConnectionId> id = core->Handle(now, in);
        if (id.ok()) {
          core_id[e.conn] = *id;
          state[e.conn] = e.kind == Kind::kInbound ? State::kPending : State::kOpen;
          trace_conn[id->value] = e.conn;  // sized for every id the workload can use
        } else {
          ++r.errors;
          state[e.conn] = State::kGone;
        }
        drain();
        break;
      }
      case Kind::kUpgraded: {
        if (state[e.conn] != State::kPending) {
          ++r.skipped;
          break;
        }
        std::get<ConnectionUpgraded>(in).connection = core_id[e.conn];
        state[e.conn] = State::kOpen;  // before the call: a trim while opening may close it
        (void)handle(now, in);
        break;
      }
      case Kind::kClosed: {
        if (state[e.conn] != State::kPending && state[e.conn] != State::kOpen) {
          ++r.skipped;
          break;
        }
        std::get<TransportClosed>(in).connection = core_id[e.conn];
        (void)handle(now, in);
        break;
      }
      case Kind::kTag:
      case Kind::kUntag:
        (void)handle(now, in);
        break;
    }
    confirm(now);
  }
  const auto end = std::chrono::steady_clock::now();
  r.cpu_seconds = ThreadCpuSeconds() - cpu_start;
  r.allocations = AllocationCount() - allocations_before;
  r.seconds = std::chrono::duration<double>(end - start).count();
  const Metrics m = core->GetMetrics();
  r.open_at_end = m.connections(Direction::kInbound, ConnectionState::kOpen) +
                  m.connections(Direction::kOutbound, ConnectionState::kOpen);
  for (int i = 0; i < kRejectReasonCount; ++i) {
    if (m.rejected_by_reason[i] != 0) {
      std::fprintf(stderr, "churn_core:   rejected %s: %llu\n",
                   std::string(RejectReasonName(static_cast<RejectReason>(i))).c_str(),
                   static_cast<unsigned long long>(m.rejected_by_reason[i]));
    }
  }
  for (int i = 0; i < kCloseReasonCount; ++i) {
    if (m.closed_by_reason[i] != 0) {
      std::fprintf(stderr, "churn_core:   closed %s: %llu\n",
                   std::string(CloseReasonName(static_cast<CloseReason>(i))).c_str(),
                   static_cast<unsigned long long>(m.closed_by_reason[i]));
    }
  }
  return r;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) {
  std::string trace;
  uint64_t runs = 1;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg.substr(0, 8) == "--trace=") {
      trace = std::string(arg.substr(8));
    } else if (arg.substr(0, 7) == "--runs=" && absl::SimpleAtoi(arg.substr(7), &runs) &&
               runs > 0) {
    } else {
      std::fprintf(stderr, "usage: churn_core --trace=FILE [--runs=K]\n");
      return 2;
    }
  }
  if (trace.empty()) {
    std::fprintf(stderr, "usage: churn_core --trace=FILE [--runs=K]\n");
    return 2;
  }
  const connmgr::Workload w = connmgr::Load(trace);
  connmgr::Result best;
  std::vector<double> seconds;
  for (uint64_t k = 0; k < runs; ++k) {
    const connmgr::Result r = connmgr::RunOnce(w);
    std::fprintf(stderr, "churn_core: run %llu: %.3f s (CPU %.3f s), %.0f inputs/s, %llu prunes\n",
                 static_cast<unsigned long long>(k) + 1, r.seconds, r.cpu_seconds,
                 static_cast<double>(w.events.size()) / r.seconds,
                 static_cast<unsigned long long>(r.prunes));
    if (k > 0 && !connmgr::SameDecisions(r, best)) {
      std::fprintf(stderr, "churn_core: run %llu decided differently from run 1\n",
                   static_cast<unsigned long long>(k) + 1);
      return 1;
    }
    seconds.push_back(r.seconds);
    if (k == 0 || r.seconds < best.seconds) best = r;
  }
  std::sort(seconds.begin(), seconds.end());
  const double median_seconds = seconds[seconds.size() / 2];
  std::printf(
      "side=connmgr inputs=%zu runs=%llu seconds=%.6f inputs_per_s=%.0f median_inputs_per_s=%.0f "
      "prunes=%llu prune_events=%llu "
      "accepted=%llu rejected=%llu skipped=%llu handle_calls=%llu confirmations=%llu "
      "timers=%llu errors=%llu open_at_end=%llu allocs_per_input=%.2f cpu_seconds=%.6f "
      "cpu_inputs_per_s=%.0f\n",
      w.events.size(), static_cast<unsigned long long>(runs), best.seconds,
      static_cast<double>(w.events.size()) / best.seconds,
      static_cast<double>(w.events.size()) / median_seconds,
      static_cast<unsigned long long>(best.prunes),
      static_cast<unsigned long long>(best.prune_events),
      static_cast<unsigned long long>(best.accepted),
      static_cast<unsigned long long>(best.rejected), static_cast<unsigned long long>(best.skipped),
      static_cast<unsigned long long>(best.handle_calls),
      static_cast<unsigned long long>(best.confirmations),
      static_cast<unsigned long long>(best.timers), static_cast<unsigned long long>(best.errors),
      static_cast<unsigned long long>(best.open_at_end),
      static_cast<double>(best.allocations) / static_cast<double>(w.events.size()),
      best.cpu_seconds, static_cast<double>(w.events.size()) / best.cpu_seconds);
  return 0;
}
