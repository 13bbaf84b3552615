// Attack 3 of issue 17, held rejects against file descriptors, on real loopback sockets: a
// connmgr_node with the `restrictive` preset (allow-only, delayed_reject 1 s) runs in a child
// process at a soft and hard RLIMIT_NOFILE of 1 024, the common default; this process floods
// it with connects from many 127.x addresses (each refused and held for a second), and an
// allow-listed honest libp2p peer connects ten times in a row during the flood. At least nine
// must get in, the node's descriptors must stay clear of its limit, and it must not crash.
// Before the fd budget the node held up to 1 024 refused sockets — its whole limit — and
// honest peers timed out.
//
// Bounded: the flood runs at most kMaxFlood and stops once the honest attempts are done; each
// flood socket is abandoned after 1 s; each honest dial times out after 3 s.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/presets.h"
#include "gtest/gtest.h"
#include "shell/attack/honest_peer.h"
#include "shell/endpoint.h"
#include "shell/fd_budget.h"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using boost::asio::ip::tcp;
using testing_util::RunUntil;

constexpr char kNodeBinary[] = "shell/connmgr_node";  // in the test's runfiles
constexpr rlim_t kNodeFdLimit = 1'024;
constexpr int kConnectsPerTick = 12;  // every 10 ms: 1 200 connects/s
constexpr auto kFloodTick = std::chrono::milliseconds(10);
constexpr auto kFloodSocketLifetime = std::chrono::seconds(1);
constexpr auto kFloodBeforeHonest = std::chrono::milliseconds(1'500);
constexpr auto kMaxFlood = std::chrono::seconds(30);
constexpr int kHonestAttempts = 10;
constexpr auto kBetweenHonestAttempts = std::chrono::milliseconds(200);

// connmgr_node in a child process whose descriptors are limited and counted apart.
class NodeProcess {
 public:
  NodeProcess(const std::string& config_path, const std::string& output_path)
      : output_path_(output_path) {
    pid_ = fork();
    if (pid_ != 0) return;
    // The child: the common limit, soft and hard (so the node cannot raise it), then the node.
    const rlimit limit{kNodeFdLimit, kNodeFdLimit};
    setrlimit(RLIMIT_NOFILE, &limit);
    const int out = open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    close(out);
    std::string binary = kNodeBinary, listen = "--listen", address = "/ip4/127.0.0.1/tcp/0",
                config = "--config", path = config_path;
    char* argv[] = {binary.data(), listen.data(), address.data(),
                    config.data(), path.data(),   nullptr};
    execv(argv[0], argv);
    _exit(127);
  }
  ~NodeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  bool started() const { return pid_ > 0; }

  // What the node printed so far.
  std::string Output() const {
    std::ifstream in(output_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The first line of the output that starts with `prefix`, once printed (waits up to 10 s).
  std::optional<std::string> WaitForLine(absl::string_view prefix) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline && Running()) {
      for (absl::string_view line : absl::StrSplit(Output(), '\n')) {
        if (absl::StartsWith(line, prefix)) return std::string(line);
      }
      usleep(20'000);
    }
    return std::nullopt;
  }

  // The descriptors the node holds now.
  int OpenDescriptors() const {
    int n = 0;
    DIR* dir = opendir(absl::StrCat("/proc/", pid_, "/fd").c_str());
    if (dir == nullptr) return -1;
    while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.' ? 1 : 0;
    closedir(dir);
    return n;
  }

  bool Running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
    }
    return !exited_;
  }

  // SIGTERM, then the exit status (-1 if it had to be killed after 10 s).
  int Stop() {
    if (!Running()) return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (Running() && std::chrono::steady_clock::now() < deadline) usleep(20'000);
    if (Running()) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

 private:
  std::string output_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// Connects kConnectsPerTick times per kFloodTick, each from the next of 1 000 addresses in
// 127.20.0.0/16, and closes each socket once connected (or after kFloodSocketLifetime).
class ConnectFlood {
 public:
  ConnectFlood(boost::asio::io_context& io, tcp::endpoint target)
      : io_(io), target_(std::move(target)), tick_(io) {}
  ~ConnectFlood() { Stop(); }

  void Start() { Tick(); }
  void Stop() {
    *stopped_ = true;
    tick_.cancel();
  }
  uint64_t started() const { return started_; }
  uint64_t connected() const { return *connected_; }

 private:
  void Tick() {
    if (*stopped_) return;
    for (int i = 0; i < kConnectsPerTick; ++i) Connect();
    tick_.expires_after(kFloodTick);
    tick_.async_wait([this](const boost::system::error_code& e) {
      if (!e) Tick();
    });
  }

  void Connect() {
    const uint64_t n = started_++ % 1'000;
    const auto source =
        boost::asio::ip::make_address_v4(absl::StrCat("127.20.", n / 250, ".", n % 250 + 1));
    auto socket = std::make_shared<tcp::socket>(io_);
    auto give_up = std::make_shared<boost::asio::steady_timer>(io_);
    boost::system::error_code ec;
    socket->open(tcp::v4(), ec);
    if (!ec) socket->bind(tcp::endpoint(source, 0), ec);
    if (ec) return;
    socket->async_connect(
        target_, [socket, give_up, connected = connected_](const boost::system::error_code& e) {
          if (!e) ++*connected;
          boost::system::error_code ignored;
          socket->close(ignored);
          give_up->cancel();
        });
    give_up->expires_after(kFloodSocketLifetime);
    give_up->async_wait([socket](const boost::system::error_code& e) {
      boost::system::error_code ignored;
      if (!e) socket->close(ignored);
    });
  }

  boost::asio::io_context& io_;
  tcp::endpoint target_;
  boost::asio::steady_timer tick_;
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
  uint64_t started_ = 0;
  std::shared_ptr<uint64_t> connected_ = std::make_shared<uint64_t>(0);
};

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

TEST(FdFloodAttackTest, HonestPeersConnectWhileAFloodMeetsTheHeldRejectLimit) {
  ASSERT_EQ(access(kNodeBinary, X_OK), 0) << kNodeBinary << " not in the runfiles";
  // This process opens many short-lived sockets: its own limit must not be the bottleneck.
  ASSERT_TRUE(RaiseFdLimit().ok());
  const std::string config_path = TempPath("restrictive.json");
  std::ofstream(config_path) << R"({"preset": "restrictive", "allow_list": ["127.9.0.0/24"]})";

  NodeProcess node(config_path, TempPath("node.out"));
  ASSERT_TRUE(node.started());
  const std::optional<std::string> budget = node.WaitForLine("file descriptors: ");
  ASSERT_TRUE(budget.has_value()) << node.Output();
  const FdBudget expected =
      DeriveFdBudget(kNodeFdLimit, RestrictivePreset().max_outbound_pending_connections);
  EXPECT_EQ(*budget,
            absl::StrCat("file descriptors: limit 1024; ", expected.connections,
                         " for connections, ", expected.held_rejects, " for held rejects"));
  const std::optional<std::string> listening = node.WaitForLine("listening on ");
  ASSERT_TRUE(listening.has_value()) << node.Output();
  const Multiaddr node_address =
      Multiaddr::Parse(listening->substr(std::string("listening on ").size())).value();

  boost::asio::io_context io;
  const auto started = std::chrono::steady_clock::now();
  ConnectFlood flood(io, TcpEndpointOf(node_address).value());
  flood.Start();
  int peak_descriptors = 0;
  boost::asio::steady_timer sampler(io);
  std::function<void()> sample = [&] {
    peak_descriptors = std::max(peak_descriptors, node.OpenDescriptors());
    sampler.expires_after(std::chrono::milliseconds(50));
    sampler.async_wait([&](const boost::system::error_code& e) {
      if (!e) sample();
    });
  };
  sample();
  const auto honest_from = started + kFloodBeforeHonest;
  RunUntil(io, [&] { return std::chrono::steady_clock::now() >= honest_from; });
  const int descriptors_at_honest_start = node.OpenDescriptors();

  const attack::HonestTally tally = attack::DialRepeatedlyAsHonestPeer(
      io, node_address, "127.9.0.1", kHonestAttempts, kBetweenHonestAttempts, started + kMaxFlood,
      [](int attempt) { return static_cast<uint8_t>(10 + attempt); });
  const int honest_connected = tally.connected;
  const std::vector<std::string>& failures = tally.failures;
  const double flood_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  flood.Stop();
  sampler.cancel();
  const bool alive_after_flood = node.Running();
  const int exit_status = node.Stop();

  // The measured bounds, for the threat model (docs/design.md).
  std::cout << "fd_flood_test: honest " << honest_connected << "/" << kHonestAttempts
            << " connected; flood " << flood.started() << " connects started, " << flood.connected()
            << " connected in " << flood_seconds << " s ("
            << static_cast<int>(static_cast<double>(flood.connected()) / flood_seconds)
            << "/s); node descriptors " << descriptors_at_honest_start
            << " when the honest peer started, peak " << peak_descriptors << " of " << kNodeFdLimit
            << "\n";
  for (const std::string& f : failures) std::cout << "  honest attempt failed: " << f << "\n";

  EXPECT_TRUE(alive_after_flood) << node.Output();
  EXPECT_EQ(exit_status, 0) << node.Output();
  // The flood filled the held rejects (it was strong enough to matter) ...
  EXPECT_GE(peak_descriptors, static_cast<int>(expected.held_rejects));
  // ... and never reached into the descriptors reserved for the process's own work.
  EXPECT_LE(peak_descriptors, static_cast<int>(kNodeFdLimit - expected.reserved));
  EXPECT_GE(honest_connected, 9) << "of " << kHonestAttempts;
}

}  // namespace
}  // namespace connmgr::shell
