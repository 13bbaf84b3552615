// libp2p connections between two connmgr hosts on loopback: multistream-select, Noise and
// Yamux end to end, ping, identify, negotiated application streams counted by the core.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/write.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/endpoint.h"
#include "shell/host.h"
#include "shell/mux/multistream.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using testing_util::IdentityFrom;

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kEcho[] = "/connmgr/echo/1.0.0";

class Libp2pTest : public ::testing::Test {
 protected:
  std::unique_ptr<Host> MakeHost(uint8_t seed, Config config = Config{},
                                 std::optional<crypto::PrivateKey> key = std::nullopt,
                                 std::vector<std::string> security = {kNoiseProtocol,
                                                                      kTlsProtocol}) {
    HostOptions o;
    o.config = std::move(config);
    Libp2pOptions libp2p;
    libp2p.identity = key ? *key : crypto::PrivateKey(IdentityFrom(seed));
    libp2p.security_protocols = std::move(security);
    libp2p.protocols = {kEcho};
    o.libp2p = std::move(libp2p);
    o.log = [this, seed](absl::string_view line) { log_[seed].emplace_back(line); };
    std::unique_ptr<Host> host = Host::Create(io_, std::move(o)).value();
    Host* raw = host.get();
    host->Subscribe([this, seed](const HostEvent& e) {
      if (const auto* id = std::get_if<IdentifyEvent>(&e)) identified_[seed].push_back(*id);
      if (const auto* st = std::get_if<StreamEvent>(&e)) streams_[seed].push_back(*st);
      if (const auto* c = std::get_if<ConnectionClosed>(&e)) closes_[seed].push_back(c->reason);
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
  std::map<uint8_t, std::vector<CloseReason>> closes_;
  std::map<uint8_t, std::vector<std::string>> log_;
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

TEST_F(Libp2pTest, HostsWithEveryKeyTypeConnectAndIdentifyTheirKeys) {
  using crypto::KeyType;
  const std::vector<KeyType> types = {KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa,
                                      KeyType::kEd25519};
  std::vector<std::unique_ptr<Host>> hosts;
  for (size_t i = 0; i < types.size(); ++i) {
    hosts.push_back(MakeHost(static_cast<uint8_t>(10 + i), Config{},
                             crypto::PrivateKey::Generate(types[i]).value()));
  }
  EXPECT_TRUE(absl::StartsWith(hosts[0]->peer().ToString(), "16Uiu2"))
      << hosts[0]->peer().ToString();
  EXPECT_TRUE(absl::StartsWith(hosts[1]->peer().ToString(), "Qm")) << hosts[1]->peer().ToString();
  // Each dials the next: every type is both initiator and responder once.
  for (size_t i = 0; i < hosts.size(); ++i) {
    Host& from = *hosts[i];
    Host& to = *hosts[(i + 1) % hosts.size()];
    const DialResult r = Connect(from, to);
    ASSERT_EQ(r.outcome, DialOutcome::kConnected) << crypto::KeyTypeName(types[i]) << r.detail;
  }
  ASSERT_TRUE(RunUntil([&] {
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (identified_[static_cast<uint8_t>(10 + i)].size() < 2) return false;
    }
    return true;
  }));
  for (size_t i = 0; i < hosts.size(); ++i) {
    for (const IdentifyEvent& seen : identified_[static_cast<uint8_t>(10 + i)]) {
      absl::StatusOr<crypto::PublicKey> key = crypto::PublicKey::FromProtobuf(seen.info.public_key);
      ASSERT_TRUE(key.ok()) << key.status();
      EXPECT_EQ(key->ToPeerId(), seen.peer);
    }
  }
  // The RSA host (1) was dialled by the secp256k1 host (0) and saw its key type.
  const auto& seen_by_rsa = identified_[11];
  bool saw_secp256k1 = false;
  for (const IdentifyEvent& seen : seen_by_rsa) {
    if (seen.peer == hosts[0]->peer()) {
      saw_secp256k1 =
          crypto::PublicKey::FromProtobuf(seen.info.public_key)->type() == KeyType::kSecp256k1;
    }
  }
  EXPECT_TRUE(saw_secp256k1);
}

// libp2p's TLS 1.3 handshake instead of Noise, for every key type; then Yamux, identify, ping
// and an application stream as over Noise.
TEST_F(Libp2pTest, HostsConnectOverTlsWithEveryKeyType) {
  using crypto::KeyType;
  const std::vector<KeyType> types = {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa,
                                      KeyType::kEcdsa};
  std::vector<std::unique_ptr<Host>> hosts;
  for (size_t i = 0; i < types.size(); ++i) {
    hosts.push_back(MakeHost(static_cast<uint8_t>(30 + i), Config{},
                             crypto::PrivateKey::Generate(types[i]).value(), {kTlsProtocol}));
  }
  for (size_t i = 0; i < hosts.size(); ++i) {
    const DialResult r = Connect(*hosts[i], *hosts[(i + 1) % hosts.size()]);
    ASSERT_EQ(r.outcome, DialOutcome::kConnected) << crypto::KeyTypeName(types[i]) << r.detail;
  }
  ASSERT_TRUE(RunUntil([&] {
    for (size_t i = 0; i < hosts.size(); ++i) {
      if (identified_[static_cast<uint8_t>(30 + i)].size() < 2) return false;
    }
    return true;
  }));
  std::optional<absl::StatusOr<Duration>> rtt;
  hosts[0]->Ping(hosts[1]->peer(), [&](const absl::StatusOr<Duration>& d) { rtt = d; });
  ASSERT_TRUE(RunUntil([&] { return rtt.has_value(); }));
  EXPECT_TRUE(rtt->ok()) << rtt->status();

  std::optional<absl::StatusOr<Host::StreamRef>> opened;
  hosts[2]->OpenStream(hosts[3]->peer(), kEcho,
                       [&](const absl::StatusOr<Host::StreamRef>& r) { opened = r; });
  ASSERT_TRUE(RunUntil([&] { return opened.has_value(); }));
  ASSERT_TRUE(opened->ok()) << opened->status();
  std::string echoed;
  hosts[2]->OnStreamData([&](Host::StreamRef, const std::string& bytes) { echoed += bytes; });
  const std::string big(size_t{200} * 1024, 't');  // many TLS records
  ASSERT_TRUE(hosts[2]->WriteStream(**opened, big).ok());
  ASSERT_TRUE(RunUntil([&] { return echoed.size() == big.size(); }));
  EXPECT_EQ(echoed, big);
}

TEST_F(Libp2pTest, SecurityIsNegotiatedInTheConfiguredOrder) {
  // The dialer's preference wins when the listener has both.
  auto tls_first = MakeHost(41, Config{}, std::nullopt, {kTlsProtocol, kNoiseProtocol});
  auto noise_first = MakeHost(42);
  ASSERT_EQ(Connect(*tls_first, *noise_first).outcome, DialOutcome::kConnected);
  auto tls_only = MakeHost(43, Config{}, std::nullopt, {kTlsProtocol});
  ASSERT_EQ(Connect(*noise_first, *tls_only).outcome, DialOutcome::kConnected);
  // No protocol in common: the dial fails in the security negotiation.
  auto noise_only = MakeHost(44, Config{}, std::nullopt, {kNoiseProtocol});
  const DialResult r = Connect(*tls_only, *noise_only);
  EXPECT_NE(r.outcome, DialOutcome::kConnected);
}

TEST_F(Libp2pTest, BadSecurityProtocolsAreRefused) {
  for (const std::vector<std::string>& security :
       {std::vector<std::string>{}, std::vector<std::string>{"/secio/1.0.0"},
        std::vector<std::string>{kNoiseProtocol, kNoiseProtocol}}) {
    HostOptions o;
    Libp2pOptions libp2p;
    libp2p.security_protocols = security;
    o.libp2p = std::move(libp2p);
    absl::StatusOr<std::unique_ptr<Host>> host = Host::Create(io_, std::move(o));
    EXPECT_EQ(host.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(host.status().message(), HasSubstr("security_protocols"));
  }
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

// Host::Handle: each protocol's inbound streams reach its own handler; the listener offers
// exactly the handled protocols (plus ping and identify); identify announces them.
TEST_F(Libp2pTest, ProtocolHandlersReceiveTheirOwnStreams) {
  auto make = [&](uint8_t seed) {
    HostOptions o;
    Libp2pOptions libp2p;
    libp2p.identity = IdentityFrom(seed);
    o.libp2p = std::move(libp2p);
    std::unique_ptr<Host> host = Host::Create(io_, std::move(o)).value();
    host->Subscribe([this, seed](const HostEvent& e) {
      if (const auto* id = std::get_if<IdentifyEvent>(&e)) identified_[seed].push_back(*id);
    });
    return host;
  };
  auto server = make(21);
  auto client = make(22);
  constexpr char kUpper[] = "/connmgr/upper/1.0.0";
  constexpr char kCount[] = "/connmgr/count/1.0.0";
  Host* raw = server.get();
  std::vector<std::string> log;
  ASSERT_TRUE(server
                  ->Handle(kUpper, {[&](Host::StreamRef, const PeerId& peer) {
                                      log.push_back("upper opened by " + peer.ToString());
                                    },
                                    // Changed in place: its own copy.
                                    // NOLINTNEXTLINE(performance-unnecessary-value-param)
                                    [&, raw](Host::StreamRef ref, std::string bytes) {
                                      for (char& ch : bytes) ch = absl::ascii_toupper(ch);
                                      raw->WriteStream(ref, std::move(bytes)).IgnoreError();
                                      raw->CloseStream(ref).IgnoreError();
                                    },
                                    [&](Host::StreamRef) { log.push_back("upper closed"); }})
                  .ok());
  size_t counted = 0;
  ASSERT_TRUE(server
                  ->Handle(kCount, {nullptr,
                                    [&, raw](Host::StreamRef ref, const std::string& bytes) {
                                      counted += bytes.size();
                                      raw->WriteStream(ref, std::to_string(counted)).IgnoreError();
                                    },
                                    nullptr})
                  .ok());
  bool shared_callback_called = false;
  server->OnStreamData([&](Host::StreamRef, const std::string&) { shared_callback_called = true; });
  EXPECT_EQ(server->Handle(kPingProtocol, {}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(server->Handle("", {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server->Handle("/a\nb", {}).code(), absl::StatusCode::kInvalidArgument);

  ASSERT_EQ(Connect(*client, *server).outcome, DialOutcome::kConnected);
  ASSERT_TRUE(RunUntil([&] { return !identified_[22].empty(); }));
  EXPECT_THAT(identified_[22][0].info.protocols,
              ::testing::UnorderedElementsAre(kPingProtocol, kIdentifyProtocol, kUpper, kCount));

  std::string upper_reply, count_reply;
  std::optional<absl::StatusOr<Host::StreamRef>> upper;
  client->OnStreamData([&](Host::StreamRef ref, const std::string& bytes) {
    (upper.has_value() && upper->ok() && ref == **upper ? upper_reply : count_reply) += bytes;
  });
  client->OpenStream(server->peer(), kUpper,
                     [&](const absl::StatusOr<Host::StreamRef>& r) { upper = r; });
  ASSERT_TRUE(RunUntil([&] { return upper.has_value(); }));
  ASSERT_TRUE(upper->ok()) << upper->status();
  ASSERT_TRUE(client->WriteStream(**upper, "shout").ok());
  ASSERT_TRUE(RunUntil([&] { return upper_reply == "SHOUT"; }));
  ASSERT_TRUE(client->CloseStream(**upper).ok());
  ASSERT_TRUE(RunUntil([&] { return log.size() == 2; }));
  EXPECT_EQ(log[0], "upper opened by " + client->peer().ToString());
  EXPECT_EQ(log[1], "upper closed");

  std::optional<absl::StatusOr<Host::StreamRef>> count;
  client->OpenStream(server->peer(), kCount,
                     [&](const absl::StatusOr<Host::StreamRef>& r) { count = r; });
  ASSERT_TRUE(RunUntil([&] { return count.has_value(); }));
  ASSERT_TRUE(count->ok()) << count->status();
  ASSERT_TRUE(client->WriteStream(**count, "1234567").ok());
  ASSERT_TRUE(RunUntil([&] { return count_reply == "7"; }));
  EXPECT_EQ(counted, 7u);
  EXPECT_FALSE(shared_callback_called);

  // An unhandled protocol is refused by the negotiation; a removed one too.
  server->RemoveHandler(kCount);
  for (const std::string& protocol : {std::string("/connmgr/other/1.0.0"), std::string(kCount)}) {
    std::optional<absl::StatusOr<Host::StreamRef>> refused;
    client->OpenStream(server->peer(), protocol,
                       [&](const absl::StatusOr<Host::StreamRef>& r) { refused = r; });
    ASSERT_TRUE(RunUntil([&] { return refused.has_value(); }));
    EXPECT_FALSE(refused->ok()) << protocol;
  }
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

// Each connection reserves what it buffers from its core (shell/connection_memory.h), in 64 KiB
// chunks, and the core releases it when the connection ends: connmgr_memory_bytes shows it.
TEST_F(Libp2pTest, EachConnectionReservesItsBuffersAndReleasesThemWhenItEnds) {
  constexpr uint64_t kChunk = ConnectionMemory::kChunkBytes;
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  ASSERT_EQ(Connect(*b, *a).outcome, DialOutcome::kConnected);
  const ConnectionId on_b = b->core().connections().PeerConnections(a->peer())[0];
  const ConnectionId on_a = a->core().connections().PeerConnections(b->peer())[0];
  // Quiet once identify and the first ping are done both ways.
  ASSERT_TRUE(RunUntil([&] {
    for (Host* h : {a.get(), b.get()}) {
      const Metrics m = h->GetMetrics();
      if (m.streams_inbound + m.streams_outbound != 0 || m.counter(Counter::kStreamsClosed) < 4) {
        return false;
      }
    }
    return !identified_[1].empty() && !identified_[2].empty() && a->RoundTrip(on_a) &&
           b->RoundTrip(on_b);
  }));
  // An idle connection holds its 32 KiB read buffer and has one read's headroom (64 KiB)
  // reserved: two chunks, charged to the connection (nothing is left in the transient scope).
  EXPECT_EQ(a->core().connections().Find(on_a)->memory_bytes, 2 * kChunk);
  EXPECT_EQ(b->core().connections().Find(on_b)->memory_bytes, 2 * kChunk);
  EXPECT_EQ(a->GetMetrics().memory_bytes, 2 * kChunk);
  EXPECT_EQ(b->GetMetrics().memory_bytes, 2 * kChunk);
  ASSERT_TRUE(b->CloseConnection(on_b).ok());
  ASSERT_TRUE(RunUntil(
      [&] { return a->GetMetrics().memory_bytes == 0 && b->GetMetrics().memory_bytes == 0; }));
  EXPECT_EQ(a->GetMetrics().counter(Counter::kInputErrors), 0u);  // no misuse
  EXPECT_EQ(b->GetMetrics().counter(Counter::kInputErrors), 0u);
}

// Why the shell ends a connection reaches the core (ConnectionClosed's reason) and the log.
TEST_F(Libp2pTest, ConnectionsTheShellEndsCarryTheirReasonAndAreLogged) {
  auto a = MakeHost(1);
  const Multiaddr where = a->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
  const boost::asio::ip::tcp::endpoint endpoint = TcpEndpointOf(where).value();
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> clients;
  auto dial = [&](const std::string& bytes) {
    clients.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io_));
    clients.back()->connect(endpoint);
    boost::asio::write(*clients.back(), boost::asio::buffer(bytes));
  };
  // Not multistream-select: a length of 71 ('G') whose message does not end in a newline.
  dial(std::string(200, 'G'));
  ASSERT_TRUE(RunUntil([&] { return closes_[1].size() == 1; }));
  EXPECT_EQ(closes_[1][0], CloseReason::kProtocolError);
  // /noise, then a first handshake message of 5 bytes (an ephemeral key has 32).
  std::string noise;
  mux::AppendMultistreamMessage(mux::kMultistreamHeader, &noise);
  mux::AppendMultistreamMessage(kNoiseProtocol, &noise);
  dial(noise + std::string("\x00\x05hello", 7));
  ASSERT_TRUE(RunUntil([&] { return closes_[1].size() == 2; }));
  EXPECT_EQ(closes_[1][1], CloseReason::kHandshakeFailed);
  // A peer that just goes is the transport's doing, and not logged.
  dial("");
  clients.back()->close();
  ASSERT_TRUE(RunUntil([&] { return closes_[1].size() == 3; }));
  EXPECT_EQ(closes_[1][2], CloseReason::kTransport);
  EXPECT_EQ(a->GetMetrics().closed_by_reason[static_cast<int>(CloseReason::kProtocolError)], 1u);
  EXPECT_EQ(a->GetMetrics().closed_by_reason[static_cast<int>(CloseReason::kHandshakeFailed)], 1u);
  ASSERT_EQ(log_[1].size(), 2u);
  EXPECT_THAT(log_[1][0], HasSubstr("protocol_error: security negotiation:"));
  EXPECT_THAT(log_[1][1], HasSubstr("handshake_failed: noise:"));
  EXPECT_THAT(log_[1][1], HasSubstr("/ip4/127.0.0.1/tcp/"));
  EXPECT_EQ(a->GetMetrics().memory_bytes, 0u);  // their transient reservations went back
}

// What the peer sent and the shell quotes in its log line is escaped: no terminal escape, no
// forged line.
TEST_F(Libp2pTest, TheCloseLogEscapesWhatThePeerSent) {
  auto a = MakeHost(1);
  const Multiaddr where = a->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value();
  boost::asio::ip::tcp::socket client(io_);
  client.connect(TcpEndpointOf(where).value());
  std::string hostile;
  mux::AppendMultistreamMessage("\x1b[2J/evil\rconnected 12D3KooWForged", &hostile);
  boost::asio::write(client, boost::asio::buffer(hostile));
  ASSERT_TRUE(RunUntil([&] { return log_[1].size() == 1; }));
  EXPECT_THAT(
      log_[1][0],
      HasSubstr(
          R"(protocol_error: security negotiation: dialer sent header \"\x1b[2J/evil\rconnected 12D3KooWForged\", not /multistream/1.0.0)"));
  EXPECT_EQ(log_[1][0].find('\x1b'), std::string::npos);
  EXPECT_EQ(log_[1][0].find('\r'), std::string::npos);
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
