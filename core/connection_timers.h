// Each connection's one timer (upgrade timeout, grace period end, close timeout or dial attempt
// timeout), ordered by (deadline, connection id) so that ties fire lowest id first.
#ifndef CONNMGR_CORE_CONNECTION_TIMERS_H_
#define CONNMGR_CORE_CONNECTION_TIMERS_H_

#include <optional>
#include <utility>

#include "core/connection_table.h"
#include "core/pooled_btree.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

class ConnectionTimers {
 public:
  // Arms `c`'s timer at `deadline`, replacing the one it had.
  void Arm(Connection& c, Instant deadline) {
    Disarm(c);
    c.deadline = deadline;
    timers_.emplace(deadline, c.id);
  }

  void Disarm(Connection& c) {
    if (c.deadline.is_never()) return;
    timers_.erase({c.deadline, c.id});
    c.deadline = Instant::Never();
  }

  // Removes and returns the earliest timer due at or before `now`; the caller clears the
  // connection's `deadline`.
  std::optional<ConnectionId> PopDue(Instant now) {
    if (timers_.empty() || timers_.begin()->first > now) return std::nullopt;
    const ConnectionId id = timers_.begin()->second;
    timers_.erase(timers_.begin());
    return id;
  }

  Instant Next() const { return timers_.empty() ? Instant::Never() : timers_.begin()->first; }

 private:
  NodePool pool_;
  PooledBtreeSet<std::pair<Instant, ConnectionId>> timers_{&pool_};
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONNECTION_TIMERS_H_
