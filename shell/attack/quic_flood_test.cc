// A QUIC Initial flood on real loopback sockets: real client Initials (each a fresh connection
// id and TLS ClientHello) from 768 source addresses, 127.0.1.0 to 127.0.3.255, one per address
// per round, every one abandoned after it is sent (the attacker never answers the node's
// handshake). Meanwhile an honest libp2p peer dials the node over QUIC from another /24,
// 127.9.0.1, five times in a row; at least four must get in. Throughout, the node's pending
// inbound connections stay within max_incoming_pending_connections (the flood is admitted,
// evicted and refused by the core before any handshake work beyond what admitted ones cost), its
// reserved memory within a fixed bound per connection slot, and its driver's table small.
//
// Bounded: at most kMaxRounds rounds of 768 Initials, 32 per 5 ms tick; each honest dial times
// out after 3 s; the whole run stops after kWholeRun.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/steady_timer.hpp"
#include "gtest/gtest.h"
#include "shell/attack/honest_peer.h"
#include "shell/crypto/keys.h"
#include "shell/host.h"
#include "shell/live_table.h"
#include "shell/quic/endpoint.h"
#include "shell/quic/session.h"
#include "shell/quic/transport.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using boost::asio::ip::udp;
using testing_util::IdentityFrom;
using testing_util::RunUntil;

constexpr int kSources = 768;  // 127.0.1.0 .. 127.0.3.255
constexpr int kInitialsPerTick = 32;
constexpr auto kFloodTick = std::chrono::milliseconds(5);
constexpr int kMaxRounds = 20;
constexpr int kHonestAttempts = 5;
constexpr auto kBetweenHonestAttempts = std::chrono::milliseconds(200);
constexpr auto kWholeRun = std::chrono::seconds(60);

std::string SourceAddress(uint64_t i) { return absl::StrCat("127.0.", 1 + i / 256, ".", i % 256); }

// Sends one real client Initial from each source in turn and abandons it at once.
class InitialFlood {
 public:
  InitialFlood(boost::asio::io_context& io, udp::endpoint target)
      : io_(io),
        target_(std::move(target)),
        credentials_(quic::TlsCredentials::Create(IdentityFrom(99)).value()),
        timer_(io) {}

  void Start() { Tick(); }
  void Stop() {
    stopped_ = true;
    timer_.cancel();
  }
  uint64_t sent() const { return sent_; }

 private:
  void Tick() {
    if (stopped_ || sent_ >= uint64_t{kMaxRounds} * kSources) return;
    for (int i = 0; i < kInitialsPerTick; ++i) SendOne(SourceAddress(sent_ % kSources));
    timer_.expires_after(kFloodTick);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }

  void SendOne(const std::string& source) {
    ++sent_;
    auto endpoint = quic::Endpoint::Open(
        io_, udp::endpoint(boost::asio::ip::make_address(source), 0), credentials_, nullptr);
    if (!endpoint.ok()) return;
    // Dial writes the Initial at once; closing the endpoint abandons the connection unanswered.
    (*endpoint)->Dial(target_, quic::ConnectionLimits{}, std::nullopt, {}).IgnoreError();
    (*endpoint)->Close();
  }

  boost::asio::io_context& io_;
  udp::endpoint target_;
  std::shared_ptr<quic::TlsCredentials> credentials_;
  boost::asio::steady_timer timer_;
  uint64_t sent_ = 0;
  bool stopped_ = false;
};

uint64_t PendingInbound(const Host& node) {
  return node.GetMetrics().connections(Direction::kInbound, ConnectionState::kPending);
}

TEST(QuicFloodAttackTest, HonestPeersConnectWhileInitialsFloodFromManySources) {
  const auto started = std::chrono::steady_clock::now();
  boost::asio::io_context io;

  HostOptions node_options;
  node_options.config.limit_loopback_sources = true;  // per-source limits apply on loopback
  node_options.log = [](absl::string_view) {};
  Libp2pOptions node_libp2p;
  node_libp2p.identity = IdentityFrom(1);
  node_options.libp2p = std::move(node_libp2p);
  std::unique_ptr<Host> node = Host::Create(io, std::move(node_options)).value();
  const Multiaddr listening =
      node->Listen(Multiaddr::Parse("/ip4/127.0.0.1/udp/0/quic-v1").value()).value();
  const Multiaddr node_address = listening.WithPeerId(node->peer());
  const uint32_t pending_slots = node->core().config().max_incoming_pending_connections;

  // Sampled every tick of the flood: the largest the node's state grew.
  uint64_t max_pending = 0, max_memory = 0;
  size_t max_sockets = 0;
  boost::asio::steady_timer sampler(io);
  std::function<void()> sample = [&] {
    max_pending = std::max(max_pending, PendingInbound(*node));
    max_memory = std::max(max_memory, node->GetMetrics().memory_bytes);
    max_sockets = std::max(max_sockets, node->driver().sockets());
    sampler.expires_after(std::chrono::milliseconds(2));
    sampler.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) sample();
    });
  };
  sample();

  InitialFlood flood(io, quic::QuicEndpointOf(listening).value());
  flood.Start();
  // The attack is in place: the pending slots are full of abandoned handshakes.
  ASSERT_TRUE(RunUntil(
      io, [&] { return PendingInbound(*node) == pending_slots; }, std::chrono::seconds(10)))
      << "pending " << PendingInbound(*node) << " of " << pending_slots << "; flood sent "
      << flood.sent() << "\n"
      << MetricsSummary(node->GetMetrics());

  const attack::HonestTally tally = attack::DialRepeatedlyAsHonestPeer(
      io, node_address, "127.9.0.1", kHonestAttempts, kBetweenHonestAttempts, started + kWholeRun,
      [](int i) { return static_cast<uint8_t>(2 + i); });
  const Metrics m = node->GetMetrics();
  flood.Stop();
  sampler.cancel();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // The measured bounds, for the threat model (docs/design.md).
  std::cout << "quic_flood_test: honest " << tally.connected << "/" << kHonestAttempts
            << " connected; flood " << flood.sent() << " Initials from " << kSources
            << " sources in " << seconds << " s; max pending " << max_pending
            << ", max reserved memory " << max_memory << " bytes, max driver sockets "
            << max_sockets << "\n"
            << MetricsSummary(m);
  for (const std::string& f : tally.failures) std::cout << "  honest attempt failed: " << f << "\n";

  EXPECT_GE(tally.connected, kHonestAttempts - 1) << "of " << kHonestAttempts;
  EXPECT_LE(max_pending, pending_slots);
  // Each pending slot and each honest connection holds at most the fixed QUIC charge and a few
  // chunks of stream buffers: a bound that does not grow with the flood.
  const uint64_t per_connection = quic::kConnectionStateBytes + 4 * ConnectionMemory::kChunkBytes;
  EXPECT_LE(max_memory, (pending_slots + kHonestAttempts) * per_connection);
  EXPECT_LE(max_sockets, static_cast<size_t>(pending_slots + kHonestAttempts + 1));
  EXPECT_GT(m.closed_by_reason[static_cast<int>(CloseReason::kPendingEvicted)] +
                m.rejected_by_reason[static_cast<int>(RejectReason::kPendingLimit)],
            0u)
      << "the flood never reached the pending limit";
  node->Close();
}

}  // namespace
}  // namespace connmgr::shell
