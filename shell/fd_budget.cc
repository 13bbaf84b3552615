#include "shell/fd_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace connmgr::shell {
namespace {

constexpr uint64_t kMinReserved = 64;
// What an infinite limit counts as (Linux's default fs.nr_open: no process gets more).
constexpr uint64_t kInfiniteLimit = uint64_t{1} << 20;

uint64_t Finite(rlim_t limit) {
  return limit == RLIM_INFINITY ? kInfiniteLimit : std::min<uint64_t>(limit, kInfiniteLimit);
}

absl::StatusOr<rlimit> ReadLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  return limit;
}

}  // namespace

FdBudget DeriveFdBudget(uint64_t soft_limit, uint64_t max_outbound_pending_connections) {
  FdBudget b;
  b.limit = soft_limit;
  b.reserved = std::max(kMinReserved, soft_limit / 16);
  const uint64_t usable = soft_limit > b.reserved ? soft_limit - b.reserved : 0;
  b.dials = std::min(max_outbound_pending_connections, usable / 4);
  b.held_rejects = (usable - b.dials) / 4;
  // 0 would mean "no limit" to the scope.
  b.connections = std::max<uint64_t>(1, usable - b.dials - b.held_rejects);
  return b;
}

void ApplyFdBudget(const FdBudget& budget, Config* config,
                   std::optional<size_t>* max_held_rejects) {
  if (config->system_scope.file_descriptors == 0) {
    config->system_scope.file_descriptors = budget.connections;
  }
  if (!max_held_rejects->has_value()) *max_held_rejects = budget.held_rejects;
}

absl::StatusOr<FdLimit> RaiseFdLimit() {
  absl::StatusOr<rlimit> limit = ReadLimit();
  if (!limit.ok()) return limit.status();
  FdLimit out;
  out.before = Finite(limit->rlim_cur);
  const rlim_t target =
      limit->rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(kInfiniteLimit) : limit->rlim_max;
  if (limit->rlim_cur != RLIM_INFINITY && limit->rlim_cur < target) {
    rlimit raised = *limit;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit->rlim_cur = target;
  }
  out.now = Finite(limit->rlim_cur);
  return out;
}

absl::StatusOr<uint64_t> CurrentFdLimit() {
  absl::StatusOr<rlimit> limit = ReadLimit();
  if (!limit.ok()) return limit.status();
  return Finite(limit->rlim_cur);
}

}  // namespace connmgr::shell
