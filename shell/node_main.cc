// connmgr_node: the runnable node.
//
//   connmgr_node                         the built-in demo (shell/demo.h)
//   connmgr_node --listen /ip4/0.0.0.0/tcp/4001 [--dial MULTIADDR]... [--config FILE]
//                [--metrics-port N] [--trace FILE] [--peer-seed N] [--dns-server HOST:PORT]
//                [--identity FILE] [--key-type ed25519|secp256k1|rsa|ecdsa]
//
// A node speaks libp2p (Noise, Yamux, identify, ping), so js-libp2p and go-libp2p peers can
// dial it and be dialled. It prints its peer id and listen addresses, then one line of its table
// per second until SIGINT or SIGTERM, then a summary. --config reads the JSON config file format
// (docs/configuration.md); --metrics-port serves Prometheus text at
// http://127.0.0.1:N/metrics; --trace records every core input and output (docs/trace-format.md).
// A flag that does not apply to the mode (the demo, or a node with --listen/--dial) is refused
// by name; relative paths are read from the directory the command ran from, under `bazel run`
// too (BUILD_WORKING_DIRECTORY).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/version.h"
#include "shell/ares_lookup.h"
#include "shell/crypto/identity_file.h"
#include "shell/crypto/keys.h"
#include "shell/demo.h"
#include "shell/event_lines.h"
#include "shell/host.h"
#include "shell/live_table.h"
#include "shell/metrics/http_endpoint.h"
#include "shell/metrics/prometheus.h"
#include "trace/config_json.h"

namespace connmgr::shell {
namespace {

constexpr char kUsage[] =
    "usage: connmgr_node                     run the built-in demo (about 20 s)\n"
    "       connmgr_node --demo-seconds N     the demo for N seconds\n"
    "       connmgr_node --version | --help\n"
    "       connmgr_node --listen MULTIADDR [--listen ...] [--dial MULTIADDR ...]\n"
    "                    [--config FILE] [--metrics-port N] [--trace FILE]\n"
    "                    [--peer-seed N] [--dns-server HOST:PORT]\n"
    "                    [--identity FILE] [--key-type ed25519|secp256k1|rsa|ecdsa]\n"
    "  --listen        /ip4/A/tcp/P or /ip6/A/tcp/P (P 0: any port)\n"
    "  --dial          a multiaddr ending in /p2p/<peer id>; /dns4, /dns6 and /dnsaddr resolve\n"
    "  --config        a JSON config file (docs/configuration.md); errors name the key\n"
    "  --metrics-port  serve Prometheus metrics on http://127.0.0.1:N/metrics\n"
    "  --trace         record every core input and output to FILE (docs/trace-format.md)\n"
    "  --peer-seed     derive this node's Ed25519 identity from N instead of at random\n"
    "  --dns-server    ask this DNS server instead of /etc/resolv.conf\n"
    "  --identity      this node's private key file (libp2p PrivateKey protobuf), created with\n"
    "                  mode 0600 on first run: the same peer id after every restart\n"
    "  --key-type      the type of a new key (default ed25519); an existing file must match\n"
    "Every flag but --demo-seconds needs --listen or --dial (a node, not the demo). Relative\n"
    "paths are read from the directory the command ran from.\n";

struct NodeArgs {
  std::vector<Multiaddr> listen;
  std::vector<Multiaddr> dial;
  std::optional<std::string> config_file;
  std::optional<uint16_t> metrics_port;
  std::optional<std::string> trace_file;
  std::optional<uint64_t> peer_seed;
  std::optional<std::string> dns_server;
  std::optional<int64_t> demo_seconds;
  std::optional<std::string> identity_file;
  std::optional<crypto::KeyType> key_type;
};

// `path` as the user meant it: a relative path is relative to the directory the command ran
// from, which under `bazel run` is BUILD_WORKING_DIRECTORY (the process runs in its runfiles).
std::string UserPath(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || dir == nullptr || *dir == '\0') return path;
  return absl::StrCat(dir, "/", path);
}

absl::StatusOr<NodeArgs> ParseArgs(int argc, char** argv) {
  NodeArgs args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return absl::InvalidArgumentError(absl::StrCat(flag, ": needs a value"));
    const std::string value = argv[++i];
    auto multiaddr = [&](std::vector<Multiaddr>& into) -> absl::Status {
      absl::StatusOr<Multiaddr> a = Multiaddr::Parse(value);
      if (!a.ok())
        return absl::InvalidArgumentError(
            absl::StrCat(flag, " ", value, ": ", a.status().message()));
      into.push_back(*a);
      return absl::OkStatus();
    };
    absl::Status s;
    if (flag == "--listen") {
      s = multiaddr(args.listen);
    } else if (flag == "--dial") {
      s = multiaddr(args.dial);
      if (s.ok() && !args.dial.back().peer_id().has_value()) {
        s = absl::InvalidArgumentError(
            absl::StrCat("--dial ", value, ": needs the peer, /p2p/<peer id> at the end"));
      }
    } else if (flag == "--config") {
      args.config_file = UserPath(value);
    } else if (flag == "--trace") {
      args.trace_file = UserPath(value);
    } else if (flag == "--dns-server") {
      args.dns_server = value;
    } else if (flag == "--metrics-port") {
      uint32_t port;
      if (!absl::SimpleAtoi(value, &port) || port > 65535) {
        s = absl::InvalidArgumentError("--metrics-port: expected a port from 0 to 65535");
      }
      args.metrics_port = static_cast<uint16_t>(port);
    } else if (flag == "--peer-seed") {
      uint64_t seed;
      if (!absl::SimpleAtoi(value, &seed))
        s = absl::InvalidArgumentError("--peer-seed: expected a number");
      args.peer_seed = seed;
    } else if (flag == "--identity") {
      args.identity_file = UserPath(value);
    } else if (flag == "--key-type") {
      absl::StatusOr<crypto::KeyType> type = crypto::ParseKeyTypeName(value);
      if (type.ok()) args.key_type = *type;
      s = type.status();
    } else if (flag == "--demo-seconds") {
      int64_t seconds;
      if (!absl::SimpleAtoi(value, &seconds) || seconds < 1 || seconds > 3600) {
        s = absl::InvalidArgumentError("--demo-seconds: expected 1 to 3600");
      }
      args.demo_seconds = seconds;
    } else {
      s = absl::InvalidArgumentError(absl::StrCat(flag, ": unknown option"));
    }
    if (!s.ok()) return s;
  }
  if (args.peer_seed && (args.identity_file || args.key_type)) {
    return absl::InvalidArgumentError("--peer-seed: not with --identity or --key-type");
  }
  // Each mode refuses the flags it would otherwise ignore.
  const bool node = !args.listen.empty() || !args.dial.empty();
  if (node && args.demo_seconds) {
    return absl::InvalidArgumentError(
        "--demo-seconds: only for the demo (without --listen/--dial)");
  }
  if (!node) {
    for (const auto& [flag, given] : {std::pair{"--config", args.config_file.has_value()},
                                      std::pair{"--metrics-port", args.metrics_port.has_value()},
                                      std::pair{"--trace", args.trace_file.has_value()},
                                      std::pair{"--peer-seed", args.peer_seed.has_value()},
                                      std::pair{"--dns-server", args.dns_server.has_value()},
                                      std::pair{"--identity", args.identity_file.has_value()},
                                      std::pair{"--key-type", args.key_type.has_value()}}) {
      if (given) {
        return absl::InvalidArgumentError(absl::StrCat(
            flag, ": only for a node (add --listen MULTIADDR); the demo has its own settings"));
      }
    }
  }
  if (args.listen.empty() && !args.dial.empty()) {
    args.listen.push_back(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value());
  }
  return args;
}

// The node's Ed25519 identity: from --peer-seed N (N little-endian in the first 8 bytes of the
// seed, the interop peer's convention), else random.
noise::Ed25519Identity NodeIdentity(std::optional<uint64_t> seed) {
  if (!seed) return noise::Ed25519Identity::Generate();
  noise::Ed25519Identity::Seed bytes{};
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(*seed >> (8 * i));
  return noise::Ed25519Identity::FromSeed(bytes);
}

// The node's setup, step by step as the flags ask for it.
// NOLINTNEXTLINE(readability-function-size)
int RunNode(const NodeArgs& args) {
  boost::asio::io_context io;
  HostOptions options;
  if (args.config_file) {
    std::ifstream in(*args.config_file);
    if (!in) {
      std::cerr << "connmgr_node: cannot read " << *args.config_file << "\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<Config> config = ParseConfigJson(text.str());
    if (!config.ok()) {
      std::cerr << "connmgr_node: " << *args.config_file << ": " << config.status().message()
                << "\n";
      return 2;
    }
    options.config = *config;
  }
  Libp2pOptions libp2p;
  libp2p.identity = NodeIdentity(args.peer_seed);
  if (args.identity_file || args.key_type) {
    absl::StatusOr<crypto::PrivateKey> key =
        args.identity_file ? crypto::LoadOrCreateIdentity(*args.identity_file, args.key_type)
                           : crypto::PrivateKey::Generate(*args.key_type);
    if (!key.ok()) {
      std::cerr << "connmgr_node: " << key.status().message() << "\n";
      return 2;
    }
    libp2p.identity = *std::move(key);
  }
  options.libp2p = std::move(libp2p);
  AresOptions dns;
  if (args.dns_server) dns.servers = {*args.dns_server};
  absl::StatusOr<std::unique_ptr<AresResolver>> resolver = AresResolver::Create(io, dns);
  if (!resolver.ok()) {
    std::cerr << "connmgr_node: dns: " << resolver.status().message() << "\n";
    return 2;
  }
  options.dns = LookupThrough(**resolver);
  std::ofstream trace_out;
  if (args.trace_file) {
    trace_out.open(*args.trace_file, std::ios::binary);
    if (!trace_out) {
      std::cerr << "connmgr_node: cannot write " << *args.trace_file << "\n";
      return 2;
    }
    options.trace = [&trace_out](absl::string_view line) { trace_out << line << '\n'; };
  }
  absl::StatusOr<std::unique_ptr<Host>> host = Host::Create(io, std::move(options));
  if (!host.ok()) {
    std::cerr << "connmgr_node: " << host.status().message() << "\n";
    return 2;
  }
  std::cout << "peer id " << (*host)->peer().ToString() << "\n";
  if (const std::optional<FdBudget>& fds = (*host)->fd_budget()) {
    std::cout << "file descriptors: limit " << fds->limit << "; "
              << (*host)->core().config().system_scope.file_descriptors << " for connections, "
              << (*host)->driver().max_held_rejects() << " for held rejects\n";
  }
  // Peer-supplied text (agent versions, errors quoting the peer) is escaped: shell/event_lines.h.
  (*host)->Subscribe([](const HostEvent& e) {
    if (std::optional<std::string> line = EventLine(e)) std::cout << *line << "\n";
  });
  for (const Multiaddr& a : args.listen) {
    absl::StatusOr<Multiaddr> bound = (*host)->Listen(a);
    if (!bound.ok()) {
      std::cerr << "connmgr_node: " << bound.status().message() << "\n";
      return 2;
    }
    std::cout << "listening on " << bound->WithPeerId((*host)->peer()).ToString() << "\n";
  }
  std::unique_ptr<MetricsHttpEndpoint> metrics;
  if (args.metrics_port) {
    absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> endpoint =
        MetricsHttpEndpoint::Start(io, "127.0.0.1", *args.metrics_port,
                                   [&host] { return FormatPrometheus((*host)->GetMetrics()); });
    if (!endpoint.ok()) {
      std::cerr << "connmgr_node: metrics: " << endpoint.status().message() << "\n";
      return 2;
    }
    metrics = *std::move(endpoint);
    std::cout << "metrics on http://127.0.0.1:" << metrics->port() << "/metrics\n";
  }
  for (const Multiaddr& a : args.dial) {
    absl::Status s =
        (*host)->Dial(a, [a](const DialResult& r) { std::cout << DialResultLine(a, r) << "\n"; });
    if (!s.ok()) {
      std::cerr << "connmgr_node: --dial " << a.ToString() << ": " << s.message() << "\n";
      return 2;
    }
  }
  std::cout << "\n" << LiveTableHeader() << std::endl;

  const auto started = std::chrono::steady_clock::now();
  boost::asio::steady_timer ticker(io);
  std::function<void()> tick = [&] {
    ticker.expires_after(std::chrono::seconds(1));
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (ec) return;
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::cout << LiveTableRow(elapsed, (*host)->GetMetrics()) << std::endl;
      tick();
    });
  };
  tick();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  io.run();
  std::cout << "\nsummary\n" << MetricsSummary((*host)->GetMetrics());
  (*host)->Close();
  if (metrics) metrics->Stop();
  return 0;
}

}  // namespace
}  // namespace connmgr::shell

int main(int argc, char** argv) {
  using namespace connmgr::shell;  // NOLINT
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (flag == "--version") {
      std::printf("connmgr_node %s\n", connmgr::kVersion);
      return 0;
    }
  }
  absl::StatusOr<NodeArgs> args = ParseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "connmgr_node: %s\n%s", std::string(args.status().message()).c_str(),
                 kUsage);
    return 2;
  }
  if (args->listen.empty()) {
    DemoOptions demo;
    demo.out = &std::cout;
    if (args->demo_seconds) demo.length = connmgr::Duration::Seconds(*args->demo_seconds);
    return RunDemo(demo);
  }
  return RunNode(*args);
}
