// Loopback TCP churn through connmgr's shell against a bare Boost.Asio accept/close loop, in
// the same run: connections per second on each and the ratio (shell / bare).
//
//   ./bazelw run -c opt //bench:shell_churn                      # 2 rounds × 2 s per side
//   ./bazelw run -c opt //bench:shell_churn -- --seconds=1 --rounds=1 --concurrency=16
//
// The server runs on the main thread (one io_context), the client on a second thread (its own
// io_context), K connections in flight; each client connection binds a source address among
// 127.0.0.2–127.0.0.254 in turn, so the per-IP bookkeeping sees many sources.
//
// Two workloads (`--mode=both`, the default, runs each):
//   accept     the client connects, shuts its sending side at once, reads until EOF, closes.
//              Bare server: accept, read until EOF, close. Shell: the Host accepts (the core's
//              admission: deny list, rate limiters, per-IP limits, pending limit), the
//              plaintext handshake fails on EOF, the core hears transport_closed, the socket
//              closes.
//   handshake  the client connects, writes a plaintext greeting (its own peer id), shuts its
//              sending side, reads until EOF, closes. Bare server: accept, write a greeting,
//              read until EOF, close. Shell: accept, plaintext upgrade, the connection opens
//              (ConnectionUpgraded: peer gates, scopes, the prune index), EOF, close.
// A cycle counts when the client has read EOF, i.e. the server has closed its socket.
//
// The Host has every policy on: 100,000 deny-list prefixes (none covering 127/8), per-IP and
// per-/24 and global rate limits and per-IP connection limits applied to loopback
// (limit_loopback_sources), watermarks (1,000 / 900; they do not fire at K in flight).
//
// Also printed: CPU time of the server thread per cycle (getrusage RUSAGE_THREAD).
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "boost/asio.hpp"
#include "core/random.h"
#include "shell/endpoint.h"
#include "shell/host.h"

namespace connmgr {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

PeerId NumberedPeer(uint32_t i) {
  std::string multihash = {'\x00', '\x04'};
  for (int shift = 24; shift >= 0; shift -= 8) multihash.push_back(static_cast<char>(i >> shift));
  return PeerId::FromBytes(multihash).value();
}

std::string Greeting(const PeerId& peer) {
  return absl::StrCat("/connmgr/plaintext/1\n",
                      std::string(1, static_cast<char>(peer.bytes().size())), peer.bytes());
}

double ThreadCpuSeconds() {
  struct rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// --- The client: K slots, each a loop of connect / (greet) / shutdown / read EOF / close --------

class Client {
 public:
  Client(const tcp::endpoint& server, int slots, bool handshake)
      : server_(server), handshake_(handshake) {
    for (int i = 0; i < slots; ++i) {
      slots_.push_back(std::make_unique<Slot>(io_, Greeting(NumberedPeer(1000 + i))));
    }
  }
  void Start() {
    thread_ = std::thread([this] {
      for (auto& s : slots_) Next(*s);
      io_.run();
      finished_ = true;
    });
  }
  // Each slot stops after its current cycle; the server must keep turning until finished().
  void RequestStop() { stopping_ = true; }
  bool finished() const { return finished_; }
  void Join() { thread_.join(); }
  uint64_t cycles() const { return cycles_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    Slot(asio::io_context& io, std::string greeting) : socket(io), greeting(std::move(greeting)) {}
    tcp::socket socket;
    std::string greeting;
    std::array<char, 256> buffer{};
  };

  void Next(Slot& s) {
    if (stopping_) {
      if (++stopped_ == slots_.size()) io_.stop();
      return;
    }
    boost::system::error_code ec;
    s.socket = tcp::socket(io_);
    s.socket.open(tcp::v4(), ec);
    const auto source = asio::ip::make_address_v4(0x7F000002u + (next_source_++ % 253));
    if (!ec) s.socket.bind(tcp::endpoint(source, 0), ec);
    if (ec) return Failed(s);
    s.socket.async_connect(server_, [this, &s](const boost::system::error_code& ec) {
      if (ec) return Failed(s);
      if (!handshake_) return ShutdownAndRead(s);
      asio::async_write(s.socket, asio::buffer(s.greeting),
                        [this, &s](const boost::system::error_code& ec, size_t) {
                          if (ec) return Failed(s);
                          ShutdownAndRead(s);
                        });
    });
  }
  void ShutdownAndRead(Slot& s) {
    boost::system::error_code ignored;
    s.socket.shutdown(tcp::socket::shutdown_send, ignored);
    Read(s);
  }
  void Read(Slot& s) {
    s.socket.async_read_some(asio::buffer(s.buffer),
                             [this, &s](const boost::system::error_code& ec, size_t) {
                               if (!ec) return Read(s);
                               if (ec != asio::error::eof && ec != asio::error::connection_reset) {
                                 return Failed(s);
                               }
                               boost::system::error_code ignored;
                               s.socket.close(ignored);
                               cycles_.fetch_add(1, std::memory_order_relaxed);
                               Next(s);
                             });
  }
  void Failed(Slot& s) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    s.socket.close(ignored);
    Next(s);
  }

  asio::io_context io_;
  tcp::endpoint server_;
  bool handshake_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};
  size_t stopped_ = 0;
  uint32_t next_source_ = 0;
  std::atomic<uint64_t> cycles_{0};
  std::atomic<uint64_t> errors_{0};
};

// --- The bare server: accept, (greet), read until EOF, close -------------------------------------

class BareServer {
 public:
  BareServer(asio::io_context& io, bool handshake)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        handshake_(handshake),
        greeting_(Greeting(NumberedPeer(1))) {
    acceptor_.listen(asio::socket_base::max_listen_connections);
    Accept();
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  void Close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::array<char, 256> buffer{};
  };
  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        auto c = std::make_shared<Conn>(std::move(socket));
        if (handshake_) {
          asio::async_write(c->socket, asio::buffer(greeting_),
                            [c](const boost::system::error_code&, size_t) {});
        }
        Read(c);
      }
      Accept();
    });
  }
  static void Read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(asio::buffer(c->buffer),
                              [c](const boost::system::error_code& ec, size_t) {
                                if (!ec) return Read(c);
                                boost::system::error_code ignored;
                                c->socket.close(ignored);
                              });
  }
  tcp::acceptor acceptor_;
  bool handshake_;
  std::string greeting_;
};

// --- The shell's Host, every policy on
// ------------------------------------------------------------

Config PolicyConfig() {
  Config config;
  config.max_connections = 1'000;
  config.high_watermark = 1'000;
  config.low_watermark = 900;
  config.max_incoming_pending_connections = 256;
  config.limit_loopback_sources = true;
  config.inbound_rate_per_ip = {1'000, Duration::Seconds(1), 1'000};
  config.inbound_rate_per_ipv4_24 = {1'000'000, Duration::Seconds(1), 1'000'000};
  config.inbound_rate_global = {1'000'000, Duration::Seconds(1), 1'000'000};
  config.max_connections_per_ipv4_32 = 8;
  SplitMix64 rng(11);
  while (config.deny_list.size() < 100'000) {
    const uint64_t r = rng.Next();
    if (config.deny_list.size() % 2 == 0) {
      const uint8_t first = static_cast<uint8_t>(r);
      if (first == 127 || first == 0) continue;
      const IpAddress a =
          IpAddress::V4({first, static_cast<uint8_t>(r >> 8), static_cast<uint8_t>(r >> 16),
                         static_cast<uint8_t>(r >> 24)});
      config.deny_list.emplace_back(a, 16 + static_cast<int>(rng.Below(17)));
    } else {
      std::array<uint8_t, 16> b{0x20, 0x01};
      for (int i = 2; i < 16; ++i) b[i] = static_cast<uint8_t>(r >> ((i % 8) * 8));
      config.deny_list.emplace_back(IpAddress::V6(b), 32 + static_cast<int>(rng.Below(97)));
    }
  }
  return config;
}

struct Result {
  uint64_t cycles = 0;
  double seconds = 0;
  double server_cpu = 0;
  uint64_t errors = 0;
  double rate() const { return static_cast<double>(cycles) / seconds; }
  double cpu_us_per_cycle() const { return server_cpu * 1e6 / static_cast<double>(cycles); }
};

// Runs the client against `server` for warm-up + `seconds`, turning `io` on this thread.
Result Measure(asio::io_context& io, const tcp::endpoint& server, bool handshake, int slots,
               double seconds) {
  Client client(server, slots, handshake);
  client.Start();
  auto run = [&](double s) {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(s * 1e6));
    while (std::chrono::steady_clock::now() < until) {
      io.restart();
      io.run_for(std::chrono::milliseconds(10));
    }
  };
  run(std::min(0.2, seconds / 5));  // warm-up
  const uint64_t c0 = client.cycles();
  const double cpu0 = ThreadCpuSeconds();
  const auto t0 = std::chrono::steady_clock::now();
  run(seconds);
  Result r;
  r.cycles = client.cycles() - c0;
  r.server_cpu = ThreadCpuSeconds() - cpu0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Let the slots finish their last cycles (the server keeps turning) before stopping.
  client.RequestStop();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!client.finished() && std::chrono::steady_clock::now() < give_up) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  if (!client.finished()) {
    std::fprintf(stderr, "shell_churn: the client did not finish; aborting\n");
    std::abort();
  }
  client.Join();
  r.errors = client.errors();
  return r;
}

Result RunBare(bool handshake, int slots, double seconds) {
  asio::io_context io;
  BareServer server(io, handshake);
  Result r = Measure(io, server.endpoint(), handshake, slots, seconds);
  server.Close();
  return r;
}

Result RunShell(bool handshake, int slots, double seconds, uint64_t* accepted, uint64_t* rejected,
                uint64_t* opened) {
  asio::io_context io;
  shell::HostOptions options;
  options.config = PolicyConfig();
  options.peer = NumberedPeer(1);
  std::unique_ptr<shell::Host> host = shell::Host::Create(io, std::move(options)).value();
  const Multiaddr where = host->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
  Result r = Measure(io, shell::TcpEndpointOf(where).value(), handshake, slots, seconds);
  const Metrics m = host->GetMetrics();
  *accepted += m.counter(Counter::kInboundAccepted);
  *rejected += m.counter(Counter::kInboundRejected);
  *opened += m.counter(Counter::kConnectionsOpened);
  host->Close();
  return r;
}

struct Flags {
  double seconds = 2;
  int rounds = 2;
  int concurrency = 16;
  std::string mode = "both";
};

bool ParseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (absl::ConsumePrefix(&a, "--seconds=")) {
      if (!absl::SimpleAtod(a, &f.seconds) || f.seconds <= 0) return false;
    } else if (absl::ConsumePrefix(&a, "--rounds=")) {
      if (!absl::SimpleAtoi(a, &f.rounds) || f.rounds < 1) return false;
    } else if (absl::ConsumePrefix(&a, "--concurrency=")) {
      if (!absl::SimpleAtoi(a, &f.concurrency) || f.concurrency < 1) return false;
    } else if (absl::ConsumePrefix(&a, "--mode=")) {
      f.mode = std::string(a);
      if (f.mode != "both" && f.mode != "accept" && f.mode != "handshake") return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) {
  using namespace connmgr;
  Flags f;
  if (!ParseFlags(argc, argv, f)) {
    std::fprintf(stderr,
                 "usage: shell_churn [--seconds=S] [--rounds=R] [--concurrency=K] "
                 "[--mode=both|accept|handshake]\n");
    return 2;
  }
  std::vector<bool> modes;
  if (f.mode != "handshake") modes.push_back(false);
  if (f.mode != "accept") modes.push_back(true);
  int exit_code = 0;
  for (const bool handshake : modes) {
    // Alternate the sides, round by round, so a change in the machine's load hits both.
    Result bare, shell;
    uint64_t accepted = 0, rejected = 0, opened = 0;
    for (int round = 0; round < f.rounds; ++round) {
      const Result b = RunBare(handshake, f.concurrency, f.seconds);
      const Result s = RunShell(handshake, f.concurrency, f.seconds, &accepted, &rejected, &opened);
      for (auto [total, one] : {std::pair<Result*, const Result*>{&bare, &b}, {&shell, &s}}) {
        total->cycles += one->cycles;
        total->seconds += one->seconds;
        total->server_cpu += one->server_cpu;
        total->errors += one->errors;
      }
    }
    const char* name = handshake ? "handshake" : "accept";
    std::printf(
        "shell_churn mode=%s concurrency=%d seconds=%.1f bare_per_s=%.0f shell_per_s=%.0f "
        "ratio=%.2f bare_server_cpu_us=%.1f shell_server_cpu_us=%.1f cpu_ratio=%.2f "
        "shell_accepted=%llu shell_rejected=%llu shell_opened=%llu errors=%llu/%llu\n",
        name, f.concurrency, bare.seconds + shell.seconds, bare.rate(), shell.rate(),
        shell.rate() / bare.rate(), bare.cpu_us_per_cycle(), shell.cpu_us_per_cycle(),
        shell.cpu_us_per_cycle() / bare.cpu_us_per_cycle(),
        static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(rejected),
        static_cast<unsigned long long>(opened), static_cast<unsigned long long>(bare.errors),
        static_cast<unsigned long long>(shell.errors));
    if (bare.cycles == 0 || shell.cycles == 0 || rejected != 0 || shell.errors != 0 ||
        (handshake && opened == 0)) {
      std::fprintf(stderr, "shell_churn: mode %s did not churn cleanly (see counts above)\n", name);
      exit_code = 1;
    }
  }
  return exit_code;
}
