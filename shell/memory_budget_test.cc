#include "shell/memory_budget.h"

#include "gtest/gtest.h"

namespace connmgr::shell {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(MemoryBudgetTest, ALargeMachineKeepsTheDefaultsUnderAnEighthOfItsMemory) {
  Config config;
  const MemoryBudget b = DeriveMemoryBudget(24 * kGiB, config);
  EXPECT_EQ(b, (MemoryBudget{24 * kGiB, 3 * kGiB, 4 * kMiB, 1 << 20}));
  ApplyMemoryBudget(b, &config);
  EXPECT_EQ(config.system_scope.memory_bytes, 3 * kGiB);
  EXPECT_EQ(config.connection_memory_bytes, 4 * kMiB);
  EXPECT_EQ(config.max_connection_send_bytes, 1u << 20);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(MemoryBudgetTest, ASmallMachineSharesItsBudgetOverMaxConnections) {
  Config config;
  const MemoryBudget b = DeriveMemoryBudget(1 * kGiB, config);
  // 128 MiB over 300 connections; what a window and the buffers leave is the send queue.
  EXPECT_EQ(b, (MemoryBudget{kGiB, 128 * kMiB, 447'392, 54'176}));
  ApplyMemoryBudget(b, &config);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(MemoryBudgetTest, ManyConnectionsRaiseTheSystemBudgetToWhatTheyNeed) {
  Config config;
  config.max_connections = 2'000;
  const MemoryBudget b = DeriveMemoryBudget(1 * kGiB, config);
  EXPECT_EQ(b.system, 2'000 * ((256 + 128 + 16) * uint64_t{1024}));
  EXPECT_EQ(b.send_queue, 16u << 10);
  ApplyMemoryBudget(b, &config);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(MemoryBudgetTest, AUserLimitIsKeptAndOnlyTheConnectionBudgetFollowsIt) {
  Config config;
  config.system_scope.memory_bytes = 600 * kMiB;
  config.connection_memory_bytes = 8 * kMiB;
  const MemoryBudget b = DeriveMemoryBudget(64 * kGiB, config);
  EXPECT_EQ(b.system, 600 * kMiB);
  EXPECT_EQ(b.per_connection, 2 * kMiB);  // 600 MiB / 300
  ApplyMemoryBudget(b, &config);
  EXPECT_EQ(config.system_scope.memory_bytes, 600 * kMiB);
  EXPECT_EQ(config.connection_memory_bytes, 2 * kMiB);
  EXPECT_EQ(config.max_connection_send_bytes, 1u << 20);
  EXPECT_TRUE(config.Validate().ok()) << config.Validate();
}

TEST(MemoryBudgetTest, PhysicalMemoryIsKnownHere) { EXPECT_GT(PhysicalMemoryBytes(), 0u); }

}  // namespace
}  // namespace connmgr::shell
