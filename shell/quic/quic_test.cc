// libp2p over QUIC between two connmgr hosts on loopback: the handshake gives the peer id,
// identify, ping and an application protocol run over QUIC streams, the core's close reaches
// the peer as CONNECTION_CLOSE, admission refuses an Initial before any crypto with a stateless
// CONNECTION_REFUSED, and the core's stream limit is the peer's QUIC stream credit.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/host.h"
#include "shell/quic/session.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using testing_util::IdentityFrom;

constexpr char kEcho[] = "/connmgr/echo/1.0.0";
constexpr char kQuicAny[] = "/ip4/127.0.0.1/udp/0/quic-v1";

class QuicTest : public ::testing::Test {
 protected:
  std::unique_ptr<Host> MakeHost(uint8_t seed, Config config = Config{},
                                 std::optional<IpAddress> source = std::nullopt) {
    HostOptions o;
    o.config = std::move(config);
    Libp2pOptions libp2p;
    libp2p.identity = crypto::PrivateKey(IdentityFrom(seed));
    libp2p.protocols = {kEcho};
    o.libp2p = std::move(libp2p);
    o.dial_source_ip = source;
    o.log = [](absl::string_view) {};
    std::unique_ptr<Host> host = Host::Create(io_, std::move(o)).value();
    Host* raw = host.get();
    host->Subscribe([this, seed](const HostEvent& e) {
      if (const auto* id = std::get_if<IdentifyEvent>(&e)) identified_[seed].push_back(*id);
      if (const auto* c = std::get_if<ConnectionClosed>(&e)) closes_[seed].push_back(c->reason);
    });
    host->OnStreamData([this, raw, seed](Host::StreamRef ref, std::string bytes) {
      received_[seed] += bytes;
      if (seed == 1) raw->WriteStream(ref, std::move(bytes)).IgnoreError();  // host 1 echoes
    });
    return host;
  }

  bool RunUntil(const std::function<bool()>& done) { return testing_util::RunUntil(io_, done); }

  DialResult Dial(Host& from, const Multiaddr& where) {
    std::optional<DialResult> result;
    EXPECT_TRUE(from.Dial(where, [&](const DialResult& r) { result = r; }).ok());
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(DialResult{});
  }

  Multiaddr ListenQuic(Host& h) {
    return h.Listen(Multiaddr::Parse(kQuicAny).value()).value().WithPeerId(h.peer());
  }

  static uint64_t Rejected(const Host& h, RejectReason r) {
    return h.GetMetrics().rejected_by_reason[static_cast<int>(r)];
  }

  boost::asio::io_context io_;
  std::map<uint8_t, std::vector<IdentifyEvent>> identified_;
  std::map<uint8_t, std::vector<CloseReason>> closes_;
  std::map<uint8_t, std::string> received_;
};

TEST_F(QuicTest, HostsConnectIdentifyPingAndEchoOverQuic) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  const Multiaddr where = ListenQuic(*a);
  EXPECT_THAT(where.ToString(), HasSubstr("/udp/"));
  EXPECT_THAT(where.ToString(), HasSubstr("/quic-v1/p2p/"));
  const DialResult r = Dial(*b, where);
  ASSERT_EQ(r.outcome, DialOutcome::kConnected) << r.detail;
  ASSERT_TRUE(RunUntil([&] { return !identified_[1].empty() && !identified_[2].empty(); }));
  EXPECT_EQ(identified_[2][0].peer, a->peer());
  EXPECT_EQ(identified_[1][0].peer, b->peer());
  EXPECT_THAT(identified_[2][0].info.protocols, Contains(std::string(kEcho)));
  ASSERT_TRUE(identified_[2][0].info.observed_address.has_value());
  EXPECT_THAT(identified_[2][0].info.observed_address->ToString(), HasSubstr("/quic-v1"));
  // The core sees a connection with no file descriptor on each side.
  EXPECT_EQ(a->GetMetrics().connections(Direction::kInbound, ConnectionState::kOpen), 1u);
  EXPECT_EQ(b->GetMetrics().connections(Direction::kOutbound, ConnectionState::kOpen), 1u);
  // Each side charges the core at least the fixed QUIC state.
  EXPECT_GE(a->GetMetrics().memory_bytes, quic::kConnectionStateBytes);
  EXPECT_GE(b->GetMetrics().memory_bytes, quic::kConnectionStateBytes);

  std::optional<absl::StatusOr<Duration>> rtt;
  b->Ping(a->peer(), [&](const absl::StatusOr<Duration>& d) { rtt = d; });
  ASSERT_TRUE(RunUntil([&] { return rtt.has_value(); }));
  ASSERT_TRUE(rtt->ok()) << rtt->status();

  std::optional<absl::StatusOr<Host::StreamRef>> stream;
  b->OpenStream(a->peer(), kEcho, [&](const absl::StatusOr<Host::StreamRef>& s) { stream = s; });
  ASSERT_TRUE(RunUntil([&] { return stream.has_value(); }));
  ASSERT_TRUE(stream->ok()) << stream->status();
  ASSERT_TRUE(b->WriteStream(**stream, "hello over quic").ok());
  ASSERT_TRUE(RunUntil([&] { return received_[2] == "hello over quic"; }));
  EXPECT_EQ(received_[1], "hello over quic");
}

TEST_F(QuicTest, ADialedPeerOtherThanTheCertificatesFails) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  auto c = MakeHost(3);
  const Multiaddr a_but_c = ListenQuic(*a).WithoutPeerId().WithPeerId(c->peer());
  const DialResult r = Dial(*b, a_but_c);
  EXPECT_EQ(r.outcome, DialOutcome::kFailed);
  EXPECT_THAT(r.detail, HasSubstr("but reached"));
  EXPECT_THAT(r.detail, HasSubstr(a->peer().ToString()));
}

TEST_F(QuicTest, TheCoresCloseReachesThePeer) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  const DialResult r = Dial(*b, ListenQuic(*a));
  ASSERT_EQ(r.outcome, DialOutcome::kConnected) << r.detail;
  ASSERT_TRUE(RunUntil([&] {
    return a->GetMetrics().connections(Direction::kInbound, ConnectionState::kOpen) == 1;
  }));
  const ConnectionId on_a = a->core().connections().SortedForInspection()[0]->id;
  ASSERT_TRUE(a->CloseConnection(on_a).ok());
  // b learns of it from a's CONNECTION_CLOSE, long before its idle timeout.
  ASSERT_TRUE(RunUntil([&] { return !closes_[2].empty(); }));
  EXPECT_EQ(closes_[2][0], CloseReason::kTransport);
  EXPECT_EQ(b->GetMetrics().connections(Direction::kOutbound, ConnectionState::kOpen), 0u);
}

TEST_F(QuicTest, ADenyListedSourceIsRefusedBeforeTheHandshake) {
  Config config;
  config.deny_list = {IpPrefix::Parse("127.0.0.2/32").value()};
  auto a = MakeHost(1, config);
  auto denied = MakeHost(2, Config{}, IpAddress::Parse("127.0.0.2").value());
  auto allowed = MakeHost(3, Config{}, IpAddress::Parse("127.0.0.3").value());
  const Multiaddr where = ListenQuic(*a);
  const DialResult refused = Dial(*denied, where);
  EXPECT_EQ(refused.outcome, DialOutcome::kFailed);
  EXPECT_THAT(refused.detail, HasSubstr("CONNECTION_REFUSED"));
  EXPECT_EQ(Rejected(*a, RejectReason::kDenied), 1u);
  // No connection state, no handshake: nothing was upgraded on a.
  EXPECT_EQ(a->GetMetrics().counter(Counter::kInboundAccepted), 0u);
  const DialResult ok = Dial(*allowed, where);
  EXPECT_EQ(ok.outcome, DialOutcome::kConnected) << ok.detail;
}

TEST_F(QuicTest, ARateLimitedSourceIsRefusedStatelessly) {
  Config config;
  config.limit_loopback_sources = true;
  config.inbound_rate_per_ip = {1, Duration::Seconds(60), 1};  // one connection a minute
  auto a = MakeHost(1, config);
  auto b = MakeHost(2);
  auto c = MakeHost(3);
  const Multiaddr where = ListenQuic(*a);
  EXPECT_EQ(Dial(*b, where).outcome, DialOutcome::kConnected);
  const DialResult refused = Dial(*c, where);
  EXPECT_EQ(refused.outcome, DialOutcome::kFailed);
  EXPECT_THAT(refused.detail, HasSubstr("CONNECTION_REFUSED"));
  EXPECT_GE(Rejected(*a, RejectReason::kRateLimitIp), 1u);
}

TEST_F(QuicTest, TheStreamLimitIsThePeersStreamCredit) {
  Config config;
  config.max_streams_per_connection = 4;
  auto a = MakeHost(1, config);
  auto b = MakeHost(2);
  ASSERT_EQ(Dial(*b, ListenQuic(*a)).outcome, DialOutcome::kConnected);
  // Identify and the first ping use two of the four and give them back when they end.
  std::vector<Host::StreamRef> open;
  absl::Status last;
  ASSERT_TRUE(RunUntil([&] {
    std::optional<absl::StatusOr<Host::StreamRef>> s;
    b->OpenStream(a->peer(), kEcho, [&](const absl::StatusOr<Host::StreamRef>& r) { s = r; });
    if (!RunUntil([&] { return s.has_value(); })) return true;
    if (s->ok()) {
      open.push_back(**s);
    } else {
      last = s->status();
    }
    return open.size() == 4;
  }));
  ASSERT_EQ(open.size(), 4u);
  // Four streams are open on a: QUIC itself stops a fifth at b.
  std::optional<absl::StatusOr<Host::StreamRef>> fifth;
  b->OpenStream(a->peer(), kEcho, [&](const absl::StatusOr<Host::StreamRef>& r) { fifth = r; });
  ASSERT_TRUE(RunUntil([&] { return fifth.has_value(); }));
  ASSERT_FALSE(fifth->ok());
  EXPECT_EQ(fifth->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(fifth->status().message(), HasSubstr("allows no more streams"));
  EXPECT_EQ(a->GetMetrics().streams_rejected_by_reason[0], 0u);  // a's core never had to refuse
  // One ends (both sides close it): the credit comes back.
  ASSERT_TRUE(b->CloseStream(open[0]).ok());
  ASSERT_TRUE(RunUntil([&] {
    std::optional<absl::StatusOr<Host::StreamRef>> s;
    b->OpenStream(a->peer(), kEcho, [&](const absl::StatusOr<Host::StreamRef>& r) { s = r; });
    return RunUntil([&] { return s.has_value(); }) && s->ok();
  }));
}

}  // namespace
}  // namespace connmgr::shell
