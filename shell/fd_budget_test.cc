// The file descriptor budget: the documented formulas, filling only unset fields, raising the
// soft limit (this process's, restored after each test), and a host applying it at Create.
#include "shell/fd_budget.h"

#include <sys/resource.h>

#include <memory>

#include "gtest/gtest.h"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using testing_util::NthPeer;
using testing_util::ScopedSoftFdLimit;

rlimit Limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit;
}

TEST(FdBudgetTest, TheCommonSoftLimit) {
  // 64 reserved, 100 dials (the default max_outbound_pending_connections), a quarter of the
  // other 860 for held rejects, the rest for connections.
  EXPECT_EQ(DeriveFdBudget(1'024, 100), (FdBudget{1'024, 64, 100, 215, 645}));
}

TEST(FdBudgetTest, LargeLimitsReserveASixteenth) {
  EXPECT_EQ(DeriveFdBudget(65'536, 100), (FdBudget{65'536, 4'096, 100, 15'335, 46'005}));
  EXPECT_EQ(DeriveFdBudget(1 << 20, 400), (FdBudget{1 << 20, 65'536, 400, 245'660, 736'980}));
}

TEST(FdBudgetTest, SmallLimitsShrinkTheDialShare) {
  // 36 usable: dials get at most a quarter.
  EXPECT_EQ(DeriveFdBudget(100, 100), (FdBudget{100, 64, 9, 6, 21}));
}

TEST(FdBudgetTest, BelowTheReserveConnectionsStillHaveALimit) {
  // 0 would be "no limit" to the scope.
  EXPECT_EQ(DeriveFdBudget(10, 100), (FdBudget{10, 64, 0, 0, 1}));
  EXPECT_EQ(DeriveFdBudget(0, 100), (FdBudget{0, 64, 0, 0, 1}));
}

TEST(FdBudgetTest, ThePartsAddUpToTheLimit) {
  for (uint64_t limit : {65u, 256u, 1'000u, 1'024u, 4'096u, 20'000u, 524'288u}) {
    for (uint64_t dials : {0u, 100u, 400u}) {
      const FdBudget b = DeriveFdBudget(limit, dials);
      EXPECT_EQ(b.reserved + b.dials + b.held_rejects + b.connections, limit) << limit;
      EXPECT_LT(b.held_rejects, b.connections) << limit;
    }
  }
}

TEST(FdBudgetTest, ApplyFillsOnlyWhatIsUnset) {
  const FdBudget budget = DeriveFdBudget(1'024, 100);
  Config config;
  std::optional<size_t> held;
  ApplyFdBudget(budget, &config, &held);
  EXPECT_EQ(config.system_scope.file_descriptors, 645u);
  EXPECT_EQ(held, 215u);

  // Limits the user set stay, lower or higher than the budget's.
  Config mine;
  mine.system_scope.file_descriptors = 5'000;
  std::optional<size_t> my_held = 3;
  ApplyFdBudget(budget, &mine, &my_held);
  EXPECT_EQ(mine.system_scope.file_descriptors, 5'000u);
  EXPECT_EQ(my_held, 3u);
}

TEST(FdBudgetTest, RaiseLiftsTheSoftLimitToTheHardOne) {
  const rlimit before = Limit();
  if (before.rlim_max < 1'024 || before.rlim_max == RLIM_INFINITY) {
    GTEST_SKIP() << "needs a finite hard limit of at least 1024";
  }
  ScopedSoftFdLimit lowered(512);
  ASSERT_TRUE(lowered.ok());
  absl::StatusOr<FdLimit> raised = RaiseFdLimit();
  ASSERT_TRUE(raised.ok()) << raised.status();
  EXPECT_EQ(raised->before, 512u);
  EXPECT_EQ(raised->now, before.rlim_max);
  EXPECT_EQ(Limit().rlim_cur, before.rlim_max);
  EXPECT_EQ(Limit().rlim_max, before.rlim_max);  // never touched
  EXPECT_EQ(CurrentFdLimit().value(), before.rlim_max);

  // At the hard limit already: nothing changes.
  raised = RaiseFdLimit();
  ASSERT_TRUE(raised.ok());
  EXPECT_EQ(raised->before, before.rlim_max);
  EXPECT_EQ(raised->now, before.rlim_max);
}

TEST(FdBudgetTest, AHostRaisesTheLimitAndDerivesItsBudget) {
  const rlimit before = Limit();
  if (before.rlim_max < 1'024 || before.rlim_max == RLIM_INFINITY) {
    GTEST_SKIP() << "needs a finite hard limit of at least 1024";
  }
  ScopedSoftFdLimit lowered(1'024);
  ASSERT_TRUE(lowered.ok());
  boost::asio::io_context io;
  HostOptions options;
  options.peer = NthPeer(1);
  std::unique_ptr<Host> host = Host::Create(io, std::move(options)).value();
  const FdBudget expected = DeriveFdBudget(before.rlim_max, 100);
  EXPECT_EQ(Limit().rlim_cur, before.rlim_max);
  EXPECT_EQ(host->fd_budget(), expected);
  EXPECT_EQ(host->core().config().system_scope.file_descriptors, expected.connections);
  EXPECT_EQ(host->driver().max_held_rejects(), expected.held_rejects);
}

TEST(FdBudgetTest, AHostKeepsTheLimitsItWasGiven) {
  ScopedSoftFdLimit lowered(1'024);
  ASSERT_TRUE(lowered.ok());
  boost::asio::io_context io;
  HostOptions options;
  options.peer = NthPeer(1);
  options.config.system_scope.file_descriptors = 7;
  options.max_held_rejects = 9;
  std::unique_ptr<Host> host = Host::Create(io, std::move(options)).value();
  EXPECT_EQ(host->core().config().system_scope.file_descriptors, 7u);
  EXPECT_EQ(host->driver().max_held_rejects(), 9u);
}

TEST(FdBudgetTest, WithTheBudgetOffTheLimitStaysAndHeldRejectsStillFitIt) {
  ScopedSoftFdLimit lowered(1'024);
  ASSERT_TRUE(lowered.ok());
  boost::asio::io_context io;
  HostOptions options;
  options.peer = NthPeer(1);
  options.budget_file_descriptors = false;
  std::unique_ptr<Host> host = Host::Create(io, std::move(options)).value();
  EXPECT_EQ(Limit().rlim_cur, 1'024u);
  EXPECT_EQ(host->fd_budget(), std::nullopt);
  EXPECT_EQ(host->core().config().system_scope.file_descriptors, 0u);
  // Not the old fixed 1 024 — the whole limit — but the budget's share of it.
  EXPECT_EQ(host->driver().max_held_rejects(), 215u);
}

}  // namespace
}  // namespace connmgr::shell
