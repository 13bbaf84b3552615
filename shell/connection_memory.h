// ConnectionMemory: one connection's memory reservation with the core's ledger
// (ReserveMemory / ReleaseMemory, core/memory_ledger.h). The shell's buffers for the
// connection (read buffer, decoders, Yamux frames and queues, the write queue) ask it to cover
// what they will hold before they grow. It reserves in whole chunks of kChunkBytes, so the core
// sees one input per 64 KiB of growth rather than one per frame, and releases whole chunks as
// the buffers empty, keeping one spare chunk so that traffic around a chunk boundary does not
// reserve and release in turn.
//
// While the connection is upgraded its memory is the transient scope's (conn 0, the peer is not
// known yet); MoveTo moves the reservation to the connection once the core opened it. End() is
// called when the connection ends: it releases what the core does not release by itself (a
// transient reservation; the core releases a connection's own when it closes).
//
//   ConnectionMemory memory(transient_scope);
//   if (!memory.Cover(held + next_read, kReadPriority)) PauseReading();  // backpressure
//   ...
//   memory.Trim(held);                                                   // buffers shrank
#ifndef CONNMGR_SHELL_CONNECTION_MEMORY_H_
#define CONNMGR_SHELL_CONNECTION_MEMORY_H_

#include <cstdint>
#include <functional>

namespace connmgr::shell {

class ConnectionMemory {
 public:
  static constexpr uint64_t kChunkBytes = uint64_t{64} << 10;

  // Where the reservation is charged.
  struct Scope {
    // Asks the core for `bytes` more at `priority` (0..255, go-libp2p's rule: a reservation may
    // fill a scope up to limit × (priority + 1) / 256); true when granted.
    std::function<bool(uint64_t bytes, uint8_t priority)> reserve;
    std::function<void(uint64_t bytes)> release;
    // The core releases this scope's reservation by itself when the connection ends.
    bool released_by_core_at_end = false;
  };

  explicit ConnectionMemory(Scope scope) : scope_(std::move(scope)) {}
  ConnectionMemory(const ConnectionMemory&) = delete;
  ConnectionMemory& operator=(const ConnectionMemory&) = delete;

  // Makes the reservation cover `bytes`, rounded up to whole chunks. False, with nothing
  // changed, when the core refuses or the connection ended.
  bool Cover(uint64_t bytes, uint8_t priority);
  // Releases the whole chunks beyond `bytes` rounded up, plus one spare chunk.
  void Trim(uint64_t bytes);
  // Moves the reservation to `scope`: releases it from the current scope and reserves the same
  // amount in the new one at `priority`. False when the new scope refuses; nothing is reserved
  // anywhere then.
  bool MoveTo(Scope scope, uint8_t priority);
  // The connection ended: releases what its scope does not release by itself. Later calls
  // change nothing (Cover is refused).
  void End();

  uint64_t reserved() const { return reserved_; }
  bool ended() const { return ended_; }

  // `bytes` rounded up to whole chunks.
  static uint64_t Chunks(uint64_t bytes);

 private:
  Scope scope_;
  uint64_t reserved_ = 0;
  bool ended_ = false;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_CONNECTION_MEMORY_H_
