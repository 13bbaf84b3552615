// Each connection's one timer (upgrade timeout, grace period end, close timeout or dial attempt
// timeout), due in (deadline, connection id) order so that ties fire lowest id first.
//
// An IndexedHeap whose slots live in the connections: arming, re-arming and disarming are
// O(log n) and allocate nothing once the heap has grown, and Reserve makes room for a trim's k
// close timers in one allocation.
#ifndef CONNMGR_CORE_CONNECTION_TIMERS_H_
#define CONNMGR_CORE_CONNECTION_TIMERS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>

#include "core/connection_table.h"
#include "core/indexed_heap.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

class ConnectionTimers {
 public:
  // Arms `c`'s timer at `deadline`, replacing the one it had. `c` must stay in the table until
  // the timer is disarmed or popped. A deadline that never comes (`now + timeout` saturated)
  // is no timer: `c.deadline` is Never exactly when `c` has no heap item.
  void Arm(Connection& c, Instant deadline) {
    if (deadline.is_never()) {
      Disarm(c);
      return;
    }
    const Timer timer{deadline, c.id, &c};
    if (c.deadline.is_never()) {
      heap_.Push(timer);
    } else {
      heap_.Replace(c.timer_slot, timer);
    }
    c.deadline = deadline;
  }

  void Disarm(Connection& c) {
    if (c.deadline.is_never()) return;
    c.deadline = Instant::Never();
    heap_.Erase(c.timer_slot);
  }

  // Removes and returns the earliest timer due at or before `now`; the caller clears the
  // connection's `deadline`.
  std::optional<ConnectionId> PopDue(Instant now) {
    if (heap_.empty() || heap_.top().deadline > now) return std::nullopt;
    const ConnectionId id = heap_.top().id;
    heap_.Pop();
    return id;
  }

  Instant Next() const { return heap_.empty() ? Instant::Never() : heap_.top().deadline; }

  // Room for `n` more armed timers without another allocation (a trim about to close n).
  void Reserve(size_t n) { heap_.Reserve(n); }

  size_t size() const { return heap_.size(); }

 private:
  struct Timer {
    Instant deadline;
    ConnectionId id;
    Connection* connection;
  };
  struct Before {
    bool operator()(const Timer& a, const Timer& b) const {
      return std::tie(a.deadline, a.id) < std::tie(b.deadline, b.id);
    }
  };
  struct SlotOf {
    uint32_t& operator()(const Timer& t) const { return t.connection->timer_slot; }
  };

  IndexedHeap<Timer, Before, SlotOf> heap_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONNECTION_TIMERS_H_
