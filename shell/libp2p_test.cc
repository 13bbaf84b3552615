// libp2p connections between two connmgr hosts on loopback: multistream-select, Noise and
// Yamux end to end, ping, identify, negotiated application streams counted by the core.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using testing_util::IdentityFrom;

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kEcho[] = "/connmgr/echo/1.0.0";

class Libp2pTest : public ::testing::Test {
 protected:
  std::unique_ptr<Host> MakeHost(uint8_t seed, Config config = Config{}) {
    HostOptions o;
    o.config = std::move(config);
    Libp2pOptions libp2p;
    libp2p.identity = IdentityFrom(seed);
    libp2p.protocols = {kEcho};
    o.libp2p = std::move(libp2p);
    std::unique_ptr<Host> host = Host::Create(io_, std::move(o)).value();
    Host* raw = host.get();
    host->Subscribe([this, seed](const HostEvent& e) {
      if (const auto* id = std::get_if<IdentifyEvent>(&e)) identified_[seed].push_back(*id);
      if (const auto* st = std::get_if<StreamEvent>(&e)) streams_[seed].push_back(*st);
    });
    // Every host echoes what arrives on its echo streams.
    host->OnStreamData([raw](Host::StreamRef ref, std::string bytes) {
      raw->WriteStream(ref, std::move(bytes)).IgnoreError();
    });
    return host;
  }

  bool RunUntil(const std::function<bool()>& done) { return testing_util::RunUntil(io_, done); }

  DialResult Connect(Host& from, Host& to) {
    const Multiaddr where =
        to.Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value().WithPeerId(to.peer());
    std::optional<DialResult> result;
    EXPECT_TRUE(from.Dial(where, [&](const DialResult& r) { result = r; }).ok());
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(DialResult{});
  }

  boost::asio::io_context io_;
  std::map<uint8_t, std::vector<IdentifyEvent>> identified_;
  std::map<uint8_t, std::vector<StreamEvent>> streams_;
};

TEST_F(Libp2pTest, HostsConnectOverNoiseAndYamuxAndIdentifyEachOther) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  EXPECT_TRUE(absl::StartsWith(a->peer().ToString(), "12D3KooW")) << a->peer().ToString();
  const DialResult r = Connect(*b, *a);
  ASSERT_EQ(r.outcome, DialOutcome::kConnected) << r.detail;
  ASSERT_TRUE(RunUntil([&] { return !identified_[1].empty() && !identified_[2].empty(); }));
  const IdentifyEvent& seen_by_b = identified_[2][0];
  EXPECT_EQ(seen_by_b.peer, a->peer());
  EXPECT_EQ(seen_by_b.info.agent_version, "connmgr/0.1.0");
  EXPECT_THAT(seen_by_b.info.protocols, Contains(std::string(kPingProtocol)));
  EXPECT_THAT(seen_by_b.info.protocols, Contains(std::string(kEcho)));
  ASSERT_EQ(seen_by_b.info.listen_addresses.size(), 1u);
  EXPECT_EQ(seen_by_b.info.listen_addresses[0], a->listen_addresses()[0]);
  ASSERT_TRUE(seen_by_b.info.observed_address.has_value());
  EXPECT_THAT(seen_by_b.info.observed_address->ToString(), HasSubstr("/ip4/127.0.0.1/tcp/"));
  // Identify streams were counted by both cores while they ran, and closed after.
  ASSERT_TRUE(RunUntil([&] {
    return a->GetMetrics().streams_inbound + a->GetMetrics().streams_outbound == 0 &&
           a->GetMetrics().counter(Counter::kStreamsClosed) >= 2;
  }));
}

TEST_F(Libp2pTest, PingMeasuresTheRoundTrip) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  ASSERT_EQ(Connect(*b, *a).outcome, DialOutcome::kConnected);
  std::optional<absl::StatusOr<Duration>> rtt;
  b->Ping(a->peer(), [&](const absl::StatusOr<Duration>& d) { rtt = d; });
  ASSERT_TRUE(RunUntil([&] { return rtt.has_value(); }));
  ASSERT_TRUE(rtt->ok()) << rtt->status();
  EXPECT_GT(**rtt, Duration::Zero());
  EXPECT_LT(**rtt, Duration::Seconds(5));
  // Each connection pinged its peer when it opened and keeps the round trip.
  const ConnectionId connection = b->core().connections().PeerConnections(a->peer())[0];
  ASSERT_TRUE(RunUntil([&] { return b->RoundTrip(connection).has_value(); }));
  EXPECT_GT(*b->RoundTrip(connection), Duration::Zero());
}

TEST_F(Libp2pTest, AnApplicationStreamIsNegotiatedCountedAndCarriesBytes) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  ASSERT_EQ(Connect(*b, *a).outcome, DialOutcome::kConnected);
  std::optional<absl::StatusOr<Host::StreamRef>> opened;
  b->OpenStream(a->peer(), kEcho, [&](const absl::StatusOr<Host::StreamRef>& r) { opened = r; });
  ASSERT_TRUE(RunUntil([&] { return opened.has_value(); }));
  ASSERT_TRUE(opened->ok()) << opened->status();
  std::string echoed;
  b->OnStreamData([&](Host::StreamRef, const std::string& bytes) { echoed += bytes; });
  const std::string big(size_t{300} * 1024, 'x');  // more than one Yamux window
  ASSERT_TRUE(b->WriteStream(**opened, big).ok());
  ASSERT_TRUE(RunUntil([&] { return echoed.size() == big.size(); }));
  EXPECT_EQ(echoed, big);
  // Both cores count the stream under its protocol.
  bool a_counts = false;
  for (const ProtocolStreams& p : a->GetMetrics().streams_by_protocol)
    a_counts |= p.protocol == kEcho;
  EXPECT_TRUE(a_counts);
  ASSERT_TRUE(b->CloseStream(**opened).ok());
  ASSERT_TRUE(RunUntil([&] {
    for (const StreamEvent& e : streams_[2]) {
      if (e.protocol == kEcho && !e.opened) return true;
    }
    return false;
  }));
}

TEST_F(Libp2pTest, AStreamOverTheLimitIsRefusedAndReset) {
  Config config;
  config.max_streams_per_connection = 1;
  auto a = MakeHost(1, config);
  auto b = MakeHost(2);
  ASSERT_EQ(Connect(*b, *a).outcome, DialOutcome::kConnected);
  // Let the identify streams end (with one stream allowed, one of the two may be refused).
  ASSERT_TRUE(RunUntil([&] {
    const Metrics m = a->GetMetrics();
    return m.counter(Counter::kStreamsOpened) >= 1 && m.streams_inbound + m.streams_outbound == 0;
  }));
  const uint64_t refused_before =
      a->GetMetrics().streams_rejected(StreamRejectReason::kConnectionStreamLimit);
  std::vector<absl::StatusOr<Host::StreamRef>> results;
  for (int i = 0; i < 2; ++i) {
    b->OpenStream(a->peer(), kEcho,
                  [&](const absl::StatusOr<Host::StreamRef>& r) { results.push_back(r); });
  }
  ASSERT_TRUE(RunUntil([&] { return results.size() == 2; }));
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  ASSERT_TRUE(results[1].ok()) << results[1].status();  // b's own limit is the default
  ASSERT_TRUE(RunUntil([&] {
    return a->GetMetrics().streams_rejected(StreamRejectReason::kConnectionStreamLimit) ==
           refused_before + 1;
  }));
  EXPECT_EQ(a->GetMetrics().streams_inbound, 1u);
}

TEST_F(Libp2pTest, DialingAnotherPeersAddressFailsTheHandshake) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  const Multiaddr where = a->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
  std::optional<DialResult> result;
  ASSERT_TRUE(b->Dial(where.WithPeerId(IdentityFrom(9).peer_id()), [&](const DialResult& r) {
                 result = r;
               }).ok());
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->outcome, DialOutcome::kFailed);
  EXPECT_THAT(result->detail, HasSubstr("noise"));
}

}  // namespace
}  // namespace connmgr::shell
