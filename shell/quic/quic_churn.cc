// QUIC's costs in the shell, between connmgr hosts on loopback:
//
//   ./bazelw run -c opt //shell/quic:quic_churn -- --seconds=3 [--idle=200]
//       [--idle-transport=quic|tcp]
//
// Churn (the same cycle as bench/libp2p_churn, over /udp/P/quic-v1): host B dials host A and
// waits for DialResult connected — the QUIC handshake with both libp2p certificates checked, the
// core's admission and the connection opened on both sides; identify and ping start on it as
// usual — then closes it (CONNECTION_CLOSE) and waits for PeerDisconnected on both hosts.
// Cycles run one after another. Prints
//   `quic_churn side=connmgr cycles=N seconds=S per_s=R key_type=ed25519`.
//
// Idle cost (--idle=K > 0): host A listens; a child process runs K dialling hosts (distinct
// identities), each opening one connection to A and then doing nothing. Once A has K open
// connections and identify and the first pings are over, the growth of A's heap (glibc
// mallinfo2, in use) since before the first dial, divided by K, is the shell's and core's
// memory per idle connection; the core's reserved bytes per connection are printed beside it.
// Prints `quic_idle side=connmgr transport=T connections=K heap_bytes_per_connection=B
// reserved_bytes_per_connection=R`.
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "bench/timed_cycles.h"
#include "boost/asio/io_context.hpp"
#include "shell/crypto/keys.h"
#include "shell/host.h"

namespace connmgr {
namespace {

using shell::Host;
using shell::HostEvent;

std::unique_ptr<Host> MakeHost(boost::asio::io_context& io, int* disconnects) {
  shell::HostOptions o;
  o.config.inbound_rate_per_ip = {1'000'000, Duration::Seconds(1), 1'000'000};
  o.config.max_connections = 100'000;
  o.config.max_incoming_pending_connections = 1'000;
  o.budget_memory = false;  // the idle measurement compares heaps: no derived budget
  o.log = [](absl::string_view) {};
  o.libp2p = shell::Libp2pOptions{};
  o.libp2p->identity = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  std::unique_ptr<Host> host = Host::Create(io, std::move(o)).value();
  if (disconnects != nullptr) {
    host->Subscribe([disconnects](const HostEvent& e) {
      if (std::holds_alternative<PeerDisconnected>(e)) ++*disconnects;
    });
  }
  return host;
}

bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    io.restart();
    io.run_one_for(std::chrono::milliseconds(10));
  }
  return true;
}

void RunFor(boost::asio::io_context& io, std::chrono::milliseconds how_long) {
  const auto until = std::chrono::steady_clock::now() + how_long;
  RunUntil(
      io, [&] { return std::chrono::steady_clock::now() >= until; }, how_long * 2);
}

int Churn(double seconds) {
  boost::asio::io_context io;
  int a_disconnects = 0, b_disconnects = 0;
  std::unique_ptr<Host> a = MakeHost(io, &a_disconnects);
  std::unique_ptr<Host> b = MakeHost(io, &b_disconnects);
  const Multiaddr where = a->Listen(Multiaddr::Parse("/ip4/127.0.0.1/udp/0/quic-v1").value())
                              .value()
                              .WithPeerId(a->peer());
  auto cycle = [&]() -> bool {
    std::optional<DialResult> result;
    const int a_before = a_disconnects, b_before = b_disconnects;
    if (!b->Dial(where, [&](const DialResult& r) { result = r; }).ok()) return false;
    if (!RunUntil(io, [&] { return result.has_value(); })) return false;
    if (result->outcome != DialOutcome::kConnected) {
      std::fprintf(stderr, "quic_churn: dial: %s\n", result->detail.c_str());
      return false;
    }
    if (!b->CloseConnection(result->connection).ok()) return false;
    return RunUntil(io, [&] { return a_disconnects > a_before && b_disconnects > b_before; });
  };
  const std::optional<CycleRate> rate = TimedCycles("quic_churn", seconds, cycle);
  if (!rate) return 1;
  std::printf("quic_churn side=connmgr cycles=%llu seconds=%.2f per_s=%.1f key_type=ed25519\n",
              static_cast<unsigned long long>(rate->cycles), rate->seconds, rate->per_second());
  b->Close();
  a->Close();
  return 0;
}

// The child: `count` hosts dial `where` once each, then idle until killed.
[[noreturn]] void IdleDialers(const Multiaddr& where, int count) {
  boost::asio::io_context io;
  std::vector<std::unique_ptr<Host>> dialers;
  for (int i = 0; i < count; ++i) {
    dialers.push_back(MakeHost(io, nullptr));
    dialers.back()->Dial(where, [](const DialResult&) {}).IgnoreError();
    io.restart();
    io.poll();
  }
  for (;;) {
    io.restart();
    io.run_for(std::chrono::seconds(1));
  }
}

int Idle(int count, const std::string& transport) {
  boost::asio::io_context io;
  std::unique_ptr<Host> a = MakeHost(io, nullptr);
  const std::string listen =
      transport == "tcp" ? "/ip4/127.0.0.1/tcp/0" : "/ip4/127.0.0.1/udp/0/quic-v1";
  const Multiaddr where = a->Listen(Multiaddr::Parse(listen).value()).value().WithPeerId(a->peer());
  RunFor(io, std::chrono::milliseconds(100));
  const size_t heap_before = mallinfo2().uordblks;
  const pid_t child = fork();
  if (child < 0) return 1;
  if (child == 0) IdleDialers(where, count);
  auto open = [&] {
    return a->GetMetrics().connections(Direction::kInbound, ConnectionState::kOpen);
  };
  const bool all = RunUntil(
      io, [&] { return open() == static_cast<uint64_t>(count); }, std::chrono::seconds(60));
  RunFor(io, std::chrono::milliseconds(1'500));  // identify and the first pings end
  const size_t heap_after = mallinfo2().uordblks;
  const uint64_t reserved = a->GetMetrics().memory_bytes;
  const uint64_t connections = open();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  if (!all || connections == 0) {
    std::fprintf(stderr, "quic_churn: only %llu of %d connections opened\n",
                 static_cast<unsigned long long>(connections), count);
    return 1;
  }
  std::printf(
      "quic_idle side=connmgr transport=%s connections=%llu heap_bytes_per_connection=%.0f "
      "reserved_bytes_per_connection=%.0f\n",
      transport.c_str(), static_cast<unsigned long long>(connections),
      static_cast<double>(heap_after - heap_before) / static_cast<double>(connections),
      static_cast<double>(reserved) / static_cast<double>(connections));
  a->Close();
  return 0;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) {
  double seconds = 3;
  int idle = 0;
  std::string idle_transport = "quic";
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    bool ok = false;
    if (absl::ConsumePrefix(&a, "--seconds=")) {
      ok = absl::SimpleAtod(a, &seconds) && seconds > 0;
    } else if (absl::ConsumePrefix(&a, "--idle=")) {
      ok = absl::SimpleAtoi(a, &idle) && idle >= 0 && idle <= 5'000;
    } else if (absl::ConsumePrefix(&a, "--idle-transport=")) {
      idle_transport = std::string(a);
      ok = idle_transport == "quic" || idle_transport == "tcp";
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: quic_churn [--seconds=S] [--idle=K (0..5000)] "
                   "[--idle-transport=quic|tcp]\n");
      return 2;
    }
  }
  if (int rc = connmgr::Churn(seconds); rc != 0) return rc;
  return idle > 0 ? connmgr::Idle(idle, idle_transport) : 0;
}
