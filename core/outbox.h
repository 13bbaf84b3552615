// The core's output queue and counters. Every part of the core writes its commands, events and
// counts here; Core::PollOutput drains the queue in the order they were written.
#ifndef CONNMGR_CORE_OUTBOX_H_
#define CONNMGR_CORE_OUTBOX_H_

#include <array>
#include <cstdint>
#include <deque>
#include <utility>

#include "core/metrics.h"
#include "core/output.h"

namespace connmgr {

class Outbox {
 public:
  void Emit(Output output) { queue_.push_back(std::move(output)); }
  void Count(Counter c, uint64_t n = 1) { counters_[static_cast<int>(c)] += n; }

  std::deque<Output>& queue() { return queue_; }
  size_t size() const { return queue_.size(); }
  const std::array<uint64_t, kCounterCount>& counters() const { return counters_; }

 private:
  std::deque<Output> queue_;
  std::array<uint64_t, kCounterCount> counters_{};
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_OUTBOX_H_
