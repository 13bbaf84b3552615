#include "shell/live_table.h"

#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

Metrics Sample() {
  Metrics m;
  m.connections_by_state[static_cast<int>(Direction::kInbound)]
                        [static_cast<int>(ConnectionState::kOpen)] = 5;
  m.connections_by_state[static_cast<int>(Direction::kOutbound)]
                        [static_cast<int>(ConnectionState::kOpen)] = 2;
  m.connections_by_state[static_cast<int>(Direction::kInbound)]
                        [static_cast<int>(ConnectionState::kPending)] = 1;
  m.peers = 7;
  m.counters[static_cast<int>(Counter::kPruned)] = 4;
  m.counters[static_cast<int>(Counter::kReconnectAttempts)] = 3;
  m.dial_outcomes[static_cast<int>(DialOutcome::kConnected)] = 2;
  m.counters[static_cast<int>(Counter::kDialAttempts)] = 2;
  m.counters[static_cast<int>(Counter::kDialAttemptsFailed)] = 1;
  m.dial_outcomes[static_cast<int>(DialOutcome::kFailed)] = 1;
  m.rejected_by_reason[static_cast<int>(RejectReason::kDenied)] = 3;
  m.rejected_by_reason[static_cast<int>(RejectReason::kRateLimitIp)] = 2;
  return m;
}

TEST(LiveTableTest, RowShowsCountsAndOnlyTheReasonsThatHappened) {
  EXPECT_EQ(LiveTableRow(1.0, Sample(), "peer restarted"),
            "    1.0s      5/2         1      7       4      0      2/1            3   "
            "denied=3 rate_limit_ip=2   | peer restarted");
  EXPECT_EQ(LiveTableRow(0.5, Metrics{}),
            "    0.5s      0/0         0      0       0      0      0/0            0   -");
}

// Every column under its header holds a number: "dials" (dial requests) was once left blank.
TEST(LiveTableTest, EveryColumnIsFilledUnderItsHeader) {
  Metrics m = Sample();
  m.counters[static_cast<int>(Counter::kDialRequests)] = 4;
  const std::string header = LiveTableHeader();
  const std::string row = LiveTableRow(1.0, m);
  EXPECT_EQ(row,
            "    1.0s      5/2         1      7       4      4      2/1            3   "
            "denied=3 rate_limit_ip=2");
  // Each header word ends where its value ends (right-aligned), up to "reconn".
  for (const char* column : {"time", "pend", "peers", "pruned", "dials", "tried", "reconn"}) {
    const size_t end = header.find(column) + std::string(column).size();
    ASSERT_LT(end, row.size()) << column;
    EXPECT_NE(row[end - 1], ' ') << column << " has no value under it:\n" << header << "\n" << row;
  }
}

TEST(LiveTableTest, SummaryNamesEveryReason) {
  const std::string s = MetricsSummary(Sample());
  EXPECT_NE(s.find("rejected: denied=3 rate_limit_ip=2"), std::string::npos) << s;
  EXPECT_NE(s.find("connected=2 failed=1"), std::string::npos) << s;
  EXPECT_NE(s.find("3 attempts"), std::string::npos) << s;
}

}  // namespace
}  // namespace connmgr::shell
