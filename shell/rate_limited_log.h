// RateLimitedLog: lines for the operator that a flood of events cannot turn into a flood of
// output. At most `max_lines` are written per `interval` (the interval starts with the first
// line after the previous one ended); the lines left out are counted, and the count is written
// before the first line of the next interval.
//
//   RateLimitedLog log(sink, /*max_lines=*/20, Duration::Seconds(10));
//   log.Write(SteadyNow(), "connmgr: closed connection 7 (slow_reader): ...");
#ifndef CONNMGR_SHELL_RATE_LIMITED_LOG_H_
#define CONNMGR_SHELL_RATE_LIMITED_LOG_H_

#include <cstdint>
#include <functional>

#include "absl/strings/string_view.h"
#include "core/time.h"

namespace connmgr::shell {

class RateLimitedLog {
 public:
  using Sink = std::function<void(absl::string_view line)>;

  // `max_lines` 0 writes nothing (every line is counted as left out).
  RateLimitedLog(Sink sink, uint32_t max_lines, Duration interval)
      : sink_(std::move(sink)), max_lines_(max_lines), interval_(interval) {}

  // Writes `line` (and first the count of lines the previous interval left out), or counts it.
  void Write(Instant now, absl::string_view line);

  // Lines left out since the log was made.
  uint64_t left_out() const { return left_out_; }

 private:
  Sink sink_;
  uint32_t max_lines_;
  Duration interval_;
  Instant interval_start_ = Instant::Never();
  uint32_t written_in_interval_ = 0;
  uint64_t left_out_in_interval_ = 0;
  uint64_t left_out_ = 0;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_RATE_LIMITED_LOG_H_
