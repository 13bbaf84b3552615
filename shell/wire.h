// Wire: one connection's socket, used by its upgrade and then by its session. A read loop hands
// each chunk to the current owner; a write queue sends what the owner queues. The wire carries
// out the connection's resource rules (docs/design.md, "Memory accounting in the shell"):
//
//  - Memory. Its own buffers (the read buffer, the write queue) and those the owner reports
//    through its meter (decoders, muxer frames and queues, stream buffers) are reserved from the
//    core through the connection's ConnectionMemory before they grow. Before each read: what is
//    held plus what one read may add (kReadHeadroomBytes), at kReadPriority; refused, the wire
//    stops reading (backpressure) and asks again every kMemoryRetryInterval. After each turn
//    (a read handled, a write done, the owner's own sends): what is held, at kHeldPriority;
//    refused, the connection ends with memory_limit, as it does when reading stays refused for
//    the slow-reader timeout.
//  - The send cap. While max_send_bytes or more wait to be sent (the write queue and the
//    owner's queues), the wire stops reading: a peer that does not read cannot make us queue
//    answers without end.
//  - Slow readers. When bytes wait and the socket takes none of them for slow_reader_timeout,
//    or reading waits that long for a full send queue to drain, the connection ends with
//    slow_reader.
//  - CloseAfterFlush stops reading, sends what is queued (a go-away) within kFlushTimeout,
//    shuts the sending side and then ends.
//
//   auto wire = std::make_shared<Wire>(socket, memory, WireLimits{1 << 20, Duration::Seconds(5)});
//   wire->SetHandlers(on_bytes, on_end, [&] { return Wire::OwnerBuffers{held, unsent}; });
//   wire->Send(greeting);
//   wire->StartReading();
//
// Handlers run on the socket's executor. An end the wire decides during a call from its owner
// (Send, Settle) is reported from a fresh handler, never from inside that call.
#ifndef CONNMGR_SHELL_WIRE_H_
#define CONNMGR_SHELL_WIRE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/time.h"
#include "shell/connection_memory.h"
#include "shell/slow_reader.h"

namespace connmgr::shell {

// The connection's budgets, from the core's config (max_connection_send_bytes,
// slow_reader_timeout).
struct WireLimits {
  size_t max_send_bytes = size_t{1} << 20;
  Duration slow_reader_timeout = Duration::Seconds(5);
};

class Wire : public std::enable_shared_from_this<Wire> {
 public:
  static constexpr size_t kReadBufferBytes = size_t{32} * 1024;
  // What one read may add before the turn's end accounts for it: the bytes read, kept in a
  // decoder or a stream buffer, and as much again in answers.
  static constexpr uint64_t kReadHeadroomBytes = 2 * kReadBufferBytes;
  // Reading stops when a scope is three quarters full, so answers to what was read still fit.
  static constexpr uint8_t kReadPriority = 191;
  static constexpr uint8_t kHeldPriority = 255;
  static constexpr Duration kMemoryRetryInterval = Duration::Milliseconds(100);
  static constexpr Duration kFlushTimeout = Duration::Seconds(1);

  using BytesHandler = std::function<void(absl::string_view)>;
  using EndHandler = std::function<void(absl::Status)>;
  // What the owner holds beside the wire's own buffers, and how much of that waits to be sent.
  struct OwnerBuffers {
    uint64_t held_bytes = 0;
    uint64_t unsent_bytes = 0;
  };
  using BufferMeter = std::function<OwnerBuffers()>;

  Wire(std::shared_ptr<boost::asio::ip::tcp::socket> socket,
       std::shared_ptr<ConnectionMemory> memory, WireLimits limits);
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;

  // The owner's handlers (replacing the previous owner's); `meter` may be empty (owns nothing).
  void SetHandlers(BytesHandler on_bytes, EndHandler on_end, BufferMeter meter = nullptr);
  void StartReading();
  // Queues `bytes` for the socket.
  void Send(std::string bytes);
  // The owner's buffers changed outside a read (a write of its own, a timer): reserve for them,
  // and read again if that was waiting on them.
  void Settle();
  // Whether the owner may queue `bytes` more for the application: OK within the send cap and
  // with memory granted for them (at kReadPriority), else ResourceExhausted saying which.
  absl::Status AdmitWrite(size_t bytes);
  // Stops reading, sends what is queued, then shuts the sending side and ends with `why`
  // (after kFlushTimeout at the latest).
  void CloseAfterFlush(absl::Status why);
  // Stops every activity; no handler is called after. The owner closes the socket.
  void Stop();

  bool stopped() const { return stopped_; }
  const std::shared_ptr<boost::asio::ip::tcp::socket>& socket() const { return socket_; }
  // Bytes in the write queue.
  size_t queued_bytes() const { return queued_bytes_; }
  // What the wire and its owner hold, and what of it waits to be sent.
  uint64_t held_bytes() const;
  uint64_t unsent_bytes() const;
  // Reading waits for the send queue to drain or for memory.
  bool waits_for_send_queue() const { return pause_ == Pause::kSendQueueFull; }
  bool waits_for_memory() const { return pause_ == Pause::kMemory; }

 private:
  enum class Pause { kNone, kSendQueueFull, kMemory };

  void MaybeRead();
  // Reads, or records why reading pauses (a full send queue, memory refused).
  void StartReadOrPause();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void WriteNext();
  void OnWritten(const boost::system::error_code& ec, size_t n);
  // Reserves what is held, releases what is not, reads again if it may.
  void Account();
  // Re-arms the one timer at the earliest of the slow-reader, memory-retry and flush deadlines.
  void ArmTimer();
  void OnTimer();
  void FinishClose();
  // Ends the connection: at once inside the wire's own handlers, else from a posted handler.
  void Fail(absl::Status why);
  void End(absl::Status why);

  std::shared_ptr<boost::asio::ip::tcp::socket> socket_;
  std::shared_ptr<ConnectionMemory> memory_;
  WireLimits limits_;
  BytesHandler on_bytes_;
  EndHandler on_end_;
  BufferMeter meter_;
  std::array<char, kReadBufferBytes> buffer_;
  std::deque<std::string> queue_;
  size_t front_written_ = 0;  // bytes of queue_.front() already in the socket
  size_t queued_bytes_ = 0;
  bool want_reading_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool in_handler_ = false;  // inside one of the wire's own completion handlers
  bool stopped_ = false;
  bool closing_ = false;
  absl::Status close_status_;
  Pause pause_ = Pause::kNone;
  Instant memory_wait_since_ = Instant::Never();
  Instant memory_retry_at_ = Instant::Never();
  Instant flush_deadline_ = Instant::Never();
  SlowReaderClock slow_reader_;
  boost::asio::steady_timer timer_;
  Instant timer_at_ = Instant::Never();
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_WIRE_H_
