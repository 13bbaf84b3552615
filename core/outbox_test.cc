#include "core/outbox.h"

#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

Output Closed(uint64_t id) { return ConnectionClosed{ConnectionId{id}, CloseReason::kTransport}; }

uint64_t IdOf(const std::optional<Output>& out) {
  return std::get<ConnectionClosed>(*out).connection.value;
}

TEST(OutboxTest, DrainsInOrderAndIsEmptyAfter) {
  Outbox outbox;
  for (uint64_t i = 1; i <= 3; ++i) outbox.Emit(Closed(i));
  EXPECT_EQ(outbox.size(), 3u);
  EXPECT_EQ(IdOf(outbox.Pop()), 1u);
  outbox.Emit(Closed(4));  // written while others wait: still after them
  EXPECT_EQ(IdOf(outbox.Pop()), 2u);
  EXPECT_EQ(IdOf(outbox.Pop()), 3u);
  EXPECT_EQ(IdOf(outbox.Pop()), 4u);
  EXPECT_EQ(outbox.Pop(), std::nullopt);
  EXPECT_EQ(outbox.size(), 0u);
}

TEST(OutboxTest, ACallerThatNeverDrainsFullyKeepsOrderAndBoundedStorage) {
  // Two outputs in, one out, many times: the queue is never empty, so the taken prefix must be
  // cut off as it grows, without losing or reordering anything.
  Outbox outbox;
  uint64_t next_in = 1;
  uint64_t next_out = 1;
  for (int round = 0; round < 20'000; ++round) {
    outbox.Emit(Closed(next_in++));
    outbox.Emit(Closed(next_in++));
    ASSERT_EQ(IdOf(outbox.Pop()), next_out++);
  }
  EXPECT_EQ(outbox.size(), 20'000u);
  EXPECT_EQ(outbox.pending().size(), 20'000u);
  EXPECT_EQ(std::get<ConnectionClosed>(outbox.pending().front()).connection.value, next_out);
  while (std::optional<Output> out = outbox.Pop()) ASSERT_EQ(IdOf(out), next_out++);
  EXPECT_EQ(next_out, next_in);
}

TEST(OutboxTest, DrainHandsOutWhatIsLeftInOrderAndEmpties) {
  Outbox outbox;
  for (uint64_t i = 1; i <= 4; ++i) outbox.Emit(Closed(i));
  EXPECT_EQ(IdOf(outbox.Pop()), 1u);  // taken before: not handed out again
  std::vector<uint64_t> seen;
  outbox.Drain([&](const Output& out) {
    EXPECT_TRUE(outbox.draining());
    EXPECT_EQ(outbox.Pop(), std::nullopt);  // no taking from under the drain
    seen.push_back(std::get<ConnectionClosed>(out).connection.value);
  });
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_FALSE(outbox.draining());
  EXPECT_EQ(outbox.size(), 0u);
  outbox.Drain([&](const Output&) { ADD_FAILURE() << "nothing waits"; });
  outbox.Emit(Closed(5));
  EXPECT_EQ(IdOf(outbox.Pop()), 5u);
}

TEST(OutboxTest, ClearEmptiesThePendingOutputs) {
  Outbox outbox;
  outbox.Emit(Closed(1));
  outbox.Emit(Closed(2));
  outbox.Clear();
  EXPECT_EQ(outbox.size(), 0u);
  EXPECT_TRUE(outbox.pending().empty());
  EXPECT_EQ(outbox.Pop(), std::nullopt);
}

}  // namespace
}  // namespace connmgr
