// The file descriptor budget: how many descriptors a node may spend on connections and on
// refused sockets it holds open (delayed_reject), derived from RLIMIT_NOFILE so that a flood
// cannot take the process to its limit and lock honest peers out (issue 17, attack 3).
//
//   absl::StatusOr<FdLimit> limit = RaiseFdLimit();     // soft limit := hard limit
//   FdBudget budget = DeriveFdBudget(limit->now, config.max_outbound_pending_connections);
//   ApplyFdBudget(budget, &config, &max_held_rejects);  // fills only what is unset
//
// With N the soft limit in force and P = max_outbound_pending_connections:
//
//   reserved      = max(64, N / 16)        the process's own descriptors: stdio, the event loop,
//                                          listeners, DNS sockets, the metrics endpoint,
//                                          trace, identity and config files, and sockets
//                                          between accept and the core's answer
//   usable        = N - reserved           (0 when N <= reserved)
//   dials         = min(P, usable / 4)     dial attempts in flight: charged to no scope until
//                                          they connect
//   held_rejects  = (usable - dials) / 4   refused sockets held open at once (max_held_rejects)
//   connections   = usable - dials - held_rejects, at least 1
//                                          system_scope.file_descriptors: accepted and
//                                          registered connections, pending, open or closing
//
// so reserved + dials + held_rejects + connections = N whenever N > 64. At N = 1 024 (a common
// default soft limit): 64 reserved, 100 dials, 215 held rejects, 645 connections; at 65 536:
// 4 096, 100, 15 335, 46 005. Allow-listed connections are charged to no scope: they are the
// operator's own and not counted here. The budget is per process: several nodes in one process
// share the limit and should have their fields set explicitly.
#ifndef CONNMGR_SHELL_FD_BUDGET_H_
#define CONNMGR_SHELL_FD_BUDGET_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace connmgr::shell {

struct FdBudget {
  uint64_t limit = 0;  // the soft RLIMIT_NOFILE it was derived from
  uint64_t reserved = 0;
  uint64_t dials = 0;
  uint64_t held_rejects = 0;
  uint64_t connections = 0;

  friend bool operator==(const FdBudget&, const FdBudget&) = default;
};

FdBudget DeriveFdBudget(uint64_t soft_limit, uint64_t max_outbound_pending_connections);

// Fills what was left unset, and never changes a limit that was set:
// config->system_scope.file_descriptors when 0, *max_held_rejects when empty.
void ApplyFdBudget(const FdBudget& budget, Config* config, std::optional<size_t>* max_held_rejects);

struct FdLimit {
  uint64_t before = 0;  // the soft limit found
  uint64_t now = 0;     // the soft limit in force after raising
};
// Raises the soft RLIMIT_NOFILE to the hard limit (at most 2^20 when the hard limit is
// infinite), as Go's runtime does for every go-libp2p node; never lowers it. An error only when
// the limit cannot be read; a raise the system refuses leaves the limit as it was.
absl::StatusOr<FdLimit> RaiseFdLimit();
// The soft RLIMIT_NOFILE in force (2^20 when infinite), read without changing it.
absl::StatusOr<uint64_t> CurrentFdLimit();

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_FD_BUDGET_H_
