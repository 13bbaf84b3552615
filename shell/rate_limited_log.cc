#include "shell/rate_limited_log.h"

#include "absl/strings/str_cat.h"

namespace connmgr::shell {

void RateLimitedLog::Write(Instant now, absl::string_view line) {
  if (interval_start_ == Instant::Never() || now >= interval_start_ + interval_) {
    if (left_out_in_interval_ > 0 && sink_) {
      sink_(absl::StrCat("connmgr: ", left_out_in_interval_, " more such lines left out (at most ",
                         max_lines_, " per ", interval_.nanoseconds() / 1'000'000, " ms)"));
    }
    interval_start_ = now;
    written_in_interval_ = 0;
    left_out_in_interval_ = 0;
  }
  if (written_in_interval_ < max_lines_) {
    ++written_in_interval_;
    if (sink_) sink_(line);
    return;
  }
  ++left_out_in_interval_;
  ++left_out_;
}

}  // namespace connmgr::shell
