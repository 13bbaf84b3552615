#include "core/connection_timers.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

Instant At(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

class ConnectionTimersTest : public ::testing::Test {
 protected:
  Connection& Make(uint64_t id) {
    records_.push_back(std::make_unique<Connection>());
    records_.back()->id = ConnectionId{id};
    return *records_.back();
  }
  std::vector<uint64_t> PopAll(Instant now) {
    std::vector<uint64_t> ids;
    while (std::optional<ConnectionId> id = timers_.PopDue(now)) {
      ids.push_back(id->value);
      records_[id->value - 1]->deadline = Instant::Never();  // the caller's part
    }
    return ids;
  }

  std::vector<std::unique_ptr<Connection>> records_;
  ConnectionTimers timers_;
};

TEST_F(ConnectionTimersTest, DueTimersPopEarliestFirstTiesByLowestId) {
  Connection& a = Make(1);
  Connection& b = Make(2);
  Connection& c = Make(3);
  timers_.Arm(c, At(10));
  timers_.Arm(b, At(20));
  timers_.Arm(a, At(10));
  EXPECT_EQ(timers_.Next(), At(10));
  EXPECT_EQ(PopAll(At(9)), std::vector<uint64_t>{});
  EXPECT_EQ(PopAll(At(10)), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(timers_.Next(), At(20));
  EXPECT_EQ(PopAll(At(100)), std::vector<uint64_t>{2});
  EXPECT_EQ(timers_.Next(), Instant::Never());
}

// Instant::Never() marks a connection without a timer, so a deadline that never comes (a
// saturated `now + timeout`) disarms instead of leaving a heap item the record cannot find.
TEST_F(ConnectionTimersTest, ArmingAtNeverDisarms) {
  Connection& a = Make(1);
  timers_.Arm(a, Instant::Never());
  EXPECT_EQ(timers_.size(), 0u);
  timers_.Arm(a, At(10));
  timers_.Arm(a, Instant::Never());
  EXPECT_EQ(timers_.size(), 0u);
  EXPECT_EQ(a.deadline, Instant::Never());
  EXPECT_EQ(timers_.Next(), Instant::Never());
  timers_.Disarm(a);
  EXPECT_EQ(timers_.size(), 0u);
  EXPECT_EQ(PopAll(Instant::Never()), std::vector<uint64_t>{});
}

TEST_F(ConnectionTimersTest, ReArmingMovesTheTimerEarlierOrLater) {
  Connection& a = Make(1);
  Connection& b = Make(2);
  timers_.Arm(a, At(10));
  timers_.Arm(b, At(20));
  timers_.Arm(a, At(30));  // later: b is first now
  EXPECT_EQ(timers_.size(), 2u);
  EXPECT_EQ(timers_.Next(), At(20));
  timers_.Arm(a, At(5));  // earlier again
  EXPECT_EQ(a.deadline, At(5));
  EXPECT_EQ(PopAll(At(100)), (std::vector<uint64_t>{1, 2}));
}

TEST_F(ConnectionTimersTest, DisarmedTimersNeverFireAndDisarmingTwiceIsHarmless) {
  Connection& a = Make(1);
  Connection& b = Make(2);
  Connection& c = Make(3);
  timers_.Arm(a, At(1));
  timers_.Arm(b, At(2));
  timers_.Arm(c, At(3));
  timers_.Disarm(a);
  timers_.Disarm(a);
  EXPECT_EQ(a.deadline, Instant::Never());
  timers_.Disarm(c);
  EXPECT_EQ(timers_.size(), 1u);
  EXPECT_EQ(PopAll(At(100)), std::vector<uint64_t>{2});
  EXPECT_EQ(timers_.size(), 0u);
}

TEST_F(ConnectionTimersTest, ReserveMakesRoomWithoutLosingTimers) {
  Connection& a = Make(1);
  timers_.Arm(a, At(1));
  timers_.Reserve(1000);
  timers_.Reserve(0);
  EXPECT_EQ(timers_.size(), 1u);
  EXPECT_EQ(PopAll(At(1)), std::vector<uint64_t>{1});
}

// Random arms, re-arms, disarms and pops against an ordered set of (deadline, id).
TEST_F(ConnectionTimersTest, MatchesAnOrderedSetUnderRandomOperations) {
  constexpr int kConnections = 300;
  for (int i = 1; i <= kConnections; ++i) Make(static_cast<uint64_t>(i));
  std::set<std::pair<Instant, uint64_t>> model;
  SplitMix64 rng(7);
  int64_t now_ms = 0;
  for (int step = 0; step < 20'000; ++step) {
    Connection& c = *records_[rng.Below(kConnections)];
    const uint64_t op = rng.Below(10);
    if (op < 5) {
      const Instant deadline = At(now_ms + static_cast<int64_t>(rng.Below(50)));
      if (!c.deadline.is_never()) model.erase({c.deadline, c.id.value});
      timers_.Arm(c, deadline);
      model.insert({deadline, c.id.value});
    } else if (op < 7) {
      if (!c.deadline.is_never()) model.erase({c.deadline, c.id.value});
      timers_.Disarm(c);
    } else {
      now_ms += static_cast<int64_t>(rng.Below(5));
      std::vector<uint64_t> expected;
      while (!model.empty() && model.begin()->first <= At(now_ms)) {
        expected.push_back(model.begin()->second);
        model.erase(model.begin());
      }
      ASSERT_EQ(PopAll(At(now_ms)), expected) << "step " << step;
    }
    ASSERT_EQ(timers_.size(), model.size());
    ASSERT_EQ(timers_.Next(), model.empty() ? Instant::Never() : model.begin()->first);
  }
}

}  // namespace
}  // namespace connmgr
