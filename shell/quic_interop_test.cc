// Interoperability over QUIC v1 with real js-libp2p peers (interop/js: js-libp2p 3.3.11 with
// @chainsafe/libp2p-quic on Node 22), over loopback: connmgr dials js and js dials connmgr, the
// peer ids each side learns agree with identify's, ping and an echo stream run on QUIC streams,
// a connection the core closes (pruned, or closed on request) is seen closed by js, the
// inbound rate limit refuses a js peer's excess QUIC dials, and the core's stream limit is the
// QUIC stream credit js gets.
// The js peer is installed by interop/js/setup.sh on first use (npm registry).
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/host.h"
#include "shell/js_peer.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using js_interop::Json;
using js_interop::JsPeer;
using js_interop::JsRunner;
using std::chrono::seconds;
using testing_util::IdentityFrom;

constexpr char kEcho[] = "/connmgr/echo/1.0.0";
constexpr char kQuicListen[] = "/ip4/127.0.0.1/udp/0/quic-v1";
constexpr char kAgent[] = "connmgr/0.1.0";

// Sets an environment variable for one scope (the js peers started in it inherit it).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class QuicInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (JsRunner().empty()) {
      GTEST_SKIP() << "interop/js/setup.sh failed (see /tmp/connmgr-js-setup.log): no npm "
                      "registry here?";
    }
  }

  std::unique_ptr<Host> MakeHost(Config config = Config{}) {
    HostOptions o;
    o.config = std::move(config);
    Libp2pOptions libp2p;
    libp2p.identity = IdentityFrom(42);
    libp2p.protocols = {kEcho};
    o.libp2p = std::move(libp2p);
    std::unique_ptr<Host> host = Host::Create(io_, std::move(o)).value();
    host->Subscribe([this](const HostEvent& e) {
      if (const auto* c = std::get_if<PeerConnected>(&e)) connected_.push_back(c->peer.ToString());
      if (const auto* d = std::get_if<PeerDisconnected>(&e)) {
        disconnected_.push_back(d->peer.ToString());
      }
      if (const auto* i = std::get_if<IdentifyEvent>(&e)) identified_.push_back(*i);
    });
    return host;
  }

  // A js peer with identity `seed`, listening on QUIC unless `listen` is false.
  std::unique_ptr<JsPeer> StartJs(int seed, bool listen = true) {
    std::vector<std::string> args = {"--seed", absl::StrCat(seed)};
    if (listen) {
      args.push_back("--listen");
      args.push_back(kQuicListen);
    }
    auto js = std::make_unique<JsPeer>(io_, std::move(args));
    const std::optional<Json> ready = js->WaitEvent("ready");
    EXPECT_TRUE(ready.has_value()) << "the js peer did not start";
    if (ready.has_value()) {
      EXPECT_THAT((*ready)["transports"], ::testing::Contains("quic")) << ready->dump();
    }
    return js;
  }

  bool RunUntil(const std::function<bool()>& done, seconds limit = seconds(20)) {
    return testing_util::RunUntil(io_, done, limit);
  }

  // connmgr dials the js peer at its QUIC address.
  DialResult DialJs(Host& host, const JsPeer& js) {
    std::optional<DialResult> result;
    const std::string quic = js.AddressWith("/quic-v1/");
    EXPECT_FALSE(quic.empty()) << "the js peer has no QUIC address";
    const Multiaddr address = Multiaddr::Parse(quic).value();
    EXPECT_TRUE(
        host.Dial(*address.peer_id(), {address}, [&](const DialResult& r) { result = r; }).ok());
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(DialResult{});
  }

  // The host listens on loopback QUIC; its address with /p2p/.
  std::string ListenQuic(Host& host) {
    const absl::StatusOr<Multiaddr> bound = host.Listen(Multiaddr::Parse(kQuicListen).value());
    EXPECT_TRUE(bound.ok()) << bound.status();
    if (!bound.ok()) return "";
    EXPECT_TRUE(absl::StrContains(bound->ToString(), "/udp/")) << bound->ToString();
    return bound->WithPeerId(host.peer()).ToString();
  }

  // A js `connect` or `disconnect` event whose remote address is a QUIC one.
  static std::function<bool(const Json&)> QuicEvent(const std::string& event,
                                                    const std::string& peer) {
    return [event, peer](const Json& j) {
      return j.value("event", "") == event && j.value("peer", "") == peer &&
             absl::StrContains(j.value("remote", ""), "/quic-v1/");
    };
  }

  boost::asio::io_context io_;
  std::vector<std::string> connected_;
  std::vector<std::string> disconnected_;
  std::vector<IdentifyEvent> identified_;
};

TEST_F(QuicInteropTest, ConnmgrDialsAJsPeerOverQuicAndTheyIdentifyEachOther) {
  auto js = StartJs(11);
  auto host = MakeHost();
  const DialResult r = DialJs(*host, *js);
  ASSERT_EQ(r.outcome, DialOutcome::kConnected) << r.detail << "\n" << js->Transcript();
  EXPECT_EQ(r.peer.ToString(), js->peer);
  // js sees an inbound QUIC connection from our peer id (taken from our TLS certificate).
  const std::optional<Json> connect = js->WaitFor(QuicEvent("connect", host->peer().ToString()));
  ASSERT_TRUE(connect.has_value()) << js->Transcript();
  EXPECT_EQ((*connect)["direction"], "inbound");
  // Identify ran both ways over QUIC streams, and each side's key gives the peer id it saw.
  ASSERT_TRUE(RunUntil([&] { return !identified_.empty(); }));
  EXPECT_EQ(identified_[0].peer.ToString(), js->peer);
  EXPECT_THAT(identified_[0].info.agent_version, ::testing::StartsWith("js-libp2p/"));
  EXPECT_THAT(identified_[0].info.protocols, ::testing::Contains(kEcho));
  const std::optional<Json> id = js->WaitEvent("identify");
  ASSERT_TRUE(id.has_value()) << js->Transcript();
  EXPECT_EQ((*id)["peer"], host->peer().ToString());
  EXPECT_EQ((*id)["agent"], kAgent);
  EXPECT_EQ((*id)["key_type"], "Ed25519");
  // Ping both ways.
  std::optional<absl::StatusOr<Duration>> rtt;
  host->Ping(r.peer, [&](const absl::StatusOr<Duration>& d) { rtt = d; });
  ASSERT_TRUE(RunUntil([&] { return rtt.has_value(); }));
  ASSERT_TRUE(rtt->ok()) << rtt->status();
  EXPECT_GT(**rtt, Duration::Zero());
  const Json ping = js->Command("ping " + host->peer().ToString());
  EXPECT_TRUE(ping.value("ok", false)) << ping.dump();
}

TEST_F(QuicInteropTest, AJsPeerDialsConnmgrOverQuic) {
  auto host = MakeHost();
  const std::string where = ListenQuic(*host);
  ASSERT_FALSE(where.empty());
  auto js = StartJs(12, /*listen=*/false);
  const Json reply = js->Command("dial " + where);
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump() << "\n" << js->Transcript();
  EXPECT_EQ(reply["peer"], host->peer().ToString());
  EXPECT_EQ(reply["remote"], where);
  ASSERT_TRUE(RunUntil([&] { return connected_.size() == 1; }));
  EXPECT_EQ(connected_[0], js->peer);
  EXPECT_EQ(host->GetMetrics().connections(Direction::kInbound, ConnectionState::kOpen), 1u);
  // js learns our QUIC listen address from identify, and pings us.
  const std::optional<Json> id = js->WaitEvent("identify");
  ASSERT_TRUE(id.has_value()) << js->Transcript();
  EXPECT_EQ((*id)["peer"], host->peer().ToString());
  const std::string listen = Multiaddr::Parse(where).value().WithoutPeerId().ToString();
  EXPECT_THAT((*id)["listen"], ::testing::Contains(listen)) << id->dump();
  const Json ping = js->Command("ping " + host->peer().ToString());
  EXPECT_TRUE(ping.value("ok", false)) << ping.dump();
  ASSERT_TRUE(RunUntil([&] { return !identified_.empty(); }));
  EXPECT_EQ(identified_[0].peer.ToString(), js->peer);
}

TEST_F(QuicInteropTest, AnEchoStreamToAJsPeerRunsOverQuic) {
  auto js = StartJs(13);
  auto host = MakeHost();
  ASSERT_EQ(DialJs(*host, *js).outcome, DialOutcome::kConnected) << js->Transcript();
  const PeerId peer = PeerId::Parse(js->peer).value();
  std::optional<absl::StatusOr<Host::StreamRef>> stream;
  host->OpenStream(peer, kEcho, [&](absl::StatusOr<Host::StreamRef> s) { stream = std::move(s); });
  ASSERT_TRUE(RunUntil([&] { return stream.has_value(); }));
  ASSERT_TRUE(stream->ok()) << stream->status();
  std::string echoed;
  host->OnStreamData([&](Host::StreamRef on, const std::string& bytes) {
    if (on == **stream) echoed += bytes;
  });
  // Bigger than one packet, so the stream's flow control and reassembly take part.
  std::string message;
  for (int i = 0; message.size() < 20000; ++i) absl::StrAppend(&message, "echo ", i, "; ");
  ASSERT_TRUE(host->WriteStream(**stream, message).ok());
  ASSERT_TRUE(RunUntil([&] { return echoed.size() >= message.size(); }));
  EXPECT_EQ(echoed, message);
  // js lists the stream on its one (QUIC) connection.
  const Json listed = js->Command("connections");
  ASSERT_TRUE(listed.value("ok", false)) << listed.dump();
  ASSERT_EQ(listed["connections"].size(), 1u) << listed.dump();
  EXPECT_THAT(listed["connections"][0]["remote"].get<std::string>(),
              ::testing::HasSubstr("/quic-v1/"));
  EXPECT_THAT(listed["connections"][0]["streams"], ::testing::Contains(kEcho)) << listed.dump();
}

TEST_F(QuicInteropTest, ConnmgrPrunesAJsPeersQuicConnectionAndJsSeesItClosed) {
  Config config;
  config.max_connections = 4;
  config.high_watermark = 1;
  // Pruned once its grace period ends, so the js side's dial has finished by then.
  config.grace_period = Duration::Milliseconds(500);
  auto host = MakeHost(config);
  const std::string where = ListenQuic(*host);
  ASSERT_FALSE(where.empty());
  auto first = StartJs(14, /*listen=*/false);
  auto second = StartJs(15, /*listen=*/false);
  ASSERT_TRUE(first->Command("dial " + where).value("ok", false)) << first->Transcript();
  ASSERT_TRUE(RunUntil([&] { return connected_.size() == 1; }));
  // The first peer is protected: the trim has one candidate, the second peer's connection.
  ASSERT_TRUE(host->Protect(PeerId::Parse(connected_[0]).value(), "first").ok());
  ASSERT_TRUE(second->Command("dial " + where).value("ok", false)) << second->Transcript();
  // Over the high watermark of one once its grace ends: the second peer's connection is pruned
  // and js sees it close (QUIC's CONNECTION_CLOSE, not an idle timeout: well within 10 s).
  const std::optional<Json> gone =
      second->WaitFor(QuicEvent("disconnect", host->peer().ToString()), seconds(5));
  ASSERT_TRUE(gone.has_value()) << second->Transcript();
  EXPECT_EQ(host->GetMetrics().counter(Counter::kPruned), 1u);
  EXPECT_FALSE(first->WaitEvent("disconnect", seconds(1)).has_value());
}

TEST_F(QuicInteropTest, AQuicConnectionClosedThroughTheCoreIsSeenClosedByJs) {
  auto js = StartJs(16);
  auto host = MakeHost();
  const DialResult r = DialJs(*host, *js);
  ASSERT_EQ(r.outcome, DialOutcome::kConnected) << r.detail << "\n" << js->Transcript();
  ASSERT_TRUE(js->WaitFor(QuicEvent("connect", host->peer().ToString())).has_value());
  ASSERT_TRUE(host->CloseConnection(r.connection).ok());
  const std::optional<Json> gone =
      js->WaitFor(QuicEvent("disconnect", host->peer().ToString()), seconds(5));
  ASSERT_TRUE(gone.has_value()) << js->Transcript();
  ASSERT_TRUE(RunUntil([&] { return disconnected_.size() == 1; }));
  EXPECT_EQ(disconnected_[0], js->peer);
  const Json listed = js->Command("connections");
  EXPECT_EQ(listed["connections"], Json::array()) << listed.dump();
}

TEST_F(QuicInteropTest, TheInboundRateLimitRefusesAJsPeersExcessQuicDials) {
  Config config;
  config.limit_loopback_sources = true;
  config.inbound_rate_per_ip = {2, Duration::Seconds(60), 2};
  auto host = MakeHost(config);
  const std::string where = ListenQuic(*host);
  ASSERT_FALSE(where.empty());
  // A refusal must reach js as an answer (the core refuses the first Initial statelessly), well
  // before js's own 5 s QUIC handshake timeout or this command timeout.
  ScopedEnv timeout("CONNMGR_JS_COMMAND_TIMEOUT_MS", "8000");
  auto js = StartJs(17, /*listen=*/false);
  std::vector<bool> ok;
  std::vector<std::string> errors;
  for (int i = 0; i < 4; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const Json reply = js->Command("dial " + where);
    const auto took = std::chrono::steady_clock::now() - start;
    ok.push_back(reply.value("ok", false));
    if (ok.back()) {
      js->Command("hangup " + host->peer().ToString());
    } else {
      errors.push_back(reply.value("error", ""));
      EXPECT_LT(took, seconds(4)) << reply.dump();
    }
  }
  EXPECT_THAT(ok, ::testing::ElementsAre(true, true, false, false)) << js->Transcript();
  // quinn's words for a CONNECTION_CLOSE with CONNECTION_REFUSED during the handshake.
  for (const std::string& error : errors) {
    EXPECT_THAT(error, ::testing::HasSubstr("the server refused to accept a new connection"));
  }
  EXPECT_EQ(host->GetMetrics().rejected(RejectReason::kRateLimitIp), 2u);
  EXPECT_EQ(connected_.size(), 2u);
}

TEST_F(QuicInteropTest, TheCoresStreamLimitIsAJsPeersQuicStreamCredit) {
  Config config;
  config.max_streams_per_connection = 4;
  auto host = MakeHost(config);
  const std::string where = ListenQuic(*host);
  ASSERT_FALSE(where.empty());
  auto js = StartJs(18, /*listen=*/false);
  ASSERT_TRUE(js->Command("dial " + where).value("ok", false)) << js->Transcript();
  ASSERT_TRUE(js->WaitEvent("identify").has_value()) << js->Transcript();
  ASSERT_TRUE(RunUntil([&] { return !identified_.empty(); }));
  // Identify's streams have ended, so js has the whole credit of four streams.
  const std::string open = absl::StrCat("open-stream ", host->peer().ToString(), " ", kEcho);
  for (int i = 0; i < 4; ++i) {
    const Json reply = js->Command(open);
    ASSERT_TRUE(reply.value("ok", false)) << i << ": " << reply.dump();
  }
  // The fifth waits in js's QUIC stack for credit that does not come (not aborted by js's own
  // command timeout); the core never had to refuse a stream.
  js->Send(open);
  const auto reply = [](const Json& j) { return j.value("reply", "") == "open-stream"; };
  EXPECT_FALSE(js->WaitFor(reply, seconds(3)).has_value()) << js->Transcript();
  EXPECT_EQ(host->GetMetrics().streams_rejected_by_reason[0], 0u);
  // Closing the connection through the core ends the wait with an error.
  const PeerId peer = PeerId::Parse(js->peer).value();
  ASSERT_EQ(host->core().connections().PeerConnections(peer).size(), 1u);
  ASSERT_TRUE(host->CloseConnection(host->core().connections().PeerConnections(peer)[0]).ok());
  const std::optional<Json> failed = js->WaitFor(reply, seconds(10));
  ASSERT_TRUE(failed.has_value()) << js->Transcript();
  EXPECT_FALSE(failed->value("ok", true)) << failed->dump();
}

}  // namespace
}  // namespace connmgr::shell
