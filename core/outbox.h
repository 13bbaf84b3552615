// The core's output queue and counters. Every part of the core writes its commands, events and
// counts here; Core::PollOutput drains the queue in the order they were written.
//
// The queue is a vector read from a moving head: a caller that drains after every input empties
// it each time, so its storage is reused and steady-state churn allocates nothing here. Storage
// grown past kRetainedCapacity by a burst (a trim storm) is given back once drained.
#ifndef CONNMGR_CORE_OUTBOX_H_
#define CONNMGR_CORE_OUTBOX_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/metrics.h"
#include "core/output.h"

namespace connmgr {

class Outbox {
 public:
  static constexpr size_t kRetainedCapacity = 1024;

  // Built in place in the queue (no intermediate Output to move and destroy).
  template <typename T>
  void Emit(T&& output) {
    queue_.emplace_back(std::forward<T>(output));
  }
  // Room for `n` more outputs (a trim about to close n connections): one allocation, not log n,
  // and geometric, so trims that each reserve a little never copy the queue each time.
  void Reserve(size_t n) {
    if (queue_.size() + n > queue_.capacity()) {
      queue_.reserve(std::max(queue_.size() + n, 2 * queue_.capacity()));
    }
  }
  void Count(Counter c, uint64_t n = 1) { counters_[static_cast<int>(c)] += n; }

  // The oldest output, removed from the queue (nullopt while Drain hands them out).
  std::optional<Output> Pop() {
    if (head_ == queue_.size() || draining_) return std::nullopt;
    std::optional<Output> out(std::move(queue_[head_++]));
    if (head_ == queue_.size()) {
      Clear();
    } else if (head_ >= kRetainedCapacity && 2 * head_ >= queue_.size()) {
      // A caller that never drains fully: drop the taken prefix (amortised O(1) per output).
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return out;
  }
  // Hands each waiting output to `f`, oldest first, then empties the queue. Nothing may be
  // emitted meanwhile (draining() is true).
  template <typename F>
  void Drain(F&& f) {
    draining_ = true;
    for (size_t i = head_; i < queue_.size(); ++i) f(std::as_const(queue_[i]));
    draining_ = false;
    Clear();
  }
  bool draining() const { return draining_; }
  // The outputs waiting, oldest first.
  absl::Span<const Output> pending() const { return absl::MakeConstSpan(queue_).subspan(head_); }
  void Clear() {
    queue_.clear();
    head_ = 0;
    if (queue_.capacity() > kRetainedCapacity) std::vector<Output>().swap(queue_);
  }
  size_t size() const { return queue_.size() - head_; }
  const std::array<uint64_t, kCounterCount>& counters() const { return counters_; }

 private:
  std::vector<Output> queue_;
  size_t head_ = 0;  // queue_[0, head_) were taken
  bool draining_ = false;
  std::array<uint64_t, kCounterCount> counters_{};
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_OUTBOX_H_
