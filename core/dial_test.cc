// Dialing through the core: queue order, joins, timeouts, DNS, backoff, reconnects — each with
// the exact commands and instants expected.
#include <string>
#include <vector>

#include "core/core.h"
#include "core/core_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using namespace ::connmgr::testing_util;  // NOLINT: test helpers

const PeerId kCarol = Peer("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN");

class DialTest : public CoreTest {
 protected:
  absl::StatusOr<ConnectionId> Dial(Instant now, uint64_t request, const PeerId& peer,
                                    const std::vector<std::string>& addresses,
                                    uint32_t priority = 50, bool force = false) {
    std::vector<Multiaddr> addrs;
    addrs.reserve(addresses.size());
    for (const std::string& a : addresses) addrs.push_back(Addr(a));
    return core_->Handle(now, DialRequest{request, peer, addrs, priority, force, Duration::Zero()});
  }
  // The DialAddress commands among `out`, as (connection, address without /p2p).
  static std::vector<std::pair<uint64_t, std::string>> Dials(const std::vector<Output>& out) {
    std::vector<std::pair<uint64_t, std::string>> d;
    for (const Output& o : out) {
      if (const auto* a = std::get_if<DialAddress>(&o)) {
        d.push_back({a->connection.value, a->address.WithoutPeerId().ToString()});
      }
    }
    return d;
  }
  static std::vector<DialResult> Results(const std::vector<Output>& out) {
    std::vector<DialResult> r;
    for (const Output& o : out) {
      if (const auto* d = std::get_if<DialResult>(&o)) r.push_back(*d);
    }
    return r;
  }
  void Fire(Instant now) { ASSERT_TRUE(core_->Handle(now, TimerExpired{}).ok()); }
};

TEST_F(DialTest, HigherPriorityFirstFifoWithinAPriority) {
  Config config;
  config.max_parallel_dials = 1;
  Reset(config);
  ASSERT_TRUE(Dial(At(1), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  ASSERT_TRUE(Dial(At(1), 2, kBob, {"/ip4/2.2.2.2/tcp/1"}, 50).ok());
  ASSERT_TRUE(Dial(At(1), 3, kCarol, {"/ip4/3.3.3.3/tcp/1"}, 75).ok());
  EXPECT_THAT(Dials(Drain()), ElementsAre(std::make_pair(1u, std::string("/ip4/1.1.1.1/tcp/1"))));
  ASSERT_TRUE(core_->Handle(At(2), DialFailed{ConnectionId{1}, "refused"}).ok());
  std::vector<Output> out = Drain();
  EXPECT_THAT(Dials(out), ElementsAre(std::make_pair(2u, std::string("/ip4/3.3.3.3/tcp/1"))));
  ASSERT_EQ(Results(out).size(), 1u);
  EXPECT_EQ(Results(out)[0].outcome, DialOutcome::kFailed);
  EXPECT_EQ(Results(out)[0].detail, "all 1 addresses failed; last: refused");
  ASSERT_TRUE(core_->Handle(At(3), DialSucceeded{ConnectionId{2}}).ok());
  out = Drain();
  EXPECT_THAT(Dials(out), ElementsAre(std::make_pair(3u, std::string("/ip4/2.2.2.2/tcp/1"))));
  EXPECT_EQ(Results(out)[0], (DialResult{3, kCarol, ConnectionId{2}, DialOutcome::kConnected, ""}));
  EXPECT_EQ(core_->connections().Find(ConnectionId{2})->state, ConnectionState::kOpen);
}

TEST_F(DialTest, JoinsQueuedAndRunningDialsAndAllJoinersGetTheResult) {
  Config config;
  config.max_parallel_dials = 1;
  Reset(config);
  ASSERT_TRUE(Dial(At(1), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());  // running
  ASSERT_TRUE(Dial(At(1), 2, kBob, {"/ip4/2.2.2.2/tcp/1"}).ok());    // queued
  ASSERT_TRUE(Dial(At(1), 3, kAlice, {"/ip4/9.9.9.9/tcp/1"}).ok());  // joins the running one
  ASSERT_TRUE(Dial(At(1), 4, kBob, {"/ip4/2.2.2.2/tcp/1"}).ok());    // joins the queued one
  EXPECT_EQ(Dials(Drain()).size(), 1u);
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kDialsJoined), 2u);
  ASSERT_TRUE(core_->Handle(At(2), DialSucceeded{ConnectionId{1}}).ok());
  std::vector<Output> out = Drain();
  EXPECT_THAT(Results(out),
              ElementsAre(DialResult{1, kAlice, ConnectionId{1}, DialOutcome::kConnected, ""},
                          DialResult{3, kAlice, ConnectionId{1}, DialOutcome::kConnected, ""}));
  EXPECT_THAT(Dials(out), ElementsAre(std::make_pair(2u, std::string("/ip4/2.2.2.2/tcp/1"))));
  // A new request finds the open connection.
  EXPECT_EQ(Dial(At(3), 5, kAlice, {}).value(), ConnectionId{1});
  EXPECT_THAT(Results(Drain()), ElementsAre(DialResult{5, kAlice, ConnectionId{1},
                                                       DialOutcome::kExistingConnection, ""}));
}

TEST_F(DialTest, CancelOnlyStopsTheDialWhenEveryJoinerLeft) {
  ASSERT_TRUE(Dial(At(1), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  ASSERT_TRUE(Dial(At(1), 2, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  Drain();
  ASSERT_TRUE(core_->Handle(At(2), CancelDial{1}).ok());
  EXPECT_THAT(Drain(), ElementsAre(Output(DialResult{1, kAlice, ConnectionId{},
                                                     DialOutcome::kCancelled, "cancelled"})));
  ASSERT_TRUE(core_->Handle(At(3), CancelDial{2}).ok());
  EXPECT_THAT(Drain(),
              ElementsAre(Output(DialResult{2, kAlice, ConnectionId{}, DialOutcome::kCancelled,
                                            "cancelled"}),
                          Output(CancelDialAttempt{ConnectionId{1}}),
                          Output(ConnectionClosed{ConnectionId{1}, CloseReason::kDialCancelled})));
  // A late report for the abandoned attempt is ignored; a cancelled dial is not a failure.
  EXPECT_TRUE(core_->Handle(At(4), DialFailed{ConnectionId{1}, "late"}).ok());
  EXPECT_EQ(core_->GetMetrics().dial_backoff_entries, 0u);
  EXPECT_EQ(core_->Handle(At(4), CancelDial{2}).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DialTest, AddressTimeoutMovesOnAndTheRequestTimesOutAtItsOwnDeadline) {
  Config config;
  config.address_dial_timeout = Duration::Seconds(6);
  config.dial_timeout = Duration::Seconds(10);
  Reset(config);
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/ip4/1.1.1.1/tcp/1", "/ip4/1.1.1.2/tcp/1"}).ok());
  EXPECT_EQ(Dials(Drain()).size(), 1u);
  EXPECT_EQ(core_->NextDeadline(), At(6));
  Fire(At(6));
  std::vector<Output> out = Drain();
  EXPECT_THAT(out, ElementsAre(Output(DialAttemptFailed{
                                   ConnectionId{1}, kAlice,
                                   Addr("/ip4/1.1.1.1/tcp/1").WithPeerId(kAlice), "timeout"}),
                               Output(ConnectionClosed{ConnectionId{1}, CloseReason::kDialFailed}),
                               Output(DialAddress{ConnectionId{2}, kAlice,
                                                  Addr("/ip4/1.1.1.2/tcp/1").WithPeerId(kAlice)})));
  EXPECT_EQ(core_->NextDeadline(), At(10));  // the request's deadline comes before 6 + 6
  Fire(At(10));
  EXPECT_THAT(Drain(),
              ElementsAre(Output(DialResult{1, kAlice, ConnectionId{}, DialOutcome::kTimeout,
                                            "the request's dial timeout passed"}),
                          Output(CancelDialAttempt{ConnectionId{2}}),
                          Output(ConnectionClosed{ConnectionId{2}, CloseReason::kDialCancelled})));
}

TEST_F(DialTest, FailedAddressIsBackedOffAndANewConnectionClearsIt) {
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  Drain();
  ASSERT_TRUE(core_->Handle(At(1), DialFailed{ConnectionId{1}, "refused"}).ok());
  Drain();
  ASSERT_TRUE(Dial(At(2), 2, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  EXPECT_THAT(Results(Drain()),
              ElementsAre(DialResult{2, kAlice, ConnectionId{}, DialOutcome::kBackedOff,
                                     "all 1 addresses are backed off"}));
  ASSERT_TRUE(Dial(At(6), 3, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());  // 1 + 5 s: over
  EXPECT_EQ(Dials(Drain()).size(), 1u);
  ASSERT_TRUE(core_->Handle(At(7), DialFailed{ConnectionId{2}, "refused"}).ok());
  Drain();
  EXPECT_EQ(core_->GetMetrics().dial_backoff_entries, 1u);
  OpenInbound(At(8), kAlice);  // any new connection from the peer clears its backoff
  EXPECT_EQ(core_->GetMetrics().dial_backoff_entries, 0u);
}

TEST_F(DialTest, DnsaddrIsResolvedThroughTheShell) {
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/dnsaddr/boot.example"}).ok());
  std::vector<Output> out = Drain();
  ASSERT_EQ(out.size(), 1u);
  const ResolveDns q = std::get<ResolveDns>(out[0]);
  EXPECT_EQ(q.name, "_dnsaddr.boot.example");
  EXPECT_EQ(q.type, DnsRecordType::kTxt);
  ASSERT_TRUE(
      core_
          ->Handle(At(1), DnsAnswered{q.query,
                                      {"dnsaddr=/ip4/4.4.4.4/tcp/1/p2p/" + kAlice.ToString(),
                                       "dnsaddr=/ip4/5.5.5.5/tcp/1/p2p/" + kBob.ToString()},
                                      Duration::Seconds(60)})
          .ok());
  EXPECT_THAT(Dials(Drain()), ElementsAre(std::make_pair(1u, std::string("/ip4/4.4.4.4/tcp/1"))));
}

TEST_F(DialTest, RankedStrategyStaggersAttempts) {
  Config config;
  config.dial_strategy = DialStrategy::kRanked;
  Reset(config);
  ASSERT_TRUE(
      Dial(At(0), 1, kAlice,
           {"/ip4/1.1.1.1/tcp/1", "/ip6/2001:db8::1/udp/1/quic-v1", "/ip4/1.1.1.1/udp/1/quic-v1"})
          .ok());
  EXPECT_THAT(Dials(Drain()),
              ElementsAre(std::make_pair(1u, std::string("/ip6/2001:db8::1/udp/1/quic-v1"))));
  EXPECT_EQ(core_->NextDeadline(), At(0, 250));
  Fire(At(0, 250));
  EXPECT_THAT(Dials(Drain()),
              ElementsAre(std::make_pair(2u, std::string("/ip4/1.1.1.1/udp/1/quic-v1"))));
  Fire(At(0, 500));
  EXPECT_THAT(Dials(Drain()), ElementsAre(std::make_pair(3u, std::string("/ip4/1.1.1.1/tcp/1"))));
  ASSERT_TRUE(core_->Handle(At(0, 600), DialSucceeded{ConnectionId{2}}).ok());
  std::vector<Output> out = Drain();
  EXPECT_THAT(Results(out),
              ElementsAre(DialResult{1, kAlice, ConnectionId{2}, DialOutcome::kConnected, ""}));
  EXPECT_EQ(
      std::count_if(out.begin(), out.end(),
                    [](const Output& o) { return std::holds_alternative<CancelDialAttempt>(o); }),
      2);
}

TEST_F(DialTest, QueueBoundAndDeniedPeer) {
  Config config;
  config.max_parallel_dials = 1;
  config.max_dial_queue_length = 1;
  config.denied_peers = {kCarol};
  Reset(config);
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  absl::Status full = Dial(At(0), 2, kBob, {"/ip4/2.2.2.2/tcp/1"}).status();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Dial(At(0), 1, kBob, {}).status().code(), absl::StatusCode::kInvalidArgument);
  Drain();
  ASSERT_TRUE(Dial(At(0), 3, kCarol, {"/ip4/3.3.3.3/tcp/1"}).ok());
  EXPECT_THAT(Results(Drain()), ElementsAre(DialResult{3, kCarol, ConnectionId{},
                                                       DialOutcome::kDenied, "denied_peers"}));
}

TEST_F(DialTest, KeepAlivePeerIsRedialledWithGrowingWaitsThenGivenUp) {
  Config config;
  config.reconnect_jitter_percent = 0;
  config.reconnect_retries = 3;
  config.dial_backoff_base = Duration::Milliseconds(500);  // shorter than every wait below
  config.dial_backoff_step = Duration::Zero();
  Reset(config);
  ASSERT_TRUE(core_->Handle(At(0), SetPeerTag{kAlice, "keep-alive-app", 1}).ok());
  // Knowing its address while it is not connected dials it at once (the "at start" dial).
  ASSERT_TRUE(core_->Handle(At(0), SetPeerAddresses{kAlice, {Addr("/ip4/1.1.1.1/tcp/1")}}).ok());
  EXPECT_EQ(Dials(Drain()).size(), 1u);
  ASSERT_TRUE(core_->Handle(At(1), DialSucceeded{ConnectionId{1}}).ok());
  Drain();
  ASSERT_TRUE(core_->Handle(At(10), TransportClosed{ConnectionId{1}}).ok());
  Drain();
  // Waits of 1, 2 and 4 s after each failure, then the peer is given up.
  for (const auto& [due, attempt] : {std::pair{11, 2u}, {14, 3u}, {19, 4u}}) {
    EXPECT_EQ(core_->NextDeadline(), At(due));
    Fire(At(due));
    EXPECT_THAT(Dials(Drain()),
                ElementsAre(std::make_pair(attempt, std::string("/ip4/1.1.1.1/tcp/1"))));
    ASSERT_TRUE(core_->Handle(At(due + 1), DialFailed{ConnectionId{attempt}, "refused"}).ok());
  }
  std::vector<Output> out = Drain();
  EXPECT_EQ(std::get<ReconnectFailed>(out.back()), (ReconnectFailed{kAlice, 3}));
  EXPECT_FALSE(core_->tags().HasKeepAlive(kAlice));
  EXPECT_EQ(core_->GetMetrics().counter(Counter::kReconnectsFailed), 1u);
}

TEST_F(DialTest, AReconnectTurnWaitsForTheDialBackoffAndIsNotCountedAsAnAttempt) {
  // Defaults: waits 1, 2, 4 s; backoff 5 s after the first failure, 6 s after the second.
  Config config;
  config.reconnect_jitter_percent = 0;
  config.reconnect_retries = 3;
  Reset(config);
  ASSERT_TRUE(core_->Handle(At(0), SetPeerTag{kAlice, "keep-alive-app", 1}).ok());
  ASSERT_TRUE(core_->Handle(At(0), SetPeerAddresses{kAlice, {Addr("/ip4/1.1.1.1/tcp/1")}}).ok());
  Drain();
  ASSERT_TRUE(core_->Handle(At(1), DialSucceeded{ConnectionId{1}}).ok());
  ASSERT_TRUE(core_->Handle(At(10), TransportClosed{ConnectionId{1}}).ok());
  Drain();
  Fire(At(11));  // attempt 1
  EXPECT_EQ(Dials(Drain()).size(), 1u);
  ASSERT_TRUE(core_->Handle(At(12), DialFailed{ConnectionId{2}, "refused"}).ok());
  Drain();
  // Attempt 2 is due at 14, but the only address is backed off until 17: it waits, dialling
  // nothing and reporting nothing.
  EXPECT_EQ(core_->NextDeadline(), At(14));
  Fire(At(14));
  EXPECT_THAT(Drain(), ElementsAre());
  EXPECT_EQ(core_->NextDeadline(), At(17));
  Fire(At(17));
  EXPECT_THAT(Dials(Drain()), ElementsAre(std::make_pair(3u, std::string("/ip4/1.1.1.1/tcp/1"))));
  ASSERT_TRUE(core_->Handle(At(18), DialFailed{ConnectionId{3}, "refused"}).ok());
  Drain();
  // Attempt 3: due at 18 + 4 = 22, backed off until 18 + 6 = 24.
  EXPECT_EQ(core_->NextDeadline(), At(22));
  Fire(At(22));
  EXPECT_THAT(Drain(), ElementsAre());
  EXPECT_EQ(core_->NextDeadline(), At(24));
  Fire(At(24));
  EXPECT_THAT(Dials(Drain()), ElementsAre(std::make_pair(4u, std::string("/ip4/1.1.1.1/tcp/1"))));
  ASSERT_TRUE(core_->Handle(At(25), DialFailed{ConnectionId{4}, "refused"}).ok());
  std::vector<Output> out = Drain();
  EXPECT_EQ(std::get<ReconnectFailed>(out.back()), (ReconnectFailed{kAlice, 3}));
  const Metrics m = core_->GetMetrics();
  EXPECT_EQ(m.counter(Counter::kReconnectAttempts), 4u);  // the dial at start, then 3
  EXPECT_EQ(m.dial_outcomes[static_cast<int>(DialOutcome::kBackedOff)], 0u);
}

TEST_F(DialTest, ReconnectJitterIsSeededAndBounded) {
  std::vector<int64_t> waits;
  for (uint64_t seed : {1, 2, 1}) {
    Config config;
    config.random_seed = seed;
    Reset(config);
    ASSERT_TRUE(core_->Handle(At(0), SetPeerTag{kAlice, "keep-alive", 1}).ok());
    OpenOutbound(At(0), kAlice);
    ASSERT_TRUE(core_->Handle(At(0), SetPeerAddresses{kAlice, {Addr("/ip4/1.1.1.1/tcp/1")}}).ok());
    ASSERT_TRUE(core_->Handle(At(100), TransportClosed{ConnectionId{1}}).ok());
    Drain();
    waits.push_back((core_->NextDeadline() - At(100)).nanoseconds());
  }
  EXPECT_EQ(waits[0], waits[2]);  // same seed, same wait
  for (int64_t w : waits) {
    EXPECT_GE(w, 900'000'000);
    EXPECT_LE(w, 1'100'000'000);
  }
}

TEST_F(DialTest, UserAddressOrderReplacesTheDefaultAndLastDialIsRecorded) {
  // Reverse binary order: 1.1.1.2 before 1.1.1.1.
  core_ = Core::Create(Config{}, nullptr, [](const DialAddressInfo& a, const DialAddressInfo& b) {
            return b.address < a.address;
          }).value();
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/ip4/1.1.1.1/tcp/1", "/ip4/1.1.1.2/tcp/1"}).ok());
  EXPECT_THAT(Dials(Drain()), ElementsAre(std::make_pair(1u, std::string("/ip4/1.1.1.2/tcp/1"))));
  EXPECT_EQ(core_->LastDialOf(kAlice), std::nullopt);
  ASSERT_TRUE(core_->Handle(At(1), DialFailed{ConnectionId{1}, "refused"}).ok());
  ASSERT_TRUE(core_->Handle(At(2), DialSucceeded{ConnectionId{2}}).ok());
  Drain();
  std::optional<Core::LastDial> last = core_->LastDialOf(kAlice);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->at, At(2));
  EXPECT_EQ(last->outcome, DialOutcome::kConnected);
  EXPECT_EQ(core_->GetMetrics().dials(DialOutcome::kConnected), 1u);
}

TEST_F(DialTest, AttemptsAreReportedOnlyThroughDialResults) {
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  Drain();
  EXPECT_EQ(core_->Handle(At(1), ConnectionUpgraded{ConnectionId{1}, kAlice}).status().message(),
            "connection_upgraded: connection 1 is a dial attempt; report dial_succeeded");
  EXPECT_EQ(core_->Handle(At(1), ConnectionSecured{ConnectionId{1}, kAlice}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(core_->Handle(At(1), CloseRequest{ConnectionId{1}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Drain().empty());
}

TEST_F(DialTest, DeniedAddressesAreNotDialled) {
  Config config;
  config.deny_list = {IpPrefix::Parse("1.1.1.0/24").value()};
  Reset(config);
  ASSERT_TRUE(Dial(At(0), 1, kAlice, {"/ip4/1.1.1.1/tcp/1"}).ok());
  EXPECT_THAT(Results(Drain()),
              ElementsAre(DialResult{1, kAlice, ConnectionId{}, DialOutcome::kDenied,
                                     "all 1 addresses are denied"}));
}

TEST_F(DialTest, ReconnectWaitsAreCappedAtReconnectMaxWait) {
  Config config;
  config.reconnect_jitter_percent = 0;
  config.reconnect_retry_interval = Duration::Seconds(1);
  config.reconnect_backoff_factor = 10;
  config.reconnect_max_wait = Duration::Seconds(5);
  config.dial_backoff_base = Duration::Milliseconds(1);  // keep backoff out of the way
  config.dial_backoff_step = Duration::Zero();
  Reset(config);
  ASSERT_TRUE(core_->Handle(At(0), SetPeerTag{kAlice, "keep-alive", 1}).ok());
  OpenOutbound(At(0), kAlice);
  ASSERT_TRUE(core_->Handle(At(0), SetPeerAddresses{kAlice, {Addr("/ip4/1.1.1.1/tcp/1")}}).ok());
  ASSERT_TRUE(core_->Handle(At(10), TransportClosed{ConnectionId{1}}).ok());
  Drain();
  std::vector<int64_t> waits;
  Instant last = At(10);
  for (int i = 0; i < 3; ++i) {
    const Instant due = core_->NextDeadline();
    waits.push_back((due - last).nanoseconds() / 1'000'000'000);
    Fire(due);
    std::vector<Output> out = Drain();
    ASSERT_EQ(Dials(out).size(), 1u);
    ASSERT_TRUE(core_->Handle(due, DialFailed{ConnectionId{Dials(out)[0].first}, "x"}).ok());
    Drain();
    last = due;
  }
  EXPECT_EQ(waits, (std::vector<int64_t>{1, 5, 5}));  // 1, min(10, 5), min(100, 5)
}

}  // namespace
}  // namespace connmgr
