// The ranked dial schedule as the Core carries it out: when each address is dialled, given
// when attempts fail or succeed. The scenarios are go-libp2p's dial worker tests
// (p2p/net/swarm/dial_worker_test.go: TestDialWorkerLoopRanking, TestDialWorkerLoopQuicOverTCP,
// TestDialQueueNextBatch). go-libp2p's tests plug in a ranker with arbitrary delays; here the
// delays come from the core's own ranker (RankAddresses), with addresses chosen to give the
// same shape: which attempts overlap, which start early because nothing is in flight, and
// which never start.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/core_test_util.h"

namespace connmgr {
namespace {

using ::connmgr::testing_util::Addr;
using ::connmgr::testing_util::kAlice;

Instant Ms(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

class DialScheduleTest : public testing_util::CoreTest {
 protected:
  // (instant in ms, address without /p2p/) of every dial_address, in order.
  using Log = std::vector<std::pair<int64_t, std::string>>;

  void Start(Duration private_step, const std::vector<std::string>& addresses) {
    Config config;
    config.dial_strategy = DialStrategy::kRanked;
    config.ranked_private_delay = private_step;
    Reset(config);
    std::vector<Multiaddr> parsed;
    parsed.reserve(addresses.size());
    for (const std::string& a : addresses) parsed.push_back(Addr(a));
    ASSERT_TRUE(
        core_->Handle(Ms(0), DialRequest{1, kAlice, parsed, 50, false, Duration::Zero()}).ok());
    Collect(0);
  }

  // Fires the timers due at `ms`.
  void TimerAt(int64_t ms) {
    ASSERT_TRUE(core_->Handle(Ms(ms), TimerExpired{}).ok());
    Collect(ms);
  }
  void FailAt(int64_t ms, const std::string& address) {
    ASSERT_TRUE(core_->Handle(Ms(ms), DialFailed{attempts_.at(address), "refused"}).ok());
    Collect(ms);
  }
  void SucceedAt(int64_t ms, const std::string& address) {
    ASSERT_TRUE(core_->Handle(Ms(ms), DialSucceeded{attempts_.at(address)}).ok());
    Collect(ms);
  }

  void Collect(int64_t ms) {
    for (const Output& o : Drain()) {
      if (const auto* d = std::get_if<DialAddress>(&o)) {
        const std::string text = d->address.WithoutPeerId().ToString();
        log_.push_back({ms, text});
        attempts_[text] = d->connection;
      } else if (const auto* r = std::get_if<DialResult>(&o)) {
        results_.push_back({ms, r->outcome});
      }
    }
  }

  Log log_;
  std::map<std::string, ConnectionId> attempts_;
  std::vector<std::pair<int64_t, DialOutcome>> results_;
};

TEST_F(DialScheduleTest, FirstSuccessStopsTheSchedule) {
  // "first success": the address at 0 succeeds; the one due later is never dialled.
  Start(Duration::Milliseconds(100), {"/ip4/127.0.0.1/tcp/20001", "/ip4/127.0.0.1/tcp/20000"});
  SucceedAt(0, "/ip4/127.0.0.1/tcp/20000");
  TimerAt(1000);
  EXPECT_EQ(log_, (Log{{0, "/ip4/127.0.0.1/tcp/20000"}}));
  EXPECT_EQ(results_, (std::vector<std::pair<int64_t, DialOutcome>>{{0, DialOutcome::kConnected}}));
}

TEST_F(DialScheduleTest, DelayedDialsStartEarlyWhenNothingIsInFlight) {
  // "delayed dials": ranked at 0, 100, 200, 300 and 400 ms (private steps of 100 ms; WebRTC
  // direct 100 ms after the last TCP one). The first two overlap; once both failed the next
  // starts before its time, and again after that; a success ends it, the last never starts.
  const std::string q6 = "/ip6/fc00::1/udp/1/quic-v1", q4 = "/ip4/10.0.0.2/udp/1/quic-v1",
                    t6 = "/ip6/fc00::1/tcp/1", t4 = "/ip4/10.0.0.2/tcp/1",
                    webrtc = "/ip4/10.0.0.2/udp/2/webrtc-direct";
  Start(Duration::Milliseconds(100), {webrtc, t4, t6, q4, q6});
  EXPECT_EQ(core_->NextDeadline(), Ms(100));
  TimerAt(100);
  FailAt(150, q6);
  EXPECT_EQ(core_->NextDeadline(), Ms(200));
  FailAt(160, q4);
  FailAt(250, t6);
  SucceedAt(260, t4);
  TimerAt(400);
  EXPECT_EQ(log_, (Log{{0, q6}, {100, q4}, {160, t6}, {250, t4}}));
  EXPECT_EQ(results_,
            (std::vector<std::pair<int64_t, DialOutcome>>{{260, DialOutcome::kConnected}}));
}

TEST_F(DialScheduleTest, FailedDialsAnswerOnceAllFailed) {
  // "failed dials": the second starts at its time while the first is in flight; the dial
  // fails when the last attempt does.
  Start(Duration::Milliseconds(100), {"/ip4/127.0.0.1/tcp/20000", "/ip4/127.0.0.1/tcp/20001"});
  TimerAt(100);
  FailAt(105, "/ip4/127.0.0.1/tcp/20000");
  EXPECT_TRUE(results_.empty());
  FailAt(120, "/ip4/127.0.0.1/tcp/20001");
  EXPECT_EQ(log_, (Log{{0, "/ip4/127.0.0.1/tcp/20000"}, {100, "/ip4/127.0.0.1/tcp/20001"}}));
  EXPECT_EQ(results_, (std::vector<std::pair<int64_t, DialOutcome>>{{120, DialOutcome::kFailed}}));
}

TEST_F(DialScheduleTest, QuicOverTcp) {
  // TestDialWorkerLoopQuicOverTCP, with the default ranker: QUIC at 0 connects, TCP (due at
  // 30 ms) never starts.
  Start(Duration::Milliseconds(30),
        {"/ip4/127.0.0.1/tcp/20000", "/ip4/127.0.0.1/udp/20000/quic-v1"});
  EXPECT_EQ(core_->NextDeadline(), Ms(30));
  SucceedAt(0, "/ip4/127.0.0.1/udp/20000/quic-v1");
  TimerAt(30);
  EXPECT_EQ(log_, (Log{{0, "/ip4/127.0.0.1/udp/20000/quic-v1"}}));
}

TEST_F(DialScheduleTest, NothingInFlightStartsTheWholeNextDelayGroup) {
  // Issue 23, item 4 (go-libp2p's dialQueue.NextBatch): QUIC ports 2 and 3 share the 250 ms
  // slot, so when port 1 fails at 100 ms both start; TCP keeps its own slot at 500 ms.
  const std::string q1 = "/ip4/1.2.3.4/udp/1/quic-v1", q2 = "/ip4/1.2.3.4/udp/2/quic-v1",
                    q3 = "/ip4/1.2.3.4/udp/3/quic-v1", t1 = "/ip4/1.2.3.4/tcp/1";
  Start(Duration::Milliseconds(30), {t1, q3, q2, q1});
  FailAt(100, q1);
  EXPECT_EQ(log_, (Log{{0, q1}, {100, q2}, {100, q3}}));
  TimerAt(250);  // the slot the two were ranked for: nothing left to start there
  FailAt(300, q2);
  EXPECT_EQ(log_, (Log{{0, q1}, {100, q2}, {100, q3}}));
  EXPECT_EQ(core_->NextDeadline(), Ms(500));
  TimerAt(500);
  EXPECT_EQ(log_, (Log{{0, q1}, {100, q2}, {100, q3}, {500, t1}}));
}

}  // namespace
}  // namespace connmgr
