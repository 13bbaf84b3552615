// Each connection's one timer (upgrade timeout, grace period end, close timeout or dial attempt
// timeout), due in (deadline, connection id) order so that ties fire lowest id first.
//
// A binary heap in one vector, each armed connection holding its slot: arming, re-arming and
// disarming are O(log n) and allocate nothing once the vector has grown, and Reserve makes room
// for a trim's k close timers in one allocation.
#ifndef CONNMGR_CORE_CONNECTION_TIMERS_H_
#define CONNMGR_CORE_CONNECTION_TIMERS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>
#include <vector>

#include "core/connection_table.h"
#include "core/time.h"
#include "core/types.h"

namespace connmgr {

class ConnectionTimers {
 public:
  ConnectionTimers() = default;
  ConnectionTimers(const ConnectionTimers&) = delete;
  ConnectionTimers& operator=(const ConnectionTimers&) = delete;

  // Arms `c`'s timer at `deadline`, replacing the one it had. `c` must stay in the table until
  // the timer is disarmed or popped.
  void Arm(Connection& c, Instant deadline) {
    if (!c.deadline.is_never()) {
      const Instant old = c.deadline;
      c.deadline = deadline;
      heap_[c.timer_slot].deadline = deadline;
      if (deadline < old) {
        SiftUp(c.timer_slot);
      } else {
        SiftDown(c.timer_slot);
      }
      return;
    }
    c.deadline = deadline;
    c.timer_slot = static_cast<uint32_t>(heap_.size());
    heap_.push_back({deadline, c.id, &c});
    SiftUp(c.timer_slot);
  }

  void Disarm(Connection& c) {
    if (c.deadline.is_never()) return;
    c.deadline = Instant::Never();
    RemoveAt(c.timer_slot);
  }

  // Removes and returns the earliest timer due at or before `now`; the caller clears the
  // connection's `deadline`.
  std::optional<ConnectionId> PopDue(Instant now) {
    if (heap_.empty() || heap_.front().deadline > now) return std::nullopt;
    const ConnectionId id = heap_.front().id;
    RemoveAt(0);
    return id;
  }

  Instant Next() const { return heap_.empty() ? Instant::Never() : heap_.front().deadline; }

  // Room for `n` more armed timers without another allocation (a trim about to close n).
  void Reserve(size_t n) {
    if (heap_.size() + n > heap_.capacity()) {
      heap_.reserve(std::max(heap_.size() + n, 2 * heap_.capacity()));
    }
  }

  size_t size() const { return heap_.size(); }

 private:
  struct Timer {
    Instant deadline;
    ConnectionId id;
    Connection* connection;

    bool operator<(const Timer& other) const {
      return std::tie(deadline, id) < std::tie(other.deadline, other.id);
    }
  };

  void Place(size_t slot, const Timer& timer) {
    heap_[slot] = timer;
    timer.connection->timer_slot = static_cast<uint32_t>(slot);
  }

  void SiftUp(size_t slot) {
    const Timer moving = heap_[slot];
    while (slot > 0) {
      const size_t parent = (slot - 1) / 2;
      if (!(moving < heap_[parent])) break;
      Place(slot, heap_[parent]);
      slot = parent;
    }
    Place(slot, moving);
  }

  void SiftDown(size_t slot) {
    const Timer moving = heap_[slot];
    const size_t n = heap_.size();
    while (true) {
      size_t child = 2 * slot + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1] < heap_[child]) ++child;
      if (!(heap_[child] < moving)) break;
      Place(slot, heap_[child]);
      slot = child;
    }
    Place(slot, moving);
  }

  // The last timer takes the removed one's slot, then moves up or down to its place.
  void RemoveAt(size_t slot) {
    const Timer last = heap_.back();
    heap_.pop_back();
    if (slot == heap_.size()) return;
    const bool up = last < heap_[slot];
    heap_[slot] = last;
    if (up) {
      SiftUp(slot);
    } else {
      SiftDown(slot);
    }
  }

  std::vector<Timer> heap_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_CONNECTION_TIMERS_H_
