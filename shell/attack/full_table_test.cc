// Attack 4 of issue 17 on real loopback sockets: a table full of idle, upgraded libp2p peers
// (Noise + Yamux, from one /16) must not lock honest newcomers out. With `inbound_eviction`
// (the production preset) newcomers from another net group displace idle attackers, at most
// `inbound_eviction_rate` times; with the default preset the limit refuses them, as js-libp2p.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/presets.h"
#include "gtest/gtest.h"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

constexpr uint32_t kTable = 20;
constexpr uint32_t kHonest = 10;

class FullTableTest : public ::testing::Test {
 protected:
  std::unique_ptr<Host> MakeNode(Config config) {
    HostOptions o;
    o.config = std::move(config);
    Libp2pOptions libp2p;
    libp2p.identity = crypto::PrivateKey(testing_util::IdentityFrom(200));
    o.libp2p = std::move(libp2p);
    std::unique_ptr<Host> node = Host::Create(io_, std::move(o)).value();
    address_ = node->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value())
                   .value()
                   .WithPeerId(node->peer());
    return node;
  }

  // A libp2p peer dialling from `source`.
  std::unique_ptr<Host> MakePeer(uint8_t seed, const std::string& source) {
    HostOptions o;
    Libp2pOptions libp2p;
    libp2p.identity = crypto::PrivateKey(testing_util::IdentityFrom(seed));
    o.libp2p = std::move(libp2p);
    o.dial_source_ip = IpAddress::Parse(source).value();
    return Host::Create(io_, std::move(o)).value();
  }

  // Dials the node from `peer`; whether the connection opened and is still open after
  // `settle` (a refused socket may complete its dial before the node closes it).
  bool Connects(Host& peer, std::chrono::milliseconds settle = std::chrono::milliseconds(300)) {
    std::optional<DialResult> result;
    EXPECT_TRUE(peer.Dial(address_, [&](const DialResult& r) { result = r; }).ok());
    if (!testing_util::RunUntil(
            io_, [&] { return result.has_value(); }, std::chrono::seconds(10))) {
      return false;
    }
    if (result->outcome != DialOutcome::kConnected) return false;
    RunFor(settle);
    return peer.GetMetrics().peers == 1;
  }

  void RunFor(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    testing_util::RunUntil(
        io_, [&] { return std::chrono::steady_clock::now() >= until; }, d * 2);
  }

  // Fills the node's table with kTable idle peers from 127.1.0.0/16, past their grace period.
  void FillWithIdleAttackers(Host& node) {
    for (uint32_t i = 0; i < kTable; ++i) {
      attackers_.push_back(MakePeer(static_cast<uint8_t>(1 + i), absl::StrCat("127.1.0.", 1 + i)));
      ASSERT_TRUE(Connects(*attackers_.back(), std::chrono::milliseconds(0))) << "attacker " << i;
    }
    ASSERT_TRUE(testing_util::RunUntil(io_, [&] { return node.GetMetrics().peers == kTable; }));
    RunFor(std::chrono::milliseconds(1'200));  // grace_period 1 s
  }

  boost::asio::io_context io_;
  Multiaddr address_;
  std::vector<std::unique_ptr<Host>> attackers_;
};

Config TableOf20(Config config) {
  config.max_connections = kTable;
  config.high_watermark = 0;
  config.low_watermark = 0;
  config.grace_period = Duration::Seconds(1);
  config.diversity_protected_connections = std::min(config.diversity_protected_connections, 4u);
  return config;
}

TEST_F(FullTableTest, ProductionPresetAdmitsHonestPeersIntoATableFullOfIdleOnes) {
  std::unique_ptr<Host> node = MakeNode(TableOf20(ProductionPreset()));
  FillWithIdleAttackers(*node);
  uint32_t admitted = 0;
  std::vector<std::unique_ptr<Host>> honest;
  for (uint32_t i = 0; i < kHonest; ++i) {
    honest.push_back(MakePeer(static_cast<uint8_t>(100 + i), absl::StrCat("127.9.0.", 1 + i)));
    admitted += Connects(*honest.back());
    RunFor(std::chrono::milliseconds(700));  // inbound_eviction_rate: 1 per second, burst 5
  }
  RecordProperty("honest_admitted", static_cast<int>(admitted));
  EXPECT_GE(admitted, 9u);
  const Metrics m = node->GetMetrics();
  EXPECT_EQ(m.closed(CloseReason::kEvicted), admitted);
  EXPECT_EQ(m.peers, kTable);  // full again: 20 - admitted attackers + admitted honest peers
}

TEST_F(FullTableTest, DefaultPresetKeepsRefusingAtTheLimit) {
  std::unique_ptr<Host> node = MakeNode(TableOf20(Config{}));
  FillWithIdleAttackers(*node);
  for (uint8_t i = 0; i < 3; ++i) {
    std::unique_ptr<Host> honest = MakePeer(100 + i, absl::StrCat("127.9.0.", 1 + i));
    EXPECT_FALSE(Connects(*honest)) << "honest peer " << i;
  }
  const Metrics m = node->GetMetrics();
  EXPECT_EQ(m.closed(CloseReason::kEvicted), 0u);
  EXPECT_EQ(m.rejected(RejectReason::kConnectionLimit), 3u);
}

}  // namespace
}  // namespace connmgr::shell
