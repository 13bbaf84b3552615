// Out of descriptors, a listener stops accepting for accept_pause on a timer, says so once per
// log interval, and takes the waiting connections once descriptors are free again. The test
// lowers this process's soft RLIMIT_NOFILE to just above the descriptors it holds.
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "gtest/gtest.h"
#include "shell/driver.h"
#include "shell/endpoint.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using boost::asio::ip::tcp;
using testing_util::RunUntil;

constexpr int kClients = 3;

class AcceptPauseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DriverOptions options;
    options.upgrader = std::make_shared<PlaintextUpgrader>(testing_util::NthPeer(1));
    options.accept_pause = kPause;
    options.accept_error_log_interval = Duration::Minutes(60);  // one line in this test
    options.log = [this](absl::string_view line) { logged_.emplace_back(line); };
    driver_ = Driver::Create(io_, std::move(options)).value();
    address_ = driver_->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
  }

  // Runs, before descriptors run out, the calls the pause makes (a timer, an error's message):
  // UBSan's vptr check opens a pipe for a type it has not seen yet, which would fail with
  // EMFILE and be reported as an invalid object.
  void WarmUpSanitizers() {
    boost::asio::steady_timer timer(io_);
    timer.expires_after(std::chrono::milliseconds(1));
    bool fired = false;
    timer.async_wait([&](const boost::system::error_code&) { fired = true; });
    ASSERT_TRUE(RunUntil(io_, [&] { return fired; }));
    EXPECT_FALSE(
        boost::system::error_code(EMFILE, boost::system::system_category()).message().empty());
  }

  uint64_t Accepted() const {
    return driver_->core().GetMetrics().counter(Counter::kInboundAccepted);
  }

  static constexpr Duration kPause = Duration::Milliseconds(50);
  boost::asio::io_context io_;
  std::vector<std::string> logged_;
  std::unique_ptr<Driver> driver_;
  Multiaddr address_;
};

TEST_F(AcceptPauseTest, OutOfDescriptorsTheListenerPausesLogsOnceAndResumes) {
  // The clients' sockets exist before the limit drops: connecting needs no new descriptor.
  std::vector<std::unique_ptr<tcp::socket>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<tcp::socket>(io_));
    clients.back()->open(tcp::v4());
  }
  int connected = 0;
  WarmUpSanitizers();
  {
    testing_util::ScopedSoftFdLimit exhausted(testing_util::LowestFreeFd());
    ASSERT_TRUE(exhausted.ok());
    for (auto& c : clients) {
      c->async_connect(TcpEndpointOf(address_).value(),
                       [&](const boost::system::error_code& ec) { connected += ec ? 0 : 1; });
    }
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(RunUntil(
        io_, [&] { return driver_->accept_pauses() >= 4; }, std::chrono::seconds(10)));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    // A timer, not a spin: in `elapsed`, at most one pause per accept_pause, plus the first.
    const auto pauses_possible = elapsed / std::chrono::nanoseconds(kPause.nanoseconds()) + 1;
    EXPECT_LE(driver_->accept_pauses(), static_cast<uint64_t>(pauses_possible));
    EXPECT_EQ(connected, kClients);  // the kernel completed them; they wait in the backlog
    EXPECT_EQ(Accepted(), 0u);
    ASSERT_EQ(logged_.size(), 1u);  // once per log interval, however many pauses
    EXPECT_EQ(logged_[0], "connmgr: accept on " + address_.ToString() +
                              ": Too many open files; not accepting for 50 ms");
  }
  // Descriptors again: the waiting connections are taken after the current pause.
  ASSERT_TRUE(RunUntil(
      io_, [&] { return Accepted() == kClients; }, std::chrono::seconds(5)));
  EXPECT_EQ(driver_->sockets(), static_cast<size_t>(kClients));
}

TEST_F(AcceptPauseTest, TheNextMessageCountsThePausesItLeftOut) {
  driver_.reset();
  DriverOptions options;
  options.upgrader = std::make_shared<PlaintextUpgrader>(testing_util::NthPeer(1));
  options.accept_pause = kPause;
  options.accept_error_log_interval = Duration::Milliseconds(120);
  options.log = [this](absl::string_view line) { logged_.emplace_back(line); };
  driver_ = Driver::Create(io_, std::move(options)).value();
  address_ = driver_->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
  tcp::socket client(io_);
  client.open(tcp::v4());
  WarmUpSanitizers();
  testing_util::ScopedSoftFdLimit exhausted(testing_util::LowestFreeFd());
  ASSERT_TRUE(exhausted.ok());
  client.async_connect(TcpEndpointOf(address_).value(), [](const boost::system::error_code&) {});
  ASSERT_TRUE(RunUntil(
      io_, [&] { return logged_.size() >= 3; }, std::chrono::seconds(10)));
  // The next line comes at least 120 ms after the first, so at least one 50 ms pause went
  // unlogged between them, and a line before it says how many.
  EXPECT_TRUE(absl::StartsWith(logged_[1], "connmgr: ")) << logged_[1];
  EXPECT_TRUE(absl::EndsWith(logged_[1], " more such lines left out (at most 1 per 120 ms)"))
      << logged_[1];
  EXPECT_EQ(logged_[2], logged_[0]);
  EXPECT_LE(logged_.size(), driver_->accept_pauses());
}

TEST_F(AcceptPauseTest, APauseMustBePositive) {
  DriverOptions options;
  options.upgrader = std::make_shared<PlaintextUpgrader>(testing_util::NthPeer(1));
  options.accept_pause = Duration::Zero();
  EXPECT_EQ(Driver::Create(io_, std::move(options)).status().message(),
            "driver: accept_pause: must be positive");
}

}  // namespace
}  // namespace connmgr::shell
