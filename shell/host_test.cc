// The shell on real loopback sockets: dials, admission limits, gating by source address,
// pruning, reconnects, descriptor hygiene, and a live run's trace replaying to the same
// commands. Waits have generous deadlines; nothing here measures speed.
#include "shell/host.h"

#include <dirent.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "shell/endpoint.h"
#include "shell/test_util.h"
#include "trace/trace_format.h"

namespace connmgr::shell {
namespace {

using testing_util::NthPeer;

using boost::asio::ip::tcp;
using ::testing::ElementsAre;

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }

int OpenDescriptors() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  while (readdir(dir) != nullptr) ++n;
  closedir(dir);
  return n;
}

// A TCP client that only connects and notices when the server closes it.
struct RawClient {
  explicit RawClient(boost::asio::io_context& io) : socket(io) {}
  tcp::socket socket;
  bool closed_by_server = false;
  char byte = 0;

  // Connects from `source` (an address on loopback) to `server`.
  void Connect(const tcp::endpoint& server, absl::string_view source = "127.0.0.1") {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(boost::asio::ip::make_address(std::string(source)), 0));
    socket.connect(server);
    socket.async_read_some(boost::asio::buffer(&byte, 1),
                           [this](const boost::system::error_code& ec, size_t) {
                             if (ec) closed_by_server = true;
                           });
  }
};

class HostTest : public ::testing::Test {
 protected:
  // Runs the io_context until `done` holds; false if `limit` passed first.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    return testing_util::RunUntil(io_, done, limit);
  }

  void RunFor(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    RunUntil([&] { return std::chrono::steady_clock::now() >= until; }, d * 2);
  }

  std::unique_ptr<Host> MakeHost(uint32_t n, Config config = Config{},
                                 TraceWriter::Sink trace = nullptr) {
    HostOptions o;
    o.config = std::move(config);
    o.peer = NthPeer(n);
    o.trace = std::move(trace);
    std::unique_ptr<Host> host = Host::Create(io_, std::move(o)).value();
    host->Subscribe([this, n](const HostEvent& e) {
      if (const auto* c = std::get_if<PeerConnected>(&e)) connected_[n].push_back(c->peer);
      if (const auto* d = std::get_if<PeerDisconnected>(&e)) disconnected_[n].push_back(d->peer);
    });
    return host;
  }
  Multiaddr ListenLocal(Host& host, absl::string_view ip = "127.0.0.1") {
    return host.Listen(Addr(absl::StrCat("/ip4/", ip, "/tcp/0"))).value();
  }
  static tcp::endpoint Endpoint(const Multiaddr& a) { return TcpEndpointOf(a).value(); }
  uint64_t Rejected(const Host& h, RejectReason r) {
    return h.GetMetrics().rejected_by_reason[static_cast<int>(r)];
  }

  boost::asio::io_context io_;
  std::map<uint32_t, std::vector<PeerId>> connected_;
  std::map<uint32_t, std::vector<PeerId>> disconnected_;
};

TEST_F(HostTest, DialsAPeerAndBothSidesSeeTheConnection) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  const Multiaddr where = ListenLocal(*a);
  std::optional<DialResult> result;
  ASSERT_TRUE(b->Dial(where.WithPeerId(a->peer()), [&](const DialResult& r) { result = r; }).ok());
  ASSERT_TRUE(RunUntil([&] { return result.has_value() && connected_[1].size() == 1; }));
  EXPECT_EQ(result->outcome, DialOutcome::kConnected) << result->detail;
  EXPECT_THAT(connected_[1], ElementsAre(b->peer()));
  EXPECT_THAT(connected_[2], ElementsAre(a->peer()));
  // A second dial reuses the connection.
  std::optional<DialResult> again;
  ASSERT_TRUE(b->Dial(where.WithPeerId(a->peer()), [&](const DialResult& r) { again = r; }).ok());
  ASSERT_TRUE(RunUntil([&] { return again.has_value(); }));
  EXPECT_EQ(again->outcome, DialOutcome::kExistingConnection);
}

TEST_F(HostTest, DialingTheWrongPeerFails) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  const Multiaddr where = ListenLocal(*a);
  std::optional<DialResult> result;
  ASSERT_TRUE(
      b->Dial(where.WithPeerId(NthPeer(99)), [&](const DialResult& r) { result = r; }).ok());
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->outcome, DialOutcome::kFailed);
  EXPECT_THAT(result->detail, ::testing::HasSubstr("but reached"));
}

TEST_F(HostTest, InboundRateLimitRefusesTheExcessSockets) {
  Config config;
  config.limit_loopback_sources = true;
  config.inbound_rate_per_ip = {2, Duration::Seconds(60), 2};
  auto a = MakeHost(1, config);
  const tcp::endpoint server = Endpoint(ListenLocal(*a));
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<RawClient>(io_));
    clients.back()->Connect(server);
  }
  ASSERT_TRUE(RunUntil([&] { return Rejected(*a, RejectReason::kRateLimitIp) == 3; }));
  ASSERT_TRUE(RunUntil([&] {
    int closed = 0;
    for (auto& c : clients) closed += c->closed_by_server;
    return closed == 3;
  }));
  EXPECT_EQ(a->GetMetrics().connections(Direction::kInbound, ConnectionState::kPending), 2u);
}

TEST_F(HostTest, ADenyListedSourceAddressIsRefused) {
  Config config;
  config.deny_list = {IpPrefix::Parse("127.0.0.2/32").value()};
  auto a = MakeHost(1, config);
  const tcp::endpoint server = Endpoint(ListenLocal(*a));
  RawClient denied(io_), allowed(io_);
  denied.Connect(server, "127.0.0.2");
  allowed.Connect(server, "127.0.0.3");
  ASSERT_TRUE(RunUntil([&] { return denied.closed_by_server; }));
  RunFor(std::chrono::milliseconds(50));
  EXPECT_FALSE(allowed.closed_by_server);
  EXPECT_EQ(Rejected(*a, RejectReason::kDenied), 1u);
  EXPECT_EQ(a->GetMetrics().connections(Direction::kInbound, ConnectionState::kPending), 1u);
}

TEST_F(HostTest, PruningClosesTheRealSocketAndTheRemoteSeesIt) {
  Config config;
  config.max_connections = 3;  // the hard limit refuses at accept; the watermark prunes
  config.high_watermark = 2;
  auto a = MakeHost(1, config);
  const Multiaddr where = ListenLocal(*a).WithPeerId(NthPeer(1));
  std::vector<std::unique_ptr<Host>> dialers;
  for (uint32_t n = 2; n <= 4; ++n) {
    dialers.push_back(MakeHost(n));
    bool done = false;
    ASSERT_TRUE(dialers.back()->Dial(where, [&](const DialResult&) { done = true; }).ok());
    ASSERT_TRUE(RunUntil([&] { return done && connected_[1].size() == n - 1; }));
  }
  // The third opened over the high watermark of two: the newest idle connection (host 4's) is
  // pruned, and host 4 sees its socket close.
  ASSERT_TRUE(RunUntil([&] { return disconnected_[4].size() == 1; }));
  EXPECT_THAT(disconnected_[4], ElementsAre(NthPeer(1)));
  EXPECT_TRUE(disconnected_[2].empty());
  EXPECT_TRUE(disconnected_[3].empty());
  EXPECT_EQ(a->GetMetrics().counters[static_cast<int>(Counter::kPruned)], 1u);
  EXPECT_EQ(a->core().connections().open_count(), 2u);
}

TEST_F(HostTest, AKeepAlivePeerThatRestartsIsReconnectedAfterTheBackoffWaits) {
  Config config;
  config.reconnect_retry_interval = Duration::Milliseconds(200);
  config.reconnect_backoff_factor = 2;
  config.reconnect_jitter_percent = 0;
  config.reconnect_retries = 10;
  config.dial_backoff_base = Duration::Milliseconds(50);  // shorter than the reconnect waits
  config.dial_backoff_step = Duration::Milliseconds(10);
  config.dial_backoff_max = Duration::Milliseconds(100);
  std::vector<std::string> trace;
  auto a = MakeHost(1, config, [&](absl::string_view line) { trace.emplace_back(line); });
  auto b = MakeHost(2);
  const Multiaddr b_address = ListenLocal(*b);
  ASSERT_TRUE(a->SetPeerAddresses(b->peer(), {b_address}).ok());
  ASSERT_TRUE(a->TagPeer(b->peer(), "keep-alive", 1).ok());  // dials at once
  ASSERT_TRUE(RunUntil([&] { return connected_[1].size() == 1; }));

  b.reset();  // the peer goes away: its socket closes, reconnects start failing
  ASSERT_TRUE(RunUntil([&] { return disconnected_[1].size() == 1; }));
  RunFor(std::chrono::milliseconds(700));  // attempts at about +200 ms and +600 ms fail
  b = MakeHost(2);
  ASSERT_TRUE(b->Listen(b_address).ok());  // back on the same port
  ASSERT_TRUE(RunUntil([&] { return connected_[1].size() == 2; }, std::chrono::seconds(5)));
  EXPECT_EQ(connected_[1][1], NthPeer(2));

  // The dial_address commands for the peer after it left, and the waits between them.
  std::vector<int64_t> dials;
  int64_t lost_at = 0;
  for (const std::string& line : trace) {
    auto o = nlohmann::json::parse(line);
    if (o.value("out", "") == "peer_disconnected") lost_at = o["t"].get<int64_t>();
    if (lost_at != 0 && o.value("out", "") == "dial_address")
      dials.push_back(o["t"].get<int64_t>());
  }
  ASSERT_GE(dials.size(), 3u);
  // 200 ms after the loss, then 400 ms after the first failure, then 800 ms after the second
  // (jitter off); each failure comes back within a few ms on loopback.
  const int64_t ms = 1'000'000;
  EXPECT_GE(dials[0] - lost_at, 200 * ms);
  EXPECT_LT(dials[0] - lost_at, 300 * ms);
  EXPECT_GE(dials[1] - dials[0], 400 * ms);
  EXPECT_LT(dials[1] - dials[0], 500 * ms);
  EXPECT_GE(dials[2] - dials[1], 800 * ms);
  EXPECT_LT(dials[2] - dials[1], 900 * ms);
}

TEST_F(HostTest, ARejectedSocketIsHeldForDelayedRejectThenClosed) {
  Config config;
  config.deny_list = {IpPrefix::Parse("127.0.0.2/32").value()};
  config.delayed_reject = Duration::Milliseconds(400);
  auto a = MakeHost(1, config);
  const tcp::endpoint server = Endpoint(ListenLocal(*a));
  RawClient denied(io_);
  denied.Connect(server, "127.0.0.2");
  ASSERT_TRUE(RunUntil([&] { return Rejected(*a, RejectReason::kDenied) == 1; }));
  EXPECT_EQ(a->driver().held_rejects(), 1u);
  RunFor(std::chrono::milliseconds(200));
  EXPECT_FALSE(denied.closed_by_server);  // still held
  ASSERT_TRUE(RunUntil([&] { return denied.closed_by_server; }));
  EXPECT_EQ(a->driver().held_rejects(), 0u);
}

TEST_F(HostTest, StreamsAreSpreadOverThePeersConnectionsRoundRobin) {
  auto a = MakeHost(1);
  auto b = MakeHost(2);
  const Multiaddr where = ListenLocal(*a).WithPeerId(a->peer());
  for (int i = 0; i < 2; ++i) {  // two connections from b to a
    std::optional<DialResult> r;
    ASSERT_TRUE(b->Dial(
                     a->peer(), {where}, [&](const DialResult& d) { r = d; }, std::nullopt,
                     /*force=*/true)
                    .ok());
    ASSERT_TRUE(RunUntil([&] { return r.has_value(); }));
    ASSERT_EQ(r->outcome, DialOutcome::kConnected) << r->detail;
  }
  std::vector<Host::StreamRef> placed;
  for (int i = 0; i < 4; ++i) {
    b->OpenStream(a->peer(), "/chat/1.0.0", [&](absl::StatusOr<Host::StreamRef> r) {
      ASSERT_TRUE(r.ok()) << r.status();
      placed.push_back(*r);
    });
  }
  ASSERT_EQ(placed.size(), 4u);
  EXPECT_EQ(placed[0].connection, placed[2].connection);
  EXPECT_EQ(placed[1].connection, placed[3].connection);
  EXPECT_NE(placed[0].connection, placed[1].connection);
  EXPECT_EQ(b->GetMetrics().streams_outbound, 4u);
  absl::Status missing;
  b->OpenStream(NthPeer(99), "/chat/1.0.0",
                [&](const absl::StatusOr<Host::StreamRef>& r) { missing = r.status(); });
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(b->CloseStream(placed[0]).ok());
  EXPECT_EQ(b->GetMetrics().streams_outbound, 3u);
}

TEST_F(HostTest, DenyingAConnectedAddressAtRuntimeClosesItsConnection) {
  auto a = MakeHost(1);
  HostOptions o;
  o.peer = NthPeer(2);
  o.dial_source_ip = IpAddress::Parse("127.0.0.5").value();
  auto b = Host::Create(io_, std::move(o)).value();
  b->Subscribe([this](const HostEvent& e) {
    if (const auto* d = std::get_if<PeerDisconnected>(&e)) disconnected_[2].push_back(d->peer);
  });
  std::optional<DialResult> r;
  ASSERT_TRUE(
      b->Dial(ListenLocal(*a).WithPeerId(a->peer()), [&](const DialResult& d) { r = d; }).ok());
  ASSERT_TRUE(RunUntil([&] { return r.has_value() && connected_[1].size() == 1; }));
  ASSERT_TRUE(a->DenyAddress(IpPrefix::Parse("127.0.0.5/32").value()).ok());
  ASSERT_TRUE(RunUntil([&] { return disconnected_[2].size() == 1; }));
  EXPECT_EQ(a->GetMetrics().closed(CloseReason::kDenied), 1u);
}

TEST_F(HostTest, TenThousandConnectCloseCyclesLeakNoDescriptor) {
  auto a = MakeHost(1);
  const tcp::endpoint server = Endpoint(ListenLocal(*a));
  RunFor(std::chrono::milliseconds(10));
  const int before = OpenDescriptors();
  for (int i = 0; i < 10'000; ++i) {
    tcp::socket client(io_);
    client.connect(server);
    io_.restart();
    io_.poll();  // accept it
    client.close();
    if (i % 100 == 99) {
      ASSERT_TRUE(RunUntil([&] { return a->driver().sockets() == 0; })) << "cycle " << i;
    }
  }
  ASSERT_TRUE(RunUntil([&] { return a->driver().sockets() == 0; }));
  EXPECT_EQ(OpenDescriptors(), before);
  EXPECT_EQ(a->GetMetrics().counters[static_cast<int>(Counter::kInboundAccepted)], 10'000u);
  EXPECT_EQ(a->core().connections().size(), 0u);
}

TEST_F(HostTest, ALiveRunsTraceReplaysToTheSameCommands) {
  Config config;
  config.max_connections = 3;
  config.high_watermark = 2;
  std::string recorded;
  auto a =
      MakeHost(1, config, [&](absl::string_view line) { absl::StrAppend(&recorded, line, "\n"); });
  const Multiaddr where = ListenLocal(*a).WithPeerId(NthPeer(1));
  std::vector<std::unique_ptr<Host>> dialers;
  for (uint32_t n = 2; n <= 4; ++n) {
    dialers.push_back(MakeHost(n));
    ASSERT_TRUE(dialers.back()->Dial(where, [](const DialResult&) {}).ok());
  }
  ASSERT_TRUE(RunUntil([&] {
    return disconnected_[4].size() + disconnected_[3].size() + disconnected_[2].size() >= 1;
  }));
  ASSERT_TRUE(a->TagPeer(NthPeer(2), "score", 5).ok());
  dialers.clear();  // every remote goes away
  ASSERT_TRUE(RunUntil([&] { return a->core().connections().size() == 0; }));
  a.reset();

  std::string replayed;
  TraceReplayer replayer([&](absl::string_view line) { absl::StrAppend(&replayed, line, "\n"); });
  std::istringstream in(recorded);
  absl::Status s = replayer.FeedStream(in);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(replayed, recorded);
  EXPECT_TRUE(absl::StrContains(recorded, "\"out\":\"connections_pruned\""));
}

// Connects `n` dialer hosts to `server` and waits until `server` sees them all.
class HostApiTest : public HostTest {
 protected:
  void ConnectDialers(Host& server, uint32_t first, uint32_t count, uint32_t server_n) {
    const Multiaddr where = ListenLocal(server).WithPeerId(server.peer());
    for (uint32_t n = first; n < first + count; ++n) {
      dialers_.push_back(MakeHost(n));
      bool done = false;
      ASSERT_TRUE(dialers_.back()->Dial(where, [&](const DialResult&) { done = true; }).ok());
      ASSERT_TRUE(RunUntil([&] { return done && connected_[server_n].size() == n - first + 1; }));
    }
  }
  std::vector<std::unique_ptr<Host>> dialers_;
};

TEST_F(HostApiTest, TagCallsSetTheValuesPruningUses) {
  auto a = MakeHost(1);
  ASSERT_TRUE(a->TagPeer(NthPeer(7), "score", 10).ok());
  ASSERT_TRUE(a->AddToPeerTag(NthPeer(7), "score", 5).ok());
  EXPECT_EQ(a->core().tags().Value(NthPeer(7)), 15);
  ASSERT_TRUE(a->RegisterDecayingTag("recent", Duration::Seconds(1), DecayPolicy::Fixed(1),
                                     BumpPolicy::Sum())
                  .ok());
  ASSERT_TRUE(a->BumpPeerTag(NthPeer(7), "recent", 4).ok());
  EXPECT_EQ(a->core().tags().Value(NthPeer(7)), 19);
  ASSERT_TRUE(a->UntagPeer(NthPeer(7), "score").ok());
  EXPECT_EQ(a->core().tags().Value(NthPeer(7)), 4);
  EXPECT_EQ(a->BumpPeerTag(NthPeer(7), "unregistered", 1).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(a->Protect(NthPeer(7), "mine").ok());
  EXPECT_TRUE(a->core().tags().IsProtected(NthPeer(7)));
  ASSERT_TRUE(a->Unprotect(NthPeer(7), "mine").ok());
  EXPECT_FALSE(a->core().tags().IsProtected(NthPeer(7)));
}

TEST_F(HostApiTest, ReserveMemoryAnswersGrantedOrRefusedAndReleases) {
  Config config;
  config.system_scope.memory_bytes = 1000;
  config.connection_memory_bytes = 0;  // no connection budget fits a 1000-byte system
  auto a = MakeHost(1, config);
  EXPECT_EQ(a->ReserveMemory(ConnectionId{}, 600, 255).value(), true);
  EXPECT_EQ(a->ReserveMemory(ConnectionId{}, 600, 255).value(), false);  // 1200 > 1000
  EXPECT_EQ(a->GetMetrics().memory_bytes, 600u);
  ASSERT_TRUE(a->ReleaseMemory(ConnectionId{}, 600).ok());
  EXPECT_EQ(a->GetMetrics().memory_bytes, 0u);
  EXPECT_EQ(a->ReleaseMemory(ConnectionId{}, 1).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a->ReserveMemory(ConnectionId{42}, 1, 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HostApiTest, TrimOpenConnectionsClosesDownToTheLowWatermark) {
  Config config;
  config.high_watermark = 10;
  config.low_watermark = 1;
  auto a = MakeHost(1, config);
  ConnectDialers(*a, 2, 3, 1);
  EXPECT_EQ(a->core().connections().open_count(), 3u);
  ASSERT_TRUE(a->TrimOpenConnections().ok());
  EXPECT_EQ(a->core().connections().open_count(), 1u);
  EXPECT_EQ(a->GetMetrics().counter(Counter::kPruned), 2u);
  // The two newest dialers see their connection closed.
  ASSERT_TRUE(
      RunUntil([&] { return disconnected_[3].size() == 1 && disconnected_[4].size() == 1; }));
  EXPECT_TRUE(disconnected_[2].empty());
}

TEST_F(HostApiTest, CloseEmitsACloseEventForEveryConnection) {
  auto a = MakeHost(1);
  ConnectDialers(*a, 2, 2, 1);
  std::vector<CloseReason> closed;
  a->Subscribe([&](const HostEvent& e) {
    if (const auto* c = std::get_if<ConnectionClosed>(&e)) closed.push_back(c->reason);
  });
  a->Close();
  EXPECT_THAT(closed, ElementsAre(CloseReason::kRequested, CloseReason::kRequested));
  EXPECT_THAT(disconnected_[1], ElementsAre(NthPeer(2), NthPeer(3)));
  EXPECT_EQ(a->TagPeer(NthPeer(2), "x", 1).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(HostApiTest, SubmitReachesAnyInput) {
  auto a = MakeHost(1);
  ASSERT_TRUE(a->Submit(DenyPeer{NthPeer(9)}).ok());
  EXPECT_TRUE(a->core().IsPeerDenied(NthPeer(9)));
  EXPECT_EQ(a->Submit(CloseRequest{ConnectionId{77}}).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace connmgr::shell
