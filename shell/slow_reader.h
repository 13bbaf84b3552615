// SlowReaderClock: when a connection's peer counts as a slow reader — bytes we must send have
// made no progress into the socket for `timeout` (the config's slow_reader_timeout) while they
// wait. The wire says when bytes start and stop waiting and when the socket took some; the
// clock answers with the instant the connection becomes a slow reader. No I/O, no clock of its
// own: the caller passes the time.
//
//   SlowReaderClock clock(Duration::Seconds(5));
//   clock.SetWaiting(true, now);          // bytes queued for a socket that does not take them
//   clock.Progress(later);                // the socket took some: the clock starts again
//   if (clock.Expired(now)) Close(CloseReason::kSlowReader);
#ifndef CONNMGR_SHELL_SLOW_READER_H_
#define CONNMGR_SHELL_SLOW_READER_H_

#include "core/time.h"

namespace connmgr::shell {

class SlowReaderClock {
 public:
  // Duration::Zero() switches the clock off: no deadline, ever.
  explicit SlowReaderClock(Duration timeout) : timeout_(timeout) {}

  // Whether bytes wait to go into the socket (or reading waits for them to). The clock starts
  // at `now` when they begin to wait and stops when they no longer do.
  void SetWaiting(bool waiting, Instant now) {
    if (waiting && !waiting_) since_ = now;
    waiting_ = waiting;
  }
  // The socket took bytes at `now`: the clock starts again.
  void Progress(Instant now) { since_ = now; }

  // When the connection becomes a slow reader if nothing changes; Never when nothing waits or
  // the clock is off.
  Instant Deadline() const {
    if (!waiting_ || timeout_ <= Duration::Zero()) return Instant::Never();
    return since_ + timeout_;
  }
  bool Expired(Instant now) const { return now >= Deadline(); }
  bool waiting() const { return waiting_; }

 private:
  Duration timeout_;
  bool waiting_ = false;
  Instant since_;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_SLOW_READER_H_
