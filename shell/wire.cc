#include "shell/wire.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "core/output.h"
#include "shell/close_reason.h"
#include "shell/endpoint.h"

namespace connmgr::shell {

using boost::asio::ip::tcp;

namespace {

// Queued buffers handed to one write at most.
constexpr size_t kMaxBuffersPerWrite = 16;

std::chrono::steady_clock::time_point SteadyTimeOf(Instant at) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(at.nanoseconds()));
}

}  // namespace

Wire::Wire(std::shared_ptr<tcp::socket> socket, std::shared_ptr<ConnectionMemory> memory,
           WireLimits limits)
    : socket_(std::move(socket)),
      memory_(std::move(memory)),
      limits_(limits),
      slow_reader_(limits.slow_reader_timeout),
      timer_(socket_->get_executor()) {}

void Wire::SetHandlers(BytesHandler on_bytes, EndHandler on_end, BufferMeter meter) {
  on_bytes_ = std::move(on_bytes);
  on_end_ = std::move(on_end);
  meter_ = std::move(meter);
}

uint64_t Wire::held_bytes() const {
  return kReadBufferBytes + queued_bytes_ + (meter_ ? meter_().held_bytes : 0);
}

uint64_t Wire::unsent_bytes() const { return queued_bytes_ + (meter_ ? meter_().unsent_bytes : 0); }

void Wire::StartReading() {
  want_reading_ = true;
  MaybeRead();
}

void Wire::MaybeRead() {
  if (stopped_ || closing_) return;
  if (want_reading_ && !reading_) StartReadOrPause();
  // Also with a read outstanding: what waits to be sent may have changed (a write drained the
  // queue), and the slow-reader clock must know.
  ArmTimer();
}

void Wire::StartReadOrPause() {
  const Instant now = SteadyNow();
  if (unsent_bytes() >= limits_.max_send_bytes) {
    pause_ = Pause::kSendQueueFull;
  } else if (!memory_->Cover(held_bytes() + kReadHeadroomBytes, kReadPriority)) {
    if (pause_ != Pause::kMemory) memory_wait_since_ = now;
    pause_ = Pause::kMemory;
    memory_retry_at_ = now + kMemoryRetryInterval;
  } else {
    pause_ = Pause::kNone;
    reading_ = true;
    socket_->async_read_some(boost::asio::buffer(buffer_),
                             [self = shared_from_this()](const boost::system::error_code& ec,
                                                         size_t n) { self->OnRead(ec, n); });
  }
  if (pause_ != Pause::kMemory) {
    memory_wait_since_ = Instant::Never();
    memory_retry_at_ = Instant::Never();
  }
}

void Wire::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (stopped_ || closing_) return;  // bytes after a go-away are not read
  in_handler_ = true;
  if (ec) {
    End(absl::UnavailableError(ec.message()));
  } else {
    BytesHandler handler = on_bytes_;  // it may be replaced
    if (handler) handler(absl::string_view(buffer_.data(), n));
    Account();
  }
  in_handler_ = false;
}

void Wire::Send(std::string bytes) {
  if (stopped_ || bytes.empty()) return;
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  if (!writing_) WriteNext();
  if (!in_handler_) Account();
}

void Wire::Settle() {
  if (!in_handler_) Account();
}

absl::Status Wire::AdmitWrite(size_t bytes) {
  if (stopped_ || closing_) return absl::UnavailableError("write: the connection is closing");
  if (unsent_bytes() + bytes > limits_.max_send_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("write: the connection's send queue holds ", unsent_bytes(), " bytes; ", bytes,
                     " more would pass max_connection_send_bytes (", limits_.max_send_bytes,
                     "): wait for it to drain"));
  }
  if (!memory_->Cover(held_bytes() + bytes, kReadPriority)) {
    return absl::ResourceExhaustedError(absl::StrCat("write: the core refused memory for ", bytes,
                                                     " more bytes on the connection"));
  }
  return absl::OkStatus();
}

void Wire::WriteNext() {
  std::vector<boost::asio::const_buffer> buffers;
  for (const std::string& queued : queue_) {
    const size_t skip = buffers.empty() ? front_written_ : 0;
    buffers.emplace_back(queued.data() + skip, queued.size() - skip);
    if (buffers.size() == kMaxBuffersPerWrite) break;
  }
  writing_ = true;
  socket_->async_write_some(
      buffers, [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        self->OnWritten(ec, n);
      });
}

void Wire::OnWritten(const boost::system::error_code& ec, size_t n) {
  writing_ = false;
  if (stopped_) return;
  in_handler_ = true;
  if (ec) {
    End(absl::UnavailableError(ec.message()));
    in_handler_ = false;
    return;
  }
  if (n > 0) slow_reader_.Progress(SteadyNow());
  queued_bytes_ -= n;
  while (n > 0) {
    const size_t left_in_front = queue_.front().size() - front_written_;
    const size_t taken = std::min(n, left_in_front);
    front_written_ += taken;
    n -= taken;
    if (front_written_ == queue_.front().size()) {
      queue_.pop_front();
      front_written_ = 0;
    }
  }
  if (!queue_.empty()) {
    WriteNext();
  } else if (closing_) {
    FinishClose();
    in_handler_ = false;
    return;
  }
  Account();
  in_handler_ = false;
}

void Wire::Account() {
  if (stopped_) return;
  const uint64_t held = held_bytes();
  if (!memory_->Cover(held, kHeldPriority)) {
    return Fail(WithCloseReason(
        absl::ResourceExhaustedError(absl::StrCat("the core refused memory for the ", held,
                                                  " bytes the connection holds (",
                                                  memory_->reserved(), " reserved)")),
        CloseReason::kMemoryLimit));
  }
  memory_->Trim(held + (closing_ ? 0 : kReadHeadroomBytes));
  MaybeRead();  // arms the timer
}

void Wire::ArmTimer() {
  if (stopped_) return;
  const Instant now = SteadyNow();
  slow_reader_.SetWaiting(queued_bytes_ > 0 || pause_ == Pause::kSendQueueFull, now);
  const Instant at = std::min({slow_reader_.Deadline(), memory_retry_at_, flush_deadline_});
  if (at == timer_at_) return;
  timer_at_ = at;
  if (at == Instant::Never()) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(SteadyTimeOf(at));
  // The wait holds the wire: a wire that waits for memory has no read or write pending.
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    self->OnTimer();
  });
}

void Wire::OnTimer() {
  timer_at_ = Instant::Never();
  if (stopped_) return;
  const Instant now = SteadyNow();
  slow_reader_.SetWaiting(queued_bytes_ > 0 || pause_ == Pause::kSendQueueFull, now);
  in_handler_ = true;
  if (closing_ && now >= flush_deadline_) {
    FinishClose();
  } else if (slow_reader_.Expired(now)) {
    End(WithCloseReason(
        absl::DeadlineExceededError(absl::StrCat(
            "the peer reads too slowly: ", unsent_bytes(), " bytes wait to be sent and the socket ",
            "took none for ", limits_.slow_reader_timeout.nanoseconds() / 1'000'000, " ms")),
        CloseReason::kSlowReader));
  } else if (pause_ == Pause::kMemory && limits_.slow_reader_timeout > Duration::Zero() &&
             now - memory_wait_since_ >= limits_.slow_reader_timeout) {
    End(WithCloseReason(absl::ResourceExhaustedError(absl::StrCat(
                            "the core refused memory to read for ",
                            limits_.slow_reader_timeout.nanoseconds() / 1'000'000, " ms")),
                        CloseReason::kMemoryLimit));
  } else {
    if (pause_ == Pause::kMemory && now >= memory_retry_at_) memory_retry_at_ = Instant::Never();
    Account();  // retries the reservation, re-arms
  }
  in_handler_ = false;
}

void Wire::CloseAfterFlush(absl::Status why) {
  if (stopped_ || closing_) return;
  closing_ = true;
  close_status_ = std::move(why);
  pause_ = Pause::kNone;
  memory_retry_at_ = Instant::Never();
  if (queue_.empty()) {
    // Reported from a fresh handler: the owner is inside its own call.
    boost::asio::post(socket_->get_executor(), [self = shared_from_this()] {
      if (!self->stopped_) self->FinishClose();
    });
    return;
  }
  flush_deadline_ = SteadyNow() + kFlushTimeout;
  ArmTimer();
}

void Wire::FinishClose() {
  boost::system::error_code ignored;
  socket_->shutdown(tcp::socket::shutdown_send, ignored);
  End(close_status_);
}

void Wire::Fail(absl::Status why) {
  if (in_handler_) return End(std::move(why));
  if (stopped_) return;
  stopped_ = true;  // nothing more happens; the end is reported from a fresh handler
  timer_.cancel();
  boost::asio::post(socket_->get_executor(),
                    [self = shared_from_this(), why = std::move(why)]() mutable {
                      EndHandler handler = self->on_end_;
                      if (handler) handler(std::move(why));
                    });
}

void Wire::End(absl::Status why) {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  EndHandler handler = on_end_;
  if (handler) handler(std::move(why));
}

void Wire::Stop() {
  stopped_ = true;
  timer_.cancel();
}

}  // namespace connmgr::shell
